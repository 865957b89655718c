"""The ipywidgets compare view, executed headlessly in a real kernel through nbclient.

nbclient with ``store_widget_state=True`` saves every widget model's final state in the notebook metadata, so
the test asserts on what a frontend would render, without a browser.
"""

from __future__ import annotations

import json

import nbformat
import pytest
from compare_data import populate
from nbclient import NotebookClient

from jupyter_mlops.ipython.widgets import compare_widget
from jupyter_mlops.store import open_store
from jupyter_mlops.store.blobs import BlobStore

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
VEGA = "application/vnd.vegalite.v5+json"

SETUP = """
from jupyter_mlops.ipython.widgets import compare_widget
view = compare_widget(["baseline", "tuned", "wide"])
params_html = view.children[0].children[1]
print("before", "optimizer" in params_html.value, "depth" in params_html.value)
view
"""
TOGGLE = """
view.children[0].children[0].value = False
print("after", "optimizer" in params_html.value)
"""


@pytest.mark.requires_kernel
def test_compare_widget_state_in_a_real_kernel(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'mlops.db'}"
    with open_store(url) as store:
        populate(store, BlobStore(tmp_path / "blobs"))
    # The kernel inherits the environment: compare_widget() without a store resolves it from settings.
    monkeypatch.setenv("JUPYTER_MLOPS_STORE", url)
    monkeypatch.setenv("JUPYTER_MLOPS_BLOBS", str(tmp_path / "blobs"))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SETUP), nbformat.v4.new_code_cell(TOGGLE)])
    NotebookClient(nb, kernel_name="python3", timeout=120, store_widget_state=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()

    printed = "".join(o.get("text", "") for cell in nb.cells for o in cell.outputs if o.output_type == "stream")
    assert "before False True" in printed  # only differences: depth differs, optimizer does not
    assert "after True" in printed
    state = nb.metadata.widgets[WIDGET_STATE]["state"]
    by_name: dict[str, list[dict]] = {}
    for model in state.values():
        by_name.setdefault(model["model_name"], []).append(model["state"])

    (tab,) = by_name["TabModel"]
    assert tab["titles"] == ["Params", "Metrics", "Data", "Environment", "Code"]
    (toggle,) = by_name["ToggleButtonModel"]
    assert toggle["description"] == "Only differences" and toggle["value"] is False
    html = "\n".join(m["value"] for m in by_name["HTMLModel"])
    for expected in ("optimizer", "0.05", "income", "int64→float64", "numpy", "bumped", "+lr = 0.05",
                     "plot(history)", "out of order", 'class="best"'):
        assert expected in html, expected
    # Two outputs: the history charts, and the params chart of the metric picked in "Params vs".
    outputs = [[o["data"][VEGA] for o in m["outputs"] if VEGA in o.get("data", {})] for m in by_name["OutputModel"]]
    (specs,) = [specs for specs in outputs if len(specs) == 2]
    (params_specs,) = [specs for specs in outputs if len(specs) == 1]
    assert [s.get("title") for s in specs] == ["auc", "loss"]
    (picker,) = by_name["DropdownModel"]
    assert picker["description"] == "Params vs" and picker["_options_labels"] == ["auc", "loss"]
    assert params_specs[0]["description"] == "Params against auc"  # lr and depth differ: parallel coordinates
    loss = next(s for s in specs if s.get("title") == "loss")
    assert {r["run"] for r in loss["data"]["values"]} == {"baseline", "tuned", "wide"}
    json.dumps(specs + params_specs, allow_nan=False)


def _html(widget) -> str:
    """Every HTML string in a widget tree."""
    own = [widget.value] if hasattr(widget, "value") and isinstance(widget.value, str) else []
    return "\n".join(own + [_html(child) for child in getattr(widget, "children", ())])


def test_compare_widget_of_one_run_shows_it_and_asks_for_a_second(tmp_path):
    # The first Run All of a notebook that ends in a comparison has one run: the widget raised InvalidInput.
    with open_store(f"sqlite:///{tmp_path / 'mlops.db'}") as store:
        blobs = BlobStore(tmp_path / "blobs")
        ids = populate(store, blobs)
        view = compare_widget(["tuned"], store=store, blobs=blobs)
        nothing = compare_widget([], store=store, blobs=blobs)

    html = _html(view)
    assert "a second run is needed to compare" in html
    for expected in ("tuned", "0.05", "optimizer", "data/train.csv", "101 rows", "2.0.0"):  # params, data, env
        assert expected in html, expected
    assert ids["tuned"][:8] in html and ids["baseline"][:8] not in html and ids["wide"][:8] not in html
    assert "No runs to compare yet" in _html(nothing)
