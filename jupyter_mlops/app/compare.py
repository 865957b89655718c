"""Compare runs: one answer (the comparison and its charts) for the CLI, the REST API, the magic and the widget.

:func:`compare_runs` loads runs and their code/environment snapshots and returns a
:class:`~jupyter_mlops.comparing.Comparison` (pure data; ``to_dict()`` is the JSON documented in
``docs/compare-json.md``). :func:`comparison_charts` composes the Vega-Lite charts every face shows beside it, and
:func:`compare` returns both. The pure building blocks (model, sections, chart specs) live in
:mod:`jupyter_mlops.comparing`; presentation lives in :mod:`jupyter_mlops.render`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jupyter_mlops.app.chart_series import chart_series
from jupyter_mlops.app.runs import resolve_runs
from jupyter_mlops.comparing import Comparison, RunSnapshot, build_comparison, charts
from jupyter_mlops.comparing.downsample import DEFAULT_MAX_POINTS
from jupyter_mlops.comparing.modules import module_sources_wanted
from jupyter_mlops.entities import Metric, Run
from jupyter_mlops.errors import InvalidInput, NotFound
from jupyter_mlops.store.blobs import read_snapshot

if TYPE_CHECKING:
    from jupyter_mlops.app.workspace import Workspace
    from jupyter_mlops.store.base import Store

__all__ = [
    "MAX_CHART_POINTS",
    "MAX_PARAM_AXES",
    "MIN_POINTS",
    "CompareAnswer",
    "changed_data_profiles",
    "changed_module_sources",
    "check_max_points",
    "compare",
    "compare_runs",
    "comparison_charts",
    "load_snapshots",
    "metric_histories",
    "snapshots_of",
]

_FULL_ID = re.compile(r"[0-9a-f]{32}")

#: The range of ``max_points`` (``?points=``): four points per bucket at the least; a chart cannot show more.
MIN_POINTS, MAX_CHART_POINTS = 4, 100_000

#: Params shown as axes of the parallel-coordinates chart; more than this is unreadable.
MAX_PARAM_AXES = 8


def load_snapshots(store: Store, blobs: Any, run_refs: Sequence[str]) -> list[RunSnapshot]:
    """Load runs with their executed-code and environment snapshots (each blob read once).

    Args:
        store: the run store.
        blobs: the blob store (``get_json(hash)``), or None to compare without code and environment.
        run_refs: run ids, unique id prefixes or unique names; duplicates are dropped.

    Raises:
        NotFound: a run does not exist.
        Conflict: a reference is ambiguous.
    """
    refs = list(dict.fromkeys(str(ref).strip() for ref in run_refs))
    if refs and all(_FULL_ID.fullmatch(ref) for ref in refs):
        # The lab sends full ids: one search loads them all, instead of one resolve transaction per run
        # (100 runs: ~120 ms). Any id not found goes the long way, which names it in the NotFound.
        found = _load_existing(store, refs)
        if len(found) == len(refs):
            return snapshots_of(blobs, [found[ref] for ref in refs])
    return snapshots_of(blobs, _load_runs(store, resolve_runs(store, refs)))


def snapshots_of(blobs: Any, runs: Iterable[Run]) -> list[RunSnapshot]:
    """Loaded runs with their executed-code and environment snapshots (each blob read once; None: without)."""
    cache: dict[str, Any] = {}
    return [RunSnapshot(run, read_snapshot(blobs, run.code_hash, cache), read_snapshot(blobs, run.env_hash, cache))
            for run in runs]


def changed_data_profiles(blobs: Any, runs: Sequence[Run]) -> dict[str, Any]:
    """Data profiles by blob hash, loaded only for inputs whose content differs from the baseline's (both sides).

    Cheap: a comparison of runs that read the same data reads no profile at all.
    """
    if blobs is None or len(runs) < 2:
        return {}
    base = {d.name: d for d in runs[0].data_inputs if d.role == "input"}
    wanted: set[str] = set()
    for run in runs[1:]:
        for item in run.data_inputs:
            before = base.get(item.name)
            if item.role != "input" or before is None or before.hash == item.hash:
                continue
            wanted.update(str(digest) for d in (before, item) if (digest := (d.schema or {}).get("profile")))
    cache: dict[str, Any] = {}
    return {digest: found for digest in wanted if (found := read_snapshot(blobs, digest, cache)) is not None}


def changed_module_sources(blobs: Any, snapshots: Sequence[RunSnapshot]) -> dict[str, bytes]:
    """Local-module sources by blob hash, read only for modules whose version differs from the baseline's."""
    if blobs is None or len(snapshots) < 2:
        return {}
    out: dict[str, bytes] = {}
    for digest in module_sources_wanted([snap.code for snap in snapshots]):
        try:
            out[digest] = blobs.get_bytes(digest)
        except (NotFound, InvalidInput, OSError):
            continue  # shown as "source not available"
    return out


