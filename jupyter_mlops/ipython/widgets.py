"""The run comparison as an ipywidgets view, for frontends without the JupyterLab sidebar.

Classic Notebook 7, VS Code and Colab-like frontends render ipywidgets but not our labextension. The view shows
the same answer as the lab's compare view and the REST API: :func:`jupyter_mlops.app.compare.compare` gives the
comparison (tables drawn by :mod:`jupyter_mlops.render` as escaped HTML) and the same Vega-Lite charts (ADR-041),
which are displayed through IPython's display machinery (mimetype ``application/vnd.vegalite.v5+json``) inside an
``Output`` widget, so every Jupyter frontend with a Vega renderer draws them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from jupyter_mlops.app.compare import CompareAnswer, compare
from jupyter_mlops.app.runs import resolve_runs
from jupyter_mlops.app.workspace import Workspace
from jupyter_mlops.comparing import charts
from jupyter_mlops.render.layout import comparison_sections
from jupyter_mlops.render.markup import section_html, wrap_html

if TYPE_CHECKING:
    import ipywidgets

    from jupyter_mlops.comparing import Comparison
    from jupyter_mlops.store.base import Store

TAB_TITLES = ("Params", "Metrics", "Data", "Environment", "Code")
#: Shown above a "comparison" of one run, in the words of ``%track compare``.
ONE_RUN = "Only one run so far: a second run is needed to compare (run the notebook again)."
NO_RUNS = "No runs to compare yet: start one with %track start, and a second one to compare them."


class VegaLiteChart:
    """A Vega-Lite spec that IPython displays with the ``application/vnd.vegalite.v5+json`` mimetype."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        """Wrap a spec built by :mod:`jupyter_mlops.comparing.charts`."""
        self.spec = dict(spec)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        title = self.spec.get("title") or self.spec.get("description") or "chart"
        return {charts.VEGA_LITE_MIMETYPE: self.spec, "text/plain": f"<Vega-Lite chart: {title}>"}


def _section(cmp: Comparison, key: str, only_differences: bool) -> str:
    section = next(s for s in comparison_sections(cmp, only_differences) if s.key == key)
    return section_html(section)


def _params_tab(cmp: Comparison) -> ipywidgets.Widget:
    import ipywidgets as w

    # One run has no differences: all its values, then.
    toggle = w.ToggleButton(value=len(cmp.runs) > 1, description="Only differences", icon="filter",
                            tooltip="Hide params that are the same in every run")
    table = w.HTML()

    def refresh(change: Any = None) -> None:
        table.value = wrap_html(_section(cmp, "runs", True) + _section(cmp, "params", toggle.value))

    toggle.observe(refresh, names="value")
    refresh()
    return w.VBox([toggle, table])


def _charts(answer: CompareAnswer) -> list[ipywidgets.Widget]:
    """The history charts, then the differing params against a chosen metric (as the lab's compare view has them)."""
    import ipywidgets as w

    # append_display_data formats through IPython's display machinery and stores the output on the widget's model,
    # so the charts exist without a frontend capturing `with output:` blocks.
    history = w.Output()
    for spec in answer.history_charts.values():
        history.append_display_data(VegaLiteChart(spec))
    if not answer.params_charts:
        return [history]
    picker = w.Dropdown(options=sorted(answer.params_charts), description="Params vs")
    params = w.Output()

    def redraw(change: Any = None) -> None:
        params.outputs = ()
        params.append_display_data(VegaLiteChart(answer.params_charts[picker.value]))

    picker.observe(redraw, names="value")
    redraw()
    return [history, picker, params]


def build_compare_view(answer: CompareAnswer) -> ipywidgets.Widget:
    """The tabbed view of an answer of :func:`jupyter_mlops.app.compare.compare` (``all_values=True`` for the toggle).

    A comparison of one run (``one_run_ok``) shows that run, under a line saying a second run is needed.
    """
    import ipywidgets as w

    cmp = answer.comparison
    several = len(cmp.runs) > 1
    metrics = w.VBox([w.HTML(wrap_html(_section(cmp, "metrics", False))), *_charts(answer)])
    children = [
        _params_tab(cmp),
        metrics,
        w.HTML(wrap_html(_section(cmp, "data", False))),
        w.HTML(wrap_html(_section(cmp, "env", several))),
        w.HTML(wrap_html(_section(cmp, "code", False) + _section(cmp, "flags", False))),
    ]
    tabs = w.Tab(children=children, titles=TAB_TITLES)
    if several:
        return tabs
    return w.VBox([w.HTML(wrap_html(f"<p>{ONE_RUN}</p>")), tabs])


def compare_widget(
    ids: Sequence[str], store: Store | None = None, blobs: Any = None, *, workspace: Workspace | None = None
) -> ipywidgets.Widget:
    """An ipywidgets view comparing runs; the first run is the baseline.

    Tabs: Params (with an only-differences toggle), Metrics (table, history charts, and the differing params
    against a chosen metric), Data, Environment and Code: the same comparison and charts as the lab and the REST
    API. Given one run, it shows that run under a line saying a second run is needed, as ``%track compare`` does.

    Args:
        ids: run ids, unique id prefixes or unique names.
        store: the run store; default: the project's store from settings, opened once per process by the
            tracking API (``mlops.start_run`` uses the same).
        blobs: the blob store holding code and environment snapshots (default: the one configured beside the
            store from settings).
        workspace: the project's stores, already opened (the magic passes the kernel's); overrides ``store``.

    Returns:
        An ipywidgets view (a ``Tab``, under a line of text for a single run); display it (or leave it as a
        cell's last expression).

    Raises:
        NotFound: a run does not exist.
        Conflict: a reference is ambiguous.

    Example:
        >>> compare_widget(["baseline", "tuned"])  # doctest: +SKIP
    """
    if workspace is None:
        # The kernel's stores, opened once per process by the tracking API, unless the caller brought a store.
        workspace = Workspace.wrapping(store, blobs) if store is not None else Workspace.of_process()
        if store is None and blobs is not None:
            workspace = Workspace.wrapping(workspace.store, blobs, workspace.settings)
    refs = [ids] if isinstance(ids, str) else list(ids)
    if not resolve_runs(workspace.store, refs):
        return _text_widget(NO_RUNS)
    answer = compare(workspace, refs, all_values=True, one_run_ok=True)
    return build_compare_view(answer)


def _text_widget(text: str) -> ipywidgets.Widget:
    import ipywidgets as w

    return w.HTML(wrap_html(f"<p>{text}</p>"))
