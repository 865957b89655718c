"""Vega-Lite v5 chart specs built from entities: one chart code path for the lab, the widget and HTML reports.

Functions take entities (``Metric``, ``Run``) and return plain dicts; JupyterLab renders them with its own Vega
renderer (mimetype ``application/vnd.vegalite.v5+json``). Histories longer than :data:`MAX_POINTS` per run
(or a caller's ``max_points``, e.g. :data:`COMPACT_MAX_POINTS`) are downsampled with
largest-triangle-three-buckets (LTTB), which keeps peaks and the overall shape, so specs stay small.
Non-finite values become ``null`` (Vega-Lite leaves a gap), since JSON has no NaN.

Specs have a fixed pixel width (:data:`CHART_WIDTH`), never ``"width": "container"``: a chart in notebook output
or an ipywidgets ``Output`` sits in a box whose width comes from its content, so a container-sized chart keeps
measuring and growing itself and hangs the browser tab (ADR-025). Only the lab's compare view, whose chart hosts
have a width set by CSS, redraws a spec at its host's width (``labextension/src/logic.ts``, ``fitToHost``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from jupyter_mlops.entities import Metric, Run

VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
VEGA_LITE_MIMETYPE = "application/vnd.vegalite.v5+json"
#: Points per run above which a history is downsampled.
MAX_POINTS = 2000
#: A tighter per-run budget for views that receive much longer histories: a chart a few hundred pixels wide cannot
#: show more. Downsampling costs more than it saves when histories are only a few times longer (measured: 10 runs
#: x 1,000 steps over HTTP), so the REST compare reply keeps :data:`MAX_POINTS`.
COMPACT_MAX_POINTS = 500
#: Plot width in pixels: with axis, title and legend a chart is about 560 px wide, which fits a notebook's output
#: area beside its prompt at JupyterLab's default layout.
CHART_WIDTH = 400

#: Step spans up to this get every whole step listed as a tick (see ``_step_axis``); longer ones are left to Vega.
LISTED_STEP_SPAN = 10

#: The parallel-coordinates chart gets a little more room, one axis per param.
WIDE_CHART_WIDTH = 480


def run_labels(runs: Sequence[Run]) -> dict[str, str]:
    """Display labels for runs: the name, plus a short id when two runs share a name.

    Example:
        >>> from jupyter_mlops.entities import RunStatus
        >>> runs = [Run("aaaa1111", "base", "e", RunStatus.FINISHED, 0.0), Run("bbbb2222", "base", "e",
        ...         RunStatus.FINISHED, 0.0)]
        >>> run_labels(runs)
        {'aaaa1111': 'base (aaaa1111)', 'bbbb2222': 'base (bbbb2222)'}
    """
    counts: dict[str, int] = {}
    for run in runs:
        counts[run.name] = counts.get(run.name, 0) + 1
    return {run.id: run.name if counts[run.name] == 1 else f"{run.name} ({run.id[:8]})" for run in runs}


def _number(value: float) -> float | None:
    return value if math.isfinite(value) else None


def lttb(points: Sequence[tuple[float, float]], threshold: int) -> list[tuple[float, float]]:
    """Downsample ``(x, y)`` points to ``threshold`` with largest-triangle-three-buckets.

    The first and last points are kept; from each bucket in between, the point forming the largest triangle with
    the previous pick and the next bucket's average is kept. Non-finite y values are dropped first.

    Example:
        >>> len(lttb([(i, i % 7) for i in range(10_000)], 500))
        500
    """
    data = [(x, y) for x, y in points if math.isfinite(y)]
    if threshold >= len(data) or threshold < 3:
        return list(data)
    return [data[i] for i in _lttb_indices([x for x, _ in data], [y for _, y in data], threshold)]


#: Widest bucket for which :func:`_lttb_rows` tabulates every (previous pick, candidate) pair in one go.
_TABLE_WIDTH = 16


def _lttb_indices(xs: Sequence[float], ys: Sequence[float], threshold: int) -> list[int]:
    """Indices LTTB keeps of one series (``2 < threshold < len(xs)``, all values finite)."""
    import numpy as np

    return _lttb_rows(np.asarray([xs], dtype=float), np.asarray([ys], dtype=float), threshold)[0]


def _lttb_rows(x: Any, y: Any, threshold: int) -> list[list[int]]:
    """Indices LTTB keeps of each row of equally long series (``(runs, n)`` arrays, all values finite).

    LTTB is sequential only through the previous pick, which is one of the few points of the previous bucket.
    So for narrow buckets numpy scores every (previous-bucket point, candidate) pair of every row at once, and
    the sequential pass is a table lookup per bucket: the same picks as the point-by-point definition at a
    small fraction of its cost, and one numpy pass for all runs of a chart.
    """
    import numpy as np

    n = x.shape[1]
    every = (n - 2) / (threshold - 2)
    edges = np.minimum((np.arange(threshold) * every).astype(np.int64) + 1, n)
    starts, ends, nxt_end = edges[:-2], edges[1:-1], edges[2:]
    counts = nxt_end - ends
    sum_x = np.concatenate((np.zeros((len(x), 1)), np.cumsum(x, axis=1)), axis=1)
    sum_y = np.concatenate((np.zeros((len(y), 1)), np.cumsum(y, axis=1)), axis=1)
    safe = np.maximum(counts, 1)
    avg_x = np.where(counts > 0, (sum_x[:, nxt_end] - sum_x[:, ends]) / safe, x[:, -1:])
    avg_y = np.where(counts > 0, (sum_y[:, nxt_end] - sum_y[:, ends]) / safe, y[:, -1:])
    width = int((ends - starts).max())
    if width > _TABLE_WIDTH:
        return [_lttb_loop(x[r], y[r], starts.tolist(), ends.tolist(), avg_x[r].tolist(), avg_y[r].tolist())
                for r in range(len(x))]
    offsets = np.arange(width)
    cand = np.minimum(starts[:, None] + offsets, n - 1)  # (buckets, width): candidate point indices
    invalid = (starts[:, None] + offsets) >= ends[:, None]
    anchor = np.minimum(np.concatenate(([0], starts[:-1]))[:, None] + offsets, n - 1)  # possible previous picks
    ax, ay = x[:, anchor][..., None], y[:, anchor][..., None]  # (runs, buckets, width, 1)
    cx, cy = x[:, cand][:, :, None, :], y[:, cand][:, :, None, :]  # (runs, buckets, 1, width)
    mx, my = avg_x[:, :, None, None], avg_y[:, :, None, None]
    area = np.abs((ax - mx) * (cy - ay) - (ax - cx) * (my - ay))
    area[:, invalid[:, None, :].repeat(width, axis=1)] = -1.0
    best = area.argmax(axis=3).tolist()  # first maximum wins, as in the sequential definition
    starts_list = starts.tolist()
    rows = []
    for table in best:
        picks, slot = [0], 0  # slot: position of the previous pick within its bucket
        for bucket, start in enumerate(starts_list):
            slot = table[bucket][slot]
            picks.append(start + slot)
        picks.append(n - 1)
        rows.append(picks)
    return rows


def _lttb_loop(x: Any, y: Any, starts: list[int], ends: list[int], avg_x: list[float],
               avg_y: list[float]) -> list[int]:
    # Wide buckets (long histories squeezed hard): one vectorised argmax per bucket.
    picks = [0]
    a = 0
    for start, end, mx, my in zip(starts, ends, avg_x, avg_y, strict=True):
        ax, ay = x[a], y[a]
        area = abs((ax - mx) * (y[start:end] - ay) - (ax - x[start:end]) * (my - ay))
        a = start + int(area.argmax())
        picks.append(a)
    picks.append(len(x) - 1)
    return picks


def _finite_or_none(values: Sequence[float | None]) -> list[float | None]:
    """Values with NaN, infinities and None as None; the all-finite common case costs one C-level pass."""
    try:
        if all(map(math.isfinite, values)):  # type: ignore[arg-type]
            return list(values)
    except TypeError:  # a None (NaN read from a store column)
        pass
    return [v if v is not None and math.isfinite(v) else None for v in values]


def _history_rows(labelled: Sequence[tuple[str, Sequence[int], Sequence[float | None]]],
                  max_points: int) -> list[dict[str, Any]]:
    # One row per run with parallel step/value arrays (expanded by a `flatten` transform): a tenth of the JSON
    # and Python work of one object per point, which matters for 10 runs × 10 metrics × 1,000 steps.
    rows: list[dict[str, Any]] = []
    long: dict[int, list[int]] = {}  # rows over budget, grouped by length (one LTTB pass per group)
    for label, all_steps, all_values in labelled:
        steps, values = list(all_steps), _finite_or_none(all_values)
        if len(steps) > max_points and None in values:
            finite = [i for i, v in enumerate(values) if v is not None]
            steps, values = [steps[i] for i in finite], [values[i] for i in finite]
        rows.append({"run": label, "step": steps, "value": values})
        if len(steps) > max_points >= 3:
            long.setdefault(len(steps), []).append(len(rows) - 1)
    if long:
        import numpy as np

        for group in long.values():
            picks = _lttb_rows(np.array([rows[i]["step"] for i in group], dtype=float),
                               np.array([rows[i]["value"] for i in group], dtype=float), max_points)
            for i, chosen in zip(group, picks, strict=True):
                steps, values = rows[i]["step"], rows[i]["value"]
                rows[i]["step"], rows[i]["value"] = [steps[j] for j in chosen], [values[j] for j in chosen]
    return rows


def metric_history_spec(
    series: Mapping[str, Sequence[Metric]],
    key: str,
    run_labels: Mapping[str, str] | None = None,
    *,
    max_points: int = MAX_POINTS,
) -> dict[str, Any]:
    """A line chart of one metric over steps, one coloured line per run.

    The data holds one row per run, ``{"run": label, "step": [...], "value": [...]}``, expanded to one point per
    step by a Vega-Lite ``flatten`` transform.

    Args:
        series: ``{run id or label: [Metric, ...]}`` (histories in step order).
        key: the metric key (axis title).
        run_labels: optional ``{series key: display label}``; series keys are used as labels otherwise.
        max_points: per-run point budget before LTTB downsampling.

    Returns:
        A Vega-Lite v5 spec (a JSON-serialisable dict).
    """
    labels = run_labels or {}
    columns = {k: ([m.step for m in history], [m.value for m in history]) for k, history in series.items()}
    return columns_history_spec(columns, key, labels, max_points=max_points)


def columns_history_spec(
    series: Mapping[str, tuple[Sequence[int], Sequence[float | None]]],
    key: str,
    run_labels: Mapping[str, str] | None = None,
    *,
    max_points: int = MAX_POINTS,
) -> dict[str, Any]:
    """:func:`metric_history_spec` from ``{run: (steps, values)}`` columns (``None`` for NaN), no Metric objects.

    The compare views pass series already downsampled by ``app.chart_series``; ``max_points`` is then their
    budget, so LTTB does not thin them a second time.
    """
    labels = run_labels or {}
    rows = _history_rows([(labels.get(k, k), steps, values) for k, (steps, values) in series.items()], max_points)
    longest = max((len(steps) for steps, _ in series.values()), default=0)
    return {
        "$schema": VEGA_LITE_SCHEMA,
        "description": f"History of {key} per run",
        "title": key,
        "width": CHART_WIDTH,
        "height": 240,
        "data": {"values": rows},
        "transform": [{"flatten": ["step", "value"]}],
        # Points help when histories are short (a few epochs); on long histories they are clutter.
        "mark": {"type": "line", "point": longest <= 50, "tooltip": True},
        "encoding": {
            # Steps are whole numbers: no ticks at 0.5, 1.5 on a short history.
            "x": {"field": "step", "type": "quantitative", "title": "step", "axis": _step_axis(rows)},
            "y": {"field": "value", "type": "quantitative", "title": key, "scale": {"zero": False}},
            "color": {"field": "run", "type": "nominal", "title": "run", "sort": [r["run"] for r in rows]},
        },
    }


def _step_axis(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The step axis: whole-number ticks, listed outright when the steps span at most :data:`LISTED_STEP_SPAN`.

    ``tickMinStep: 1`` alone is not enough: Vega caps the tick count at ``span + 1`` and d3 then picks a
    0.5 step for a span of 1 or 2 (steps 0, 1, 2 got ticks at 0.5 and 1.5 in the lab's compare view).
    """
    # Steps are in order within a row: its ends bound it (no pass over every point of long histories).
    ends = [s for row in rows if row["step"] for s in (row["step"][0], row["step"][-1]) if isinstance(s, int)]
    if ends and max(ends) - min(ends) <= LISTED_STEP_SPAN:
        # Listed values get a format from their own spread, "1.0" here; "d" keeps them whole.
        return {"tickMinStep": 1, "values": list(range(min(ends), max(ends) + 1)), "format": "d"}
    return {"tickMinStep": 1}


