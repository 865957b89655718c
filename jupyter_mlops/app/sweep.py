"""Parameter sweeps: one notebook executed once per combination of parameter values, every run tracked under one sweep.

``jupyter-mlops sweep NB.ipynb --grid lr=0.01,0.1 --grid depth=3,5,7`` (and any later face: REST, the sidebar)
calls :func:`run_sweep`. Each combination (a *point*) is a smoke task
(:class:`~jupyter_mlops.notebooks.smoke.task.Task`) executed by nb-smoke's runner, here (``local``) or on a
Dask cluster (``dask://HOST:PORT``), so a point fails the way a smoke notebook fails (cell error, timeout, dead
kernel, lost worker) and the others go on.

Assumptions:
    * The notebook tracks its own run (``%track start`` or ``mlops.start_run``); its kernel hands the run the tags
      ``sweep``, ``sweep:<id>`` and ``sweep-point:<n>`` and the point's parameters. The filter ``sweep = "<id>"``
      finds a sweep's runs (ADR-092); a point whose notebook tracked nothing has no run, and says so.
    * Values are typed against the notebook's parameters cell as ``nb-smoke -p`` types them, and every ``--grid``
      and ``-p`` name must be defined there: all points are checked before the first one runs.
    * Kernels track into this workspace's store and blob store (absolute locations in their environment), also
      on cluster workers, so every point's run lands in one place.
"""

from __future__ import annotations

import itertools
import math
import random
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_mlops.errors import InvalidInput

if TYPE_CHECKING:
    from jupyter_mlops.app.workspace import Workspace
    from jupyter_mlops.entities import Run
    from jupyter_mlops.notebooks.smoke.report import NotebookResult

__all__ = ["Sweep", "SweepPoint", "SweepRow", "SweepTable", "parse_grid", "parse_metric", "run_sweep", "sweep_points",
           "sweep_table"]

#: Tags of every sweep run; ``sweep:<id>`` and ``sweep-point:<n>`` say which sweep and which point.
SWEEP_TAG = "sweep"
POINT_TAG_PREFIX = "sweep-point:"
#: Most points one sweep may have (a grid is a product: a typo such as ``--grid n=1,...,1000`` twice is 10^6).
MAX_POINTS = 10_000


def parse_grid(texts: Sequence[str], flag: str = "--grid") -> dict[str, list[str]]:
    """``["lr=0.01,0.1", "depth=3,5,7"]`` → ``{"lr": ["0.01", "0.1"], "depth": ["3", "5", "7"]}`` (text, untyped).

    Raises:
        InvalidInput: no ``=``, an empty name or value, or a name given twice.
    """
    grid: dict[str, list[str]] = {}
    for text in texts:
        name, sep, values = text.partition("=")
        name = name.strip()
        items = [value.strip() for value in values.split(",")]
        if not sep or not name or not all(items):
            raise InvalidInput(f"{flag} {text!r}: expected NAME=V1,V2,... (e.g. lr=0.01,0.1)")
        if name in grid:
            raise InvalidInput(f"{flag} {name}: given twice; list all its values once (e.g. {name}=1,2,3)")
        grid[name] = list(dict.fromkeys(items))  # a value listed twice is one point, not two
    if not grid:
        raise InvalidInput(f"give at least one {flag} NAME=V1,V2,...")
    return grid


def sweep_points(grid: Mapping[str, Sequence[str]], random_n: int | None = None,
                 seed: int | None = None) -> list[dict[str, str]]:
    """Every combination of ``grid`` in order (the last name varies fastest), or ``random_n`` of them.

    ``random_n`` draws that many distinct combinations (all of them when the grid has fewer), reproducibly for
    one ``seed``, kept in grid order.

    Raises:
        InvalidInput: ``random_n`` below 1, or more than :data:`MAX_POINTS` points.
    """
    names = list(grid)
    total = math.prod(len(values) for values in grid.values())
    if random_n is not None and random_n < 1:
        raise InvalidInput(f"--random must be at least 1, got {random_n}")
    count = total if random_n is None else min(random_n, total)
    if count > MAX_POINTS:
        raise InvalidInput(f"the sweep has {count:,} points, more than {MAX_POINTS:,}; use --random N")
    if random_n is None or random_n >= total:
        chosen: Sequence[int] = range(total)
    else:
        chosen = sorted(random.Random(seed).sample(range(total), random_n))
    combos = list(itertools.product(*(grid[name] for name in names))) if total <= MAX_POINTS else None
    points = []
    for index in chosen:
        combo = combos[index] if combos is not None else _combo(grid, names, index)
        points.append(dict(zip(names, combo, strict=True)))
    return points


