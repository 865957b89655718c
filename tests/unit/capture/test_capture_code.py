"""capture.code: executed-cell log, notebook snapshot, notebook-state flags, parameters-cell finder."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from jupyter_mlops.capture.code import (
    ExecutedCell,
    ExecutedCells,
    context_cells,
    notebook_cells,
    notebook_snapshot,
    notebook_state_cells,
    notebook_state_flags,
)
from jupyter_mlops.capture.parameters import ParametersCell, find_parameters_cell

FILE = [
    {"id": "c1", "source": "import pandas as pd", "execution_count": 1},
    {"id": "c2", "source": "lr = 0.1", "execution_count": 2},
    {"id": "c3", "source": "model = fit(lr)", "execution_count": 3},
]


def log_of(*entries: tuple[str, str | None]) -> ExecutedCells:
    log = ExecutedCells()
    for index, (source, cell_id) in enumerate(entries):
        log.record(index, source, index + 1, cell_id)
    return log


def test_log_round_trips_through_json() -> None:
    log = log_of(("a = 1", "x"), ("b = 2", None))
    data = json.loads(json.dumps(log.to_json()))
    assert data["version"] == 1
    assert data["cells"][1] == {"index": 1, "source": "b = 2", "execution_count": 2, "cell_id": None}
    assert ExecutedCells.from_json(data).cells == log.cells
    assert len(log) == 2


def test_clean_top_to_bottom_run_has_no_flags() -> None:
    log = log_of(*((cell["source"], cell["id"]) for cell in FILE))
    assert notebook_state_flags(log, FILE, restarted=False) == {
        "out_of_order": False,
        "edited_after_run": False,
        "kernel_restarted": False,
        "cells_rerun": False,
    }


def test_out_of_order_by_cell_id() -> None:
    log = log_of(("import pandas as pd", "c1"), ("model = fit(lr)", "c3"), ("lr = 0.1", "c2"))
    assert notebook_state_flags(log, FILE, False)["out_of_order"] is True


def test_out_of_order_by_source_when_no_ids() -> None:
    log = log_of(("lr = 0.1", None), ("import pandas as pd\n", None))  # trailing newline is not a difference
    assert notebook_state_flags(log, FILE, False)["out_of_order"] is True
    assert notebook_state_flags(log_of(("lr = 0.1", None)), FILE, False)["out_of_order"] is False


def test_out_of_order_falls_back_to_saved_execution_counts() -> None:
    saved = [{"source": "a = 1", "execution_count": 5}, {"source": "b = 2", "execution_count": 2}]
    assert notebook_state_flags(log_of(("zzz = 0", None)), saved, False)["out_of_order"] is True


def test_rerunning_the_same_cell_in_place_is_rerun_not_out_of_order() -> None:
    log = log_of(("import pandas as pd", "c1"), ("lr = 0.1", "c2"), ("lr = 0.1", "c2"), ("model = fit(lr)", "c3"))
    flags = notebook_state_flags(log, FILE, False)
    assert (flags["out_of_order"], flags["cells_rerun"]) == (False, True)


def test_going_back_up_is_out_of_order_and_rerun() -> None:
    log = log_of(("import pandas as pd", "c1"), ("lr = 0.1", "c2"), ("model = fit(lr)", "c3"), ("lr = 0.1", "c2"))
    flags = notebook_state_flags(log, FILE, False)
    assert flags["out_of_order"] and flags["cells_rerun"]


def test_rerun_by_identical_source_without_ids_ignoring_blank_cells() -> None:
    assert notebook_state_flags(log_of(("x = 1", None), ("x = 1", None)), None, False)["cells_rerun"] is True
    assert notebook_state_flags(log_of(("", None), ("  ", None)), None, False)["cells_rerun"] is False


def test_two_cells_with_the_same_source_each_run_once_are_not_a_rerun() -> None:
    # papermill sends no cell ids: a notebook with `df.head()` twice, run top to bottom, was falsely "rerun"
    saved = [{"source": "df = load()"}, {"source": "df.head()"}, {"source": "x = 1"}, {"source": "df.head()\n"}]
    once_each = log_of(("df = load()", None), ("df.head()", None), ("x = 1", None), ("df.head()", None))
    assert notebook_state_flags(once_each, saved, False)["cells_rerun"] is False
    three_times = log_of(("df.head()", None), ("df.head()", None), ("df.head()", None))
    assert notebook_state_flags(three_times, saved, False)["cells_rerun"] is True
    assert notebook_state_flags(log_of(("x = 1", None), ("x = 1", None)), saved, False)["cells_rerun"] is True


def test_edited_after_run_compares_last_execution_per_cell_id() -> None:
    saved = [dict(cell) for cell in FILE]
    saved[1]["source"] = "lr = 0.2"
    ran_old = log_of(("lr = 0.1", "c2"))
    assert notebook_state_flags(ran_old, saved, False)["edited_after_run"] is True
    ran_old_then_new = log_of(("lr = 0.1", "c2"), ("lr = 0.2", "c2"))
    assert notebook_state_flags(ran_old_then_new, saved, False)["edited_after_run"] is False


def test_without_notebook_file_only_rerun_and_restart_are_known() -> None:
    log = log_of(("b", None), ("a", None))
    assert notebook_state_flags(log, None, restarted=True) == {
        "out_of_order": False,
        "edited_after_run": False,
        "kernel_restarted": True,
        "cells_rerun": False,
    }


def test_markdown_cells_do_not_count() -> None:
    saved = [{"id": "m", "cell_type": "markdown", "source": "x = 1"}, {"id": "k", "source": "x = 1"}]
    assert notebook_state_flags(log_of(("x = 1", None)), saved, False)["out_of_order"] is False


def write_notebook(path: Path, cells: list[dict]) -> Path:
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}
    path.write_text(json.dumps(notebook))
    return path


def test_snapshot_and_cells_of_a_saved_notebook(tmp_path: Path) -> None:
    path = write_notebook(
        tmp_path / "nb.ipynb",
        [
            {"id": "a", "cell_type": "markdown", "metadata": {}, "source": ["# Title"]},
            {
                "id": "b",
                "cell_type": "code",
                "metadata": {"tags": ["parameters"]},
                "source": ["lr = 0.1\n", "epochs = 3"],
                "execution_count": 4,
                "outputs": [],
            },
        ],
    )
    data = notebook_snapshot(path)
    assert data == path.read_bytes()
    cells = notebook_cells(data)
    assert cells[1] == {
        "id": "b",
        "cell_type": "code",
        "source": "lr = 0.1\nepochs = 3",
        "execution_count": 4,
        "tags": ["parameters"],
    }
    assert find_parameters_cell(cells) == ParametersCell(1, "tagged")


def test_snapshot_failures_are_one_warning_and_none(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    big = tmp_path / "big.ipynb"
    big.write_bytes(b"x" * 100)
    with caplog.at_level(logging.WARNING):
        assert notebook_snapshot(tmp_path / "missing.ipynb") is None
        assert notebook_snapshot(big, max_bytes=10) is None
        assert notebook_cells(b"{not json") is None
        assert notebook_cells(b'{"cells": 3}') is None
    assert len(caplog.records) == 4


def cells_of(*sources: str, tags: dict[int, list[str]] | None = None) -> list[dict]:
    return [{"source": source, "tags": (tags or {}).get(i, [])} for i, source in enumerate(sources)]


def test_parameters_cell_tagged_with_papermill_injection() -> None:
    cells = cells_of("import x", "lr = 0.1", "# Parameters\nlr = 0.3\n", "fit()", tags={1: ["parameters"]})
    assert find_parameters_cell(cells) == ParametersCell(1, "tagged", 2)


def test_parameters_cell_found_before_injected_cell_without_tags() -> None:
    # Under papermill the kernel sees no tags: the cell run just before "# Parameters" is the parameters cell.
    cells = cells_of("import x", "lr = 0.1\nepochs = 2", "# Parameters\nlr = 0.3\n", "fit()")
    assert find_parameters_cell(cells) == ParametersCell(1, "injected", 2)


def test_injected_cell_first_when_notebook_has_no_parameters_cell() -> None:
    cells = cells_of("", "# Parameters\nlr = 0.3\n", "fit()", tags={1: ["injected-parameters"]})
    cells[0]["cell_type"] = "markdown"
    assert find_parameters_cell(cells) == ParametersCell(1, "injected", 1)


def test_parameters_cell_inferred_from_literal_assignments() -> None:
    cells = cells_of("import numpy as np", "# settings\nlr = 0.1\nlayers: list = [1, 2]\nname = 'b'", "fit()")
    assert find_parameters_cell(cells) == ParametersCell(1, "inferred")


@pytest.mark.parametrize(
    "sources",
    [
        ("import numpy as np", "model = fit()", "x = np.ones(3)"),
        ("a = f()", "b = g()", "c = h()", "lr = 0.1"),  # a lone literal deep in the notebook is not a guess
        ("%matplotlib inline",),
    ],
)
def test_no_parameters_cell(sources: tuple[str, ...]) -> None:
    assert find_parameters_cell(cells_of(*sources)) is None


# -- one run's cells and their context ----------------------------------------------------------------------------
def names(reads: str, binds: str) -> tuple[frozenset[str], frozenset[str]]:
    return frozenset(reads.split()), frozenset(binds.split())


def test_context_is_the_latest_cell_binding_each_name_the_run_reads_first() -> None:
    history = [names("", "C"), names("", "C"), names("", "scratch"), names("C", "model"), names("model", "")]
    assert context_cells(history, 3) == [1]  # the re-run parameters cell, not its first version nor scratch work


def test_context_follows_what_context_cells_read_only_backwards() -> None:
    # df was built from path; path was set again after df was built, which df never saw
    history = [names("", "path"), names("pd path", "df"), names("", "path"), names("", "pd"), names("df", "m")]
    assert context_cells(history, 4) == [0, 1]


def test_names_the_run_binds_itself_need_no_context() -> None:
    history = [names("", "x"), names("", "x"), names("x", "y")]
    assert context_cells(history, 1) == []  # the run's own first cell binds x before anything reads it


def test_a_cell_that_reads_and_rebinds_a_name_still_reads_it() -> None:
    history = [names("", "df"), names("df", "df")]  # df = df.dropna() as the run's first cell
    assert context_cells(history, 1) == [0]


def test_unparsable_cells_neither_read_nor_bind() -> None:
    assert context_cells([None, names("a", "")], 1) == []
    assert context_cells([names("", "a"), None, names("a", "")], 2) == [0]  # the unknown cell hides nothing


def test_run_log_puts_context_first_renumbers_and_keeps_errors() -> None:
    log = ExecutedCells([ExecutedCell(0, "a = 1", 1), ExecutedCell(1, "b = 2", 2), ExecutedCell(2, "%track start", 3),
                         ExecutedCell(3, "1/0", 4, "c9", {"ename": "ZeroDivisionError", "evalue": "division by zero"})])
    data = log.since(2, [0]).to_json()
    assert data["cells"] == [
        {"index": 0, "source": "a = 1", "execution_count": 1, "cell_id": None, "context": True},
        {"index": 1, "source": "%track start", "execution_count": 3, "cell_id": None},
        {"index": 2, "source": "1/0", "execution_count": 4, "cell_id": "c9",
         "error": {"ename": "ZeroDivisionError", "evalue": "division by zero"}},
    ]
    assert ExecutedCells.from_json(data).to_json() == data


def test_flag_cells_name_the_cells_behind_each_flag() -> None:
    saved = [{"id": "m", "cell_type": "markdown", "source": "# Title"}, *(dict(cell) for cell in FILE)]
    saved[2]["source"] = "lr = 0.2"  # edited after it ran
    log = log_of(("import pandas as pd", "c1"), ("model = fit(lr)", "c3"), ("lr = 0.1", "c2"),
                 ("model = fit(lr)", "c3"))
    # 1-based positions in the saved file, markdown counted: c1 is cell 2, c2 cell 3, c3 cell 4.
    assert notebook_state_cells(log, saved) == {"out_of_order": [2, 4, 3, 4], "edited_after_run": [3],
                                                "cells_rerun": [4]}
    clean = log_of(*((cell["source"], cell["id"]) for cell in FILE))
    assert notebook_state_cells(clean, FILE) == {}
    assert notebook_state_cells(log, None) == {}  # no saved file: the flags stand without cell numbers