def metric_charts(
    histories: Mapping[str, Mapping[str, Sequence[Metric]]],
    run_labels: Mapping[str, str] | None = None,
    *,
    max_points: int = MAX_POINTS,
) -> dict[str, dict[str, Any]]:
    """One :func:`metric_history_spec` per metric key, from ``compare.metric_histories`` output.

    Args:
        histories: ``{metric key: {run id: [Metric, ...]}}``.
        run_labels: optional ``{run id: display label}``.
        max_points: per-run, per-key point budget (LTTB above it); interactive views pass
            :data:`COMPACT_MAX_POINTS`.
    """
    return {key: metric_history_spec(series, key, run_labels, max_points=max_points)
            for key, series in histories.items()}


def _param_field(runs: Sequence[Run], param: str) -> tuple[list[Any], str]:
    values = [run.params.get(param) for run in runs]
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values if v is not None)
    if numeric:
        return [None if v is None else _number(float(v)) for v in values], "quantitative"
    return [None if v is None else str(v) for v in values], "nominal"


def params_vs_metric_spec(runs: Sequence[Run], param: str, metric: str) -> dict[str, Any]:
    """A scatter plot of a param (x) against a metric's latest value (y), one point per run.

    Numeric params get a quantitative axis, anything else a nominal one. Runs lacking the metric are left out.
    """
    labels = run_labels(runs)
    xs, x_type = _param_field(runs, param)
    rows = [
        {"run": labels[run.id], "param": x, "metric": _number(run.metrics[metric])}
        for run, x in zip(runs, xs, strict=True)
        if metric in run.metrics
    ]
    return {
        "$schema": VEGA_LITE_SCHEMA,
        "description": f"{metric} against {param}",
        "width": CHART_WIDTH,
        "height": 240,
        "data": {"values": rows},
        "mark": {"type": "point", "filled": True, "size": 80, "tooltip": True},
        "encoding": {
            "x": {"field": "param", "type": x_type, "title": param},
            "y": {"field": "metric", "type": "quantitative", "title": metric, "scale": {"zero": False}},
            "color": {"field": "run", "type": "nominal", "title": "run"},
        },
    }