def _combo(grid: Mapping[str, Sequence[str]], names: list[str], index: int) -> tuple[str, ...]:
    values: list[str] = []
    for name in reversed(names):
        index, rest = divmod(index, len(grid[name]))
        values.append(grid[name][rest])
    return tuple(reversed(values))


def parse_metric(text: str | None) -> tuple[str, str] | None:
    """``auc:max`` → ``("auc", "max")``; ``loss:min``; None when not given.

    Raises:
        InvalidInput: not ``KEY:max`` or ``KEY:min``.
    """
    if text is None:
        return None
    key, _, goal = text.rpartition(":")
    if not key.strip() or goal.strip().lower() not in ("max", "min"):
        raise InvalidInput(f"--metric {text!r}: expected KEY:max or KEY:min (e.g. auc:max)")
    return key.strip(), goal.strip().lower()


def new_sweep_id() -> str:
    """A sweep id: UTC time then 6 random hex digits (``20261207-0942-3fa2c1``), sortable and never a number."""
    return time.strftime("%Y%m%d-%H%M", time.gmtime()) + "-" + secrets.token_hex(3)


@dataclass
class SweepPoint:
    """One combination and what became of it.

    Attributes:
        index: its number in the sweep (0-based; the ``sweep-point:<n>`` tag).
        values: the parameters given for it, typed like the parameters cell's defaults.
        result: the smoke result (passed, or the reason and failing cell).
        run: the run its notebook tracked (None when it tracked none).
    """

    index: int
    values: dict[str, Any]
    result: NotebookResult
    run: Run | None = None

    def metric(self, key: str) -> float | None:
        """The run's latest value of metric ``key`` (None without a run, the metric, or a number)."""
        if self.run is None:
            return None
        value = self.run.metrics.get(key)
        return None if value is None or math.isnan(value) else float(value)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON: the point, its outcome and its run's id and metrics."""
        return {
            "index": self.index, "params": dict(self.values), "passed": self.result.passed,
            "reason": self.result.reason, "message": self.result.message,
            "duration": round(self.result.duration, 3), "executed_path": self.result.executed_path,
            "run_id": self.run.id if self.run else None, "run_status": self.run.status.value if self.run else None,
            "metrics": dict(self.run.metrics) if self.run else {},
        }


@dataclass
class Sweep:
    """A finished sweep: its id (``sweep = "<id>"`` finds its runs), every point, the best ones by ``metric``."""

    id: str
    notebook: str
    executor: str
    points: list[SweepPoint]
    metric: tuple[str, str] | None = None
    wall: float = 0.0
    names: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[SweepPoint]:
        """Points whose notebook failed."""
        return [point for point in self.points if not point.result.passed]

    @property
    def exit_code(self) -> int:
        """0 when every point passed, 1 when one failed (the sweep still ran them all)."""
        return 1 if self.failed else 0

    def best(self, top: int = 3) -> list[SweepPoint]:
        """The ``top`` points with the best value of :attr:`metric` (passed points with that metric only)."""
        if self.metric is None:
            return []
        key, goal = self.metric
        scored = [(value, point) for point in self.points
                  if point.result.passed and (value := point.metric(key)) is not None]
        scored.sort(key=lambda pair: (-pair[0] if goal == "max" else pair[0], pair[1].index))
        return [point for _, point in scored[:top]]

    def to_dict(self, top: int = 3) -> dict[str, Any]:
        """The ``--format json`` document."""
        metric = None if self.metric is None else {"key": self.metric[0], "goal": self.metric[1]}
        return {
            "sweep": self.id, "filter": f'sweep = "{self.id}"', "notebook": self.notebook, "executor": self.executor,
            "params": list(self.names), "metric": metric, "wall": round(self.wall, 3),
            "summary": {"total": len(self.points), "passed": len(self.points) - len(self.failed),
                        "failed": len(self.failed), "exit_code": self.exit_code},
            "points": [point.to_dict() for point in self.points],
            "best": [point.index for point in self.best(top)],
        }


