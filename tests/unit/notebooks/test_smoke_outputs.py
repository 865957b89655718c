"""Output caps without a kernel: sizes and their sources, and CappedClient fed iopub messages directly."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from jupyter_mlops.cli.smoke import smoke as smoke_cmd
from jupyter_mlops.errors import InvalidInput
from jupyter_mlops.notebooks.io import import_nbformat
from jupyter_mlops.notebooks.smoke.limits import (
    DEFAULT_MAX_CELL_OUTPUT,
    DEFAULT_MAX_NOTEBOOK_OUTPUT,
    output_caps,
    parse_size,
)

import_nbformat()

import nbformat.v4 as v4  # noqa: E402

from jupyter_mlops.notebooks.smoke.outputs import NOTE_PREFIX, CappedClient, content_size, cut_text  # noqa: E402


@pytest.mark.parametrize(("text", "size"), [(4096, 4096), ("4096", 4096), ("4MiB", 4 * 1024**2), ("2M", 2 * 1024**2),
                                            ("500kB", 500_000), ("1.5 KiB", 1536), ("3 gb", 3 * 1000**3)])
def test_sizes(text, size):
    assert parse_size(text, "x") == size


@pytest.mark.parametrize("text", ["lots", "0", 0, -5, "4 parsecs", True, "", "1e9"])
def test_bad_sizes(text):
    with pytest.raises(InvalidInput, match="^--max-cell-output: "):
        parse_size(text, "--max-cell-output")


def test_caps_come_from_flags_then_pyproject_then_defaults():
    assert output_caps(None, None, {}) == (DEFAULT_MAX_CELL_OUTPUT, DEFAULT_MAX_NOTEBOOK_OUTPUT)
    table = {"max-cell-output": "1kB", "max-notebook-output": 5000, "nbs/*.ipynb": {"epochs": 1}}
    assert output_caps(None, None, table) == (1000, 5000)
    assert output_caps("2kB", None, table) == (2000, 5000)
    with pytest.raises(InvalidInput, match=r"\[tool.jupyter-mlops.smoke\] max-notebook-output: expected a size"):
        output_caps(None, None, {"max-notebook-output": "big"})
    with pytest.raises(InvalidInput, match="unknown option max-cell-outputs"):
        output_caps(None, None, {"max-cell-outputs": "1kB"})


def test_a_bad_pyproject_cap_stops_nb_smoke_before_any_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.jupyter-mlops.smoke]\nmax-cell-output = "huge"\n')
    result = CliRunner().invoke(smoke_cmd, ["."])
    assert isinstance(result.exception, InvalidInput) and "max-cell-output" in result.exception.message


def msg(kind: str, **content):
    return {"msg_type": kind, "content": content, "parent_header": {"msg_id": "m"}, "header": {"msg_type": kind},
            "metadata": {}}


@pytest.fixture
def client():
    nb = v4.new_notebook(cells=[v4.new_code_cell("a"), v4.new_code_cell("b")])
    capped = CappedClient(nb, max_cell_output=100, max_notebook_output=150)
    capped.clear_before_next_output = False  # as async_execute_cell sets it
    return capped


def feed(client, index, *messages):
    cell = client.nb.cells[index]
    for message in messages:
        client.process_message(message, cell, index)
    return cell


def test_streams_are_cut_to_the_room_left_and_the_rest_counted(client):
    cell = feed(client, 0, *[msg("stream", name="stdout", text="x" * 30) for _ in range(5)])
    assert sum(len(o.text) for o in cell.outputs) == 100
    assert client.dropped == {0: 50}
    cell = feed(client, 1, msg("stream", name="stdout", text="y" * 80))
    assert len(cell.outputs[0].text) == 50  # the notebook cap (150) binds before the cell cap
    client.note_truncation(cell, 1)
    assert cell.outputs[-1].name == "stderr" and cell.outputs[-1].text.startswith(NOTE_PREFIX)


def test_rich_outputs_that_do_not_fit_are_dropped_whole(client):
    cell = feed(client, 0, msg("display_data", data={"text/html": "<b>" + "h" * 200 + "</b>"}, metadata={}),
                msg("display_data", data={"text/plain": "ok"}, metadata={}))
    assert [o.data for o in cell.outputs] == [{"text/plain": "ok"}]
    assert client.dropped == {0: 207}


def test_cleared_output_is_room_again(client):
    for _ in range(10):  # a loop that redraws: clear_output(wait=True) then a new 60-byte output
        cell = feed(client, 0, msg("clear_output", wait=True), msg("stream", name="stdout", text="z" * 60))
    assert [o.text for o in cell.outputs] == ["z" * 60] and client.dropped == {}
    feed(client, 0, msg("clear_output", wait=False))
    assert cell.outputs == [] and client.kept[0] == 0


def test_errors_are_always_kept_but_bounded(client):
    feed(client, 0, msg("stream", name="stdout", text="x" * 100))
    lines = [f"line {i}" + "t" * 100 for i in range(500)]
    huge = msg("error", ename="ValueError", evalue="v" * 50_000, traceback=lines)
    cell = feed(client, 0, huge)
    error = cell.outputs[-1]
    assert error.output_type == "error" and error.ename == "ValueError"
    assert content_size("error", error) <= 4096 + 200 and error.traceback[-1].startswith("line 499")


def test_update_display_data_that_does_not_fit_is_dropped(client):
    shown = msg("display_data", data={"text/plain": "0%"}, metadata={}, transient={"display_id": "bar"})
    cell = feed(client, 0, shown)
    big = msg("update_display_data", data={"text/plain": "9" * 500}, metadata={}, transient={"display_id": "bar"})
    feed(client, 0, big)
    assert cell.outputs[0].data == {"text/plain": "0%"} and client.dropped == {0: 500}


def test_cut_text_never_splits_a_character():
    assert cut_text("ééé", 3) == "é" and cut_text("abc", 2) == "ab"
