"""``sync push|pull``: runs move between the local store and a team store with their ids and times (ADR-084).

One use case, :func:`sync`, for both directions; every face calls it. What it does, in order:

1. Opens the remote (a PostgreSQL server or another SQLite file), refusing one that is the local store itself, that
   cannot be reached, or that holds another program's tables: one line, nothing written anywhere.
2. Finds what changed: the runs whose revision on the side read from differs from the one the local store's
   watermark recorded for this remote (an up-to-date sync reads two small tables and moves nothing).
3. Copies them in batches, each batch ONE transaction on the side written to: a killed sync leaves every run whole
   or absent there, and the next sync completes it (a run already there is merged, never doubled). A run that
   exists on both sides is merged by the rules of :mod:`.sync_merge`; when the merge also changes the side read
   from (the other side had edits), that side is written too, so both end equal.
4. Copies the blobs the runs name (snapshots, artifacts, model files) before their rows, content-addressed: a blob
   already there is skipped. Only when a blob store is configured for the remote.
5. Merges the model registry (versions, stages, aliases, events) both ways, and records the watermark.

The remote URL is only ever shown or stored redacted (``redact_url``): its password never reaches a message, the
watermark table or a log.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

from jupyter_mlops.app.sync_merge import merge_models, merge_runs, same_models, same_run
from jupyter_mlops.config import StoreLocation
from jupyter_mlops.errors import InvalidInput, MlopsError, NotFound, StoreUnavailable

if TYPE_CHECKING:
    from jupyter_mlops.app.workspace import Workspace
    from jupyter_mlops.store.base import Store
    from jupyter_mlops.store.transfer import RunBundle, SyncStore

#: Runs per batch (one transaction each) and the most metric points one batch reads into memory.
BATCH_RUNS = 200
BATCH_POINTS = 50_000
#: Batches written at once, each on its own connection and transaction: the server then uses more than one core.
WRITERS = 2
_READ_RUNS = 20  # runs per read: a few statements per table, a bounded result
#: Test hook (tests/integration/test_sync_kill.py): batches of one run, and after this many the next batch's
#: transaction pauses before its commit, so a test can look at the remote and kill the process there.
PAUSE_ENV = "JUPYTER_MLOPS_SYNC_PAUSE_AFTER"

DIRECTIONS = ("push", "pull")


@dataclass(frozen=True)
class SyncSummary:
    """What one sync did (or, with ``dry_run``, would do).

    Attributes:
        direction: ``push`` (local to remote) or ``pull``.
        remote: the remote's URL, redacted.
        runs: runs written to the other side (new there, or changed).
        merged: of those, runs edited on both sides, merged by the rules (the side read from was updated too).
        unchanged: runs that had changed but were already equal on both sides.
        points: metric points (sliced included) in the runs written.
        blobs: blobs copied; ``blobs_present`` were already there; ``blobs_missing`` the side read from lacked;
            ``blobs_not_copied`` were named by the runs written while no blob store is configured for the remote.
        models: model registry rows added or changed (both sides together).
        skipped: one line per run left alone, with the reason.
        dry_run: nothing was written.
        blob_store: whether a blob store was configured for the remote (else blobs are not copied).
        seconds: wall time.
    """

    direction: str
    remote: str
    runs: int = 0
    merged: int = 0
    unchanged: int = 0
    points: int = 0
    blobs: int = 0
    blobs_present: int = 0
    blobs_missing: int = 0
    blobs_not_copied: int = 0
    models: int = 0
    skipped: tuple[str, ...] = ()
    dry_run: bool = False
    blob_store: bool = False
    seconds: float = 0.0

    @property
    def nothing_new(self) -> bool:
        """True when the sync moved nothing: the two stores were already in step."""
        return not (self.runs or self.merged or self.blobs or self.models)

    def to_dict(self) -> dict[str, Any]:
        """Wire shape (the CLI's ``--format json``)."""
        return {**asdict(self), "skipped": list(self.skipped), "nothing_new": self.nothing_new}


@dataclass
class _Tally:
    runs: int = 0
    merged: int = 0
    unchanged: int = 0
    points: int = 0
    blobs: int = 0
    blobs_present: int = 0
    blobs_missing: int = 0
    blobs_not_copied: int = 0
    models: int = 0
    looked_at: int = 0  # runs of a batch, merged or not
    skipped: list[str] = field(default_factory=list)


#: The counters a sync adds up batch by batch and reports in its summary under the same names.
_COUNTS = tuple(f.name for f in fields(_Tally) if f.name not in ("looked_at", "skipped"))


def redacted(url: str) -> str:
    """A store URL as it may be shown or stored: without its password."""
    from jupyter_mlops.store.engine import redact_url

    return redact_url(url)


def remote_url(workspace: Workspace, remote: str | None) -> str:
    """The remote to use: the one given, else the configured one (``remote`` in pyproject, JUPYTER_MLOPS_REMOTE).

    Raises:
        InvalidInput: none given and none configured.
    """
    url = remote or workspace.settings.remote
    if not url:
        raise InvalidInput("no remote: pass --remote URL, or set remote = \"...\" in [tool.jupyter-mlops] "
                           "or JUPYTER_MLOPS_REMOTE")
    return url


def _same_place(local: str, remote: str) -> bool:
    """Whether two store URLs name the same database (the same SQLite file, or host, port and database)."""
    a, b = StoreLocation.of(local), StoreLocation.of(remote)
    if a.scheme != b.scheme:
        return False
    if a.scheme == "sqlite":
        pa, pb = a.sqlite_path, b.sqlite_path
        if pa is None or pb is None:
            return False
        try:
            return pa.resolve() == pb.resolve() or (pa.exists() and pb.exists() and os.path.samefile(pa, pb))
        except OSError:
            return False
    from sqlalchemy.engine import make_url

    try:
        ua, ub = make_url(local), make_url(remote)
    except Exception:  # noqa: BLE001 - a malformed URL is reported when it is opened
        return False
    return (ua.host or "localhost", ua.port or 5432, ua.database) == (ub.host or "localhost", ub.port or 5432,
                                                                    ub.database)


def open_remote(workspace: Workspace, url: str, *, create: bool) -> Store:
    """The remote store, checked and migrated; every failure is one line (exit 2 at the CLI).

    Raises:
        InvalidInput: the remote is the local store, is unreachable, is not a database, or belongs to another
            program (it holds tables and none of ours); nothing is written to it then.
    """
    from jupyter_mlops.store import open_store, require_url
    from jupyter_mlops.store.remote import check_remote

    where = redacted(url)
    require_url(url, "remote")
    if _same_place(workspace.store_url, url):
        raise InvalidInput(f"remote {where} is the local store itself; give the team store's URL")
    path = StoreLocation.of(url).sqlite_path
    if not create and path is not None and not path.exists():
        raise InvalidInput(f"remote {where} does not exist yet: push to it first")
    try:
        check_remote(url, create=create)
        return open_store(url, create=create, stale_after=workspace.settings.stale_after)
    except StoreUnavailable as error:
        raise InvalidInput(f"remote: {error.message}") from None


def _open_for(workspace: Workspace, url: str, *, push: bool, dry_run: bool) -> Store:
    """The remote for a sync; a dry-run push to a SQLite file not made yet reads an empty store instead."""
    path = StoreLocation.of(url).sqlite_path
    if push and dry_run and path is not None and not path.exists():
        from jupyter_mlops.store import open_store

        if _same_place(workspace.store_url, url):
            raise InvalidInput(f"remote {redacted(url)} is the local store itself; give the team store's URL")
        return open_store("sqlite://")
    return open_remote(workspace, url, create=push and not dry_run)


def _open_remote_blobs(location: str | None) -> Any:
    if not location:
        return None
    from jupyter_mlops.store import open_blobs

    return open_blobs(location)


def sync(workspace: Workspace, direction: str, *, remote: str | None = None, remote_blobs: str | None = None,
         filter_text: str | None = None, dry_run: bool = False,
         progress: Callable[[int, int], None] | None = None) -> SyncSummary:
    """Push local runs to the remote, or pull the remote's runs here (see the module doc).

    Args:
        workspace: the local project.
        direction: ``push`` or ``pull``.
        remote: the remote's store URL (default: the configured one).
        remote_blobs: the remote's blob folder/URL (default: the configured one; none: blobs are not copied).
        filter_text: only runs matching this filter-language expression (on the side read from).
        dry_run: report what would move, write nothing.
        progress: called with (runs done, runs to do) after each batch.

    Raises:
        InvalidInput: bad direction, no remote, remote unusable (see :func:`open_remote`), malformed filter.
        Conflict: a run changed on the side being written while this sync ran; run it again.
    """
    from jupyter_mlops.store.transfer import require_sync

    if direction not in DIRECTIONS:
        raise InvalidInput(f"sync direction must be push or pull, got {direction!r}")
    started = time.perf_counter()
    url = remote_url(workspace, remote)
    key = redacted(url)
    local = require_sync(workspace.store, redacted(workspace.store_url))
    remote_store = _open_for(workspace, url, push=direction == "push", dry_run=dry_run)
    try:
        other = require_sync(remote_store, key)
        blobs_there = _open_remote_blobs(remote_blobs or workspace.settings.remote_blobs)
        push = direction == "push"
        src, dst = (local, other) if push else (other, local)
        src_blobs, dst_blobs = (workspace.blobs, blobs_there) if push else (blobs_there, workspace.blobs)
        tally = _Tally()
        _sync_runs(src, dst, local, key, push=push, filter_text=filter_text, dry_run=dry_run,
                   blobs=(src_blobs, dst_blobs) if blobs_there is not None else None, tally=tally, progress=progress)
        _sync_models(src, dst, dry_run=dry_run, blobs=(src_blobs, dst_blobs) if blobs_there is not None else None,
                     tally=tally)
    finally:
        remote_store.close()
    return SyncSummary(direction=direction, remote=key, **{name: getattr(tally, name) for name in _COUNTS},
                       skipped=tuple(tally.skipped), dry_run=dry_run, blob_store=blobs_there is not None,
                       seconds=time.perf_counter() - started)


def _todo(src: SyncStore, dst: SyncStore, local: SyncStore, key: str, *, push: bool,
          filter_text: str | None, tally: _Tally) -> tuple[list[str], dict[str, tuple[int, int]]]:
    """Ids of the runs changed on the side read from since the watermark, and the watermark."""
    mark = local.sync_watermark(key)
    revisions = src.run_revisions(filter_text)
    side = 0 if push else 1
    todo = [run_id for run_id, rev in revisions.items() if run_id not in mark or mark[run_id][side] != rev]
    if not push and todo:
        here = local.run_revisions()
        gone = [run_id for run_id in todo if run_id in mark and run_id not in here]
        if gone:
            # Deleted here after a sync: a pull must not bring it back (delete it on the remote too to drop it).
            tally.skipped.extend(f"run {run_id}: deleted in the local store after it was synced" for run_id in gone)
            todo = [run_id for run_id in todo if run_id not in set(gone)]
    return todo, mark


def _pause_after() -> int | None:
    value = os.environ.get(PAUSE_ENV, "")
    return int(value) if value.isdigit() else None


def _sync_runs(src: SyncStore, dst: SyncStore, local: SyncStore, key: str, *, push: bool, filter_text: str | None,
               dry_run: bool, blobs: tuple[Any, Any] | None, tally: _Tally,
               progress: Callable[[int, int], None] | None) -> None:
    todo, _ = _todo(src, dst, local, key, push=push, filter_text=filter_text, tally=tally)
    if not todo:
        if not dry_run:
            local.record_sync(key, {}, pushed=push)
        return
    there = dst.run_revisions()
    pause = _pause_after()
    writers = 1 if pause is not None else WRITERS
    done = 0

    def apply(part: list[RunBundle], batch_no: int) -> _Tally:
        return _apply(part, src, dst, local, key, there=there, push=push, dry_run=dry_run, blobs=blobs,
                      hold=pause is not None and batch_no == pause)

    with ThreadPoolExecutor(max_workers=writers, thread_name_prefix="sync-write") as pool:
        pending: deque[Future[_Tally]] = deque()
        for batch_no, part in enumerate(_prefetched(_parts(src, todo, one_by_one=pause is not None))):
            pending.append(pool.submit(apply, part, batch_no))
            while len(pending) > writers or (pending and pending[0].done()):
                done += _add(tally, pending.popleft().result())
                if progress is not None:
                    progress(done, len(todo))
        while pending:
            done += _add(tally, pending.popleft().result())
            if progress is not None:
                progress(done, len(todo))


def _add(tally: _Tally, part: _Tally) -> int:
    """Add a batch's counts to the sync's; return the runs the batch looked at."""
    for name in _COUNTS:  # a batch's models count is 0: model versions are merged once, after the runs
        setattr(tally, name, getattr(tally, name) + getattr(part, name))
    tally.skipped.extend(part.skipped)
    return part.looked_at


def _apply(part: list[RunBundle], src: SyncStore, dst: SyncStore, local: SyncStore, key: str, *,
           there: dict[str, int], push: bool, dry_run: bool, blobs: tuple[Any, Any] | None, hold: bool) -> _Tally:
    """Merge one batch with what the other side has, write it there (and back, when merged), record it."""
    tally = _Tally(looked_at=len(part))
    ours = {b.id: b for b in part}
    theirs = {b.id: b for b in dst.read_bundles([i for i in ours if i in there])}
    to_dst: list[RunBundle] = []
    to_src: list[RunBundle] = []
    for bundle in part:
        other = theirs.get(bundle.id)
        if other is None:
            to_dst.append(bundle)
            continue
        merged = merge_runs(bundle, other)
        if not same_run(merged, other):
            to_dst.append(merged)
        if not same_run(merged, bundle):
            to_src.append(merged)
        if same_run(merged, other) and same_run(merged, bundle):
            tally.unchanged += 1
    tally.runs, tally.merged = len(to_dst), len(to_src)
    tally.points = sum(b.points for b in to_dst)
    if dry_run:
        return tally
    hashes: set[str] = set().union(*(b.blob_hashes() for b in to_dst)) if to_dst else set()
    if blobs is not None:
        _copy_blobs(hashes, *blobs, tally)  # before the rows: a run visible there has its blobs
    else:
        tally.blobs_not_copied = len(hashes)
    new_dst = dst.write_bundles(to_dst, {i: theirs[i].revision for i in theirs},
                                before_commit=_hold if hold else None) if to_dst else {}
    new_src = src.write_bundles(to_src, {b.id: ours[b.id].revision for b in to_src}) if to_src else {}
    record = {}
    for run_id, bundle in ours.items():
        src_rev = new_src.get(run_id, bundle.revision)
        dst_rev = new_dst.get(run_id, theirs[run_id].revision if run_id in theirs else 0)
        record[run_id] = (src_rev, dst_rev) if push else (dst_rev, src_rev)
    local.record_sync(key, record, pushed=push)
    return tally


def _parts(src: SyncStore, todo: Sequence[str], *, one_by_one: bool) -> Iterator[list[RunBundle]]:
    """The runs to sync, read in batches of at most :data:`BATCH_RUNS` runs and :data:`BATCH_POINTS` points."""
    part: list[RunBundle] = []
    points = 0
    for start in range(0, len(todo), _READ_RUNS):
        for bundle in src.read_bundles(todo[start:start + _READ_RUNS]):
            if part and (one_by_one or len(part) >= BATCH_RUNS or points + bundle.points > BATCH_POINTS):
                yield part
                part, points = [], 0
            part.append(bundle)
            points += bundle.points
    if part:
        yield part


def _prefetched(parts: Iterator[list[RunBundle]]) -> Iterator[list[RunBundle]]:
    """The batches, the next one read in a thread while the current ones are written.

    Reading (SQLite, Python) and writing (mostly the other server's work, the driver waiting without the GIL)
    then overlap instead of taking turns.
    """
    ahead: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def read() -> None:
        try:
            for part in parts:
                while not stop.is_set():
                    try:
                        ahead.put(("part", part), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            ahead.put(("end", None))
        except BaseException as error:  # noqa: BLE001 - handed to the consumer, which raises it
            ahead.put(("error", error))

    reader = threading.Thread(target=read, name="sync-read", daemon=True)
    reader.start()
    try:
        while True:
            kind, item = ahead.get()
            if kind == "end":
                return
            if kind == "error":
                raise item
            yield item
    finally:
        stop.set()
        reader.join(timeout=5)


def _hold() -> None:
    # The test hook's pause, inside the remote transaction: the batch's rows are written, not committed.
    sys.stderr.write("sync paused before commit\n")
    sys.stderr.flush()
    time.sleep(600)


def _copy_blobs(hashes: set[str], src: Any, dst: Any, tally: _Tally) -> None:
    """Copy each blob the destination lacks (content-addressed: one already there is skipped)."""
    for digest in sorted(hashes):
        try:
            there = dst.exists(digest)
        except InvalidInput:  # not a blob address (a hash recorded by another tool): nothing to copy
            tally.blobs_missing += 1
            continue
        if there:
            tally.blobs_present += 1
            continue
        try:
            data = src.get_bytes(digest)
        except (NotFound, MlopsError):
            tally.blobs_missing += 1
            continue
        stored = dst.put_bytes(data)
        if stored != digest:  # a blob named by another hash algorithm: kept under its own name too
            tally.skipped.append(f"blob {digest}: stored as {stored} (another hash algorithm)")
        tally.blobs += 1


def _sync_models(src: SyncStore, dst: SyncStore, *, dry_run: bool, blobs: tuple[Any, Any] | None,
                 tally: _Tally) -> None:
    from jupyter_mlops.store.transfer import columns

    ours, theirs = src.read_models(), dst.read_models()
    if not (ours.versions or theirs.versions or ours.events or theirs.events):
        return
    merged = merge_models(ours, theirs)
    if dry_run:
        tally.models += int(not same_models(merged, theirs)) + int(not same_models(merged, ours))
        return
    if blobs is not None:
        have = {(r[0], r[1]) for r in theirs.versions}
        at = columns("versions").index("artifact_hash")
        hashes = {r[at] for r in merged.versions if (r[0], r[1]) not in have}
        _copy_blobs({h for h in hashes if isinstance(h, str) and h}, *blobs, tally)
    if not same_models(merged, theirs):
        tally.models += dst.write_models(merged)
    if not same_models(merged, ours):
        tally.models += src.write_models(merged)


def local_only(workspace: Workspace, run_ids: Sequence[str]) -> set[str] | None:
    """Which of these runs were never synced with any remote (the sidebar marks them); None without a remote."""
    from jupyter_mlops.store.transfer import SyncStore

    if not workspace.settings.remote:
        return None
    store = workspace.store
    if not isinstance(store, SyncStore) or not run_ids:
        return set()
    return set(run_ids) - store.synced_run_ids(run_ids)


def list_remote_runs(workspace: Workspace, remote: str | None, filter_text: str | None, sort: Sequence[str],
                     limit: int | None, offset: int) -> Any:
    """One page of the remote's runs (``runs list --remote``): the remote opened read-only, never created."""
    from jupyter_mlops.app.runs import list_runs
    from jupyter_mlops.app.workspace import Workspace as _Workspace

    url = remote_url(workspace, remote)
    store = open_remote(workspace, url, create=False)
    with _Workspace.wrapping(store, None, workspace.settings.with_overrides(store_url=url)) as there:
        try:
            return list_runs(there, filter_text, sort, limit=limit, offset=offset)
        finally:
            store.close()


__all__ = ["DIRECTIONS", "SyncSummary", "list_remote_runs", "local_only", "open_remote", "redacted", "remote_url",
           "sync"]
