"""clean: what is stripped, what is kept, purity, idempotence and byte-identity; the `clean` command."""

from __future__ import annotations

import copy
import io
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from jupyter_mlops.cli.notebooks import clean as clean_cmd
from jupyter_mlops.notebooks.io import import_nbformat

import_nbformat()

import nbformat.v4 as v4  # noqa: E402

from jupyter_mlops.notebooks.clean import CleanOptions, clean_notebook  # noqa: E402
from jupyter_mlops.notebooks.io import notebook_to_text, read_notebook  # noqa: E402

DATA = Path(__file__).parents[2] / "data" / "notebooks" / "hygiene"
BAD = ["bad--truncated.ipynb", "bad--not-notebook.ipynb", "bad--v3.ipynb", "bad--invalid.ipynb", "bad--latin1.ipynb"]


@pytest.fixture()
def dirty():
    return read_notebook(DATA / "outputs--dirty.ipynb")


def test_strips_outputs_counts_and_volatile_metadata(dirty):
    cleaned = clean_notebook(dirty)
    plain = [c for c in cleaned.cells if c.cell_type == "code" and "keep-output" not in c.metadata.get("tags", [])]
    assert plain and all(c.outputs == [] and c.execution_count is None for c in plain)
    for cell in cleaned.cells:
        assert not {"papermill", "ExecuteTime", "collapsed", "scrolled", "execution"} & set(cell.metadata)
    assert "widgets" not in cleaned.metadata and "papermill" not in cleaned.metadata
    assert "version" not in cleaned.metadata.language_info
    assert cleaned.metadata.language_info.name == "python"
    assert cleaned.metadata.kernelspec.name == "python3"
    assert cleaned.metadata.jupytext == {"formats": "ipynb,py:percent"}


def test_keeps_tags_ids_and_keep_output_cells(dirty):
    cleaned = clean_notebook(dirty)
    assert [c.id for c in cleaned.cells] == [c.id for c in dirty.cells]
    assert [c.metadata.get("tags") for c in cleaned.cells] == [c.metadata.get("tags") for c in dirty.cells]
    tags = {t for c in cleaned.cells for t in c.metadata.get("tags", [])}
    assert {"parameters", "injected-parameters", "raises-exception", "skip-smoke", "nbval-ignore-output"} <= tags
    kept = next(c for c in cleaned.cells if "keep-output" in c.metadata.get("tags", []))
    assert kept.outputs[0].text == "20\n" and kept.execution_count == 3


def test_input_is_not_mutated(dirty):
    before = copy.deepcopy(dirty)
    clean_notebook(dirty)
    assert dirty == before


def test_idempotent_and_byte_identical(dirty):
    once = clean_notebook(dirty)
    twice = clean_notebook(once)
    assert twice == once
    assert notebook_to_text(twice) == notebook_to_text(once)
    assert notebook_to_text(once).endswith("}\n") and '\n "cells": [' in notebook_to_text(once)


def test_execution_counts_inside_kept_outputs_are_reset_when_outputs_stay():
    cell = v4.new_code_cell("1", execution_count=4,
                            outputs=[v4.new_output("execute_result", {"text/plain": "1"}, execution_count=4)])
    nb = v4.new_notebook(cells=[cell])
    cleaned = clean_notebook(nb, CleanOptions(outputs=False))
    assert cleaned.cells[0].execution_count is None
    assert cleaned.cells[0].outputs[0].execution_count is None


