"""``nb-smoke --executor dask://`` and ``jupyter-mlops sweep`` on a real Dask cluster on 127.0.0.1.

The session's cluster is a ``dask scheduler`` and two ``dask worker --nthreads 1`` processes (each with its
nanny, as ``dask worker`` starts them). One ``nb-smoke`` call runs a folder with a passing, a failing, a hanging
and a kernel-killing notebook; a 2x3 sweep with one failing point tracks into the PostgreSQL test server; and a
worker killed (SIGKILL, when the notebook says through a gate file that it holds the worker) has its notebook run
again on a worker that lives.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pg
import psutil
import pytest

pytest.importorskip("distributed")

pytestmark = [pytest.mark.requires_kernel, pytest.mark.slow]

PYTHON = sys.executable
NB_SMOKE = [PYTHON, "-c", "from jupyter_mlops.cli.smoke import main; main()"]
MLOPS = [PYTHON, "-m", "jupyter_mlops"]
#: Bounds on waiting for processes to come up or end; never what a test asserts.
WAIT = 120.0


def _notebook(path: Path, *cells: str, params: str | None = None) -> Path:
    nb = nbformat.v4.new_notebook()
    if params is not None:
        cell = nbformat.v4.new_code_cell(params)
        cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
    nb.cells += [nbformat.v4.new_code_cell(source) for source in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env() -> dict[str, str]:
    root = str(Path(__file__).parents[2])
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{path}" if path else root}


@pytest.fixture(scope="session")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory, s3_server) -> Iterator[str]:
    """``dask://127.0.0.1:PORT`` of a scheduler with two single-threaded workers, for the whole session.

    The workers hold the S3 credentials the standard way (their environment), as a team's workers would: a
    command's blob store URL reaches their kernels, its secrets never travel with it.
    """
    from distributed import Client

    folder = tmp_path_factory.mktemp("dask")
    port = _free_port()
    env = {**_env(), **{key: value for key, value in s3_server.env.items() if key.startswith("AWS_")}}
    logs = [open(folder / name, "wb") for name in ("scheduler.log", "worker-1.log", "worker-2.log")]  # noqa: SIM115
    procs = [subprocess.Popen([PYTHON, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port",
                               str(port), "--no-dashboard"], cwd=folder, env=env, stdout=logs[0],
                              stderr=subprocess.STDOUT)]
    address = f"tcp://127.0.0.1:{port}"
    for log in logs[1:]:
        procs.append(subprocess.Popen([PYTHON, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1",
                                       "--no-dashboard", "--host", "127.0.0.1"], cwd=folder, env=env, stdout=log,
                                      stderr=subprocess.STDOUT))
    try:
        with Client(address, timeout=WAIT, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=WAIT)
        yield f"dask://127.0.0.1:{port}"
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        for log in logs:
            log.close()


def _workers(address: str) -> list[dict]:
    from distributed import Client

    with Client(address.replace("dask://", "tcp://"), timeout=WAIT, set_as_default=False) as client:
        return list(client.scheduler_info()["workers"].values())


@pytest.fixture(scope="module")
def smoked(dask_cluster: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One ``nb-smoke --executor dask://`` call over four notebooks: its exit code, output and reports."""
    work = tmp_path_factory.mktemp("smoke-dask")
    folder = work / "nbs"
    _notebook(folder / "passes.ipynb", "x = 2 * 21", "print(x)")
    _notebook(folder / "fails.ipynb", "x = 1", "1 / 0", "print('never')")
    _notebook(folder / "hangs.ipynb", "import time", "time.sleep(600)")
    _notebook(folder / "dies.ipynb", "import os", "os.kill(os.getpid(), 9)")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    done = subprocess.run([*NB_SMOKE, "nbs", "--executor", dask_cluster, "--timeout", "8", "--plain", "--no-track",
                           "--json", "r.json", "--junit-xml", "r.xml", "--github", "--output-dir", "executed"],
                          cwd=work, env=_env(), capture_output=True, text=True, timeout=600, check=False)
    return {"work": work, "done": done, "json": json.loads((work / "r.json").read_text()), "before": before}


def _by_name(report: dict) -> dict[str, dict]:
    return {Path(n["path"]).name: n for n in report["notebooks"]}


def test_every_result_comes_back_structured(smoked: dict) -> None:
    done, report = smoked["done"], smoked["json"]
    assert done.returncode == 1, done.stderr
    notebooks = _by_name(report)
    assert report["summary"] == {**report["summary"], "total": 4, "passed": 1, "failed": 3}
    assert notebooks["passes.ipynb"]["passed"] is True
    fails = notebooks["fails.ipynb"]
    assert fails["reason"] == "cell-error"
    assert fails["failures"][0]["index"] == 1 and fails["failures"][0]["ename"] == "ZeroDivisionError"
    hangs = notebooks["hangs.ipynb"]
    assert hangs["reason"] == "timeout" and hangs["failures"][0]["index"] == 1
    dies = notebooks["dies.ipynb"]
    assert dies["reason"] == "kernel-died" and dies["failures"][0]["index"] == 1
    assert "FAIL nbs/fails.ipynb [cell-error]" in done.stdout
    assert "::error file=nbs/fails.ipynb" in done.stdout


