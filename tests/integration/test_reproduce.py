"""``jupyter-mlops reproduce``: real kernels (a JupyterLab-like session records, papermill reproduces), real SQLite.

Each test records a run the way a user does (cells sent with their ids to a real kernel, the notebook saved), then
runs the ``jupyter-mlops reproduce`` console entry point in a subprocess and reads the store it wrote.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from kernel_session import KernelSession, notebook, save

from jupyter_mlops.store import open_store

pytestmark = [pytest.mark.requires_kernel, pytest.mark.slow]

SEEDED = [
    "%load_ext jupyter_mlops",
    "seed = 7\nscale = 1.0",
    "%track start",
    "import random\nrandom.seed(seed)\n"
    "with open('data.csv') as f:\n    values = [float(v) for v in f.read().split()[1:]]",
    "total = sum(values) * scale + random.random()\n%track metric total=total",
    "%track stop",
]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    for key in [k for k in os.environ if k.startswith(("JUPYTER_MLOPS", "JPY_"))]:
        monkeypatch.delenv(key)
    (tmp_path / "data.csv").write_text("value\n1\n2\n3\n", encoding="utf-8")
    return {"root": tmp_path, "url": f"sqlite:///{tmp_path / 'mlops.db'}"}


def _record(project: dict, sources: list[str], order: list[int] | None = None, name: str = "train.ipynb") -> str:
    """Run the cells in a real kernel as JupyterLab would (saved first, as a user saves), return the run's id."""
    path = project["root"] / name
    nb = notebook(path, sources)
    nb.cells[1].metadata["tags"] = ["parameters"]
    save(nb, path, {})
    kernel = KernelSession(path, project["url"])
    try:
        for index in order if order is not None else range(len(sources)):
            reply = kernel.run(nb.cells[index].source, nb.cells[index].id)
            assert reply["status"] == "ok", reply
    finally:
        kernel.shutdown()
    (run,) = open_store(project["url"]).search_runs().items
    return run.id


