"""nb-smoke --preload (issue 15 §2, ADR-073), with real kernels: faster kernels that stay fresh and silent.

Two nb-smoke calls. ``--preload auto -j 1``: the notebooks run one after the other while the next one's kernel is
already started and preloaded, so a reused or shared kernel would carry ``numpy.FOO`` over; each notebook checks
from inside its kernel that its installed imports are in ``sys.modules`` before its first import, that no name
was bound, and that the local ``helper`` module was left alone. ``--preload numpy,pandas,no_such_module -v``: a
notebook that uses ``np`` without importing it still fails with NameError, and a module that cannot be imported
is reported in the verbose output and otherwise ignored.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from jupyter_mlops.cli.smoke import main

pytestmark = pytest.mark.requires_kernel
pytest_plugins = ["pytester"]

NB_SMOKE = [sys.executable, "-c", "from jupyter_mlops.cli.smoke import main; main()"]
PRELOADED_NOT_BOUND = """\
import sys
assert 'numpy' in sys.modules and 'pandas' in sys.modules, 'not preloaded'
assert not {'np', 'pd', 'numpy', 'pandas', 'names', 'failed'} & set(globals()), 'a name was bound'
assert 'helper' not in sys.modules, 'a local module was preloaded'
"""


def notebook(path: Path, *sources: str) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def nb_smoke(work: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    out = subprocess.run([*NB_SMOKE, ".", *args, "--plain", "--no-track", "--json", "r.json", "--output-dir",
                          "executed"], cwd=work, capture_output=True, text=True, timeout=300, check=False,
                         env=dict(os.environ))
    assert (work / "r.json").exists(), out.stdout + out.stderr
    rows = json.loads((work / "r.json").read_text())["notebooks"]
    return out, {row["path"]: row for row in rows}


@pytest.fixture(scope="module")
def auto(tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("preload-auto")
    (work / "pyproject.toml").write_text("[project]\nname = 'nbs'\n")  # the project folder: helper.py is local
    (work / "helper.py").write_text("LOADED_BY = 'notebook'\n")
    notebook(work / "a_mutates.ipynb", PRELOADED_NOT_BOUND,
             "%matplotlib inline\nimport numpy as np\nimport pandas as pd\nimport helper\nnp.FOO = 1\npd.BAR = 2")
    notebook(work / "b_after.ipynb", PRELOADED_NOT_BOUND,
             "import numpy\nimport pandas\nimport helper\n"
             "assert not hasattr(numpy, 'FOO') and not hasattr(pandas, 'BAR'), 'state leaked from a_mutates'")
    out, rows = nb_smoke(work, "--preload", "auto", "-j", "1", "-v")
    return {"work": work, "out": out, "rows": rows}


@pytest.fixture(scope="module")
def named(tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("preload-named")
    notebook(work / "forgets.ipynb", "x = np.zeros(3)")
    notebook(work / "imports.ipynb", "import numpy as np\nassert np.zeros(3).sum() == 0")
    out, rows = nb_smoke(work, "--preload", "numpy,pandas,no_such_module_xyz", "-j", "2", "-v")
    return {"work": work, "out": out, "rows": rows}


def test_auto_preloads_the_installed_imports_and_binds_no_name(auto: dict):
    rows = auto["rows"]
    assert all(row["passed"] for row in rows.values()), auto["out"].stdout
    for row in rows.values():
        assert {"numpy", "pandas"} <= set(row["preload"]["loaded"]) and not row["preload"]["failed"]


def test_auto_skips_a_local_module(auto: dict):
    for row in auto["rows"].values():
        assert "helper" not in row["preload"]["loaded"] and "helper" not in row["preload"]["failed"]


def test_a_mutated_preloaded_module_does_not_reach_the_next_notebook(auto: dict):
    row = auto["rows"]["b_after.ipynb"]
    assert row["passed"], row["message"]


def test_execution_counts_start_at_one(auto: dict):
    executed = nbformat.read(auto["work"] / "executed" / "a_mutates.ipynb", as_version=4)
    assert [cell.execution_count for cell in executed.cells] == [1, 2]


def test_verbose_output_says_what_was_preloaded(auto: dict):
    assert "preloaded sys, numpy, pandas in" in auto["out"].stdout


def test_a_name_the_notebook_did_not_import_is_still_a_name_error(named: dict):
    row = named["rows"]["forgets.ipynb"]
    assert not row["passed"] and row["reason"] == "cell-error"
    assert row["failures"][0]["ename"] == "NameError" and "'np'" in row["failures"][0]["evalue"]
    assert row["preload"]["loaded"] == ["numpy", "pandas"]


def test_a_module_that_cannot_be_preloaded_is_reported_and_ignored(named: dict):
    row = named["rows"]["imports.ipynb"]
    assert row["passed"] and "no_such_module_xyz" in row["preload"]["failed"]
    assert "preload failed (ignored): no_such_module_xyz: ModuleNotFoundError" in named["out"].stdout
    assert named["out"].returncode == 1  # forgets.ipynb


@pytest.mark.parametrize("value", ["numpy;import os", "", "numpy,,", "../evil", "numpy pandas"])
def test_a_bad_preload_value_is_a_one_line_usage_error(value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch):
    notebook(tmp_path / "n.ipynb", "pass")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(["--preload", value, "n.ipynb"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "--preload" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_the_pytest_plugin_takes_the_same_preload(pytester: pytest.Pytester):
    from jupyter_mlops.pytest_plugin import smoke_options

    config = pytester.parseconfig("--nb-smoke", "--nb-smoke-preload", "auto,scipy")
    preload = smoke_options(config).preload
    assert preload is not None and preload.auto and preload.modules == ("scipy",)
    notebook(pytester.path / "n.ipynb", "pass")
    result = pytester.runpytest_inprocess("--nb-smoke", "--nb-smoke-preload", "a b", "n.ipynb")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--nb-smoke-preload: 'a b' is not a module name" in "\n".join(result.errlines)


def test_a_preload_slower_than_its_time_is_interrupted_and_the_kernel_stays_usable(tmp_path: Path):
    import asyncio

    from jupyter_mlops.notebooks.smoke.kernel import CURRENT, shutdown_kernel, start_kernel
    from jupyter_mlops.notebooks.smoke.preload import preload

    (tmp_path / "slow_import.py").write_text("import time\ntime.sleep(120)\n")

    async def scenario() -> tuple[dict[str, str], str]:
        kernel = await start_kernel(CURRENT, tmp_path, dict(os.environ), None)
        try:
            result = await preload(kernel, ["json", "slow_import", "csv"], timeout=2)
            reply = await kernel.client.execute_interactive("import sys\nassert 'slow_import' not in sys.modules",
                                                            timeout=60)
            return result.failed, reply["content"]["status"]
        finally:
            await shutdown_kernel(kernel)

    failed, status = asyncio.run(scenario())
    assert set(failed) == {"slow_import", "csv"} and "KeyboardInterrupt" in failed["slow_import"]
    assert status == "ok"
