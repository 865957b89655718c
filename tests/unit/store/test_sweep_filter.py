"""``sweep = "<id>"`` finds a sweep's runs (its ``sweep:<id>`` tag) on SQLite and PostgreSQL."""

from __future__ import annotations


def test_sweep_conditions_against_real_stores(store):
    ids = {
        "a0": store.create_run(name="a0", tags=["sweep", "sweep:A", "sweep-point:0"]).id,
        "a1": store.create_run(name="a1", tags=["sweep", "sweep:A", "sweep-point:1"]).id,
        "b0": store.create_run(name="b0", tags=["sweep", "sweep:B-2", "sweep-point:0"]).id,
        "plain": store.create_run(name="plain", tags=["baseline"]).id,
    }

    def names(text: str) -> set[str]:
        return {run.name for run in store.search_runs(text, limit=None).items}

    assert names('sweep = "A"') == {"a0", "a1"}
    assert names("sweep = B-2") == {"b0"}
    assert names("sweep != A") == {"b0", "plain"}
    assert names("sweep in (A, B-2) and tag = sweep-point:0") == {"a0", "b0"}
    assert names('sweep ~ "b*"') == {"b0"}
    assert names("sweep is null") == {"plain"}
    assert names("sweep is not null") == {"a0", "a1", "b0"}
    assert names("sweep = nothing") == set()
    assert len(ids) == 4
