"""capture.parameters: the rules the table test does not spell out (tags seen or not, the defaults' errors)."""

from __future__ import annotations

import pytest

from jupyter_mlops.capture.parameters import (
    ParametersCell,
    find_parameters_cell,
    only_literal_assignments,
    parameter_defaults,
    tagged_index,
)
from jupyter_mlops.errors import InvalidInput


def test_a_users_own_parameters_comment_is_papermills_cell_only_where_tags_are_unknown() -> None:
    cells = [{"source": "import math"}, {"source": "# Parameters\nlr = 0.1"}, {"source": "fit()"}]
    # a kernel under papermill sees no tags: the header is papermill's mark
    assert find_parameters_cell(cells) == ParametersCell(0, "injected", 1)
    # a saved notebook has its tags: an untagged "# Parameters" cell is the user's own, found by inference
    saved = [{**cell, "tags": []} for cell in cells]
    assert find_parameters_cell(saved, tags_known=True) == ParametersCell(1, "inferred")


def test_only_code_cells_are_tagged_parameters_cells() -> None:
    cells = [{"cell_type": "markdown", "source": "# Settings", "metadata": {"tags": ["parameters"]}},
             {"cell_type": "code", "source": "lr = 0.1", "metadata": {"tags": ["parameters"]}}]
    assert tagged_index(cells) == 1


def test_defaults_blank_magics_and_name_the_cell_that_does_not_parse() -> None:
    assert parameter_defaults("%env X=1\nlr: float = 0.1\nroot = Path('.')", cell=2) == {"lr": 0.1, "root": ...}
    with pytest.raises(InvalidInput, match=r"^the parameters cell \(cell 3\) does not parse: line 2: "):
        parameter_defaults("lr = 0.1\nepochs = = 3", cell=3)


@pytest.mark.parametrize(("source", "expected"), [
    ("'''Settings.'''\nlr = 0.1", True),
    ("a = b = 1", True),
    ("'''only a docstring'''", False),
    ("lr = {1, 2}", False),  # a set is no JSON value a run can record
    ("lr = f()", False),
    ("", False),
])
def test_literal_only_cells(source: str, expected: bool) -> None:
    assert only_literal_assignments(source) is expected
