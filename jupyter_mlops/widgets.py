"""The run comparison as an ipywidgets view, for frontends without the JupyterLab sidebar.

Classic Notebook 7, VS Code and Colab-like frontends render ipywidgets but not our labextension. The view shows
the same data as the lab's compare view: :func:`jupyter_mlops.compare.compare_runs` for the tables (drawn by
:mod:`jupyter_mlops.render` as escaped HTML) and :mod:`jupyter_mlops.charts` for the Vega-Lite metric charts, which
are displayed through IPython's display machinery (mimetype ``application/vnd.vegalite.v5+json``) inside an
``Output`` widget, so every Jupyter frontend with a Vega renderer draws them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from jupyter_mlops import charts
from jupyter_mlops.compare import compare_runs, metric_histories
from jupyter_mlops.render.layout import comparison_sections
from jupyter_mlops.render.markup import section_html, wrap_html

if TYPE_CHECKING:
    import ipywidgets

    from jupyter_mlops.comparing import Comparison
    from jupyter_mlops.entities import Metric
    from jupyter_mlops.store.base import Store

TAB_TITLES = ("Params", "Metrics", "Data", "Environment", "Code")


class VegaLiteChart:
    """A Vega-Lite spec that IPython displays with the ``application/vnd.vegalite.v5+json`` mimetype."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        """Wrap a spec built by :mod:`jupyter_mlops.charts`."""
        self.spec = dict(spec)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        title = self.spec.get("title") or self.spec.get("description") or "chart"
        return {charts.VEGA_LITE_MIMETYPE: self.spec, "text/plain": f"<Vega-Lite chart: {title}>"}


def _section(cmp: Comparison, key: str, only_differences: bool) -> str:
    section = next(s for s in comparison_sections(cmp, only_differences) if s.key == key)
    return section_html(section)


def _params_tab(cmp: Comparison) -> ipywidgets.Widget:
    import ipywidgets as w

    toggle = w.ToggleButton(value=True, description="Only differences", icon="filter",
                            tooltip="Hide params that are the same in every run")
    table = w.HTML()

    def refresh(change: Any = None) -> None:
        table.value = wrap_html(_section(cmp, "runs", True) + _section(cmp, "params", toggle.value))

    toggle.observe(refresh, names="value")
    refresh()
    return w.VBox([toggle, table])


def _charts_output(cmp: Comparison, histories: Mapping[str, Mapping[str, Sequence[Metric]]]) -> ipywidgets.Widget:
    import ipywidgets as w

    output = w.Output()
    labels = charts.run_labels(cmp.runs)
    for spec in charts.metric_charts(histories, labels).values():
        # append_display_data formats through IPython's display machinery and stores the output on the widget's
        # model, so the charts exist without a frontend capturing `with output:` blocks.
        output.append_display_data(VegaLiteChart(spec))
    differing = [p.key for p in cmp.params if p.differs]
    if len(cmp.runs) > 1 and differing and cmp.metrics:
        spec = charts.parallel_coordinates_spec(cmp.runs, differing, cmp.metrics[0].key)
        output.append_display_data(VegaLiteChart(spec))
    return output


def build_compare_view(
    cmp: Comparison, histories: Mapping[str, Mapping[str, Sequence[Metric]]] | None = None
) -> ipywidgets.Tab:
    """The tabbed view of an already computed comparison (compute it with ``all_values=True`` for the toggle).

    Args:
        cmp: the comparison.
        histories: ``compare.metric_histories`` output for the charts (no charts when None).
    """
    import ipywidgets as w

    metrics = w.VBox([w.HTML(wrap_html(_section(cmp, "metrics", False))), _charts_output(cmp, histories or {})])
    children = [
        _params_tab(cmp),
        metrics,
        w.HTML(wrap_html(_section(cmp, "data", False))),
        w.HTML(wrap_html(_section(cmp, "env", True))),
        w.HTML(wrap_html(_section(cmp, "code", False) + _section(cmp, "flags", False))),
    ]
    return w.Tab(children=children, titles=TAB_TITLES)


def compare_widget(ids: Sequence[str], store: Store | None = None, blobs: Any = None) -> ipywidgets.Tab:
    """An ipywidgets view comparing runs; the first run is the baseline.

    Tabs: Params (with an only-differences toggle), Metrics (table and charts), Data, Environment and Code.

    Args:
        ids: run ids, unique id prefixes or unique names.
        store: the run store; default: the project's store from settings (opened and closed here).
        blobs: the blob store holding code and environment snapshots (default: from settings when ``store`` is
            None).

    Returns:
        An ``ipywidgets.Tab``; display it (or leave it as a cell's last expression).

    Raises:
        NotFound: a run does not exist.
        Conflict: a reference is ambiguous.

    Example:
        >>> compare_widget(["baseline", "tuned"])  # doctest: +SKIP
    """
    opened = None
    if store is None:
        from jupyter_mlops.config import load_settings
        from jupyter_mlops.store import open_from_settings

        opened, settings_blobs = open_from_settings(load_settings())
        store, blobs = opened, blobs if blobs is not None else settings_blobs
    try:
        cmp = compare_runs(store, blobs, list(ids), all_values=True)
        histories = metric_histories(store, cmp)
    finally:
        if opened is not None:
            opened.close()
    return build_compare_view(cmp, histories)
