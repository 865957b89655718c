"""nb-smoke --fork (issue 15 §2, ADR-099), with real kernels forked from a real zygote.

Each notebook writes what it saw from inside its kernel (pid, parent pid, a random draw, cwd, environment) to a
JSON file beside it, so the assertions are about the processes nb-smoke really ran: one new process per
notebook, the zygote its parent, the notebook's own environment and cwd, its own random state, no module state
carried over, no process left once nb-smoke exits (Ctrl-C included), and a fresh kernel, said so, when the
zygote refuses to fork.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest

pytestmark = [pytest.mark.requires_kernel,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="--fork is Linux-only")]
pytest_plugins = ["pytester"]

NB_SMOKE = [sys.executable, "-c", "from jupyter_mlops.cli.smoke import main; main()"]
#: Written by each notebook: what its kernel process is and sees.
SEEN = """\
import json, os, sys
import numpy as np
seen = {'pid': os.getpid(), 'ppid': os.getppid(), 'rand': float(np.random.rand()), 'cwd': os.getcwd(),
        'session': os.environ.get('JPY_SESSION_NAME'), 'marker': os.environ.get('JUPYTER_MLOPS_SMOKE_KERNEL'),
        'given': os.environ.get('NB_FORK_TEST_VAR'), 'pandas_loaded_before': PANDAS_BEFORE}
with open(os.path.basename(os.environ['JPY_SESSION_NAME']) + '.seen.json', 'w') as out:
    json.dump(seen, out)
"""
BEFORE = "import sys\nPANDAS_BEFORE = 'pandas' in sys.modules"


def notebook(path: Path, *sources: str) -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def nb_smoke(work: Path, *args: str, env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str],
                                                                                  dict]:
    out = subprocess.run([*NB_SMOKE, *args, "--plain", "--no-track", "--json", "r.json", "--output-dir", "executed"],
                         cwd=work, capture_output=True, text=True, timeout=300, check=False,
                         env={**os.environ, **(env or {})})
    assert (work / "r.json").exists(), out.stdout + out.stderr
    rows = json.loads((work / "r.json").read_text())["notebooks"]
    return out, {row["path"]: row for row in rows}


def seen(folder: Path, name: str) -> dict:
    return json.loads((folder / f"{name}.seen.json").read_text())


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.fixture(scope="module")
def forked(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Four notebooks, one at a time and no kernel started ahead: each kernel is forked after the previous
    notebook ended, so whatever a notebook did had every chance to reach the next one."""
    work = tmp_path_factory.mktemp("fork")
    notebook(work / "a_mutates.ipynb", BEFORE, SEEN,
             "import pandas as pd\nnp.FOO = 1\npd.DataFrame.head = lambda self, n=5: 'patched'\n"
             "os.environ['LEAK'] = '1'\nos.chdir('/')")
    notebook(work / "b_after.ipynb", BEFORE, SEEN,
             "import pandas as pd\nassert not hasattr(np, 'FOO'), 'numpy.FOO leaked'\n"
             "assert pd.DataFrame({'x': [1]}).head().shape == (1, 1), 'a pandas monkeypatch leaked'\n"
             "assert 'LEAK' not in os.environ",
             # the zygote froze its own objects (ADR-118); the notebook's garbage is still collected
             "import gc, weakref\nclass Cycle: pass\nc = Cycle()\nc.me = c\nref = weakref.ref(c)\ndel c\n"
             "gc.collect()\nassert ref() is None, 'a cycle made by the notebook was not collected'")
    notebook(work / "sub" / "c_cwd.ipynb", BEFORE, SEEN,
             "import subprocess\nchild = subprocess.Popen(['sleep', '600'], start_new_session=True)\n"
             "open('c_cwd.ipynb.sleep.pid', 'w').write(str(child.pid))")
    notebook(work / "d_dies.ipynb", "x = 1", "import os\nos._exit(7)", "print('never')")
    out, rows = nb_smoke(work, ".", "--fork", "--preload", "numpy,pandas", "-j", "1", "--prestart", "0", "-v",
                         env={"NB_FORK_TEST_VAR": "given"})
    return {"work": work, "out": out, "rows": rows}