def run_sweep(workspace: Workspace, notebook: str | Path, grid: Mapping[str, Sequence[str]], *,
              fixed: Sequence[str] = (), random_n: int | None = None, seed: int | None = None,
              executor: str | None = None, jobs: int | None = None, metric: str | None = None,
              timeout: float | None = None, cell_timeout: float | None = None,
              output_dir: str | Path | None = None, sweep_id: str | None = None,
              on_result: Callable[[NotebookResult], None] | None = None,
              on_start: Callable[[int], None] | None = None) -> Sweep:
    """Execute ``notebook`` once per point of ``grid`` and find each point's tracked run.

    Args:
        workspace: the store the runs go to and are read from.
        notebook: one ``.ipynb`` file with a ``parameters`` cell.
        grid: from :func:`parse_grid`.
        fixed: ``KEY=VALUE`` texts given to every point (``-p``).
        random_n: run that many random points instead of the whole grid.
        seed: with ``random_n``: the same seed draws the same points.
        executor: ``local`` (default) or ``dask://HOST:PORT``.
        jobs: points run at once locally (default: CPU count).
        metric: ``KEY:max|min`` choosing the best runs.
        timeout: seconds each point's notebook may run.
        cell_timeout: seconds each cell may run (default: 600).
        output_dir: where the executed notebooks go (default ``.mlops/smoke``), under ``sweep-<id>/``.
        sweep_id: the sweep's id (default: :func:`new_sweep_id`).
        on_result: called with each point's smoke result as soon as it is known.
        on_start: called with the number of points, once they are checked and about to run.

    Raises:
        InvalidInput: a bad grid, ``-p``, metric or option, a name the parameters cell does not define, a value it
            cannot take, or a notebook that cannot be read.
        ExecutorUnavailable: the Dask scheduler does not answer.
    """
    from jupyter_mlops.app.reproduce.execute import store_env
    from jupyter_mlops.notebooks.smoke import SmokeOptions
    from jupyter_mlops.notebooks.smoke.cluster import Cluster, parse_executor
    from jupyter_mlops.notebooks.smoke.run import run_smoke

    path = _notebook(notebook)
    goal = parse_metric(metric)
    points = sweep_points(grid, random_n, seed)
    options = SmokeOptions.from_sources({
        "paths": [str(path)], "params": list(fixed), "strict_params": True, "jobs": jobs, "timeout": timeout,
        "cell_timeout": cell_timeout, "output_dir": str(output_dir) if output_dir else None,
    })
    typed = _typed_points(path, options, points)
    the_id = sweep_id or new_sweep_id()
    options.kernel_env.update(store_env(workspace.settings))
    tasks = _tasks(path, the_id, points)
    address = parse_executor(executor)
    cluster = Cluster(address) if address is not None else None  # unreachable: one line before anything runs
    if on_start:
        on_start(len(tasks))
    try:
        report = cluster.run(tasks, options, on_result) if cluster else run_smoke(tasks, options, on_result=on_result)
    finally:
        if cluster is not None:
            cluster.close()
    runs = _point_runs(workspace, the_id)
    swept = [SweepPoint(i, {**typed[i], **_given(result)}, result, runs.get(i))
             for i, result in enumerate(report.results)]
    return Sweep(the_id, str(path), executor or "local", swept, goal, report.wall, list(grid))


def _notebook(notebook: str | Path) -> Path:
    path = Path(notebook)
    if path.suffix != ".ipynb":
        raise InvalidInput(f"{path}: a sweep runs one notebook (.ipynb)")
    if not path.is_file():
        raise InvalidInput(f"{path}: no such notebook")
    return path


