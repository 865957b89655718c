"""Min/max-per-bucket downsampling of metric histories for charts (M4: first, min, max, last of each bucket).

A chart a few hundred pixels wide cannot show a million points; it can show, per pixel column, where the line
enters, its lowest and highest point and where it leaves. Splitting the step range into ``max_points // 4``
equal buckets and keeping those four points of each (fewer when they coincide) draws the same picture as the
full history at that width, keeps every spike (LTTB may drop one of two close peaks) and, unlike LTTB, costs
one vectorised pass with no sequential step. Pure: plain sequences in, plain lists out (ADR-106).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: Points per series a compare reply carries by default (``?points=`` / ``max_points`` changes it).
DEFAULT_MAX_POINTS = 1000

__all__ = ["DEFAULT_MAX_POINTS", "Series", "minmax_buckets"]


@dataclass(frozen=True)
class Series:
    """One history as parallel lists, in step order.

    Attributes:
        steps: the steps (non-decreasing).
        values: the values (``None`` or NaN for a NaN point).
        total: how many points the stored history has (``len(steps)`` unless downsampled).
    """

    steps: list[int]
    values: list[float | None]
    total: int

    @property
    def downsampled(self) -> bool:
        """True when this is fewer points than the stored history."""
        return len(self.steps) < self.total


def minmax_buckets(steps: Sequence[int], values: Sequence[float | None], max_points: int, *,
                   total: int | None = None) -> Series:
    """At most ``max_points`` points of a history: the first, lowest, highest and last point of each bucket.

    The step range is cut into ``max_points // 4`` equally wide buckets; a bucket's four picks are emitted in step
    order without repeats, so the output's steps stay non-decreasing, the history's first and last points and its
    global minimum and maximum are always kept, and a history of at most ``max_points`` points comes back whole.
    NaN points (``None`` or NaN) carry no extreme: they are dropped when downsampling, as a chart draws no point
    for them anyway.

    Args:
        steps: steps in non-decreasing order.
        values: one value per step.
        max_points: the budget, at least 4.
        total: the stored history's size when ``steps``/``values`` are already real points standing for it (a
            rollup's picks, ADR-116); the answer's ``total`` (default ``len(steps)``).

    Raises:
        ValueError: ``max_points`` < 4 or the sequences differ in length.

    Example:
        >>> series = minmax_buckets(range(100_000), [float(i % 1000) for i in range(100_000)], 1000)
        >>> len(series.steps) <= 1000, series.steps[0], series.steps[-1], max(series.values), series.total
        (True, 0, 99999, 999.0, 100000)
    """
    if max_points < 4:
        raise ValueError("max_points must be at least 4")
    if len(steps) != len(values):
        raise ValueError("steps and values differ in length")
    total = len(steps) if total is None else total
    if len(steps) <= max_points:
        return Series(list(steps), list(values), total)
    import numpy as np

    x = np.asarray(steps, dtype=np.int64)
    y = np.asarray(values, dtype=float)  # None becomes NaN
    keep = np.isfinite(y)
    if not keep.all():
        x, y = x[keep], y[keep]
    if len(x) <= max_points:
        return Series(x.tolist(), y.tolist(), total)
    picks = _picks(x, y, max_points // 4)
    return Series(x[picks].tolist(), y[picks].tolist(), total)


def _picks(x: object, y: object, buckets: int) -> object:
    """Sorted, distinct indexes of each bucket's first, min, max and last point (``x`` sorted, ``y`` finite)."""
    import numpy as np

    xs, ys = np.asarray(x), np.asarray(y)
    n = len(xs)
    lo, hi = int(xs[0]), int(xs[-1])
    span = hi - lo + 1
    # Bucket of each point by step (not by position): equal step spans map to equal widths on the chart.
    bucket = ((xs - lo) * buckets) // span
    starts = np.flatnonzero(np.concatenate(([True], bucket[1:] != bucket[:-1])))
    ends = np.concatenate((starts[1:], [n])) - 1
    counts = ends - starts + 1
    # Each bucket's lowest and highest value (reduceat: one pass), then the first point equal to it.
    mins = _first_equal(ys, bucket, np.repeat(np.minimum.reduceat(ys, starts), counts))
    maxs = _first_equal(ys, bucket, np.repeat(np.maximum.reduceat(ys, starts), counts))
    return np.unique(np.concatenate((starts, ends, mins, maxs)))


def _first_equal(ys: object, bucket: object, target: object) -> object:
    """Per bucket, the index of the first point whose value equals that bucket's ``target``."""
    import numpy as np

    hits = np.flatnonzero(np.asarray(ys) == np.asarray(target))
    owner = np.asarray(bucket)[hits]
    return hits[np.concatenate(([True], owner[1:] != owner[:-1]))]
