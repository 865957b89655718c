"""The slicer on hand-written executed-cell logs: every construct it follows, and the cases it cannot be sure of."""

from __future__ import annotations

import pytest

from jupyter_mlops.errors import InvalidInput
from jupyter_mlops.notebooks.slicing import Cell, slice_cells
from jupyter_mlops.notebooks.slicing.emit import clean_code, emitted_cells, script_text
from jupyter_mlops.notebooks.slicing.view import python_view


def kept(sources: list[str], target: str, **options) -> list[int]:
    """The kept positions (in emission order) of a log of cells given by source, in the order they ran."""
    return slice_cells([Cell(source) for source in sources], target, **options).cells


@pytest.mark.parametrize(("sources", "target", "expected"), [
    # plain data flow; a cell that both reads and rebinds (`a = a + 1`) reads the version before it
    (["a = 1", "b = 2", "a = a + 1", "c = a * 3"], "c", [0, 2, 3]),
    # the latest execution wins: a cell re-run after an edit, the old version is not needed
    (["a = 1", "a = 5", "c = a"], "c", [1, 2]),
    # a name bound earlier in the same cell is not read from before
    (["x = 9", "x = 1\ny = x + 1"], "y", [1]),
    # in-place changes: append, subscript and attribute stores, +=, inplace=True, a method of unknown effect
    (["xs = []", "xs.append(1)", "n = len(xs)"], "n", [0, 1, 2]),
    (["d = {}", "d['k'] = 1", "v = d['k']"], "v", [0, 1, 2]),
    (["o = Obj()", "o.size = 3", "s = o.size"], "s", [0, 1, 2]),
    (["t = 0", "t += 5", "u = t"], "u", [0, 1, 2]),
    (["df = make()", "df.dropna(inplace=True)", "df.head()", "m = df.mean()"], "m", [0, 1, 3]),
    (["model = M()", "model.fit(X)", "p = model.predict(X)"], "p", [0, 1, 2]),
    # two names for one object: a change through one is a change of the other, until one is rebound
    (["a = []", "b = a", "b.append(1)", "n = len(a)"], "n", [0, 1, 2, 3]),
    (["a = []", "b = a", "b = []", "b.append(1)", "n = len(a)"], "n", [0, 4]),
    # a conditional binding may not have happened: the binding before it is kept too
    (["z = 1", "if flag:\n    z = 2", "w = z"], "w", [0, 1, 2]),
    # a `with` body runs, but an `if` inside it may not have bound
    (["z = 1", "with ctx():\n    if flag:\n        z = 2", "w = z"], "w", [0, 1, 2]),
    (["z = 1", "with ctx():\n    z = 2", "w = z"], "w", [1, 2]),
    # loop targets are bound by the loop, not read from before
    (["i = 100", "total = 0", "for i in range(3):\n    total += i", "r = total"], "r", [1, 2, 3]),
    # a function reads its globals when it is called: the cells that bound them before the call, not after
    (["def f(v):\n    return v * w", "w = 2", "w = 3", "y = f(1)", "w = 4"], "y", [0, 2, 3]),
    # ... through the functions it calls
    (["def g():\n    return k", "def f():\n    return g() + 1", "k = 5", "y = f()"], "y", [0, 1, 2, 3]),
    # a function that binds a global (`global`) or changes one in place changes it when called
    (["def bump():\n    global c\n    c = c + 1", "c = 0", "bump()", "d = c"], "d", [0, 1, 2, 3]),
    (["acc = []", "def add(v):\n    acc.append(v)", "add(1)", "n = len(acc)"], "n", [0, 1, 2, 3]),
    # a function that changes its argument changes what it is given
    (["def fill(xs):\n    xs.append(1)", "items = []", "fill(items)", "n = len(items)"], "n", [0, 1, 2, 3]),
    # lambdas assigned to a name are functions too
    (["f = lambda: q", "q = 7", "y = f()"], "y", [0, 1, 2]),
    # imports; a call on a module changes nothing (but setting one of its attributes is unsure, below)
    (["import math", "x = math.sqrt(4)", "y = math.floor(x)"], "y", [0, 1, 2]),
    # files written by one cell and read by another, by literal path or a variable holding one
    (["open('a.txt', 'w').write('1')", "junk = 1", "v = open('a.txt').read()"], "v", [0, 2]),
    (["p = 'out.csv'", "frame.to_csv(p)", "import pandas as pd", "back = pd.read_csv('out.csv')"], "back",
     [0, 1, 2, 3]),
    (["%%writefile data.txt\n1 2 3", "v = open('data.txt').read()"], "v", [0, 1]),
    # random state: a seed and the draws after it
    (["import numpy as np", "np.random.seed(0)", "a = np.random.rand()", "b = np.random.rand()"], "b",
     [0, 1, 2, 3]),
    # exec/eval of a literal is read as the code it runs
    (["exec('h = 1')", "g = h + 1"], "g", [0, 1]),
    # globals() subscripted with a literal is that name
    (["globals()['k'] = 3", "m = k"], "m", [0, 1]),
])
def test_the_slice_follows_the_data_flow(sources: list[str], target: str, expected: list[int]) -> None:
    assert kept(sources, target) == expected


