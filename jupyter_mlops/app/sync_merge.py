"""The merge rules of sync: one run (or the registry) edited on both sides becomes one state (ADR-085).

Pure functions over :class:`~jupyter_mlops.store.transfer.RunBundle` and
:class:`~jupyter_mlops.store.transfer.ModelState`; the same two inputs always give the same result, whichever
side is ``ours``, except where a rule says ties go to ``ours`` (the side the sync reads from). Merging a run
with itself gives itself, so merging again after a sync changes nothing.

The rules (docs/sync.md states them for users):
    * Run columns (status, end time, heartbeat, name, flags, ...) come from the side that got further: a finished
      or failed run beats a running or crashed one; between two finished (or two unfinished) ones the later end
      time (or heartbeat) wins. So a run that crashed on one side and was finished on the other is finished.
    * Tags: the union of both sides, minus each tag whose latest change (on either side) is a removal: removals
      are recorded as tombstones, so a tag deleted on one side stays deleted; adding it again later wins.
    * Note: the note written last wins; the other one is kept in the note history, which is the union of both.
    * Metric, sliced-metric and param histories, data inputs, artifacts and external ids: the union (a point logged
      on either side is kept once); a param's current value is the one logged last.
    * Model registry: versions and events are the union; a version's stage and each alias follow the latest
      event that set them.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable
from typing import Any

from jupyter_mlops.store.transfer import ModelState, RunBundle, columns

_TERMINAL = ("finished", "failed")


def _progress(bundle: RunBundle) -> tuple[int, float]:
    run = bundle.run
    done = 1 if run.get("status") in _TERMINAL else 0
    moment = run.get("end_time") if done else run.get("heartbeat")
    return done, float(moment if moment is not None else run.get("start_time") or 0.0)


def _note_time(bundle: RunBundle) -> float:
    """When the current note was written: its latest history entry, else the run's start (set at creation)."""
    note = bundle.run.get("note") or ""
    times = [at for text, at in bundle.rows.get("note_history", ()) if text == note]
    return max(times) if times else float(bundle.run.get("start_time") or 0.0)


