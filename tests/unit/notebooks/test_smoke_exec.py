"""How a finished cell is judged and how the kept notebook marks each cell (no kernel needed)."""

from __future__ import annotations

from pathlib import Path

import nbformat

from jupyter_mlops.notebooks.smoke.execute import FAILED, RAN, Job, check_cell, mark_cells


def job_of(*cells: nbformat.NotebookNode) -> Job:
    nb = nbformat.v4.new_notebook(cells=list(cells))
    return Job(path=Path("x.ipynb"), key="x.ipynb", nb=nb, origin=list(range(len(cells))), lines=[None] * len(cells))


def error_reply(**content: object) -> dict:
    return {"content": {"status": "error", **content}}


def test_an_error_reply_that_names_its_error_is_reported_with_it():
    job = job_of(nbformat.v4.new_code_cell("%nope", execution_count=1))
    failure = check_cell(job, 0, error_reply(ename="UsageError", evalue="Line magic function `%nope` not found."))
    assert failure is not None
    assert (failure.ename, failure.evalue) == ("UsageError", "Line magic function `%nope` not found.")


def test_an_error_reply_that_names_nothing_is_a_silent_failure():
    job = job_of(nbformat.v4.new_code_cell("x", execution_count=1))
    failure = check_cell(job, 0, error_reply(ename="", evalue="", traceback=[]))
    assert failure is not None and failure.ename == "SilentError" and "silent failure" in failure.evalue


def test_mark_cells_clears_what_did_not_run_and_survives_odd_metadata():
    stale = nbformat.v4.new_output("stream", name="stdout", text="old\n")
    ran = nbformat.v4.new_code_cell("a", execution_count=1, outputs=[stale])
    failed = nbformat.v4.new_code_cell("b", execution_count=2)
    after = nbformat.v4.new_code_cell("c", execution_count=3, outputs=[stale],
                                      metadata={"jupyter_mlops": 5, "papermill": {"duration": 9.0}})
    skipped = nbformat.v4.new_code_cell("d", execution_count=4, outputs=[stale], metadata={"tags": ["skip-smoke"]})
    text = nbformat.v4.new_markdown_cell("e")
    nb = job_of(ran, failed, after, skipped, text).nb
    mark_cells(nb, {0: RAN, 1: FAILED})
    assert [c.metadata.get("jupyter_mlops", {}).get("smoke") for c in nb.cells] == [
        "completed", "failed", "not-run", "skipped", None]
    assert ran.outputs == [stale] and ran.execution_count == 1  # what ran is kept as it ran
    assert (after.outputs, after.execution_count, skipped.outputs, skipped.execution_count) == ([], None, [], None)
    assert after.metadata["papermill"] == {"status": "pending", "exception": False}  # no stale duration
    assert "papermill" not in text.metadata