def test_a_metric_ends_at_the_cell_that_logged_its_recorded_value() -> None:
    cells = [Cell("%track start"), Cell("a = 1"), Cell("mlops.log_metric('auc', a)", metrics=("auc",)),
             Cell("a = 2"), Cell("mlops.log_metric('auc', a)", metrics=("auc",)), Cell("b = 3")]
    piece = slice_cells(cells, "auc")
    assert (piece.kind, piece.target_cell, piece.cells) == ("metric", 4, [0, 3, 4])
    assert piece.reasons[0] == ["<run>"] and piece.reasons[3] == ["a"]


def test_the_kernels_record_beats_the_code_and_the_code_is_the_fallback() -> None:
    # a computed key: only the kernel's record says which cell logged `acc`
    cells = [Cell("%track start"), Cell("k = 'acc'"), Cell("mlops.log_metric(k, 0.5)", metrics=("acc",)),
             Cell("other = 1")]
    assert slice_cells(cells, "acc").cells == [0, 1, 2]
    # no record (an older run): the last cell that logs the key by its literal name, `%track metric` included
    cells = [Cell("%track start"), Cell("x = 3"), Cell("%track metric x=x"), Cell("x = 4")]
    assert slice_cells(cells, "x", kind="metric").cells == [0, 1, 2]
    with pytest.raises(InvalidInput, match="no executed cell logged the metric 'nope'"):
        slice_cells(cells, "nope", kind="metric")
    with pytest.raises(InvalidInput, match="no executed cell bound the name 'nope'"):
        slice_cells(cells, "nope")


def test_the_parameters_cell_comes_first_in_its_latest_version_before_the_target() -> None:
    cells = [Cell("import math"), Cell("lr = 0.1", cell_id="p"), Cell("lr = 0.2", cell_id="p"),
             Cell("y = math.floor(lr)"), Cell("lr = 9", cell_id="p")]
    piece = slice_cells(cells, "y", parameters=1)
    assert piece.cells == [2, 0, 3] and piece.parameters == 2
    # kept even when nothing reads it, so the slice has the run's parameters
    assert slice_cells([Cell("seed = 1"), Cell("z = 2")], "z", parameters=0).cells == [0, 1]


@pytest.mark.parametrize(("sources", "reason"), [
    (["x = 1", "exec(code)", "y = x"], "`exec` of code built at run time"),
    (["x = 1", "eval(text)", "y = x"], "`eval` of code built at run time"),
    (["x = 1", "globals().update(extra)", "y = x"], "`globals()` reaches names no analysis can see"),
    (["x = 1", "from helpers import *", "y = x"], "`from helpers import *` binds names no analysis can see"),
    (["x = 1", "!python make_x.py", "y = x"], "runs a shell command"),
    (["x = 1", "%run other.py", "y = x"], "%run other.py changes the environment or runs code outside"),
    (["x = 1", "get_ipython().run_cell(src)", "y = x"], "`get_ipython` runs code no analysis can see"),
    (["x = 1", "def f(:", "y = x"], "the cell does not parse as Python"),
    (["import np", "x = 1", "np.flag = True", "y = x + np.z"], "sets an attribute of the module `np`"),
    (["x = 1", "def sneaky():\n    exec(s)", "sneaky()", "y = x"], "calls `sneaky`, which `exec` of code built"),
])
def test_unsure_cells_are_kept_and_named(sources: list[str], reason: str) -> None:
    piece = slice_cells([Cell(source) for source in sources], "y")
    unsure_cell = next(p for p, why in piece.unsure)
    assert unsure_cell in piece.cells
    assert any(why.startswith(reason) for _, why in piece.unsure), piece.unsure


