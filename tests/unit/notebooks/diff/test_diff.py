"""diff: noise filtering, options, the experimenter summary, cell mapping, renderers, REV:path and the command."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from jupyter_mlops.cli.notebooks import diff as diff_cmd
from jupyter_mlops.notebooks.io import import_nbformat

import_nbformat()

import nbformat.v4 as v4  # noqa: E402

from jupyter_mlops.errors import InvalidInput, NotebookError  # noqa: E402
from jupyter_mlops.notebooks.diff import DiffOptions, diff_notebooks, notebook_from_code_snapshot  # noqa: E402
from jupyter_mlops.notebooks.diff.render import render_html, render_terminal  # noqa: E402
from jupyter_mlops.notebooks.io import read_notebook, write_notebook  # noqa: E402
from jupyter_mlops.notebooks.summary import summarize  # noqa: E402

DATA = Path(__file__).parents[3] / "data" / "notebooks" / "hygiene"


def _nb(*sources: str, tags: tuple[str, ...] = ()):
    cells = [v4.new_code_cell(s, metadata={"tags": list(tags)} if tags and i == 0 else {})
             for i, s in enumerate(sources)]
    for i, cell in enumerate(cells):
        cell.id = f"c{i}"
    return v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})


def _noisy(nb):
    """The same notebook after a re-run: new counts, outputs, timings, interpreter patch version, new ids."""
    other = copy.deepcopy(nb)
    for i, cell in enumerate(other.cells):
        cell.execution_count = 40 + i
        cell.outputs = [v4.new_output("stream", name="stdout", text=f"run {i}\n")]
        cell.metadata["execution"] = {"iopub.status.idle": "2024-05-01T00:00:00"}
        cell.metadata["ExecuteTime"] = {"end_time": "x"}
        cell.id = f"new{i}"
    other.metadata["language_info"] = {"name": "python", "version": "3.11.9"}
    other.metadata["widgets"] = {"state": {}}
    return other


def test_noise_is_ignored_by_default():
    nb = _nb("x = 1", "print(x)")
    nb.metadata["language_info"] = {"name": "python", "version": "3.11.1"}
    result = diff_notebooks(nb, _noisy(nb), DiffOptions())
    assert result.identical and result.changes == [] and result.diff == []


def test_outputs_option_includes_outputs_but_not_counts():
    nb = _nb("x = 1")
    noisy = _noisy(nb)
    result = diff_notebooks(nb, noisy, DiffOptions(outputs=True))
    assert not result.identical
    (change,) = result.changes
    assert change["outputs_changed"] and change["source_diff"] == ""
    assert all(item["key"] != "execution_count" for item in change["other_changes"])
    same_outputs = copy.deepcopy(noisy)
    same_outputs.cells[0].execution_count = 1
    assert diff_notebooks(noisy, same_outputs, DiffOptions(outputs=True)).identical


def test_metadata_option_includes_everything():
    nb = _nb("x = 1")
    result = diff_notebooks(nb, _noisy(nb), DiffOptions(metadata=True))
    keys = {item["key"] for change in result.changes for item in change["metadata_changes"] + change["other_changes"]}
    assert {"execution", "ExecuteTime", "execution_count", "id"} <= keys
    assert {m["key"] for m in result.metadata_changes} == {"language_info", "widgets"}


def test_tags_count_by_default_but_not_with_sources_only():
    a, b = _nb("x = 1"), _nb("x = 1", tags=("parameters",))
    assert not diff_notebooks(a, b, DiffOptions()).identical
    assert diff_notebooks(a, b, DiffOptions(sources_only=True)).identical
    assert not diff_notebooks(_nb("x = 1"), _nb("x = 2"), DiffOptions(sources_only=True)).identical


def test_sources_only_conflicts_with_outputs():
    with pytest.raises(InvalidInput, match="--sources-only"):
        DiffOptions(sources_only=True, outputs=True)


def test_inputs_are_not_modified():
    a = read_notebook(DATA / "params--base.ipynb")
    b = read_notebook(DATA / "params--changed.ipynb")
    before = (copy.deepcopy(a), copy.deepcopy(b))
    diff_notebooks(a, b, DiffOptions())
    assert (a, b) == before


def test_fixture_pair_summary_and_changes():
    a = read_notebook(DATA / "params--base.ipynb")
    b = read_notebook(DATA / "params--changed.ipynb")
    result = diff_notebooks(a, b, DiffOptions(), labels=("base", "changed"))
    assert result.summary == {
        "parameters": [{"name": "lr", "change": "changed", "old": 0.1, "new": 0.05}],
        "data_paths": {"added": ["data/train_v2.csv"], "removed": ["data/train.csv"]},
    }
    assert [(c["change"], c["a_index"], c["b_index"]) for c in result.changes] == [("changed", 1, 1), ("changed", 2, 2)]
    assert '-df = pd.read_csv("data/train.csv")' in result.changes[1]["source_diff"]
    payload = json.loads(json.dumps(result.to_dict()))
    assert payload["a"] == "base" and payload["diff"][0]["key"] == "cells"


def test_summary_uses_injected_parameters_and_reports_added_removed():
    a = _nb("lr = 0.1\nseed = 1", tags=("parameters",))
    b = _nb("lr = 0.1\nlayers = [1, 2]", tags=("parameters",))
    b.cells.append(v4.new_code_cell("lr = 0.3", metadata={"tags": ["injected-parameters"]}))
    changes = {p["name"]: p for p in summarize(a, b)["parameters"]}
    assert changes["lr"] == {"name": "lr", "change": "changed", "old": 0.1, "new": 0.3}
    assert changes["seed"]["change"] == "removed" and changes["layers"] == {
        "name": "layers", "change": "added", "old": None, "new": [1, 2]}


def test_summary_tolerates_magics_and_broken_cells():
    a = _nb("%matplotlib inline\nimport numpy as np\nx = np.load('a.npy')", "def broken(:")
    b = _nb("%matplotlib inline\nimport numpy as np\nx = np.load('b.npy')", "%%bash\necho hi")
    assert summarize(a, b)["data_paths"] == {"added": ["b.npy"], "removed": ["a.npy"]}


def _without_ids(nb):
    for cell in nb.cells:
        del cell["id"]
    return nb


def test_cell_mapping_with_insertions_and_removals():
    a = _without_ids(_nb("a = 1", "b = 2", "c = 3", "d = 4"))
    b = _without_ids(_nb("new = 0", "a = 1", "c = 3", "d = 44"))
    result = diff_notebooks(a, b, DiffOptions())
    got = [(c["change"], c["a_index"], c["b_index"]) for c in result.changes]
    assert got == [("added", None, 0), ("removed", 1, None), ("changed", 3, 3)]
    assert result.changes[2]["a_source"] == "d = 4" and result.changes[2]["b_source"] == "d = 44"


def test_same_id_means_same_cell_even_when_rewritten():
    a, b = _nb("x = 1", "y = 2"), _nb("x = 1", "completely_different()")
    b.cells[0].id, b.cells[1].id = "c0", "c1"
    (change,) = diff_notebooks(a, b, DiffOptions()).changes
    assert (change["change"], change["a_index"], change["b_index"]) == ("changed", 1, 1)
    b.cells[1].id = "other"
    got = [(c["change"], c["a_index"], c["b_index"]) for c in diff_notebooks(a, b, DiffOptions()).changes]
    assert got in ([("changed", 1, 1)], [("added", None, 1), ("removed", 1, None)])
    assert [c.id for c in a.cells] == ["c0", "c1"]  # the inputs keep their ids


@pytest.mark.parametrize("keep_ids", [True, False])
def test_anchored_diff_equals_nbdimes_whole_notebook_diff(keep_ids):
    from nbdime.diffing.notebooks import diff_notebooks as nbdime_diff

    from jupyter_mlops.notebooks.clean import clean_notebook
    from jupyter_mlops.notebooks.diff.engine import assign_match_keys, nbdime_diff_anchored

    a = _nb(*[f"x{i} = {i}" for i in range(30)])
    b = copy.deepcopy(a)
    b.cells[3].source = "x3 = 33"
    del b.cells[10:12]
    b.cells.insert(20, v4.new_markdown_cell("# new"))
    b.cells[25].source += "\nprint(x)"
    b.metadata["kernelspec"]["display_name"] = "Py"
    if not keep_ids:
        a, b = _without_ids(a), _without_ids(b)
    options = DiffOptions().clean_options()
    left, right = clean_notebook(a, options), clean_notebook(b, options)
    assign_match_keys(a.cells, b.cells, left.cells, right.cells)
    assert json.loads(json.dumps(nbdime_diff_anchored(left, right))) == json.loads(json.dumps(nbdime_diff(left, right)))


def test_notebook_from_code_snapshot():
    snapshot = {"cells": [{"index": 3, "execution_count": 1, "source": "x = 1", "cell_id": "abc"},
                          {"index": 0, "execution_count": 2, "source": "y = x", "cell_id": None}]}
    nb = notebook_from_code_snapshot(snapshot)
    assert [c.source for c in nb.cells] == ["x = 1", "y = x"]
    assert [c.get("id") for c in nb.cells] == ["abc", None] and nb.cells[0].execution_count == 1
    with pytest.raises(NotebookError, match="run x: not a code snapshot"):
        notebook_from_code_snapshot({"code": []}, origin="run x")
    with pytest.raises(NotebookError, match="cell 0"):
        notebook_from_code_snapshot({"cells": [{"source": 3}]})


def test_renderers():
    a = read_notebook(DATA / "params--base.ipynb")
    b = read_notebook(DATA / "params--changed.ipynb")
    b.cells.append(v4.new_markdown_cell("<script>alert(1)</script>"))
    result = diff_notebooks(a, b, DiffOptions(), labels=("base", "changed")).to_dict()
    text = render_terminal(result)
    assert text.index("Parameters:") < text.index("changed code cell")
    assert "lr: 0.1 → 0.05" in text and "- data/train.csv" in text and "\x1b[" not in text
    assert "\x1b[31m" in render_terminal(result, color=True)
    page = render_html(result)
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    assert "<script" not in page and "&lt;script&gt;" in page and "http" not in page
    same = diff_notebooks(a, a, DiffOptions()).to_dict()
    assert "identical" in render_terminal(same)


# -- git references and the command --------------------------------------------------------------------------------

def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
                   check=True, capture_output=True)


def test_rev_path_against_working_copy(tmp_path, monkeypatch):
    _git(tmp_path, "init", "-q")
    shutil.copy(DATA / "params--base.ipynb", tmp_path / "train.ipynb")
    _git(tmp_path, "add", "train.ipynb")
    _git(tmp_path, "commit", "-q", "-m", "base")
    nb = read_notebook(DATA / "params--changed.ipynb")
    write_notebook(nb, tmp_path / "train.ipynb")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(diff_cmd, ["HEAD:train.ipynb", "train.ipynb", "--format", "json", "--exit-code"])
    assert result.exit_code == 1, result.output
    payload = json.loads(result.output)
    assert payload["a"] == "HEAD:train.ipynb"
    assert payload["summary"]["parameters"][0]["new"] == 0.05
    missing = CliRunner().invoke(diff_cmd, ["HEAD:nope.ipynb", "train.ipynb"])
    assert missing.exit_code == 2 and missing.stderr.startswith("Error: HEAD:nope.ipynb:")


def test_cli_exit_code_html_and_identical(tmp_path):
    base, changed = str(DATA / "params--base.ipynb"), str(DATA / "params--changed.ipynb")
    html_file = tmp_path / "d.html"
    result = CliRunner().invoke(diff_cmd, [base, changed, "--html", str(html_file), "--exit-code", "--no-color"])
    assert result.exit_code == 1 and "lr: 0.1 → 0.05" in result.output
    assert "lr: 0.1 → 0.05" in html_file.read_text(encoding="utf-8")
    same = CliRunner().invoke(diff_cmd, [base, base, "--exit-code"])
    assert same.exit_code == 0 and "identical" in same.output


def test_cli_bad_inputs_name_both_files():
    bad_a, bad_b = str(DATA / "bad--v3.ipynb"), str(DATA / "bad--truncated.ipynb")
    result = CliRunner().invoke(diff_cmd, [bad_a, bad_b])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2 and "bad--v3.ipynb" in lines[0] and "bad--truncated.ipynb" in lines[1]
    assert result.output.count("Traceback") == 0


def test_an_empty_tags_list_added_by_papermill_is_noise_but_a_real_tag_is_not():
    nb = _nb("x = 1", "print(x)")
    touched = copy.deepcopy(nb)
    for cell in touched.cells:
        cell.metadata["tags"] = []
    assert diff_notebooks(nb, touched, DiffOptions()).identical
    touched.cells[0].metadata["tags"] = ["parameters"]
    assert not diff_notebooks(nb, touched, DiffOptions()).identical
