"""A page sorted by one metric, read by walking its index (ADR-113), is exactly the page the full ordering gives.

The reference is the unpaged search (``limit=None``: the filter as semi-joins, ``reads.apply_order``'s sort over
every match) sliced in Python; the walk is what a paged search now runs. Both on SQLite and PostgreSQL.
"""

from __future__ import annotations

import itertools
import math
import random

import pytest

from jupyter_mlops.entities import RunStatus
from jupyter_mlops.store import reads, search
from jupyter_mlops.store.search import build_search

FILTERS = [
    None,
    "metrics.auc > 0.5",
    'params.lr = "0.1"',
    'metrics.auc > 0.5 and params.lr = "0.1"',
    "metrics.auc >= 0.5 and params.lr = 0.1 and tag = tuned",
    "tag = baseline",
    "tag != baseline and metrics.loss < 0.5",
    "metrics.auc is null",
    "metrics.auc is not null and params.opt is null",
    "metrics.auc = nan or metrics.loss > 0.8",
    "not (params.lr = 0.1) and status = finished",
    'name ~ "run-1*" or experiment = b',
    "params.opt in (adam, sgd) and not tag in (baseline)",
    "metrics.nowhere > 0",
    'tag ~ "base*"',
    'tag ~ "*e*" and tag != tuned',
    "tag is not null and metrics.loss is not null",
    "metrics.auc < 0.6",
    "metrics.auc <= 0.5 and tag = tuned and metrics.auc >= 0.3",
    "metrics.loss = 0.4 or metrics.auc > 0.8",
    "metrics.auc > -inf and metrics.auc != nan",
]
SORTS = ["metrics.auc DESC", "metrics.auc", "metric.auc asc", "metrics.loss DESC", "metrics.nowhere DESC"]
WINDOWS = [(50, 0), (5, 0), (5, 5), (7, 13), (10, 38), (10, 40), (3, 59), (10, 60), (10, 61), (1, 200)]


@pytest.fixture
def filled(store):
    """61 runs: few distinct metric values (ties), some without ``auc`` or ``loss``, some NaN, mixed params."""
    rng = random.Random(7)
    for n in range(61):
        run = store.create_run(name=f"run-{n}", experiment="a" if n % 3 else "b",
                               tags=["baseline", "base2"] if n % 4 == 0 else ["tuned"],
                               start_time=1_700_000_000.0 + n % 9)
        metrics: dict[str, float] = {}
        if n % 6 != 0:  # every sixth run has no auc
            metrics["auc"] = math.nan if n % 11 == 0 else rng.choice([0.3, 0.5, 0.5, 0.7, 0.9, 0.9, 0.9])
        if n % 5 != 0:
            metrics["loss"] = rng.choice([0.1, 0.4, 0.4, 0.85, math.nan])
        if metrics:
            store.log_metrics(run.id, metrics)
        params: dict[str, object] = {"lr": rng.choice([0.1, "0.1", 0.01])}
        if n % 4:
            params["opt"] = rng.choice(["adam", "sgd", "adamw"])
        store.log_params(run.id, params)
        if n % 7:
            store.end_run(run.id, RunStatus.FINISHED)
    return store


@pytest.mark.parametrize(("probe_depth", "budget"), [(search.PROBE_DEPTH, search.WALK_BUDGET), (0, 1),
                                                     (search.PROBE_DEPTH, 1)], ids=["probes", "semi-joins", "bounded"])
def test_walk_pages_equal_the_full_ordering(filled, monkeypatch, probe_depth, budget):
    monkeypatch.setattr(search, "PROBE_DEPTH", probe_depth)  # deep pages test the filter by semi-joins
    # A budget of 1 lets a probing walk pass 4 x (offset + limit) runs: small pages stop at that boundary and,
    # short of a page there, fall back to the sorted ids.
    monkeypatch.setattr(search, "WALK_BUDGET", budget)
    filled.statements.deep_walk = True  # PostgreSQL stores keep deep pages on the sorted ids; test the walk here
    for text, sort in itertools.product(FILTERS, SORTS):
        everything = filled.search_runs(text, [sort])
        ordered = [run.id for run in everything.items]
        assert everything.total == len(ordered)
        for limit, offset in WINDOWS:
            page = filled.search_runs(text, [sort], limit=limit, offset=offset)
            where = (text, sort, limit, offset)
            assert [run.id for run in page.items] == ordered[offset:offset + limit], where
            assert page.total == len(ordered), where
            assert (page.offset, page.limit) == (offset, limit)


def test_walk_pages_equal_the_plan_before_it(filled):
    # The paged plan of ADR-107 (ids sorted in SQL with a windowed count), run on the same store.
    windows = [(5, 0), (7, 13), (10, 55), (10, 61)]
    cases = list(itertools.product(FILTERS, SORTS, windows))
    walked = [filled.search_runs(text, [sort], limit=limit, offset=offset) for text, sort, (limit, offset) in cases]
    filled.statements.walk = False
    try:
        before = [filled.search_runs(text, [sort], limit=limit, offset=offset)
                  for text, sort, (limit, offset) in cases]
    finally:
        filled.statements.walk = True
    for case, new, old in zip(cases, walked, before, strict=True):
        assert ([r.id for r in new.items], new.total) == ([r.id for r in old.items], old.total), case
    assert filled.statements.search(None, ["metrics.auc"], 5, 0).walk is not None


def test_the_full_ordering_puts_runs_without_a_value_last_by_id(filled):
    # The reference itself, checked against the runs' own latest values: value order, ties and NULLs by id.
    runs = filled.search_runs(None, ["metrics.auc DESC"]).items
    values = [run.metrics.get("auc") for run in runs]
    present = [(v is None or math.isnan(v)) for v in values]
    assert present == sorted(present) and any(present) and not all(present)
    keys = [(-v, run.id) for run, v in zip(runs, values, strict=True) if v is not None and not math.isnan(v)]
    assert keys == sorted(keys)
    rest = [run.id for run, v in zip(runs, values, strict=True) if v is None or math.isnan(v)]
    assert rest == sorted(rest)


def test_full_page_of_a_walk_counts_every_match(filled):
    page = filled.search_runs('params.lr = "0.1"', ["metrics.auc DESC"], limit=4, offset=2)
    assert len(page.items) == 4
    assert page.total == len(filled.search_runs('params.lr = "0.1"').items)


def test_only_a_single_metric_sort_with_a_limit_walks():
    assert build_search("tag = a", ["metrics.auc DESC"], 50, 0).walk is not None
    assert build_search(None, ["metric.auc"], 50, 10).walk is not None
    assert build_search(None, ["metrics.auc DESC"], None, 10).walk is None
    assert build_search(None, ["metrics.auc DESC", "name"], 50, 0).walk is None
    assert build_search(None, ["params.lr"], 50, 0).walk is None
    assert build_search(None, [], 50, 0).walk is None
    assert build_search(None, ["metrics.auc"], 50, 5000, deep_walk=False).walk is None
    assert build_search(None, ["metrics.auc"], 50, 500, deep_walk=False).walk is not None


def test_split_order_reads_key_and_direction():
    assert reads.split_order(" metrics.auc  DESC ") == ("metrics.auc", True)
    assert reads.split_order("name") == ("name", False)