def run_reproduce(project: dict, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_MLOPS", "JPY_"))}
    return subprocess.run(
        [sys.executable, "-m", "jupyter_mlops", "reproduce", "--store", project["url"], *args],
        cwd=project["root"], env=env, capture_output=True, text=True, timeout=600,
    )


def _json(done: subprocess.CompletedProcess[str]) -> dict:
    return json.loads(done.stdout)


def test_a_seeded_notebook_reproduces_exactly_as_a_linked_run(project: dict) -> None:
    original = _record(project, SEEDED)
    done = run_reproduce(project, original[:8], "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = _json(done)
    assert report["outcome"] == "reproduced" and report["mode"] == "top-to-bottom"
    assert [(m["key"], m["status"]) for m in report["metrics"]] == [("total", "exact")]
    assert report["parameters"] == {"seed": 7, "scale": 1.0}
    new = open_store(project["url"]).get_run(report["reproduction"])
    assert new.reproduction_of == original and new.status.value == "finished"
    assert "reproduction" in new.tags
    # papermill ran a temporary copy, gone now: the run names the notebook it reproduces
    assert new.notebook_path == str(project["root"] / "train.ipynb") and new.notebook_hash
    recorded = open_store(project["url"]).get_run(original).data_inputs
    assert [d.hash for d in new.data_inputs] == [d.hash for d in recorded]
    table = run_reproduce(project, original)
    assert table.returncode == 0 and "REPRODUCED" in table.stdout and "exact" in table.stdout, table.stdout
    assert table.stderr == ""  # the kernel talks over ipc: no TCP warning, nothing else on stderr


def test_one_changed_byte_of_data_refuses_naming_the_file_and_both_hashes(project: dict) -> None:
    original = _record(project, SEEDED)
    recorded = open_store(project["url"]).get_run(original).data_inputs[0]
    (project["root"] / "data.csv").write_text("value\n1\n2\n4\n", encoding="utf-8")
    done = run_reproduce(project, original)
    assert done.returncode == 2, done.stdout + done.stderr
    assert str(project["root"] / "data.csv") in done.stderr and recorded.hash in done.stderr
    assert "--allow-changed-data" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert recorded.hash in done.stdout  # the report shows old -> new
    assert len(open_store(project["url"]).search_runs().items) == 1  # nothing ran

    allowed = run_reproduce(project, original, "--allow-changed-data", "--format", "json")
    assert allowed.returncode == 1, allowed.stdout + allowed.stderr
    report = _json(allowed)
    assert report["outcome"] == "diverged"
    (row,) = report["metrics"]
    assert row["status"] == "diverged" and row["difference"] == pytest.approx(1.0)
    (check,) = report["verification"]["data"]
    assert check["status"] == "changed" and check["old_hash"] == recorded.hash != check["new_hash"]
    # within a loose tolerance, a run on other data is compared, never called reproduced
    loose = run_reproduce(project, original, "--allow-changed-data", "--tolerance", "total=50%", "--format", "json")
    assert loose.returncode == 0, loose.stdout + loose.stderr
    assert _json(loose)["outcome"] == "compared" and _json(loose)["metrics"][0]["status"] == "within"


def test_a_deleted_data_file_refuses_naming_it(project: dict) -> None:
    original = _record(project, SEEDED)
    (project["root"] / "data.csv").unlink()
    for extra in ((), ("--allow-changed-data",)):
        done = run_reproduce(project, original, *extra)
        assert done.returncode == 2, done.stdout + done.stderr
        assert "data.csv" in done.stderr and "no longer exists" in done.stderr


def test_an_out_of_order_run_reproduces_only_as_executed(project: dict) -> None:
    # `x = 100` (cell 5) ran before `y = x + 1` (cell 4): the kernel computed 101; top to bottom gives 2.
    sources = ["%load_ext jupyter_mlops", "x = 1", "%track start", "y = x + 1", "x = 100",
               "%track metric y=y", "%track stop"]
    original = _record(project, sources, order=[0, 1, 2, 4, 3, 5, 6])
    run = open_store(project["url"]).get_run(original)
    assert run.flags["out_of_order"] and run.metrics == {"y": 101.0}

    plain = run_reproduce(project, original)
    assert plain.returncode == 2, plain.stdout + plain.stderr
    assert "not reproducible as run top-to-bottom" in plain.stderr and "--as-executed" in plain.stderr

    replay = run_reproduce(project, original, "--as-executed", "--format", "json")
    assert replay.returncode == 0, replay.stdout + replay.stderr
    report = _json(replay)
    assert (report["outcome"], report["mode"]) == ("reproduced", "as-executed")
    assert report["metrics"][0]["reproduced"] == 101.0


def test_a_param_override_compares_but_never_claims_reproduced(project: dict) -> None:
    original = _record(project, SEEDED)
    done = run_reproduce(project, original, "--param", "scale=1.0", "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = _json(done)
    assert report["outcome"] == "compared" and report["overrides"] == {"scale": 1.0}
    assert report["metrics"][0]["status"] == "exact"  # same values, still not a reproduction
    table = run_reproduce(project, original, "--param", "scale=2.0")
    assert table.returncode == 0 and "REPRODUCED" not in table.stdout and "what-if" in table.stdout, table.stdout
    unknown = run_reproduce(project, original, "--param", "nosuch=1")
    assert unknown.returncode == 2 and "not a parameter" in unknown.stderr, unknown.stderr
    assert len(open_store(project["url"]).search_runs().items) == 3  # the original and the two what-if runs


def test_a_cell_that_raises_now_is_could_not_run_with_the_failed_run_linked(project: dict) -> None:
    original = _record(project, SEEDED)
    (project["root"] / "data.csv").write_text("value\n1\nnot-a-number\n", encoding="utf-8")
    done = run_reproduce(project, original, "--allow-changed-data", "--format", "json")
    assert done.returncode == 2, done.stdout + done.stderr
    report = _json(done)
    assert report["outcome"] == "failed" and "ValueError" in report["reason"]
    assert done.stderr.strip().splitlines() == [f"Error: {report['reason']}"]
    failed = open_store(project["url"]).get_run(report["reproduction"])
    assert failed.reproduction_of == original and failed.status.value == "failed"


def test_environment_differences_are_reported_and_refused_only_with_strict_env(project: dict) -> None:
    from jupyter_mlops.store.blobs import BlobStore

    store = open_store(project["url"])
    env_hash = BlobStore(project["root"] / "blobs").put_json(
        {"python": {"version": "2.7.18"}, "packages": {"surely-not-installed-pkg": "1.0"}})
    run = store.create_run(name="old-env")
    store.update_run(run.id, env_hash=env_hash, status="finished")
    strict = run_reproduce(project, run.id, "--strict-env", "--format", "json")
    assert strict.returncode == 2 and "--strict-env" in strict.stderr, strict.stdout + strict.stderr
    env = _json(strict)["verification"]["env"]
    changes = {package["name"]: package["change"] for package in env["packages"]}
    assert env["python"][0] == "2.7.18" and changes["surely-not-installed-pkg"] == "removed"
    assert changes["jupyter-mlops"] == "added" or changes.get("jupyter_mlops") == "added"
    lenient = run_reproduce(project, run.id)
    # without --strict-env the differences are only reported: it goes on, and stops at what is really missing
    assert lenient.returncode == 2 and "no notebook snapshot" in lenient.stderr, lenient.stderr
    assert "python 2.7.18 ->" in lenient.stdout and "surely-not-installed-pkg: 1.0 -> (none)" in lenient.stdout


@pytest.mark.parametrize(("args", "message"), [
    (("nosuchrun",), "nosuchrun"),
    (("nosuchrun", "--tolerance", "auc=abc"), "--tolerance"),
    (("nosuchrun", "--tolerance", "=1"), "--tolerance"),
    (("nosuchrun", "--tolerance", "auc=-1%"), "--tolerance"),
    (("nosuchrun", "--param", "lr"), "--param"),
])
def test_bad_input_is_one_line_and_exit_2(project: dict, args: tuple[str, ...], message: str) -> None:
    open_store(project["url"]).close()  # an empty store: bad input is refused before any run is looked at
    done = run_reproduce(project, *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr


def test_track_reproduce_in_a_notebook_runs_the_same_use_case(project: dict) -> None:
    original = _record(project, SEEDED)
    path = project["root"] / "check.ipynb"
    nb = notebook(path, ["%load_ext jupyter_mlops", f"%track reproduce {original}", "%track reproduce nosuchrun"])
    kernel = KernelSession(path, project["url"])
    try:
        replies = kernel.run_cells(nb.cells)
    finally:
        kernel.shutdown()
    assert replies[1]["status"] == "ok", replies[1]
    assert replies[2]["status"] == "error" and "nosuchrun" in replies[2]["evalue"]
    (new,) = open_store(project["url"]).search_runs(f'reproduction_of = "{original}"').items
    assert new.status.value == "finished" and new.metrics == open_store(project["url"]).get_run(original).metrics


def test_the_docs_example_runs_as_written(tmp_path: Path) -> None:
    import re

    text = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")
    section = text[text.index("## `jupyter-mlops reproduce`"):]
    script = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_MLOPS", "JPY_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stdout + done.stderr  # the last command: diverged on the changed data
    assert "REPRODUCED" in done.stdout and "NOT RUN" in done.stdout and '"outcome": "diverged"' in done.stdout
    assert "data changed since the run" in done.stderr