def _scalar(value: Any) -> Any:
    if isinstance(value, float):
        return _number(value)
    return value if value is None or isinstance(value, int | str | bool) else str(value)


def _normalise(values: list[Any]) -> list[float | None]:
    # Each axis is scaled to [0, 1]: numbers by min/max, anything else by its rank among the sorted categories.
    present = [v for v in values if v is not None]
    if not present:
        return [None] * len(values)
    if all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in present):
        low, high = min(present), max(present)
        span = high - low
        return [None if v is None else (0.5 if span == 0 else (v - low) / span) for v in values]
    cats = sorted({str(v) for v in present})
    step = 1 / (len(cats) - 1) if len(cats) > 1 else 0.0
    rank = {c: (i * step if len(cats) > 1 else 0.5) for i, c in enumerate(cats)}
    return [None if v is None else rank[str(v)] for v in values]


def parallel_coordinates_spec(runs: Sequence[Run], params: Sequence[str], metric: str) -> dict[str, Any]:
    """Parallel coordinates: one axis per param plus the metric, one line per run, coloured by the metric.

    Axes are normalised to [0, 1] in Python (the raw value is in the tooltip), so the spec needs no transforms.
    """
    labels = run_labels(runs)
    axes = [*params, metric]
    columns = {p: _normalise([run.params.get(p) for run in runs]) for p in params}
    raw_metric = [run.metrics.get(metric) for run in runs]
    columns[metric] = _normalise([None if v is None else _number(v) for v in raw_metric])
    rows = []
    for i, run in enumerate(runs):
        for axis in axes:
            raw = raw_metric[i] if axis == metric else run.params.get(axis)
            rows.append({
                "run": labels[run.id],
                "axis": axis,
                "position": columns[axis][i],
                "raw": _scalar(raw),
                "metric": _scalar(raw_metric[i]),
            })
    return {
        "$schema": VEGA_LITE_SCHEMA,
        "description": f"Params against {metric}",
        "width": WIDE_CHART_WIDTH,
        "height": 260,
        "data": {"values": rows},
        "mark": {"type": "line", "point": True, "tooltip": True},
        "encoding": {
            "x": {"field": "axis", "type": "nominal", "sort": axes, "title": None, "axis": {"labelAngle": 0}},
            "y": {"field": "position", "type": "quantitative", "title": None, "axis": None},
            "detail": {"field": "run", "type": "nominal"},
            "color": {"field": "metric", "type": "quantitative", "title": metric},
            "tooltip": [{"field": "run"}, {"field": "axis"}, {"field": "raw", "title": "value"}],
        },
    }
