"""The module-level API: active run, reads, the runs() DataFrame, and the docstring examples."""

from __future__ import annotations

import doctest
import threading

import pandas as pd
import pytest

import jupyter_mlops as mlops
from jupyter_mlops.errors import Conflict, FilterSyntaxError, NoActiveRun, NotFound
from jupyter_mlops.tracking import autolog, context, fluent, run, view, writer


def test_start_end_and_active_run(project):
    assert mlops.active_run() is None
    active = mlops.start_run("a", experiment="exp", tags=["t"], note="n")
    assert mlops.active_run() is active
    with pytest.raises(Conflict):
        mlops.start_run("b")
    ended = mlops.end_run()
    assert ended.status.value == "finished" and mlops.active_run() is None
    assert mlops.end_run() is None
    got = mlops.get_run(active.id)
    assert (got.name, got.experiment, got.tags, got.note) == ("a", "exp", ("t",), "n")


def test_logging_without_a_run_is_a_one_line_error(project):
    for call in (lambda: mlops.log_metric("x", 1), lambda: mlops.log_param("x", 1), lambda: mlops.note("x")):
        with pytest.raises(NoActiveRun, match="no active run"):
            call()


def test_active_run_is_shared_across_threads_unless_isolated(project):
    active = mlops.start_run()
    seen = []

    def worker(isolate: bool) -> None:
        if isolate:
            fluent.isolated_context()
        seen.append(mlops.active_run())

    for isolate in (False, True):
        t = threading.Thread(target=worker, args=(isolate,))
        t.start()
        t.join()
    assert seen == [active, None]


def test_get_run_by_prefix_and_name_and_unknown(project):
    with mlops.start_run("named") as active:
        mlops.log_metric("auc", 0.8)
        assert mlops.get_run(active.id).metrics == {"auc": 0.8}  # reads flush the writer
    assert mlops.get_run(active.id[:6]).id == active.id
    assert mlops.get_run("named").id == active.id
    with pytest.raises(NotFound):
        mlops.get_run("no-such-run")


def test_runs_frame_columns_filter_order_limit(project):
    for lr, auc in ((0.1, 0.7), (0.2, 0.9), (0.3, 0.8)):
        with mlops.start_run(f"lr{lr}", tags=["sweep"]):
            mlops.log_params({"lr": lr, "model": {"depth": 3}})
            mlops.log_metric("auc", auc)
    frame = mlops.runs()
    assert list(frame.columns[:6]) == ["run_id", "name", "experiment", "status", "start_time", "end_time"]
    assert {"params.lr", "params.model", "metrics.auc", "tags"} <= set(frame.columns)
    assert frame["name"].tolist() == ["lr0.3", "lr0.2", "lr0.1"]
    assert str(frame["start_time"].dtype).startswith("datetime64")
    assert frame["tags"].tolist()[0] == ["sweep"]
    best = mlops.runs("metrics.auc >= 0.8", order_by="metrics.auc DESC", limit=1)
    assert best["name"].tolist() == ["lr0.2"]
    with pytest.raises(FilterSyntaxError):
        mlops.runs("metrics.auc >>> 1")


def test_runs_frame_with_uneven_keys_matches_the_run_entities(project):
    # Runs with different param/metric key sets take the per-cell path; shared key sets the itemgetter one.
    for n in range(4):
        with mlops.start_run(f"r{n}"):
            mlops.log_params({"lr": n / 10, **({"depth": n} if n % 2 else {}), "only_one": "x" if n == 2 else 1})
            if n != 1:
                mlops.log_metric("auc", n / 4)
    frame = mlops.runs()
    assert frame["params.depth"].isna().tolist() == [False, True, False, True]
    assert frame["metrics.auc"].isna().tolist() == [False, False, True, False]
    store, _, _ = fluent.open_stores(None)
    pd.testing.assert_frame_equal(frame, fluent.runs_frame(store.search_runs().items))
    single = mlops.runs(limit=1)
    assert single["params.only_one"].tolist() == [1] and single["metrics.auc"].tolist() == [0.75]


def test_runs_of_an_empty_store(project):
    frame = mlops.runs()
    assert frame.empty and "run_id" in frame.columns


def test_argparse_namespace_becomes_params(project):
    import argparse

    autolog.autolog_argparse()
    try:
        parser = argparse.ArgumentParser()
        parser.add_argument("--lr", type=float, default=0.1)
        parser.add_argument("--layers", type=int, nargs="+", default=[8])
        before = parser.parse_args(["--lr", "0.3"])  # no run yet: remembered, logged on the next run
        with mlops.start_run() as first:
            pass
        with mlops.start_run() as second:
            parser.parse_args(["--lr", "0.05", "--layers", "4", "2"])
    finally:
        autolog.autolog_argparse(disable=True)
    assert before.lr == 0.3
    assert mlops.get_run(first.id).params == {"lr": 0.3, "layers": [8]}
    assert mlops.get_run(second.id).params == {"lr": 0.05, "layers": [4, 2]}
    assert {p.source for p in second.store.param_history(second.id, "lr")} == {"argparse"}
    with mlops.start_run() as third:
        parser.parse_args([])
    assert mlops.get_run(third.id).params == {}


_EXAMPLES = [
    test
    for module in (fluent, run, view, writer, context, autolog)
    for test in doctest.DocTestFinder().find(module)
    if test.examples
]


@pytest.mark.parametrize("example", _EXAMPLES, ids=[t.name for t in _EXAMPLES])
def test_docstring_examples_run(example, project):
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(example)
    fluent.end_run()
    assert runner.failures == 0
