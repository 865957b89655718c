"""Compare charts of long histories read through their rollups (ADR-116), on SQLite and PostgreSQL.

What is asserted for a monotone history (value = step / 2, steps 0..N-1) downsampled to ``max_points``:
  * the reply says it was downsampled, from N points, within the budget;
  * every charted point is a real point of the history, in step order, first and last points included;
  * in each M4 bucket (the raw history's step range cut into ``max_points // 4`` equal parts), the charted lowest
    and highest values lie inside the raw bucket's [min, max] envelope, and each is at most one block (BLOCK
    points, here BLOCK steps) away from the raw one: a block that straddles a bucket edge is drawn in the bucket
    of its first/last point, never outside the envelope.
A back-filled history's rollup is invalid, and its chart is then exactly the one every point gives (M4 over all).
"""

from __future__ import annotations

from jupyter_mlops.app import chart_series as cs
from jupyter_mlops.app.chart_series import chart_series, reduce_from
from jupyter_mlops.comparing.downsample import minmax_buckets
from jupyter_mlops.store.rollup import BLOCK

MAX_POINTS = 40  # 10 buckets; reduce_from(40) = 10 blocks


def _monotone(store, points, name="m"):
    run = store.create_run(name=name)
    for start in range(0, points, 5000):
        store.log_metric_rows(run.id, [("loss", x / 2, x, 1.0 + x) for x in range(start, min(points, start + 5000))])
    return run.id


def _buckets(steps, lo, hi, buckets):
    span = hi - lo + 1
    return [((x - lo) * buckets) // span for x in steps]


def test_a_long_monotone_history_is_charted_from_rollups_inside_the_raw_envelope(store):
    points = reduce_from(MAX_POINTS) + 3 * BLOCK + 100
    run_id = _monotone(store, points)
    columns = store.metric_chart_columns([run_id], ["loss"], reduce_from(MAX_POINTS))[(run_id, "loss")]
    assert columns[2] == points and len(columns[0]) < points // 100  # read through the rollup: blocks + tail
    series = chart_series(store, [(run_id, "loss")], MAX_POINTS)[(run_id, "loss")]
    assert series.downsampled and series.total == points and len(series.steps) <= MAX_POINTS
    assert series.steps == sorted(series.steps) and series.steps[0] == 0 and series.steps[-1] == points - 1
    assert all(v == x / 2 for x, v in zip(series.steps, series.values, strict=True))  # real points only
    raw = minmax_buckets(range(points), [x / 2 for x in range(points)], MAX_POINTS)
    buckets = MAX_POINTS // 4
    drawn: dict[int, list[float]] = {}
    for b, v in zip(_buckets(series.steps, 0, points - 1, buckets), series.values, strict=True):
        drawn.setdefault(b, []).append(v)
    envelope: dict[int, list[float]] = {}
    for b, v in zip(_buckets(raw.steps, 0, points - 1, buckets), raw.values, strict=True):
        envelope.setdefault(b, []).append(v)
    assert set(drawn) == set(envelope) == set(range(buckets))
    for b, values in drawn.items():
        low, high = min(envelope[b]), max(envelope[b])
        assert low <= min(values) <= low + BLOCK / 2 and high - BLOCK / 2 <= max(values) <= high


def test_a_short_or_back_filled_history_is_charted_from_every_point_exactly(store):
    points = reduce_from(MAX_POINTS) + 2 * BLOCK
    run_id = _monotone(store, points, "backfilled")
    store.log_metric_rows(run_id, [("loss", 1e6, 17, 2.0)])  # a spike logged late at an early step
    steps, values = store.metric_series([run_id], ["loss"])[(run_id, "loss")]
    cs._caches.clear()
    series = chart_series(store, [(run_id, "loss")], MAX_POINTS)[(run_id, "loss")]
    assert series == minmax_buckets(steps, values, MAX_POINTS)  # the series every point gives, spike included
    assert 1e6 in series.values and series.total == points + 1
    short = _monotone(store, reduce_from(MAX_POINTS) - 1, "short")  # valid rollup, too short to be worth it
    s_steps, s_values = store.metric_series([short], ["loss"])[(short, "loss")]
    assert chart_series(store, [(short, "loss")], MAX_POINTS)[(short, "loss")] == minmax_buckets(
        s_steps, s_values, MAX_POINTS)


def test_the_cache_serves_a_rollup_series_until_the_history_grows(store):
    run_id = _monotone(store, reduce_from(MAX_POINTS) + 10, "cached")
    cs._caches.clear()
    first = chart_series(store, [(run_id, "loss")], MAX_POINTS)
    assert chart_series(store, [(run_id, "loss")], MAX_POINTS) == first
    store.log_metric_rows(run_id, [("loss", -5.0, 10**7, 3.0)])
    grown = chart_series(store, [(run_id, "loss")], MAX_POINTS)[(run_id, "loss")]
    assert grown.total == first[(run_id, "loss")].total + 1 and grown.values[-1] == -5.0 and min(grown.values) == -5.0