def test_every_notebook_ran_in_its_own_process_forked_from_the_zygote(forked: dict):
    rows, work = forked["rows"], forked["work"]
    assert rows["a_mutates.ipynb"]["passed"] and rows["sub/c_cwd.ipynb"]["passed"], forked["out"].stdout
    zygotes = {row["fork"]["zygote"] for row in rows.values()}
    assert all(row["fork"]["forked"] for row in rows.values()) and len(zygotes) == 1
    views = [seen(work, "a_mutates.ipynb"), seen(work, "b_after.ipynb"), seen(work / "sub", "c_cwd.ipynb")]
    assert len({view["pid"] for view in views}) == 3
    assert {view["ppid"] for view in views} == zygotes
    assert all(view["pandas_loaded_before"] for view in views)  # imported in the zygote, not by the notebook
    assert "kernel forked from zygote" in forked["out"].stdout
    assert all(row["fork"]["early"] for row in rows.values())  # the zygote nb-smoke started first (ADR-118)


def test_a_mutated_module_or_environment_does_not_reach_the_next_notebook(forked: dict):
    row = forked["rows"]["b_after.ipynb"]
    assert row["passed"], row["message"]


def test_unseeded_numpy_draws_differ_between_notebooks(forked: dict):
    work = forked["work"]
    draws = [seen(work, "a_mutates.ipynb")["rand"], seen(work, "b_after.ipynb")["rand"],
             seen(work / "sub", "c_cwd.ipynb")["rand"]]
    assert len(set(draws)) == 3


def test_each_kernel_has_its_notebooks_environment_and_cwd(forked: dict):
    work = forked["work"]
    view = seen(work / "sub", "c_cwd.ipynb")
    assert Path(view["cwd"]) == (work / "sub").resolve()
    assert Path(view["session"]) == (work / "sub" / "c_cwd.ipynb").resolve()
    assert view["given"] == "given"
    markers = {seen(work, "a_mutates.ipynb")["marker"], seen(work, "b_after.ipynb")["marker"], view["marker"]}
    assert None not in markers and len(markers) == 3


def test_a_kernel_that_kills_itself_is_reported_with_its_cell_and_exit_code(forked: dict):
    row = forked["rows"]["d_dies.ipynb"]
    assert not row["passed"] and row["reason"] == "kernel-died" and row["fork"]["forked"]
    assert row["failures"][0]["index"] == 1 and "exit code 7" in row["message"]


def test_no_process_is_left_behind(forked: dict):
    work, rows = forked["work"], forked["rows"]
    pids = [seen(work, "a_mutates.ipynb")["pid"], seen(work, "b_after.ipynb")["pid"],
            seen(work / "sub", "c_cwd.ipynb")["pid"], int((work / "sub" / "c_cwd.ipynb.sleep.pid").read_text())]
    pids += [row["fork"]["zygote"] for row in rows.values()]
    assert all(gone(pid) for pid in pids)


def test_a_cell_timeout_interrupts_the_forked_kernel_and_is_reported(tmp_path: Path):
    notebook(tmp_path / "slow.ipynb", "import time\ntime.sleep(60)", "print('after')")
    out, rows = nb_smoke(tmp_path, "slow.ipynb", "--fork", "--cell-timeout", "2")
    row = rows["slow.ipynb"]
    assert row["reason"] == "timeout" and row["failures"][0]["index"] == 0 and row["fork"]["forked"]
    assert "cell exceeded its timeout of 2s" in row["message"]


