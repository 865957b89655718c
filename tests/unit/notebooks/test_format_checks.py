"""Cell ids and unknown format parts: read without random repair, lint findings, clean's refusal, diff's notes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from jupyter_mlops.cli.notebooks import clean as clean_cmd
from jupyter_mlops.cli.notebooks import diff as diff_cmd
from jupyter_mlops.cli.notebooks import lint as lint_cmd
from jupyter_mlops.notebooks.io import import_nbformat

import_nbformat()

from jupyter_mlops.errors import NotebookError  # noqa: E402
from jupyter_mlops.notebooks.clean import clean_notebook  # noqa: E402
from jupyter_mlops.notebooks.io import notebook_to_text, parse_notebook, read_notebook  # noqa: E402
from jupyter_mlops.notebooks.lint import lint_notebook  # noqa: E402


def _code(source: str, cell_id: str | None = None, **extra) -> dict:
    cell = {"cell_type": "code", "metadata": {}, "source": source, "outputs": [], "execution_count": None, **extra}
    if cell_id is not None:
        cell["id"] = cell_id
    return cell


def _write(path: Path, cells: list[dict], minor: int = 5) -> Path:
    """A notebook written as raw JSON, so nothing on the way repairs or re-validates it."""
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": minor, "metadata": {}, "cells": cells}, indent=1),
                    encoding="utf-8")
    return path


def _ids(path: Path) -> list[str | None]:
    return [c.get("id") for c in json.loads(path.read_text(encoding="utf-8"))["cells"]]


# -- reading: no random repair --------------------------------------------------------------------------------------

def test_reading_keeps_duplicate_and_missing_ids_as_they_are(tmp_path):
    dup = read_notebook(_write(tmp_path / "dup.ipynb", [_code("x = 1", "a"), _code("y = 2", "a")]))
    assert [c.id for c in dup.cells] == ["a", "a"]
    missing = read_notebook(_write(tmp_path / "noid.ipynb", [_code("x = 1"), _code("y = 2")]))
    assert ["id" in c for c in missing.cells] == [False, False]
    assert notebook_to_text(missing) == notebook_to_text(missing)  # serialising adds no random id either
    assert "id" not in json.loads(notebook_to_text(missing))["cells"][0]


def test_a_4_4_notebook_needs_no_ids(tmp_path):
    nb = read_notebook(_write(tmp_path / "old.ipynb", [_code("x = 1")], minor=4))
    assert [f.rule_id for f in lint_notebook(nb, "old.ipynb")] == ["NB003"]  # no parameters cell, nothing else


def test_unknown_cell_type_under_a_known_minor_is_a_short_one_line_error(tmp_path):
    sql = {"cell_type": "sql", "id": "b", "metadata": {}, "source": "select * from runs\n" * 50}
    with pytest.raises(NotebookError) as info:
        read_notebook(_write(tmp_path / "sql.ipynb", [_code("x = 1", "a"), sql]))
    assert info.value.message == (f"{tmp_path / 'sql.ipynb'}: fails nbformat validation at cells/1: unknown cell "
                                  "type 'sql' (nbformat 4 knows code, markdown, raw)")


# -- lint ----------------------------------------------------------------------------------------------------------

def test_lint_reports_duplicate_and_missing_ids(tmp_path):
    dup = read_notebook(_write(tmp_path / "dup.ipynb", [_code("x = 1", "a"), _code("y = 2", "b"),
                                                         _code("z = 3", "a")]))
    (finding,) = [f for f in lint_notebook(dup, "dup.ipynb") if f.rule_id == "NB009"]
    assert (finding.cell_index, finding.severity) == (2, "error") and "'a' (also cell 0)" in finding.message
    missing = read_notebook(_write(tmp_path / "noid.ipynb", [_code("x = 1"), _code("y = 2", "b")]))
    (finding,) = [f for f in lint_notebook(missing, "noid.ipynb") if f.rule_id == "NB009"]
    assert finding.cell_index is None and "1 cell(s) have no id (cells 0)" in finding.message


def test_lint_reports_an_unknown_minor_and_unknown_cell_and_output_types(tmp_path):
    cells = [_code("x = 1", "a", outputs=[{"output_type": "hologram", "data": {}}]),
             {"cell_type": "sql", "id": "b", "metadata": {}, "source": "select 1"}]
    nb = read_notebook(_write(tmp_path / "future.ipynb", cells, minor=99))
    found = [(f.cell_index, f.message) for f in lint_notebook(nb, "future.ipynb") if f.rule_id == "NB010"]
    assert found[0][0] is None and "nbformat 4.99 is newer than the installed nbformat knows (4.5)" in found[0][1]
    assert (0, "output 0 has unknown output type 'hologram'") in found
    assert any(index == 1 and "unknown cell type 'sql'" in message for index, message in found)
    current = read_notebook(_write(tmp_path / "now.ipynb", [_code("x = 1", "a")]))
    assert [f for f in lint_notebook(current, "now.ipynb") if f.rule_id == "NB010"] == []


def test_lint_without_a_path_lints_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "dup.ipynb", [_code("x = 1", "a"), _code("y = 2", "a")])
    result = CliRunner().invoke(lint_cmd, [])
    assert result.exit_code == 1, result.output
    assert "dup.ipynb:cell 1: NB009 [error] duplicate cell id 'a'" in result.output
    (tmp_path / "dup.ipynb").unlink()
    assert CliRunner().invoke(lint_cmd, []).exit_code == 0  # an empty folder has nothing to report


# -- clean ---------------------------------------------------------------------------------------------------------

def test_clean_refuses_duplicate_ids_with_one_line_and_exit_2(tmp_path):
    path = _write(tmp_path / "dup.ipynb", [_code("x = 1", "a", execution_count=1), _code("y = 2", "a")])
    before = path.read_bytes()
    result = CliRunner().invoke(clean_cmd, [str(path)])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"Error: {path}: cell id 'a' is used by cells 0, 1: cell ids must be "
                                          "unique; give each cell its own id (or open and save it in Jupyter) and "
                                          "clean again"]
    assert path.read_bytes() == before
    piped = CliRunner().invoke(clean_cmd, ["--stdin"], input=before)
    assert piped.exit_code != 0 and piped.stdout == ""
    assert isinstance(piped.exception, NotebookError) and "cell id 'a'" in piped.exception.message


def test_clean_is_deterministic_for_cells_without_ids(tmp_path):
    cells = [_code("x = 1", execution_count=3), _code("y = 2", execution_count=4)]
    one, two = _write(tmp_path / "one.ipynb", cells), _write(tmp_path / "two.ipynb", cells)
    for path in (one, two):
        result = CliRunner().invoke(clean_cmd, [str(path)])
        assert result.exit_code == 0 and f"cleaned {path}" in result.output
        assert result.stderr.splitlines() == [f"note: {path}: 2 cell(s) have no id (cells 0, 1); nbformat 4.5 "
                                              "requires one (Jupyter adds them when it saves)"]
    assert one.read_bytes() == two.read_bytes() and _ids(one) == [None, None]
    again = CliRunner().invoke(clean_cmd, [str(one), "--check"])
    assert again.exit_code == 0  # already clean: a second pass (a git clean filter) writes the same bytes


def test_clean_strips_ui_state_but_keeps_other_jupyter_metadata():
    nb = parse_notebook(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        _code("x", "a", metadata={"jupyter": {"source_hidden": True, "outputs_hidden": True}, "collapsed": True}),
        _code("y", "b", metadata={"jupyter": {"source_hidden": True, "custom": 1}})]}), "nb")
    cleaned = clean_notebook(nb)
    assert cleaned.cells[0].metadata == {} and cleaned.cells[1].metadata == {"jupyter": {"custom": 1}}


# -- diff: notes instead of raw warnings ---------------------------------------------------------------------------

def test_diff_notes_id_problems_and_ignores_missing_ids_even_with_metadata(tmp_path):
    noid = _write(tmp_path / "noid.ipynb", [_code("x = 1"), _code("y = 2")])
    same = CliRunner().invoke(diff_cmd, [str(noid), str(noid), "--metadata", "--exit-code"])
    assert same.exit_code == 0, same.output  # no random ids were made up for either side
    dup = _write(tmp_path / "dup.ipynb", [_code("x = 1", "a"), _code("y = 2", "a")])
    result = CliRunner().invoke(diff_cmd, [str(dup), str(noid)])
    assert result.stderr.splitlines() == [
        f"note: {dup}: cell id 'a' is used by cells 0, 1: cell ids must be unique",
        f"note: {noid}: 2 cell(s) have no id (cells 0, 1); nbformat 4.5 requires one (Jupyter adds them when it "
        "saves)"]
