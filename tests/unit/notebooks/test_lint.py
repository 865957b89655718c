"""lint: each rule positive and negative, configuration, the registry, report formats and the command."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from jupyter_mlops.cli.notebooks import lint as lint_cmd
from jupyter_mlops.notebooks.io import import_nbformat

import_nbformat()

import nbformat.v4 as v4  # noqa: E402

from jupyter_mlops.errors import InvalidInput  # noqa: E402
from jupyter_mlops.notebooks import lint  # noqa: E402
from jupyter_mlops.notebooks.io import read_notebook, write_notebook  # noqa: E402
from jupyter_mlops.notebooks.lint import Finding, LintConfig, lint_notebook  # noqa: E402

DATA = Path(__file__).parents[2] / "data" / "notebooks" / "hygiene"
PARAMS = {"tags": ["parameters"]}


def _nb(*cells):
    nb = v4.new_notebook(cells=list(cells))
    for i, cell in enumerate(nb.cells):
        cell.id = f"c{i}"
    return nb


def _ids(nb, path="nb.ipynb", config=None):
    return [(f.rule_id, f.cell_index) for f in lint_notebook(nb, path, config)]


def _only(rule_id, nb, path="nb.ipynb", config=None):
    return [f for f in lint_notebook(nb, path, config) if f.rule_id == rule_id]


def test_clean_fixture_has_no_findings():
    assert lint_notebook(read_notebook(DATA / "lint--clean.ipynb"), "x.ipynb") == []


def test_nb001_outputs():
    cell = v4.new_code_cell("print(1)", outputs=[v4.new_output("stream", name="stdout", text="1\n")])
    assert [f.cell_index for f in _only("NB001", _nb(cell))] == [0]
    cell.metadata["tags"] = ["keep-output"]
    assert _only("NB001", _nb(cell)) == []
    assert _only("NB001", _nb(v4.new_code_cell("x = 1"))) == []


def test_nb002_out_of_order_and_missing():
    ordered = _nb(v4.new_code_cell("a", execution_count=1), v4.new_code_cell("b", execution_count=2))
    assert _only("NB002", ordered) == []
    swapped = _nb(v4.new_code_cell("a", execution_count=2), v4.new_code_cell("b", execution_count=1))
    (finding,) = _only("NB002", swapped)
    assert finding.cell_index == 1 and "out of order" in finding.message
    missing = _nb(v4.new_code_cell("a", execution_count=1), v4.new_code_cell("b"), v4.new_code_cell(""))
    assert [(f.cell_index, "no execution count" in f.message) for f in _only("NB002", missing)] == [(1, True)]
    never_run = _nb(v4.new_code_cell("a"), v4.new_code_cell("b"))
    assert _only("NB002", never_run) == []
    cleaned_with_kept = _nb(v4.new_code_cell("a"), v4.new_code_cell("b", execution_count=2,
                                                                      metadata={"tags": ["keep-output"]}))
    assert _only("NB002", cleaned_with_kept) == []


def test_nb003_parameters_cell():
    assert [f.cell_index for f in _only("NB003", _nb(v4.new_code_cell("x = 1")))] == [None]
    assert _only("NB003", _nb(v4.new_code_cell("x = 1", metadata=PARAMS))) == []
    assert _only("NB003", _nb(v4.new_markdown_cell("only prose"))) == []


@pytest.mark.parametrize("source", [
    'df = open("/home/alice/data.csv")',
    "p = 'C:\\\\Users\\\\bob\\\\x.csv'",
    "p = 'D:/data/x.csv'",
    "x = 1\ny = f'/Users/carol/{x}.csv'",
    "!ls /home/dave/data",
])
def test_nb004_absolute_paths_found(source):
    (finding,) = _only("NB004", _nb(v4.new_code_cell(source)))
    assert finding.line == source.count("\n") + 1 if "\n" in source else finding.line == 1


@pytest.mark.parametrize("source", [
    'df = open("data/train.csv")',
    "# was /home/alice/data.csv before\nx = 1",
    "url = 'https://example.com/home/x'",
    "t = '10:30'",
    "p = '~/data.csv'",
])
def test_nb004_no_false_positive(source):
    assert _only("NB004", _nb(v4.new_code_cell(source))) == []


def test_nb005_secrets_in_code_and_outputs():
    code = _nb(v4.new_code_cell("x = 1\napi_key = 'AKIAIOSFODNN7EXAMPLE'"))
    (finding,) = _only("NB005", code)
    assert finding.line == 2 and finding.severity == "error" and "IOSFODNN7EXAMPLE" not in finding.message
    leaked = v4.new_output("stream", name="stdout", text="token ghp_" + "a" * 36 + "\n")
    out = _nb(v4.new_code_cell("print(tok)", outputs=[leaked]))
    (finding,) = _only("NB005", out)
    assert finding.line is None and "github_token" in finding.message
    assert _only("NB005", _nb(v4.new_code_cell("api_key = os.environ['API_KEY']"))) == []


def test_nb006_large_outputs_respects_limit():
    big = v4.new_code_cell("x", outputs=[v4.new_output("stream", name="stdout", text="x " * 2500)])
    nb = _nb(big)
    assert _only("NB006", nb) == []
    (finding,) = _only("NB006", nb, config=LintConfig(max_output_bytes=1000))
    assert finding.cell_index == 0 and "limit 1,000" in finding.message


def test_nb007_error_outputs():
    error = v4.new_output("error", ename="ValueError", evalue="boom", traceback=["..."])
    (finding,) = _only("NB007", _nb(v4.new_code_cell("raise ValueError", outputs=[error])))
    assert "ValueError: boom" in finding.message
    expected = v4.new_code_cell("raise ValueError", outputs=[error], metadata={"tags": ["raises-exception"]})
    assert _only("NB007", _nb(expected)) == []


def test_nb008_pairing(tmp_path):
    nb = _nb(v4.new_code_cell("x = 1", metadata=PARAMS))
    path = tmp_path / "train.ipynb"
    write_notebook(nb, path)
    assert _only("NB008", nb, str(path)) == []  # no pairing configured
    (tmp_path / "jupytext.toml").write_text('formats = "ipynb,py:percent"\n')
    (finding,) = _only("NB008", nb, str(path))
    assert "train.py is missing" in finding.message
    (tmp_path / "train.py").write_text("# %%\nx = 1\n")
    assert _only("NB008", nb, str(path)) == []


def test_nb008_pairing_from_notebook_metadata(tmp_path):
    nb = _nb(v4.new_code_cell("x = 1", metadata=PARAMS))
    nb.metadata["jupytext"] = {"formats": "ipynb,md"}
    path = tmp_path / "a.ipynb"
    write_notebook(nb, path)
    (finding,) = _only("NB008", nb, str(path))
    assert finding.message == "not paired: a.md is missing; run `jupytext --sync a.ipynb`"


# -- configuration and registry ----------------------------------------------------------------------------------

def test_config_from_pyproject(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.jupyter-mlops.lint]\ndisable = ["NB003"]\nmax-output-bytes = 10\n')
    config = lint.load_config(tmp_path, disable=["NB001"])
    assert config.disable == {"NB001", "NB003"} and config.max_output_bytes == 10
    out = v4.new_output("stream", name="stdout", text="x " * 50)
    assert {f.rule_id for f in lint_notebook(_nb(v4.new_code_cell("x", outputs=[out])), "n", config)} == {"NB006"}


@pytest.mark.parametrize("table, message", [
    ({"disable": ["NB999"]}, "unknown lint rule 'NB999'; valid ids: NB001, NB002"),
    ({"disable": "NB001"}, "must be a list"),
    ({"max-output-bytes": 0}, "positive integer"),
    ({"max_output": 1}, "unknown key(s) in [tool.jupyter-mlops.lint]: max_output"),
])
def test_bad_config_is_one_clear_error(table, message):
    with pytest.raises(InvalidInput) as info:
        LintConfig.from_table(table)
    assert message in info.value.message and "\n" not in info.value.message


def test_register_custom_rule_and_option_passing():
    seen = {}

    def todo_cells(nb, path, max_output_bytes=0):
        seen["limit"] = max_output_bytes
        return [Finding("XX100", "TODO left", path, i) for i, c in enumerate(nb.cells) if "TODO" in c.source]

    lint.register("XX100", todo_cells, options=["max_output_bytes"])
    try:
        nb = _nb(v4.new_code_cell("x = 1  # TODO", metadata=PARAMS))
        assert _ids(nb, config=LintConfig(max_output_bytes=7)) == [("XX100", 0)]
        assert seen["limit"] == 7
        assert lint.get_rule("XX100").name == "todo_cells"
    finally:
        lint.lint_rules.unregister("XX100")
    with pytest.raises(InvalidInput):
        lint.register("bad id", todo_cells)


def test_entry_point_rules_are_loaded(monkeypatch):
    class EP:
        name, value = "EP001", "pkg:rule"

        def load(self):
            return lambda nb, path: [Finding("EP001", "from a plugin", path)]

    class Broken(EP):
        name = "EP002"

        def load(self):
            raise ImportError("missing dependency")

    monkeypatch.setattr("importlib.metadata.entry_points", lambda group: [EP(), Broken()])
    monkeypatch.setattr(lint.lint_rules, "_entry_points_loaded", False)
    try:
        assert "EP001" in lint.all_rules() and "EP002" not in lint.all_rules()
        assert ("EP001", None) in _ids(_nb(v4.new_code_cell("x", metadata=PARAMS)))
    finally:
        lint.lint_rules.unregister("EP001")


# -- formats -----------------------------------------------------------------------------------------------------

def test_file_line_points_into_the_ipynb():
    raw = (DATA / "lint--problems.ipynb").read_text(encoding="utf-8")
    lines = raw.splitlines()
    number = lint.file_line(raw, 1, 1)
    assert "AKIAIOSFODNN7EXAMPLE" in lines[number - 1]
    number = lint.file_line(raw, 0, 1)
    assert "/home/alice" in lines[number - 1]
    assert lint.file_line(raw, 99, 1) is None


def test_github_and_json_formats_parse():
    path = str(DATA / "lint--problems.ipynb")
    findings = lint_notebook(read_notebook(path), path)
    raw = {path: Path(path).read_text(encoding="utf-8")}
    pattern = re.compile(r"^::(error|warning) file=[^,:]+(,line=\d+)?,title=NB\d{3}::.+$")
    lines = lint.format_github(findings, raw).splitlines()
    assert len(lines) == len(findings) and all(pattern.match(line) for line in lines)
    payload = json.loads(lint.format_json(findings, ["x: bad"]))
    assert payload["errors"] == ["x: bad"]
    assert {f["rule_id"] for f in payload["findings"]} >= {"NB001", "NB002", "NB003", "NB004", "NB005", "NB007"}
    assert set(payload["findings"][0]) == {"rule_id", "message", "path", "cell_index", "line", "severity"}


def test_github_escapes_newlines_and_commas():
    text = lint.format_github([Finding("NB001", "a\nb 100%", "x,y.ipynb")])
    assert text == "::warning file=x%2Cy.ipynb,title=NB001::a%0Ab 100%25\n"


# -- the command -------------------------------------------------------------------------------------------------

def test_cli_exit_codes_and_bad_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("lint--clean.ipynb", "lint--problems.ipynb", "bad--truncated.ipynb", "bad--latin1.ipynb"):
        shutil.copy(DATA / name, tmp_path / name)
    before = {p: p.read_bytes() for p in tmp_path.iterdir()}
    assert CliRunner().invoke(lint_cmd, ["lint--clean.ipynb"]).exit_code == 0
    found = CliRunner().invoke(lint_cmd, ["lint--problems.ipynb"])
    assert found.exit_code == 1 and "lint--problems.ipynb:cell 0:line 1: NB004" in found.output
    mixed = CliRunner().invoke(lint_cmd, ["."])
    assert mixed.exit_code == 2
    assert [line.split(":")[1].strip() for line in mixed.stderr.splitlines()] == [
        "bad--latin1.ipynb", "bad--truncated.ipynb"]
    assert "NB005" in mixed.output
    assert {p: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_cli_disable_and_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.jupyter-mlops.lint]\ndisable = ["NB001", "NB002"]\n')
    shutil.copy(DATA / "lint--problems.ipynb", tmp_path / "p.ipynb")
    result = CliRunner().invoke(lint_cmd, ["p.ipynb", "--disable", "nb003,NB004", "--disable", "NB005",
                                           "--format", "json"])
    assert {f["rule_id"] for f in json.loads(result.output)["findings"]} == {"NB007"}
    bad = CliRunner().invoke(lint_cmd, ["p.ipynb", "--disable", "NB042"])
    assert bad.exit_code != 0 and isinstance(bad.exception, InvalidInput)
    listed = CliRunner().invoke(lint_cmd, ["--list-rules"])
    assert listed.exit_code == 0 and len(listed.output.splitlines()) == len(lint.all_rules())
