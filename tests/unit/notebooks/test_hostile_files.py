"""Hostile notebook files (issue 8 §5): JSON nested 200,000 deep, symlink loops, undecodable bytes.

Each must give one ``NotebookError`` line naming the file, and every multi-file command (lint, clean, diff,
convert, nb-smoke discovery) must report it per file and go on with the others.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from jupyter_mlops.cli.convert import convert as convert_cmd
from jupyter_mlops.cli.notebooks import clean as clean_cmd
from jupyter_mlops.cli.notebooks import diff as diff_cmd
from jupyter_mlops.cli.notebooks import lint as lint_cmd
from jupyter_mlops.errors import NotebookError
from jupyter_mlops.notebooks.io import import_nbformat, read_notebook

import_nbformat()

import nbformat.v4 as v4  # noqa: E402

from jupyter_mlops.notebooks.smoke.discover import discover, shard_key  # noqa: E402
from jupyter_mlops.notebooks.smoke.options import SmokeOptions  # noqa: E402
from jupyter_mlops.notebooks.smoke.run import collect, output_path  # noqa: E402


def notebook_text(nesting: int) -> str:
    """A valid one-cell notebook whose metadata holds a list nested ``nesting`` deep (built as text: json.dumps
    of such a list would itself recurse)."""
    nb = v4.new_notebook(cells=[v4.new_code_cell("x = 1")])
    nb.metadata["deep"] = "PLACEHOLDER"
    return json.dumps(nb).replace('"PLACEHOLDER"', "[" * nesting + "1" + "]" * nesting)


@pytest.fixture
def hostile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "good.ipynb").write_text(notebook_text(1))
    (tmp_path / "deep.ipynb").write_text(notebook_text(200_000))
    (tmp_path / "latin1.ipynb").write_bytes(notebook_text(1).replace("x = 1", "x = '\xe9'").encode("latin-1"))
    os.symlink("loop-b.ipynb", tmp_path / "loop-a.ipynb")
    os.symlink("loop-a.ipynb", tmp_path / "loop-b.ipynb")
    return tmp_path


def one_line(exc: pytest.ExceptionInfo[NotebookError]) -> str:
    assert "\n" not in exc.value.message
    return exc.value.message


def test_deep_json_is_a_notebook_error_naming_the_file(hostile: Path):
    with pytest.raises(NotebookError) as exc:
        read_notebook("deep.ipynb")
    assert one_line(exc).startswith("deep.ipynb: JSON nested too deeply")


def test_nesting_just_past_the_limit_is_refused_before_any_recursive_step(hostile: Path):
    from jupyter_mlops.notebooks.io import MAX_DEPTH

    # ~100-900 levels parse with json but broke nbformat/jsonschema/nbdime with RecursionError later
    (hostile / "past.ipynb").write_text(notebook_text(MAX_DEPTH))
    with pytest.raises(NotebookError, match="nested too deeply"):
        read_notebook("past.ipynb")


def test_nesting_under_the_limit_still_works_in_every_command(hostile: Path):
    from jupyter_mlops.notebooks.io import MAX_DEPTH

    (hostile / "a.ipynb").write_text(notebook_text(MAX_DEPTH - 10))
    (hostile / "b.ipynb").write_text(notebook_text(MAX_DEPTH - 10).replace("x = 1", "x = 2"))
    assert read_notebook("a.ipynb").cells[0].source == "x = 1"
    assert CliRunner().invoke(lint_cmd, ["a.ipynb"]).exit_code in (0, 1)
    assert CliRunner().invoke(clean_cmd, ["--check", "a.ipynb"]).exit_code in (0, 1)
    assert "x = 2" in CliRunner().invoke(diff_cmd, ["a.ipynb", "b.ipynb", "--metadata", "--no-color"]).output


def test_json_depth_counts_without_recursion():
    from jupyter_mlops.notebooks.io import MAX_DEPTH, json_depth

    assert (json_depth(1), json_depth([]), json_depth({"a": [1, {"b": []}]})) == (0, 1, 4)
    deep: list = []
    for _ in range(50_000):
        deep = [deep]
    assert json_depth(deep) == MAX_DEPTH + 1  # stops counting past the limit


def test_symlink_loop_is_a_notebook_error(hostile: Path):
    with pytest.raises(NotebookError) as exc:
        read_notebook("loop-a.ipynb")
    assert one_line(exc) == "loop-a.ipynb: symlink loop (too many levels of symbolic links)"


def test_lint_reports_each_bad_file_and_still_lints_the_others(hostile: Path):
    result = CliRunner().invoke(lint_cmd, ["good.ipynb", "deep.ipynb", "loop-a.ipynb", "latin1.ipynb"])
    assert result.exit_code == 2 and result.exception is None or isinstance(result.exception, SystemExit)
    errors = result.stderr.splitlines()
    assert [line.split(":")[1].strip() for line in errors] == ["deep.ipynb", "loop-a.ipynb", "latin1.ipynb"]
    assert "good.ipynb: NB003" in result.stdout  # the good file was linted
    assert "RecursionError" not in result.output


def test_lint_of_a_folder_with_loops_and_deep_files(hostile: Path):
    result = CliRunner().invoke(lint_cmd, ["."])
    assert result.exit_code == 2
    assert sorted(line.split(":")[1].strip() for line in result.stderr.splitlines()) == [
        "deep.ipynb", "latin1.ipynb", "loop-a.ipynb", "loop-b.ipynb"]
    assert "good.ipynb: NB003" in result.stdout


def test_clean_reports_each_bad_file_and_cleans_the_others(hostile: Path):
    nb = v4.new_notebook(cells=[v4.new_code_cell("1", outputs=[v4.new_output("stream", text="x")])])
    (hostile / "dirty.ipynb").write_text(json.dumps(nb))
    result = CliRunner().invoke(clean_cmd, ["deep.ipynb", "loop-a.ipynb", "dirty.ipynb"])
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 2 and "nested too deeply" in result.stderr
    assert "cleaned dirty.ipynb" in result.stdout
    assert read_notebook("dirty.ipynb").cells[0].outputs == []


@pytest.mark.parametrize("bad", ["deep.ipynb", "loop-a.ipynb"])
def test_diff_and_convert_give_one_line(hostile: Path, bad: str):
    diffed = CliRunner().invoke(diff_cmd, ["good.ipynb", bad])
    assert diffed.exit_code == 2 and diffed.stderr.startswith(f"Error: {bad}: ")
    assert len(diffed.stderr.splitlines()) == 1
    converted = CliRunner().invoke(convert_cmd, [bad, "out"])
    assert isinstance(converted.exception, NotebookError) and converted.exception.message.startswith(f"{bad}: ")
    assert not (hostile / "out").exists()


def test_smoke_discovery_keeps_symlink_loops_as_notebooks(hostile: Path):
    found = [p.as_posix() for p in discover(["."])]
    assert found == ["deep.ipynb", "good.ipynb", "latin1.ipynb", "loop-a.ipynb", "loop-b.ipynb"]
    assert [p.as_posix() for p in discover(["loop-a.ipynb", "good.ipynb"])] == ["loop-a.ipynb", "good.ipynb"]
    assert shard_key(Path("loop-a.ipynb")) == "loop-a.ipynb"
    assert output_path(Path("loop-a.ipynb"), hostile / "out") == hostile / "out" / "loop-a.ipynb"
    assert len(collect(SmokeOptions(paths=["loop-a.ipynb", "good.ipynb"]))) == 2


def test_the_console_script_reports_each_hostile_file_in_one_line_and_goes_on(hostile: Path):
    """Through ``python -m jupyter_mlops`` (the error wrapper included), not click's test runner."""
    import subprocess
    import sys

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_MLOPS_")}
        return subprocess.run([sys.executable, "-m", "jupyter_mlops", *args], cwd=hostile, capture_output=True,
                              text=True, timeout=120, env=env, check=False)

    deep = "deep.ipynb: JSON nested too deeply (more than 100 levels)"
    loop = "loop-a.ipynb: symlink loop (too many levels of symbolic links)"
    linted = cli("lint", "good.ipynb", "deep.ipynb", "loop-a.ipynb")
    assert (linted.returncode, linted.stderr.splitlines()) == (2, [f"Error: {deep}", f"Error: {loop}"])
    assert "good.ipynb: NB003" in linted.stdout
    nb = v4.new_notebook(cells=[v4.new_code_cell("1", outputs=[v4.new_output("stream", text="x")])])
    (hostile / "dirty.ipynb").write_text(json.dumps(nb))
    cleaned = cli("clean", "deep.ipynb", "dirty.ipynb", "loop-a.ipynb")
    assert (cleaned.returncode, cleaned.stderr.splitlines()) == (2, [f"Error: {deep}", f"Error: {loop}"])
    assert cleaned.stdout.splitlines() == ["cleaned dirty.ipynb"]
    for args in (["diff", "good.ipynb", "deep.ipynb"], ["convert", "deep.ipynb", "out"]):
        failed = cli(*args)
        assert (failed.returncode, failed.stderr.splitlines()) == (2, [f"Error: {deep}"]), args
    assert not (hostile / "out").exists()
