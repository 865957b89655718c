"""Chart-sized metric histories: read as plain columns, downsampled per series, cached while unchanged.

A compare chart of ten runs with a million steps each would otherwise carry ten million points through the
database driver, Python and JSON, for a plot 400 pixels wide. Each history longer than ``max_points`` becomes
its :func:`~jupyter_mlops.comparing.downsample.minmax_buckets` picks (ADR-106). Reading a history still costs
an index range scan and a Python object per value (~1 µs a point: 100 runs x 1,000 steps is ~0.2 s), so chart
series are kept, per store, under their history's mark (latest step and timestamp, :meth:`Store.metric_marks`):
the next compare of the same runs reads only the marks, and a history that grew gets a new mark and is read
again. Kept as packed arrays (16 bytes a point), at most :data:`CACHED_POINTS` points per store, least recently
used first out (ADR-108). A series not in the cache is read through the store's rollups when the history is long
enough for one block per bucket (:func:`reduce_from`): its blocks' first/min/max/last points, ~4 per 1,024, then the
same downsampling, so a cold compare of million-point runs reads thousands of rows, not millions (ADR-116/117).
"""

from __future__ import annotations

import math
import threading
import weakref
from array import array
from collections import OrderedDict
from collections.abc import Iterable
from typing import TYPE_CHECKING

from jupyter_mlops.comparing.downsample import Series, minmax_buckets

if TYPE_CHECKING:
    from jupyter_mlops.store.base import Store

__all__ = ["CACHED_POINTS", "chart_series", "reduce_from"]

#: Chart points kept per store (~16 bytes each): 2,000 series of 1,000 points.
CACHED_POINTS = 2_000_000

#: Blocks per M4 bucket from which a history is read through its rollup (ADR-116): with at least one block per
#: bucket a block that straddles a bucket's edge moves that bucket's drawn extremes by less than one bucket.
BLOCKS_PER_BUCKET = 1


def reduce_from(max_points: int) -> int:
    """The history size from which a chart of ``max_points`` reads a history through its rollup (ADR-116)."""
    from jupyter_mlops.store.rollup import BLOCK

    return BLOCK * BLOCKS_PER_BUCKET * max(1, max_points // 4)


_Key = tuple[str, str, int]  # run id, metric key, max_points
_Entry = tuple[tuple[int, float], "array[int]", "array[float]", int]  # mark, steps, values (NaN), stored count
_caches: weakref.WeakKeyDictionary[Store, _Cache] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


class _Cache:
    """One store's chart series, least recently used first, bounded by their total points."""

    def __init__(self) -> None:
        self.entries: OrderedDict[_Key, _Entry] = OrderedDict()
        self.points = 0

    def get(self, key: _Key, mark: tuple[int, float] | None) -> Series | None:
        entry = self.entries.get(key)
        if entry is None or entry[0] != mark:
            return None
        self.entries.move_to_end(key)
        values: list[float | None] = list(entry[2].tolist())
        total = sum(entry[2])  # NaN if any value is NaN (or +inf and -inf meet): only then look closer
        if total != total:
            values = [None if v != v else v for v in values]
        return Series(entry[1].tolist(), values, entry[3])

    def put(self, key: _Key, mark: tuple[int, float], series: Series) -> None:
        old = self.entries.pop(key, None)
        if old is not None:
            self.points -= len(old[1])
        values = array("d", (math.nan if v is None else v for v in series.values))
        self.entries[key] = (mark, array("q", series.steps), values, series.total)
        self.points += len(series.steps)
        while self.points > CACHED_POINTS and self.entries:
            _, dropped = self.entries.popitem(last=False)
            self.points -= len(dropped[1])


def _cache_of(store: Store) -> _Cache:
    with _lock:
        cache = _caches.get(store)
        if cache is None:
            cache = _caches[store] = _Cache()
        return cache


def chart_series(store: Store, pairs: Iterable[tuple[str, str]], max_points: int) -> dict[tuple[str, str], Series]:
    """The chart series of each (run id, metric key) pair that has points, at most ``max_points`` points each.

    Args:
        store: the run store.
        pairs: (run id, key) pairs; a pair without points is left out of the answer.
        max_points: per-series budget (at least 4); a longer history is downsampled, ``Series.total`` says from
            how many points.

    Raises:
        NotFound: a run does not exist.
    """
    wanted = list(dict.fromkeys(pairs))
    if not wanted:
        return {}
    cache = _cache_of(store)
    marks = store.metric_marks(list(dict.fromkeys(r for r, _ in wanted)), list(dict.fromkeys(k for _, k in wanted)))
    out: dict[tuple[str, str], Series] = {}
    missing: dict[str, list[str]] = {}  # key -> runs to read
    with _lock:
        for pair in wanted:
            hit = cache.get((*pair, max_points), marks.get(pair))
            if hit is not None:
                out[pair] = hit
            else:
                missing.setdefault(pair[1], []).append(pair[0])
    for key, run_ids in missing.items():
        for pair, (steps, values, total) in store.metric_chart_columns(run_ids, [key], reduce_from(max_points)).items():
            series = out[pair] = minmax_buckets(steps, values, max_points, total=total)
            mark = marks.get(pair)
            if mark is not None:
                with _lock:
                    cache.put((*pair, max_points), mark, series)
    return {pair: out[pair] for pair in wanted if pair in out}