def test_reports_and_executed_notebooks_come_back(smoked: dict) -> None:
    work, notebooks = smoked["work"], _by_name(smoked["json"])
    suite = ET.parse(work / "r.xml").getroot()
    assert suite.get("tests") == "4" and suite.get("failures") == "3"
    for name, entry in notebooks.items():
        executed = work / "executed" / "nbs" / name
        assert entry["executed_path"] == f"executed/nbs/{name}"
        assert executed.is_file(), name
    fails = nbformat.read(work / "executed" / "nbs" / "fails.ipynb", as_version=4)
    assert fails.cells[1].outputs[0]["ename"] == "ZeroDivisionError"
    passes = nbformat.read(work / "executed" / "nbs" / "passes.ipynb", as_version=4)
    assert passes.cells[1].outputs[0]["text"] == "42\n"
    assert {p.name: p.read_bytes() for p in (work / "nbs").iterdir()} == smoked["before"]  # inputs untouched


def test_unreachable_scheduler_is_one_line_exit_2(tmp_path: Path) -> None:
    _notebook(tmp_path / "a.ipynb", "1")
    done = subprocess.run([*NB_SMOKE, "a.ipynb", "--executor", f"dask://127.0.0.1:{_free_port()}", "--plain"],
                          cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 2
    assert done.stderr.startswith("Error: cannot reach the Dask scheduler at tcp://127.0.0.1:")
    assert len(done.stderr.strip().splitlines()) == 1


def test_bad_executor_is_a_usage_error(tmp_path: Path) -> None:
    _notebook(tmp_path / "a.ipynb", "1")
    done = subprocess.run([*NB_SMOKE, "a.ipynb", "--executor", "spark://x"], cwd=tmp_path, env=_env(),
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2 and "--executor: expected local or dask://HOST:PORT" in done.stderr


SWEEP_PARAMS = "lr = 0.1\ndepth = 3\nepochs = 1"
SWEEP_BODY = """
import jupyter_mlops as mlops
with mlops.start_run("sweep-point"):
    if depth == 7 and lr == 0.1:
        raise ValueError("this point fails")
    mlops.log_metric("auc", round(1 - abs(lr - 0.05) - depth / 100, 6))
"""


@pytest.fixture
def pg_store(pg_url: str) -> str:
    url = pg.create_database(pg_url, "mlops_dask_sweep")
    from sqlalchemy import create_engine, text

    from jupyter_mlops.store import open_store

    open_store(url).close()
    engine = create_engine(url)
    with engine.begin() as conn:  # the database outlives a test: start from no runs
        conn.execute(text("TRUNCATE runs, experiments RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.mark.requires_postgres
def test_sweep_on_the_cluster_tracks_every_point_into_postgres(dask_cluster: str, pg_store: str, s3_server,
                                                               tmp_path: Path) -> None:
    # The team's stores: runs in PostgreSQL, snapshots in a bucket of the moto S3 server.
    bucket = f"team-{uuid.uuid4().hex[:8]}"
    s3_server.client().create_bucket(Bucket=bucket)
    _notebook(tmp_path / "train.ipynb", SWEEP_BODY, params=SWEEP_PARAMS)
    env = {**_env(), **s3_server.env, "JUPYTER_MLOPS_BLOBS": f"s3://{bucket}/mlops"}
    done = subprocess.run([*MLOPS, "sweep", "train.ipynb", "--grid", "lr=0.01,0.1", "--grid", "depth=3,5,7",
                           "-p", "epochs=2", "--metric", "auc:max", "--executor", dask_cluster, "--store", pg_store,
                           "--format", "json", "--output-dir", "out"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 1, done.stderr  # one point failed; the others ran
    data = json.loads(done.stdout)
    points = data["points"]
    assert [p["params"] for p in points] == [{"lr": lr, "depth": d, "epochs": 2} for lr in (0.01, 0.1)
                                             for d in (3, 5, 7)]
    assert [p["passed"] for p in points] == [True] * 5 + [False]
    assert points[5]["reason"] == "cell-error" and "this point fails" in points[5]["message"]
    assert all(p["run_id"] for p in points)
    assert data["best"] == [0, 3, 1]  # auc: 0.93, 0.92, 0.91

    from jupyter_mlops.store import open_store

    store = open_store(pg_store)
    try:
        runs = store.search_runs(f'sweep = "{data["sweep"]}"', limit=None).items
        assert sorted(r.id for r in runs) == sorted(p["run_id"] for p in points)
        by_id = {r.id: r for r in runs}
        for point in points:
            run = by_id[point["run_id"]]
            assert run.params["lr"] == point["params"]["lr"] and run.params["depth"] == point["params"]["depth"]
            assert run.status.value == ("finished" if point["passed"] else "failed")
            assert run.notebook_path == str((tmp_path / "train.ipynb").resolve())
        assert by_id[points[0]["run_id"]].metrics["auc"] == pytest.approx(0.93)
        assert store.search_runs(f'sweep = "{data["sweep"]}" and metrics.auc > 0.915', limit=None).total == 2
        assert store.search_runs("sweep is null", limit=None).total == 0
        # every point's environment snapshot, written by its kernel on a worker, is in the bucket (one object:
        # the points share one environment, stored once by content)
        listing = s3_server.client().list_objects_v2(Bucket=bucket).get("Contents", [])
        stored = {item["Key"].rsplit("/", 1)[-1] for item in listing}
        snapshots = {by_id[p["run_id"]].env_hash for p in points}
        assert None not in snapshots
        assert {digest.partition(":")[2][2:] for digest in snapshots} <= stored
    finally:
        store.close()
    for point in points:
        assert (tmp_path / point["executed_path"]).is_file()


KILLED_BODY = """
import os, pathlib, time
gate = pathlib.Path(gate_file)
worker = os.environ["JUPYTER_MLOPS_WORKER_PID"]
if not gate.exists():
    part = gate.with_suffix(".part")
    part.write_text(f"{worker} {os.getpid()}")
    part.rename(gate)
    time.sleep(300)  # the test kills this worker now
print("ran on worker", worker)
"""


def test_a_killed_worker_s_notebook_runs_again_on_a_live_worker(dask_cluster: str, tmp_path: Path) -> None:
    gate = tmp_path / "gate.txt"
    _notebook(tmp_path / "holds.ipynb", KILLED_BODY, params='gate_file = ""')
    smoke = subprocess.Popen([*NB_SMOKE, "holds.ipynb", "--executor", dask_cluster, "-p", f"gate_file={gate}",
                              "--plain", "--no-track", "--json", "r.json", "--output-dir", "out"],
                             cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + WAIT
        while not gate.exists() and smoke.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert gate.exists(), "the notebook never started on a worker"
        worker, kernel = (int(pid) for pid in gate.read_text().split())
        os.kill(worker, signal.SIGKILL)
        output, _ = smoke.communicate(timeout=300)
    finally:
        if smoke.poll() is None:
            smoke.kill()
    assert smoke.returncode == 0, output
    result = json.loads((tmp_path / "r.json").read_text())["notebooks"][0]
    assert result["passed"] is True
    executed = nbformat.read(tmp_path / "out" / "holds.ipynb", as_version=4)
    text = "".join(o.get("text", "") for o in executed.cells[-1].outputs)
    assert text.startswith("ran on worker ") and text.split()[-1] != str(worker)
    # the first attempt's kernel was ended with its worker, not left running
    gone, alive = psutil.wait_procs([p for p in [_process(kernel)] if p is not None], timeout=30)
    assert not alive
    # the nanny restarted the killed worker: the session's cluster has two workers again
    deadline = time.monotonic() + WAIT
    while len(_workers(dask_cluster)) < 2 and time.monotonic() < deadline:
        time.sleep(0.5)


def _process(pid: int) -> psutil.Process | None:
    try:
        return psutil.Process(pid)
    except psutil.NoSuchProcess:
        return None


def test_pytest_nb_smoke_runs_items_on_the_cluster(dask_cluster: str, tmp_path: Path) -> None:
    _notebook(tmp_path / "nbs" / "passes.ipynb", "import os", "print(os.environ['JUPYTER_MLOPS_WORKER_PID'])")
    _notebook(tmp_path / "nbs" / "fails.ipynb", "raise KeyError('on the cluster')")
    done = subprocess.run([PYTHON, "-m", "pytest", "-p", "no:cacheprovider", "--nb-smoke", "nbs", "--nb-smoke-executor",
                           dask_cluster, "--nb-smoke-no-track", "--nb-smoke-output-dir", "out", "-q"],
                          cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 failed, 1 passed" in done.stdout
    assert "FAIL nbs/fails.ipynb [cell-error] cell 0" in done.stdout and "KeyError" in done.stdout
    executed = nbformat.read(tmp_path / "out" / "nbs" / "passes.ipynb", as_version=4)
    assert executed.cells[1].outputs[0]["text"].strip().isdigit()  # it ran under a worker's runner


def test_fork_on_the_cluster_forks_or_says_why_and_passes(dask_cluster: str, tmp_path: Path) -> None:
    # --fork with --executor dask: each task's runner (a process of its own on a worker) keeps the promise: a
    # forked kernel, or a fresh one with the reason, never a lost or hung notebook.
    for name in ("one", "two"):
        _notebook(tmp_path / "nbs" / f"{name}.ipynb", "import json", f"print(json.dumps({name!r}))")
    done = subprocess.run([*NB_SMOKE, "nbs", "--executor", dask_cluster, "--fork", "--preload", "auto", "--plain",
                           "--no-track", "--json", "r.json"],
                          cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    results = _by_name(json.loads((tmp_path / "r.json").read_text()))
    assert sorted(results) == ["one.ipynb", "two.ipynb"]
    for result in results.values():
        assert result["passed"] is True, result
        fork = result["fork"]
        assert isinstance(fork, dict) and (fork.get("forked") is True or isinstance(fork.get("fallback"), str)), fork
