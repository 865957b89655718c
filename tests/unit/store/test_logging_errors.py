"""``runs.logging_errors``: what the tracker could not store is recorded on the run, read by every query path."""

from __future__ import annotations

import pytest

from jupyter_mlops.errors import InvalidInput
from jupyter_mlops.store import open_store, quick_list


def test_a_new_run_has_no_logging_errors_and_the_count_is_read_everywhere(store):
    clean = store.create_run(name="clean")
    lossy = store.create_run(name="lossy")
    assert clean.logging_errors == 0 and clean.to_dict()["logging_errors"] == 0
    updated = store.update_run(lossy.id, status="finished", logging_errors=12)
    assert updated.logging_errors == 12 and updated.to_dict()["logging_errors"] == 12
    assert store.get_run(lossy.id).logging_errors == 12
    assert {r.name: r.logging_errors for r in store.search_runs().items} == {"clean": 0, "lossy": 12}
    store.patch_run(lossy.id, logging_errors=13)
    assert store.get_run(lossy.id).logging_errors == 13


def test_the_quick_list_reads_the_count_too(tmp_path):
    # The quick list reads SQLite files only (PostgreSQL stores always go through SQLAlchemy).
    path = tmp_path / "mlops.db"
    with open_store(f"sqlite:///{path}") as store:
        run = store.create_run(name="lossy")
        store.patch_run(run.id, logging_errors=5)
    page = quick_list.newest_runs(path, limit=10, offset=0, stale_after=30.0)
    assert page is not None and [r.logging_errors for r in page.items] == [5]


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True, None])
def test_a_count_that_is_no_whole_number_is_refused(store, bad):
    run = store.create_run(name="r")
    with pytest.raises(InvalidInput) as info:
        store.update_run(run.id, logging_errors=bad)
    assert "logging_errors" in info.value.message
    assert store.get_run(run.id).logging_errors == 0