def _multiset_union(first: Iterable[tuple[Any, ...]], second: Iterable[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rows of both, each as often as the side that has it most often (a point is never doubled), in order."""
    ours, theirs = list(first), list(second)
    extra = Counter(theirs) - Counter(ours)
    out = list(ours)
    for row in theirs:
        if extra[row] > 0:
            out.append(row)
            extra[row] -= 1
    return out


def _keyed_union(winner: list[tuple[Any, ...]], loser: list[tuple[Any, ...]], key: slice) -> list[tuple[Any, ...]]:
    seen = {row[key] for row in winner}
    return [*winner, *(row for row in loser if row[key] not in seen)]


def _latest(rows: Iterable[tuple[Any, ...]], table: str, key: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """One row per key: the highest step, then the latest time (the store's rule for latest values)."""
    cols = columns(table)
    at = [cols.index(k) for k in key]
    step, stamp = cols.index("step"), cols.index("timestamp")
    best: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    for row in rows:
        k = tuple(row[i] for i in at)
        old = best.get(k)
        if old is None or (row[step], row[stamp]) > (old[step], old[stamp]):
            best[k] = row
    return sorted(best.values(), key=lambda r: tuple(r[i] for i in at))


def _params(winner: RunBundle, loser: RunBundle) -> list[tuple[Any, ...]]:
    def last_logged(bundle: RunBundle) -> dict[str, float]:
        times: dict[str, float] = {}
        for key, _value, _source, at in bundle.rows.get("param_history", ()):
            times[key] = max(at, times.get(key, at))
        return times
    win_at, lose_at = last_logged(winner), last_logged(loser)
    out = {row[0]: row for row in winner.rows.get("params", ())}
    for row in loser.rows.get("params", ()):
        if row[0] not in out or lose_at.get(row[0], -math.inf) > win_at.get(row[0], -math.inf):
            out[row[0]] = row
    return [out[k] for k in sorted(out)]


def _tags(ours: RunBundle, theirs: RunBundle) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    changes: dict[str, tuple[Any, ...]] = {}
    for tag, present, at in [*ours.rows.get("tag_changes", ()), *theirs.rows.get("tag_changes", ())]:
        old = changes.get(tag)
        # The later change wins; at the same moment a removal wins (a tombstone is never undone by a tie).
        if old is None or (at, not present) > (old[2], not old[1]):
            changes[tag] = (tag, bool(present), at)
    tags = {row[0] for row in [*ours.rows.get("tags", ()), *theirs.rows.get("tags", ())]}
    tags |= {tag for tag, present, _ in changes.values() if present}
    tags -= {tag for tag, present, _ in changes.values() if not present}
    return [(t,) for t in sorted(tags)], [changes[t] for t in sorted(changes)]


def _note(ours: RunBundle, theirs: RunBundle) -> tuple[str, list[tuple[Any, ...]]]:
    mine, other = ours.run.get("note") or "", theirs.run.get("note") or ""
    history = sorted(_multiset_union(ours.rows.get("note_history", ()), theirs.rows.get("note_history", ())),
                     key=lambda row: row[1])
    if mine == other:
        return mine, history
    # Ties go to ours; a note never edited (no history) loses to one that was.
    win, lose = (ours, theirs) if _note_time(ours) >= _note_time(theirs) else (theirs, ours)
    kept = {text for text, _ in history}
    for bundle in (lose, win):  # both versions end up in the history, the winner last
        text = bundle.run.get("note") or ""
        if text and text not in kept:
            history.append((text, _note_time(bundle)))
            kept.add(text)
    return win.run.get("note") or "", sorted(history, key=lambda row: row[1])


def _summary(rows: dict[str, list[tuple[Any, ...]]]) -> str:
    summary: dict[str, Any] = {
        "params": {key: json.loads(value) for key, value, *_ in rows["params"]},
        "metrics": {key: math.nan if value is None else value for key, value, *_ in rows["latest_metrics"]},
    }
    if rows["latest_slice_metrics"]:
        sliced: dict[str, dict[str, float]] = {}
        for key, label, value, *_ in rows["latest_slice_metrics"]:
            sliced.setdefault(key, {})[label] = math.nan if value is None else value
        summary["slices"] = sliced
    return json.dumps(summary)


def merge_runs(ours: RunBundle, theirs: RunBundle) -> RunBundle:
    """One run as it should be on both sides after a sync (see the module doc for the rules)."""
    winner, loser = (ours, theirs) if _progress(ours) >= _progress(theirs) else (theirs, ours)
    rows: dict[str, list[tuple[Any, ...]]] = {}
    for table in ("metrics", "slice_metrics", "param_history"):
        rows[table] = _multiset_union(winner.rows.get(table, ()), loser.rows.get(table, ()))
    rows["param_history"].sort(key=lambda row: row[3])
    rows["latest_metrics"] = _latest([*winner.rows.get("latest_metrics", ()), *loser.rows.get("latest_metrics", ())],
                                     "latest_metrics", ("key",))
    rows["latest_slice_metrics"] = _latest(
        [*winner.rows.get("latest_slice_metrics", ()), *loser.rows.get("latest_slice_metrics", ())],
        "latest_slice_metrics", ("key", "slice"))
    rows["params"] = _params(winner, loser)
    rows["tags"], rows["tag_changes"] = _tags(ours, theirs)
    note, rows["note_history"] = _note(ours, theirs)
    rows["data_inputs"] = _keyed_union(winner.rows.get("data_inputs", []), loser.rows.get("data_inputs", []),
                                       slice(0, 2))
    rows["artifacts"] = _keyed_union(winner.rows.get("artifacts", []), loser.rows.get("artifacts", []), slice(0, 1))
    run = {**winner.run, "note": note, "summary": _summary(rows)}
    links = _keyed_union(winner.links, loser.links, slice(0, 4))
    return RunBundle(run=run, revision=winner.revision, rows=rows, links=links)


def same_run(a: RunBundle, b: RunBundle) -> bool:
    """Whether two bundles hold the same run (rows compared as multisets; the derived summary is not compared)."""
    if {k: v for k, v in a.run.items() if k != "summary"} != {k: v for k, v in b.run.items() if k != "summary"}:
        return False
    tables = set(a.rows) | set(b.rows)
    if any(Counter(a.rows.get(t, ())) != Counter(b.rows.get(t, ())) for t in tables):
        return False
    return set(a.links) == set(b.links)


# -- the registry ----------------------------------------------------------------------------------------


def merge_models(ours: ModelState, theirs: ModelState) -> ModelState:
    """The registry as it should be on both sides: versions and events united, stages and aliases by last event."""
    vcols, ecols = columns("versions"), columns("events")
    stage_at = vcols.index("stage")
    versions = {(r[0], r[1]): r for r in [*theirs.versions, *ours.versions]}  # ours wins on equal keys
    events = sorted(_multiset_union(theirs.events, ours.events), key=lambda e: e[ecols.index("at")])
    at = {name: ecols.index(name) for name in ("name", "version", "change", "label", "to_value")}
    stages: dict[tuple[str, str], Any] = {}
    aliases: dict[tuple[str, str], Any] = {}
    for event in events:  # in time order: the last one that set a value holds
        if event[at["change"]] == "stage":
            stages[(event[at["name"]], event[at["version"]])] = event[at["to_value"]]
        elif event[at["change"]] == "alias":
            aliases[(event[at["name"]], event[at["label"]])] = event[at["to_value"]]
    merged_versions = []
    for key in sorted(versions):
        row = list(versions[key])
        if key in stages and stages[key] is not None:
            row[stage_at] = stages[key]
        merged_versions.append(tuple(row))
    alias_rows = {(r[0], r[1]): r for r in [*theirs.aliases, *ours.aliases]}
    for (name, alias), version in aliases.items():
        if version is None:
            alias_rows.pop((name, alias), None)
        else:
            alias_rows[(name, alias)] = (name, alias, version)
    return ModelState(versions=merged_versions, aliases=[alias_rows[k] for k in sorted(alias_rows)], events=events)


def same_models(a: ModelState, b: ModelState) -> bool:
    """Whether two registries hold the same versions (with stages), aliases and events."""
    return (set(a.versions) == set(b.versions) and set(a.aliases) == set(b.aliases)
            and Counter(a.events) == Counter(b.events))


__all__ = ["merge_models", "merge_runs", "same_models", "same_run"]
