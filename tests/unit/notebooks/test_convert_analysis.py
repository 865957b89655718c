"""Def/use analysis and magic translation of convert (pure, no kernel)."""

from __future__ import annotations

import ast

import pytest

from jupyter_mlops.notebooks.convert.analysis import analyze_statement
from jupyter_mlops.notebooks.convert.translate import translate_cell


def facts(src: str):
    return analyze_statement(ast.parse(src).body[0])


@pytest.mark.parametrize(
    ("src", "mutated"),
    [
        ("items.append(3)", {"items"}),
        ("d.update({'a': 1})", {"d"}),
        ("df.drop(columns=['a'], inplace=True)", {"df"}),
        ("df.head()", set()),
        ("df.copy().drop(columns=['a'], inplace=True)", set()),  # mutates a temporary
        ("x += 1", {"x"}),
        ("obj.attr = 1", {"obj"}),
        ("grid[1][0] = 7", {"grid"}),
        ("del cache['k']", {"cache"}),
        ("def f():\n    items.append(1)", set()),  # runs when called, not when defined
    ],
)
def test_mutations_count(src, mutated):
    assert facts(src).mutates == mutated


def test_nested_scopes_contribute_free_names_only():
    info = facts("def f(v, w=default):\n    t = v * scale\n    return [t for t in range(n) if t > lim]")
    assert info.reads == {"default", "scale", "range", "n", "lim"}
    assert info.writes == {"f"}
    assert info.late_reads == {"scale", "range", "n", "lim"}


def test_comprehension_targets_stay_local_but_walrus_escapes():
    info = facts("ys = [q for q in xs if (last := q) > thr]")
    assert info.reads == {"xs", "thr"}
    assert info.writes == {"ys", "last"}


def test_class_methods_read_globals_at_call_time():
    info = facts("class C(Base):\n    k = 3\n    def g(self):\n        return helper(self.k)")
    assert {"Base", "helper"} <= info.reads
    assert info.late_reads == {"helper"}


def test_lambda_assignment_is_a_definition():
    info = facts("half = lambda v: v / factor")
    assert info.defines == "half"
    assert info.late_reads == {"factor"}


@pytest.mark.parametrize(
    ("src", "problem"),
    [
        ("def h():\n    global counter\n    counter += 1", "global counter"),
        ("await thing()", "top-level `await`"),
    ],
)
def test_unconvertible_statements_are_reported(src, problem):
    assert any(problem in p for p in facts(src).problems)


@pytest.mark.parametrize(
    ("src", "code"),
    [
        (
            "%track start base --experiment e -t a -t b --note 'x y'",
            "mlops.start_run('base', experiment='e', tags=['a', 'b'], note='x y')",
        ),
        ("%track stop", "mlops.end_run()"),
        ("%track stop --failed", 'mlops.end_run("failed")'),
        ("%track metric auc=0.9 --step 3", "mlops.log_metrics({'auc': 0.9}, step=3)"),
        ("%track metric loss=loss --step $step", "mlops.log_metrics({'loss': loss}, step=step)"),
        ("%track params a b=2", "mlops.log_params({'a': a, 'b': 2})"),
        ("%track data df data/x.csv", "mlops.log_data(df, name='df'); mlops.log_data('data/x.csv')"),
        ("%track tag a b", "mlops.set_tags('a', 'b')"),
        ("%track compare --last 2", ""),
        ("%load_ext jupyter_mlops", ""),
        ("%matplotlib inline", ""),
        ("%time y = f(1)", "y = f(1)"),
        ("%%time\nz = 2", "z = 2"),
        ("%%capture out\nz = 2", "z = 2"),
        ("%%html\n<b>x</b>", ""),
        ("%%track params\nlr = 0.1\nn = 2", "lr = 0.1\nn = 2\nmlops.log_params(tracked_params({'lr': lr, 'n': n}))"),
        ("%%track metrics --step 1\nauc = 0.9", "auc = 0.9\nmlops.log_metrics(tracked_metrics({'auc': auc}), step=1)"),
        (
            "for i in range(2):\n    %track metric m=i --step $i",
            "for i in range(2):\n    mlops.log_metrics({'m': i}, step=i)",
        ),
    ],
)
def test_magics_translate(src, code):
    result = translate_cell(src)
    assert result.errors == []
    assert result.code.strip() == code


@pytest.mark.parametrize(
    "src",
    ["a = (1\n% 2)", 's = """\n%run x\n"""', "x = 5 % 3", "print('!ls')"],
)
def test_percent_inside_python_is_left_alone(src):
    assert translate_cell(src).code == src


def test_magic_line_after_multiline_string_is_still_translated():
    result = translate_cell('s = """\n%run x\n"""\n%matplotlib inline')
    assert result.code == 's = """\n%run x\n"""\n'


@pytest.mark.parametrize(
    ("src", "reason"),
    [
        ("!pip install x", "shell command"),
        ("%pip install x", "changes the environment"),
        ("%run other.py", "changes the environment"),
        ("%cd /tmp", "changes the environment"),
        ("%env A=1", "changes the environment"),
        ("%%bash\nls", "outside Python"),
        ("%%sh\nls", "outside Python"),
        ("files = !ls", "assigns the output"),
        ("%load_ext other_ext", "loads an extension"),
        ("%track frobnicate", "not a known sub-command"),
    ],
)
def test_semantics_changing_magics_are_errors(src, reason):
    errors = translate_cell(src).errors
    assert len(errors) == 1 and reason in errors[0]


def test_after_start_hook_follows_start_run():
    code = translate_cell("%track start r", after_start="mlops.log_params({'a': a})").code
    assert code == "mlops.start_run('r')\nmlops.log_params({'a': a})"