def _typed_points(path: Path, options: Any, points: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Each point's values typed against the parameters cell, with ``-p``; any bad name or value fails them all."""
    from jupyter_mlops.errors import NotebookError
    from jupyter_mlops.notebooks.io import parse_notebook
    from jupyter_mlops.notebooks.smoke.params import resolve_parameters

    try:
        nb = parse_notebook(path.read_bytes(), str(path))
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read ({exc.strerror})") from None
    except NotebookError as exc:
        raise InvalidInput(exc.message) from None
    given = options.given_parameters()
    return [resolve_parameters(nb, [{**given, **point}]) for point in points]


def _tasks(path: Path, sweep_id: str, points: list[dict[str, str]]) -> list[Any]:
    from jupyter_mlops.notebooks.smoke.discover import shard_key
    from jupyter_mlops.notebooks.smoke.task import Task

    key = shard_key(path)
    tags = (SWEEP_TAG, f"sweep:{sweep_id}")
    return [Task(path, point, name=f"{key}[{i}]", output_name=f"sweep-{sweep_id}/{path.stem}-{i}.ipynb",
                 tags=(*tags, f"{POINT_TAG_PREFIX}{i}")) for i, point in enumerate(points)]


def _given(result: NotebookResult) -> dict[str, Any]:
    return dict(result.parameters)


def _point_runs(workspace: Workspace, sweep_id: str) -> dict[int, Run]:
    """Each point's run (the latest its notebook started), by point number."""
    from jupyter_mlops.app.runs import list_runs

    found: dict[int, Run] = {}
    page = list_runs(workspace, f'sweep = "{sweep_id}"', sort=("start_time",), limit=None)
    for run in page.items:
        for tag in run.tags:
            if tag.startswith(POINT_TAG_PREFIX) and tag[len(POINT_TAG_PREFIX):].isdigit():
                found[int(tag[len(POINT_TAG_PREFIX):])] = run  # ascending start: the latest wins
    return found


@dataclass
class SweepRow:
    """One run of a sweep as the sweep's charts and summary read it.

    Attributes:
        run_id: the run.
        name: its name.
        point: its ``sweep-point:<n>`` number (None when the tag is missing).
        status: its status (``finished``, ``failed``...).
        params: its values of the sweep's varying parameters (a missing one is absent).
        metrics: its latest value of every metric (NaN dropped).
        value: its value of the chosen metric (None without one, or without a chosen metric).
    """

    run_id: str
    name: str
    point: int | None
    status: str
    params: dict[str, Any]
    metrics: dict[str, float]
    value: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON."""
        return {"run_id": self.run_id, "name": self.name, "point": self.point, "status": self.status,
                "params": dict(self.params), "metrics": dict(self.metrics), "value": self.value}


@dataclass
class SweepTable:
    """A sweep's runs as rows, the best first by :attr:`metric` (by point number without one)."""

    id: str
    params: list[str]
    metrics: list[str]
    rows: list[SweepRow]
    metric: tuple[str, str] | None = None

    @property
    def best(self) -> str | None:
        """The best run's id: the first row with a value of the chosen metric (None without one)."""
        if self.metric is None:
            return None
        return next((row.run_id for row in self.rows if row.value is not None), None)

    def to_dict(self) -> dict[str, Any]:
        """The ``GET sweeps/{id}`` document."""
        metric = None if self.metric is None else {"key": self.metric[0], "goal": self.metric[1]}
        return {"sweep": self.id, "filter": f'sweep = "{self.id}"', "params": list(self.params),
                "metrics": list(self.metrics), "metric": metric, "best": self.best,
                "rows": [row.to_dict() for row in self.rows]}


def sweep_table(workspace: Workspace, sweep_id: str, metric: str | None = None) -> SweepTable:
    """Every run of sweep ``sweep_id`` with the parameters that vary across them and their metrics, the best first.

    The parameters are those whose value differs between two runs (the grid's names, whatever the notebook also
    logged), in first-seen order; when none differs (a one-point sweep) every parameter is kept. Rows are sorted by
    ``metric`` (``KEY:max|min``), runs without that metric last, ties by point number.

    Raises:
        InvalidInput: an empty sweep id or a metric not written ``KEY:max|min``.
        NotFound: no run carries the tag ``sweep:<sweep_id>``.
    """
    from jupyter_mlops.app.runs import list_runs
    from jupyter_mlops.errors import NotFound

    the_id = sweep_id.strip()
    if not the_id or '"' in the_id:
        raise InvalidInput(f"sweep id {sweep_id!r}: expected an id such as 20261207-0942-3fa2c1")
    goal = parse_metric(metric)
    runs = list_runs(workspace, f'sweep = "{the_id}"', sort=("start_time",), limit=None).items
    if not runs:
        raise NotFound(f"sweep {the_id}: no run carries the tag sweep:{the_id}")
    names = _varying(runs)
    rows = []
    for run in runs:
        metrics = {k: float(v) for k, v in run.metrics.items() if v is not None and not math.isnan(v)}
        rows.append(SweepRow(run.id, run.name, _point(run), run.status.value,
                             {k: run.params[k] for k in names if k in run.params}, metrics,
                             metrics.get(goal[0]) if goal else None))
    last = float("inf")

    def order(row: SweepRow) -> tuple[int, float, float]:
        point = float(row.point) if row.point is not None else last
        if row.value is None:
            return (1, 0.0, point)
        return (0, -row.value if goal and goal[1] == "max" else row.value, point)

    rows.sort(key=order)
    return SweepTable(the_id, names, sorted({k for row in rows for k in row.metrics}), rows, goal)


def _varying(runs: Sequence[Run]) -> list[str]:
    seen: dict[str, set[str]] = {}
    for run in runs:
        for key, value in run.params.items():
            seen.setdefault(key, set()).add(repr(value))
    for key in seen:  # a key some runs lack varies too
        if any(key not in run.params for run in runs):
            seen[key].add("<missing>")
    varying = [key for key, values in seen.items() if len(values) > 1]
    return varying or list(seen)


def _point(run: Run) -> int | None:
    for tag in run.tags:
        if tag.startswith(POINT_TAG_PREFIX) and tag[len(POINT_TAG_PREFIX):].isdigit():
            return int(tag[len(POINT_TAG_PREFIX):])
    return None
