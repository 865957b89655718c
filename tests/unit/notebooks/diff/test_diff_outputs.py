"""diff shows what changed inside outputs, attachments and long metadata values; UI state is noise by default."""

from __future__ import annotations

import base64
import copy
import json
import struct

from click.testing import CliRunner

from jupyter_mlops.cli.notebooks import diff as diff_cmd
from jupyter_mlops.notebooks.io import import_nbformat

import_nbformat()

import nbformat.v4 as v4  # noqa: E402

from jupyter_mlops.notebooks.diff import DiffOptions, diff_notebooks  # noqa: E402
from jupyter_mlops.notebooks.diff.render import cell_lines, render_html, render_terminal  # noqa: E402
from jupyter_mlops.notebooks.io import write_notebook  # noqa: E402


def _png(width: int, height: int, tail: bytes = b"") -> str:
    """A PNG header with the given pixel size (enough for a size/hash description; no pixels needed)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return base64.b64encode(b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + header + tail).decode()


def _training_nb(loss: str, size: tuple[int, int], table: str):
    cell = v4.new_code_cell("train()", execution_count=3, outputs=[
        v4.new_output("stream", name="stdout", text=f"epoch 1 loss 0.9\nepoch 2 loss {loss}\n"),
        v4.new_output("display_data", data={"image/png": _png(*size), "text/plain": "<Figure size 640x480>"}),
        v4.new_output("execute_result", data={"text/html": table, "text/plain": "df"}, execution_count=3),
    ])
    cell.id = "train"
    return v4.new_notebook(cells=[cell])


def test_outputs_show_a_text_diff_image_sizes_and_hashes_and_mime_types():
    old = _training_nb("0.4", (640, 480), "<table><tr><td>1</td></tr></table>")
    new = _training_nb("0.3", (800, 600), "<table><tr><td>2</td></tr></table>")
    result = diff_notebooks(old, new, DiffOptions(outputs=True)).to_dict()
    (change,) = result["changes"]
    by_type = {o["output_type"]: o for o in change["output_changes"]}
    assert set(by_type) == {"stream", "display_data", "execute_result"}
    assert [p["name"] for p in by_type["display_data"]["parts"]] == ["image/png"]  # text/plain did not change
    assert [p["name"] for p in by_type["execute_result"]["parts"]] == ["text/html"]
    text = render_terminal(result)
    assert "outputs changed" not in text
    assert "-epoch 2 loss 0.4" in text and "+epoch 2 loss 0.3" in text and " epoch 1 loss 0.9" in text
    image = next(line for line in text.splitlines() if "image/png" in line)
    assert "640×480" in image and "800×600" in image and image.count("sha256") == 2
    assert "-<table><tr><td>1</td></tr></table>" in text and "+<table><tr><td>2</td></tr></table>" in text
    page = render_html(result)
    assert "+epoch 2 loss 0.3" in page and "800×600" in page and "text/html" in page


def test_added_and_removed_outputs_are_listed_with_their_content():
    old = _training_nb("0.4", (10, 10), "t")
    new = copy.deepcopy(old)
    new.cells[0].outputs.insert(0, v4.new_output("stream", name="stderr", text="warning: slow\n"))
    del new.cells[0].outputs[2]  # the display_data
    change = diff_notebooks(old, new, DiffOptions(outputs=True)).to_dict()["changes"][0]
    summary = [(o["change"], o["output_type"]) for o in change["output_changes"]]
    assert ("added", "stream") in summary and ("removed", "display_data") in summary
    assert all(o["change"] != "changed" for o in change["output_changes"])  # the others are matched, not changed
    text = "\n".join(line for _, line in cell_lines(change))
    assert "+warning: slow" in text and "(removed)" in text


def test_long_output_diffs_are_capped_in_text_but_complete_in_json():
    old = _training_nb("0.4", (10, 10), "t")
    new = copy.deepcopy(old)
    new.cells[0].outputs[0].text = "".join(f"line {i}\n" for i in range(500))
    result = diff_notebooks(old, new, DiffOptions(outputs=True)).to_dict()
    text = render_terminal(result)
    assert "more lines (all of them in --format json)" in text and "+line 499" not in text
    assert "+line 499" in result["changes"][0]["output_changes"][0]["parts"][0]["diff"]


def test_attachments_and_long_metadata_values_show_where_they_differ():
    def nb(tail: bytes, note: str):
        cell = v4.new_markdown_cell("![plot](attachment:plot.png)", attachments={"plot.png": {"image/png": _png(
            32, 16, tail)}})
        cell.id = "md"
        cell.metadata["provenance"] = "x" * 300 + note
        return v4.new_notebook(cells=[cell], metadata={"description": "y" * 300 + note})

    result = diff_notebooks(nb(b"a", "old"), nb(b"b", "new"), DiffOptions()).to_dict()
    lines = render_terminal(result).splitlines()
    attachment = next(line for line in lines if "attachment plot.png image/png" in line)
    old_side, new_side = attachment.split(": ", 1)[1].split(" → ")
    assert "32×16" in old_side and old_side != new_side  # same size, different hash
    for key in ("provenance", "description"):
        line = next(line for line in lines if line.strip().startswith(f"{key}:"))
        old_value, new_value = line.split(": ", 1)[1].split(" (")[0].split(" → ")
        assert old_value != new_value and "old" in old_value and "new" in new_value


def test_ui_state_metadata_is_noise_unless_metadata_is_asked_for(tmp_path):
    plain = v4.new_notebook(cells=[v4.new_code_cell("x = 1")])
    plain.cells[0].id = "a"
    collapsed = copy.deepcopy(plain)
    collapsed.cells[0].metadata.update({"collapsed": True, "scrolled": "auto",
                                        "jupyter": {"outputs_hidden": True, "source_hidden": True}})
    assert diff_notebooks(plain, collapsed, DiffOptions()).identical
    shown = diff_notebooks(plain, collapsed, DiffOptions(metadata=True))
    assert {m["key"] for m in shown.changes[0]["metadata_changes"]} == {"collapsed", "scrolled", "jupyter"}
    other = copy.deepcopy(collapsed)
    other.cells[0].metadata["jupyter"]["custom"] = 1  # only the two display flags are UI state
    assert not diff_notebooks(plain, other, DiffOptions()).identical
    write_notebook(plain, tmp_path / "a.ipynb")
    write_notebook(collapsed, tmp_path / "b.ipynb")
    same = CliRunner().invoke(diff_cmd, [str(tmp_path / "a.ipynb"), str(tmp_path / "b.ipynb"), "--exit-code"])
    assert same.exit_code == 0, same.output
    differs = CliRunner().invoke(diff_cmd, [str(tmp_path / "a.ipynb"), str(tmp_path / "b.ipynb"), "--metadata",
                                            "--exit-code", "--format", "json"])
    assert differs.exit_code == 1 and not json.loads(differs.output)["identical"]