def _load_existing(store: Store, ids: Sequence[str]) -> dict[str, Run]:
    # One search loads every run with its children in a few batched queries; get_run per id costs ~7 queries
    # each. Ids are the store's own (from resolve_run) or match _FULL_ID, so quoting them as filter strings is safe.
    quoted = ", ".join(json.dumps(run_id) for run_id in ids)
    return {run.id: run for run in store.search_runs(filter=f"id in ({quoted})", limit=len(ids)).items}


def _load_runs(store: Store, ids: Sequence[str]) -> list[Run]:
    if not ids:
        return []
    found = _load_existing(store, ids)
    return [found[run_id] if run_id in found else store.get_run(run_id) for run_id in ids]


def compare_runs(store: Store, blobs: Any, run_ids: Sequence[str], *, all_values: bool = False) -> Comparison:
    """Compare runs; the first one is the baseline.

    Args:
        store: the run store.
        blobs: its blob store (or None: code and environment sections stay empty).
        run_ids: two or more runs: ids, unique prefixes or unique names.
        all_values: list unchanged params, data inputs, packages and flags too (metrics are always all listed).

    Returns:
        The :class:`Comparison`; ``to_dict()`` gives the documented JSON.

    Raises:
        InvalidInput: fewer than two distinct runs were given.
        NotFound: a run does not exist.
        Conflict: a reference is ambiguous.
    """
    if isinstance(run_ids, str):
        run_ids = [run_ids]
    snapshots = load_snapshots(store, blobs, run_ids)
    if len(snapshots) < 2:
        raise InvalidInput(f"compare needs at least two runs, found {len(snapshots)}")
    profiles = changed_data_profiles(blobs, [snap.run for snap in snapshots])
    return build_comparison(snapshots, all_values=all_values, profiles=profiles,
                            module_sources=changed_module_sources(blobs, snapshots))


def metric_histories(
    store: Store, runs: Comparison | Sequence[str], keys: Iterable[str] | None = None
) -> dict[str, dict[str, list[Metric]]]:
    """Metric histories for charts: ``{key: {run_id: [Metric, ...]}}``.

    Args:
        store: the run store.
        runs: a comparison (its runs are used as loaded) or full run ids.
        keys: metric keys to load; default every key any of the runs logged.

    Raises:
        NotFound: a run does not exist.

    Example:
        ``charts.metric_charts(metric_histories(store, comparison), charts.run_labels(comparison.runs))``
        gives one Vega-Lite spec per metric key (:func:`comparison_charts` is what the compare views show).
    """
    loaded = list(runs.runs) if isinstance(runs, Comparison) else _load_runs(store, list(runs))
    wanted = sorted({k for run in loaded for k in run.metrics}) if keys is None else list(keys)
    # One query for every (run, key) pair instead of one per pair; runs that never logged a key are skipped.
    found = store.metric_histories([run.id for run in loaded], wanted)
    out: dict[str, dict[str, list[Metric]]] = {}
    for key in wanted:
        series = {run.id: found.get((run.id, key), []) for run in loaded if key in run.metrics}
        if series:
            out[key] = series
    return out


@dataclass(frozen=True)
class CompareAnswer:
    """A comparison with the charts drawn beside it.

    Attributes:
        comparison: the :class:`Comparison` (``to_dict()`` is the documented JSON).
        history_charts: ``{metric key: Vega-Lite spec}``, the metric over steps, one line per run.
        params_charts: ``{metric key: Vega-Lite spec}``, the differing params against that metric.
        downsampled: ``{metric key: {run id: {"points": stored, "shown": charted}}}`` for each history the
            charts show downsampled (its exact values: ``GET runs/{id}/metrics/{key}``).
        max_points: the per-series budget the charts were drawn with.
    """

    comparison: Comparison
    history_charts: dict[str, dict[str, Any]] = field(default_factory=dict)
    params_charts: dict[str, dict[str, Any]] = field(default_factory=dict)
    downsampled: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    max_points: int = DEFAULT_MAX_POINTS

    def sampling_json(self) -> dict[str, Any]:
        """``{"max_points", "downsampled": {key: {run_id: {"points", "shown"}}}}`` (docs/compare-json.md)."""
        return {"max_points": self.max_points, "downsampled": self.downsampled}