def test_an_unsafe_zygote_falls_back_to_a_fresh_kernel_and_says_why(tmp_path: Path):
    """A module that starts a thread at import makes the zygote unsafe to fork: it refuses, the notebook runs."""
    modules = tmp_path / "mods"
    modules.mkdir()
    (modules / "starts_a_thread.py").write_text(
        "import threading, time\nthreading.Thread(target=time.sleep, args=(600,), daemon=True).start()\n")
    notebook(tmp_path / "n.ipynb", BEFORE, SEEN, "import starts_a_thread")
    path = os.pathsep.join([str(modules), os.environ.get("PYTHONPATH", "")])
    out, rows = nb_smoke(tmp_path, "n.ipynb", "--fork", "--preload", "numpy,starts_a_thread", "-v",
                         env={"PYTHONPATH": path})
    row = rows["n.ipynb"]
    assert row["passed"], out.stdout + out.stderr
    assert row["fork"]["forked"] is False and "refused to fork" in row["fork"]["fallback"]
    assert "OS threads" in row["fork"]["fallback"]
    assert row["preload"]["loaded"] == ["numpy", "starts_a_thread"]  # preloaded in the fresh kernel instead
    assert "kernel not forked (fresh kernel): the zygote refused to fork" in out.stdout
    assert gone(seen(tmp_path, "n.ipynb")["pid"])


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "killed"])
def test_ctrl_c_or_a_killed_nb_smoke_ends_the_zygote_and_the_kernels(tmp_path: Path, signum: int):
    """SIGINT: nb-smoke closes its zygotes. SIGKILL: nothing runs in nb-smoke; the zygote sees its socket close."""
    notebook(tmp_path / "long.ipynb", BEFORE, SEEN, "import time\ntime.sleep(120)")
    proc = subprocess.Popen([*NB_SMOKE, "long.ipynb", "--fork", "--preload", "numpy", "--plain", "--no-track"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while not (tmp_path / "long.ipynb.seen.json").exists():
        assert time.monotonic() < deadline and proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        time.sleep(0.2)
    view = seen(tmp_path, "long.ipynb")
    proc.send_signal(signum)
    proc.communicate(timeout=60)
    deadline = time.monotonic() + 30  # after SIGKILL the zygote ends the kernel on its own, a moment later
    while not (gone(view["pid"]) and gone(view["ppid"])) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert gone(view["pid"]) and gone(view["ppid"])  # the kernel and its parent, the zygote


def test_the_pytest_plugin_forks_too_and_ends_its_zygote(pytester: pytest.Pytester):
    notebook(pytester.path / "one.ipynb", BEFORE, SEEN)
    notebook(pytester.path / "two.ipynb", BEFORE, SEEN)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--nb-smoke", "--nb-smoke-fork",
                                           "--nb-smoke-preload", "numpy,pandas", "--nb-smoke-no-track",
                                           "one.ipynb", "two.ipynb")
    result.assert_outcomes(passed=2)
    one, two = seen(pytester.path, "one.ipynb"), seen(pytester.path, "two.ipynb")
    assert one["ppid"] == two["ppid"] and one["pid"] != two["pid"]  # one zygote for the session, two kernels
    assert one["pandas_loaded_before"] and one["rand"] != two["rand"]
    assert gone(one["ppid"]) and gone(one["pid"]) and gone(two["pid"])


def test_notebooks_with_other_module_sets_fork_from_their_own_zygotes(tmp_path: Path):
    """The early zygote takes the first notebook's set (numpy); a notebook that also imports pandas gets its own
    zygote, never one with a module it does not import, and a third with the first set shares the early one."""
    notebook(tmp_path / "a_numpy.ipynb", BEFORE, SEEN)
    notebook(tmp_path / "b_pandas.ipynb", BEFORE, SEEN,
             "import pandas as pd\nassert len(pd.DataFrame({'x': [1]})) == 1")
    notebook(tmp_path / "c_numpy.ipynb", BEFORE, SEEN)
    out, rows = nb_smoke(tmp_path, ".", "--fork", "--preload", "auto", "-j", "1", "--prestart", "0")
    assert all(row["passed"] for row in rows.values()), out.stdout + out.stderr
    a, b, c = rows["a_numpy.ipynb"]["fork"], rows["b_pandas.ipynb"]["fork"], rows["c_numpy.ipynb"]["fork"]
    assert a["forked"] and b["forked"] and c["forked"]
    assert a["early"] and c["early"] and a["zygote"] == c["zygote"]
    assert not b["early"] and b["zygote"] != a["zygote"] and "pandas" in b["loaded"]
    assert not seen(tmp_path, "a_numpy.ipynb")["pandas_loaded_before"]
    assert seen(tmp_path, "b_pandas.ipynb")["pandas_loaded_before"]
    assert gone(a["zygote"]) and gone(b["zygote"])


def marked_processes(token: str) -> list[int]:
    """Processes whose environment holds ``NB_FORK_TEST_TOKEN=token`` (a zygote inherits nb-smoke's)."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get("NB_FORK_TEST_TOKEN") == token and not gone(process.pid):
                found.append(process.pid)
        except (psutil.Error, OSError):
            continue
    return found


@pytest.mark.parametrize("args", [["missing_folder"], [".", "--shard", "3/2"]], ids=["no-notebooks", "bad-shard"])
def test_a_usage_error_after_the_early_start_leaves_no_zygote(tmp_path: Path, args: list[str]):
    """nb-smoke --fork starts its zygote before it reads its options and notebooks (ADR-118): a call that fails
    there exits with its one-line error and ends that zygote, which never forked anything."""
    notebook(tmp_path / "n.ipynb", "x = 1")
    token = f"{os.getpid()}-{time.monotonic_ns()}"
    out = subprocess.run([*NB_SMOKE, *args, "--fork", "--plain", "--no-track"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120, check=False, env={**os.environ, "NB_FORK_TEST_TOKEN": token})
    assert out.returncode == 2, out.stdout + out.stderr
    assert "Traceback" not in out.stderr and out.stderr.strip().count("\n") == 0, out.stderr
    assert marked_processes(token) == []
