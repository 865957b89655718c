"""Sweep inputs: grids, points (all or random), metrics, executors and the ``sweep`` filter field."""

from __future__ import annotations

import pytest

from jupyter_mlops.app.sweep import Sweep, SweepPoint, parse_grid, parse_metric, sweep_points
from jupyter_mlops.entities import Run, RunStatus
from jupyter_mlops.errors import FilterSyntaxError, InvalidInput
from jupyter_mlops.notebooks.smoke.cluster import parse_executor
from jupyter_mlops.notebooks.smoke.report import NotebookResult
from jupyter_mlops.store.filters import parse


def test_a_grid_is_every_combination_with_the_last_name_fastest():
    grid = parse_grid(["lr=0.01,0.1", "depth = 3, 5,7"])
    assert grid == {"lr": ["0.01", "0.1"], "depth": ["3", "5", "7"]}
    assert sweep_points(grid) == [{"lr": lr, "depth": d} for lr in ("0.01", "0.1") for d in ("3", "5", "7")]


@pytest.mark.parametrize("texts", [["lr"], ["=1,2"], ["lr=1,,2"], ["lr=1", "lr=2"], []])
def test_bad_grids_are_usage_errors(texts):
    with pytest.raises(InvalidInput):
        parse_grid(texts)


def test_a_value_listed_twice_is_one_point():
    assert sweep_points(parse_grid(["a=1,1,2"])) == [{"a": "1"}, {"a": "2"}]


def test_random_points_are_distinct_reproducible_and_in_grid_order():
    grid = parse_grid(["a=1,2,3,4", "b=x,y,z"])
    every = sweep_points(grid)
    first = sweep_points(grid, random_n=5, seed=7)
    assert first == sweep_points(grid, random_n=5, seed=7)
    assert len(first) == 5 and len({tuple(p.items()) for p in first}) == 5
    assert first == [p for p in every if p in first]
    assert sweep_points(grid, random_n=50, seed=1) == every
    with pytest.raises(InvalidInput):
        sweep_points(grid, random_n=0)


def test_a_huge_grid_is_refused_unless_sampled():
    grid = {name: [str(i) for i in range(100)] for name in "abc"}  # 10^6 points
    with pytest.raises(InvalidInput, match="--random"):
        sweep_points(grid)
    sample = sweep_points(grid, random_n=3, seed=0)
    assert len(sample) == 3 and all(set(p) == {"a", "b", "c"} for p in sample)


def test_metric_goals():
    assert parse_metric("auc:max") == ("auc", "max")
    assert parse_metric("val:loss:MIN") == ("val:loss", "min")
    assert parse_metric(None) is None
    for bad in ("auc", "auc:up", ":max"):
        with pytest.raises(InvalidInput):
            parse_metric(bad)


def test_executors():
    assert parse_executor(None) is None and parse_executor("local") is None
    assert parse_executor("dask://10.0.0.1:8786") == "tcp://10.0.0.1:8786"
    assert parse_executor("tls://h:1") == "tls://h:1"
    for bad in ("dask://nohost", "spark://h:1", "dask://h:port"):
        with pytest.raises(InvalidInput, match="--executor"):
            parse_executor(bad)


def _point(index: int, passed: bool, auc: float | None) -> SweepPoint:
    run = Run(id=f"r{index}", name="n", experiment="e", status=RunStatus.FINISHED, start_time=0.0,
              metrics={} if auc is None else {"auc": auc})
    return SweepPoint(index, {"x": index}, NotebookResult(path=f"nb[{index}]", passed=passed), run)


def test_best_points_by_metric_skip_failed_points_and_missing_metrics():
    points = [_point(0, True, 0.5), _point(1, False, 0.99), _point(2, True, None), _point(3, True, 0.7),
              _point(4, True, 0.7)]
    best = Sweep("s", "nb.ipynb", "local", points, ("auc", "max")).best(2)
    assert [p.index for p in best] == [3, 4]
    assert [p.index for p in Sweep("s", "nb.ipynb", "local", points, ("auc", "min")).best(5)] == [0, 3, 4]
    assert Sweep("s", "nb.ipynb", "local", points).best() == []
    assert Sweep("s", "nb.ipynb", "local", points).exit_code == 1


def test_the_sweep_field_reads_the_sweep_tag():
    node = parse('sweep = "20261207-0942-3fa2c1"')
    assert (node.field.kind, node.op, node.value.value) == ("tag", "=", "sweep:20261207-0942-3fa2c1")
    assert parse("sweep is null").op == "!~" and parse("sweep is not null").op == "~"
    assert [v.value for v in parse("sweep in (a, b)").values] == ["sweep:a", "sweep:b"]
    with pytest.raises(FilterSyntaxError):
        parse("sweep > 3")
