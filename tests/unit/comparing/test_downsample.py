"""Min/max-per-bucket downsampling (comparing/downsample.py): what a chart of a long history must keep."""

from __future__ import annotations

import math
import random

import pytest

from jupyter_mlops.comparing.downsample import minmax_buckets


def _noisy(n: int, seed: int = 0) -> tuple[list[int], list[float]]:
    rng = random.Random(seed)
    return list(range(n)), [math.exp(-i / (n / 3)) + rng.gauss(0, 0.05) for i in range(n)]


def test_a_short_history_comes_back_whole():
    steps, values = [0, 1, 2, 5], [1.0, None, 3.0, 2.0]
    series = minmax_buckets(steps, values, 4)
    assert (series.steps, series.values, series.total, series.downsampled) == (steps, values, 4, False)


@pytest.mark.parametrize("n,budget", [(10_001, 1000), (5_000, 4), (100_000, 997), (1_003, 1000)])
def test_budget_first_last_extremes_and_monotone_steps(n, budget):
    steps, values = _noisy(n)
    values[n // 3] = 50.0  # a single spike: LTTB can lose one of two close peaks, min/max never does
    values[n // 3 + 1] = 49.0
    values[2 * n // 3] = -50.0
    series = minmax_buckets(steps, values, budget)
    assert series.downsampled and series.total == n
    assert len(series.steps) <= budget
    assert series.steps[0] == 0 and series.steps[-1] == n - 1
    assert series.values[0] == values[0] and series.values[-1] == values[-1]
    assert max(series.values) == 50.0 and min(series.values) == -50.0
    assert all(a < b for a, b in zip(series.steps, series.steps[1:], strict=False))
    # Every kept point is a real point of the history, unchanged.
    assert all(values[s] == v for s, v in zip(series.steps, series.values, strict=True))


def test_each_bucket_keeps_its_own_extremes():
    # Four buckets of 25 steps; each has its own minimum and maximum somewhere inside.
    steps = list(range(100))
    values = [float((i * 37) % 23) for i in steps]
    series = minmax_buckets(steps, values, 16)
    for bucket in range(4):
        inside = values[bucket * 25:(bucket + 1) * 25]
        kept = [v for s, v in zip(series.steps, series.values, strict=True) if bucket * 25 <= s < (bucket + 1) * 25]
        assert min(kept) == min(inside) and max(kept) == max(inside)


def test_buckets_follow_steps_not_positions():
    # Dense early steps, sparse late ones: the sparse half of the step range gets half the buckets.
    steps = list(range(10_000)) + list(range(10_000, 1_000_000, 1000))
    values = [float(i % 7) for i in range(len(steps))]
    series = minmax_buckets(steps, values, 400)
    late = [s for s in series.steps if s >= 500_000]
    assert len(late) >= 100  # 50 buckets x up to 4 picks, of which the sparse points give at least 2


def test_nan_points_carry_no_extreme_and_are_dropped_when_downsampling():
    steps, values = _noisy(2_000)
    values[10] = None
    values[11] = math.nan
    series = minmax_buckets(steps, values, 100)
    assert all(v is not None and math.isfinite(v) for v in series.values)
    assert 10 not in series.steps and 11 not in series.steps
    assert series.total == 2_000


def test_equal_steps_keep_their_order():
    steps = sorted([i // 3 for i in range(3_000)])
    values = [float(i) for i in range(3_000)]
    series = minmax_buckets(steps, values, 40)
    assert series.steps == sorted(series.steps)
    assert series.values == sorted(series.values)  # values rise with position, so order was kept


def test_bad_arguments():
    with pytest.raises(ValueError, match="at least 4"):
        minmax_buckets([0, 1], [0.0, 1.0], 3)
    with pytest.raises(ValueError, match="length"):
        minmax_buckets([0, 1], [0.0], 10)