def compare(
    workspace: Workspace, run_ids: Sequence[str], *, all_values: bool = False, one_run_ok: bool = False,
    max_points: int = DEFAULT_MAX_POINTS,
) -> CompareAnswer:
    """Compare runs (the first is the baseline) and compose their charts: what every compare view shows.

    Args:
        workspace: the project's stores.
        run_ids: ids, unique prefixes or unique names.
        all_values: list unchanged params, data inputs, packages and flags too.
        one_run_ok: answer for a single run too (its own values, nothing to compare against), for the notebook
            views, where the first Run All of a notebook ending in a comparison has one run so far.
        max_points: points per run and metric in the history charts; longer histories are downsampled
            (min/max per bucket, ADR-106) and listed in ``CompareAnswer.downsampled``.

    Raises:
        InvalidInput: fewer than two distinct runs were given (fewer than one with ``one_run_ok``), or
            ``max_points`` is out of range.
        NotFound: a run does not exist.
        Conflict: a reference is ambiguous.
    """
    check_max_points(max_points)
    store = workspace.store
    snapshots = load_snapshots(store, workspace.blobs, [run_ids] if isinstance(run_ids, str) else run_ids)
    if len(snapshots) < (1 if one_run_ok else 2):
        raise InvalidInput(f"compare needs at least two runs, found {len(snapshots)}")
    profiles = changed_data_profiles(workspace.blobs, [snap.run for snap in snapshots])
    comparison = build_comparison(snapshots, all_values=all_values, profiles=profiles,
                                  module_sources=changed_module_sources(workspace.blobs, snapshots))
    history, sampled = _history_charts(store, comparison, max_points)
    return CompareAnswer(comparison, history, _params_charts(comparison), sampled, max_points)


def check_max_points(max_points: int) -> None:
    """Refuse a chart budget outside ``MIN_POINTS..MAX_CHART_POINTS``.

    Raises:
        InvalidInput: out of range.
    """
    if not MIN_POINTS <= max_points <= MAX_CHART_POINTS:
        raise InvalidInput(f"points must be between {MIN_POINTS} and {MAX_CHART_POINTS}, got {max_points}")


def _history_charts(store: Store, comparison: Comparison, max_points: int) -> tuple[
        dict[str, dict[str, Any]], dict[str, dict[str, dict[str, int]]]]:
    """History charts from chart-sized series (:mod:`.chart_series`), and which series were downsampled."""
    runs = comparison.runs
    keys = sorted({k for run in runs for k in run.metrics})
    found = chart_series(store, [(run.id, key) for key in keys for run in runs if key in run.metrics], max_points)
    labels = charts.run_labels(runs)
    history: dict[str, dict[str, Any]] = {}
    sampled: dict[str, dict[str, dict[str, int]]] = {}
    for key in keys:
        series = {run.id: found[(run.id, key)] for run in runs if (run.id, key) in found}
        if not any(s.total > 1 for s in series.values()):
            continue  # logged once per run: the metrics table says it all (see comparison_charts)
        history[key] = charts.columns_history_spec({r: (s.steps, s.values) for r, s in series.items()}, key,
                                                   labels, max_points=max_points)
        shrunk = {r: {"points": s.total, "shown": len(s.steps)} for r, s in series.items() if s.downsampled}
        if shrunk:
            sampled[key] = shrunk
    return history, sampled


def _params_charts(comparison: Comparison) -> dict[str, dict[str, Any]]:
    axes = [row.key for row in comparison.params if row.differs][:MAX_PARAM_AXES]
    if not axes:
        return {}
    keys = sorted({key for run in comparison.runs for key in run.metrics})
    return {key: _params_chart(comparison.runs, axes, key) for key in keys}


def comparison_charts(
    store: Store, comparison: Comparison, max_points: int = DEFAULT_MAX_POINTS
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """The charts of a comparison: ``(history charts, params charts)``, each keyed by metric (ADR-041).

    History charts: one per metric that some run logged more than once. A metric logged once per run is a single
    dot per run, which the metrics table already says in full. Each carries at most ``max_points`` points per
    run: longer histories are downsampled on the server, min/max per bucket (ADR-106, :mod:`.chart_series`).

    Params charts: one per metric, a parallel-coordinates view of the differing params (at most
    :data:`MAX_PARAM_AXES`) against it, or a scatter of the param against the metric when only one param
    differs; none when no param differs.
    """
    check_max_points(max_points)
    return _history_charts(store, comparison, max_points)[0], _params_charts(comparison)


def _params_chart(runs: Sequence[Run], axes: list[str], metric: str) -> dict[str, Any]:
    # One differing param: parallel coordinates would be two axes with nothing between them (the lab drew an
    # empty box, issue 9 item 25); a scatter of that param against the metric says the same thing readably.
    if len(axes) == 1:
        return charts.params_vs_metric_spec(runs, axes[0], metric)
    return charts.parallel_coordinates_spec(runs, axes, metric)