def test_an_unsure_cell_after_the_definite_binding_only_is_kept() -> None:
    # exec ran before x was bound for sure: it cannot have changed the x the target read
    assert kept(["exec(code)", "x = 1", "y = x"], "y") == [1, 2]


def test_a_cell_that_raised_may_not_have_bound_its_names() -> None:
    cells = [Cell("a = 1"), Cell("a = 2\nboom()", error={"ename": "NameError", "evalue": "boom"}), Cell("b = a")]
    assert slice_cells(cells, "b").cells == [0, 1, 2]
    # a syntax error ran nothing at all
    cells = [Cell("a = 1"), Cell("a = (", error={"ename": "SyntaxError", "evalue": ""}), Cell("b = a")]
    piece = slice_cells(cells, "b")
    assert piece.cells == [0, 2] and piece.unsure == []


def test_magics_become_api_calls_and_display_only_lines_go() -> None:
    view = python_view("%load_ext jupyter_mlops\n%track start base --tag t\n%matplotlib inline\nx = 1\n"
                       "%track metric auc=x --step 2\n%track compare --last 2")
    assert view.code.split("\n") == ["mlops.start_run('base', tags=['t'])", "x = 1",
                                     "mlops.log_metrics({'auc': x}, step=2)"]
    assert view.unsure == []
    assert clean_code("df = load()\ndf.head()\ndisplay(df)\nprint(df)\ndf\nfit(df)\ndf.describe()") == (
        "df = load()\nprint(df)\nfit(df)")
    assert clean_code("a = 1; a") == "a = 1; a"
    metrics = python_view("%%track metrics\nauc = score()\n")
    assert "mlops.log_metrics(tracked_metrics({'auc': auc}))" in metrics.code


def test_the_emitted_script_starts_with_the_parameters_and_imports_the_api() -> None:
    cells = [Cell("lr = 0.5"), Cell("%track start demo"), Cell("junk = 1\njunk"),
             Cell("score = lr * 2\nscore\n%track metric score=score", execution_count=7)]
    piece = slice_cells(cells, "score", kind="metric", parameters=0)
    emitted = emitted_cells(piece, cells)
    assert [cell.code for cell in emitted] == [
        "lr = 0.5", "import jupyter_mlops as mlops", "mlops.start_run('demo')",
        "score = lr * 2\nmlops.log_metrics({'score': score})"]
    text = script_text(emitted, "title")
    assert '# %% tags=["parameters"]\nlr = 0.5' in text and "# %% In[7]" in text
    compile(text, "slice.py", "exec")
    # the notebook imports the API itself, but only after %track start used it (as the example notebooks do)
    cells = [Cell("lr = 0.5"), Cell("%track start demo"), Cell("import jupyter_mlops as mlops\nscore = lr * 2"),
             Cell("%track metric score=score", metrics=("score",))]
    emitted = emitted_cells(slice_cells(cells, "score", kind="metric", parameters=0), cells)
    assert [cell.code for cell in emitted][:3] == ["lr = 0.5", "import jupyter_mlops as mlops",
                                                  "mlops.start_run('demo')"]
    # no cell starts the run: the emitted code starts one
    cells = [Cell("v = 1"), Cell("mlops.log_metric('v', v)", metrics=("v",))]
    emitted = emitted_cells(slice_cells(cells, "v"), cells, run_name="base")
    assert emitted[0].code == "import jupyter_mlops as mlops\nmlops.start_run('base')"


def test_the_reasons_come_in_a_stable_order() -> None:
    cells = [Cell("a = 1\nb = 2\nc = 3\nd = 4"), Cell("x = d + b + c + a\n%track metric x=x", metrics=("x",))]
    assert slice_cells(cells, "x", kind="metric").reasons == {1: ["logs x"], 0: ["a", "b", "c", "d"]}