def test_all_metadata_drops_everything():
    nb = v4.new_notebook(cells=[v4.new_markdown_cell("x", metadata={"tags": ["a"], "foo": 1})],
                         metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
    cleaned = clean_notebook(nb, CleanOptions(all_metadata=True))
    assert cleaned.cells[0].metadata == {} and cleaned.metadata == {}
    assert nb.cells[0].metadata == {"tags": ["a"], "foo": 1}


# -- the command -------------------------------------------------------------------------------------------------

def _copy(tmp_path: Path, *names: str) -> list[Path]:
    out = []
    for name in names:
        target = tmp_path / name
        shutil.copy(DATA / name, target)
        out.append(target)
    return out


def test_cli_cleans_in_place_then_changes_nothing(tmp_path):
    (path,) = _copy(tmp_path, "outputs--dirty.ipynb")
    result = CliRunner().invoke(clean_cmd, [str(path)])
    assert result.exit_code == 0, result.output
    assert "cleaned" in result.output
    first = path.read_bytes()
    assert first != (DATA / "outputs--dirty.ipynb").read_bytes()
    mtime = path.stat().st_mtime_ns
    again = CliRunner().invoke(clean_cmd, [str(path)])
    assert again.exit_code == 0 and again.output == ""
    assert path.read_bytes() == first and path.stat().st_mtime_ns == mtime


def test_cli_check_reports_and_writes_nothing(tmp_path):
    dirty_path, clean_path = _copy(tmp_path, "outputs--dirty.ipynb", "lint--clean.ipynb")
    original = dirty_path.read_bytes()
    result = CliRunner().invoke(clean_cmd, ["--check", str(dirty_path), str(clean_path)])
    assert result.exit_code == 1
    assert result.output.strip() == f"would clean {dirty_path}"
    assert dirty_path.read_bytes() == original
    assert CliRunner().invoke(clean_cmd, ["--check", str(clean_path)]).exit_code == 0


def test_cli_stdin_to_stdout():
    text = (DATA / "outputs--dirty.ipynb").read_text(encoding="utf-8")
    result = CliRunner().invoke(clean_cmd, ["--stdin"], input=text)
    assert result.exit_code == 0
    assert result.output == notebook_to_text(clean_notebook(read_notebook(DATA / "outputs--dirty.ipynb")))


def test_cli_bad_files_one_line_each_others_still_cleaned(tmp_path):
    paths = _copy(tmp_path, *BAD, "outputs--dirty.ipynb")
    before = {p: p.read_bytes() for p in paths}
    result = CliRunner().invoke(clean_cmd, [str(p) for p in paths])
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == len(BAD)
    for name, line in zip(BAD, errors, strict=True):
        assert name in line
    assert "Traceback" not in result.output + result.stderr
    for p in paths[:-1]:
        assert p.read_bytes() == before[p]
    assert paths[-1].read_bytes() != before[paths[-1]]


def test_cli_folder_skips_checkpoints(tmp_path):
    (tmp_path / ".ipynb_checkpoints").mkdir()
    shutil.copy(DATA / "outputs--dirty.ipynb", tmp_path / ".ipynb_checkpoints" / "a-checkpoint.ipynb")
    shutil.copy(DATA / "outputs--dirty.ipynb", tmp_path / "a.ipynb")
    result = CliRunner().invoke(clean_cmd, [str(tmp_path)])
    assert result.exit_code == 0
    assert result.output.strip() == f"cleaned {tmp_path / 'a.ipynb'}"
    stale = (tmp_path / ".ipynb_checkpoints" / "a-checkpoint.ipynb").read_bytes()
    assert stale == (DATA / "outputs--dirty.ipynb").read_bytes()


def test_cli_needs_a_path():
    result = CliRunner().invoke(clean_cmd, [])
    assert result.exit_code == 2


def test_stdin_bad_input_is_one_line_through_main(monkeypatch, capsys):
    from jupyter_mlops.cli import main

    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"{not json")))
    with pytest.raises(SystemExit) as exit_info:
        main(["clean", "--stdin"])
    captured = capsys.readouterr()
    assert exit_info.value.code == 2 and captured.out == ""
    assert captured.err.strip().splitlines() == ["Error: <stdin>: not valid notebook JSON (Expecting property name "
                                                 "enclosed in double quotes at line 1)"]


def test_empty_tags_lists_are_dropped_and_real_tags_kept():
    nb = v4.new_notebook(cells=[v4.new_code_cell("a = 1", metadata={"tags": []}),
                                v4.new_code_cell("b = 2", metadata={"tags": ["parameters"]})])
    cleaned = clean_notebook(nb)
    assert "tags" not in cleaned.cells[0].metadata
    assert cleaned.cells[1].metadata["tags"] == ["parameters"]
    assert nb.cells[0].metadata["tags"] == []  # the input is not mutated
