"""Compare runs: the one function the CLI, the REST API, the ``%track compare`` magic and the widget call.

:func:`compare_runs` loads runs and their code/environment snapshots from a store and its blob store, and returns
a :class:`~jupyter_mlops.comparing.Comparison` (pure data; ``to_dict()`` is the JSON documented in
``docs/compare-json.md``). :func:`metric_histories` loads what :mod:`jupyter_mlops.charts` draws. The pure building
blocks live in :mod:`jupyter_mlops.comparing`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from jupyter_mlops.comparing import Comparison, RunSnapshot, build_comparison
from jupyter_mlops.entities import Metric, Run
from jupyter_mlops.errors import InvalidInput, MlopsError

if TYPE_CHECKING:
    from jupyter_mlops.store.base import Store

__all__ = ["compare_runs", "last_run_ids", "load_snapshots", "metric_histories", "resolve_runs"]


def resolve_runs(store: Store, refs: Iterable[str]) -> list[str]:
    """Turn ids, unique id prefixes or unique names into run ids, in order, without duplicates.

    Raises:
        NotFound: a reference matches no run.
        Conflict: a reference is ambiguous.
    """
    ids: list[str] = []
    for ref in refs:
        run_id = store.resolve_run(str(ref).strip())
        if run_id not in ids:
            ids.append(run_id)
    return ids


def last_run_ids(store: Store, count: int, filter_text: str | None = None) -> list[str]:
    """Ids of the ``count`` most recently started runs matching ``filter_text``, oldest first (the baseline).

    Raises:
        InvalidInput: ``count`` is less than 1.
        FilterSyntaxError: ``filter_text`` is malformed.
    """
    if count < 1:
        raise InvalidInput(f"--last needs a positive number of runs, got {count}")
    page = store.search_runs(filter=filter_text, order_by=["start_time DESC"], limit=count)
    return [run.id for run in reversed(page.items)]


def _load_json(blobs: Any, digest: str | None, cache: dict[str, Any]) -> Any:
    # A missing or unreadable snapshot must not break a comparison: that section is simply unavailable.
    if not digest or blobs is None:
        return None
    if digest not in cache:
        try:
            cache[digest] = blobs.get_json(digest)
        except (MlopsError, OSError, ValueError, json.JSONDecodeError):
            cache[digest] = None
    return cache[digest]


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
    cache: dict[str, Any] = {}
    ids = resolve_runs(store, run_refs)
    snapshots = []
    for run in _load_runs(store, ids):
        code = _load_json(blobs, run.code_hash, cache)
        env = _load_json(blobs, run.env_hash, cache)
        snapshots.append(
            RunSnapshot(run, code if isinstance(code, dict) else None, env if isinstance(env, dict) else None)
        )
    return snapshots


def _load_runs(store: Store, ids: Sequence[str]) -> list[Run]:
    # One search loads every run with its children in a few batched queries; get_run per id costs ~7 queries
    # each. Ids come from resolve_run (the store's own ids), so quoting them as filter strings is safe.
    if not ids:
        return []
    quoted = ", ".join(json.dumps(run_id) for run_id in ids)
    found = {run.id: run for run in store.search_runs(filter=f"id in ({quoted})", limit=len(ids)).items}
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
    return build_comparison(snapshots, all_values=all_values)


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
        gives one Vega-Lite spec per metric key.
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
