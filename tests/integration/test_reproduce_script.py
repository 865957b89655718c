"""``jupyter-mlops reproduce`` on script runs: real scripts in subprocesses record, the console entry point replays.

A script run is recorded the way a user records one (``python scripts/train.py --seed 7`` with
``mlops.start_run()`` inside); ``reproduce`` then runs the *recorded* source with the recorded command line in the
recorded folder, and the tests read the store it wrote.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_reproduce import run_reproduce

from jupyter_mlops.store import open_store
from jupyter_mlops.store.blobs import BlobStore

pytestmark = [pytest.mark.slow]

SCRIPT = """\
import argparse, random
import jupyter_mlops as mlops

mlops.autolog_argparse()
parser = argparse.ArgumentParser()
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--scale", type=float, default=1.0)
parser.add_argument("--password", default="")
parser.add_argument("--api-key", default="")
args = parser.parse_args()
random.seed(args.seed)
with mlops.start_run("train") as run:
    run.log_data("data.csv")
    with open("data.csv") as f:
        values = [float(v) for v in f.read().split()[1:]]
    mlops.log_metric("total", sum(values) * args.scale + random.random())
"""


def _env(project: dict) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER_MLOPS", "JPY_"))}
    env["JUPYTER_MLOPS_STORE"] = project["url"]
    return env


@pytest.fixture
def project(tmp_path: Path) -> dict:
    (tmp_path / "data.csv").write_text("value\n1\n2\n3\n", encoding="utf-8")
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "train.py").write_text(SCRIPT, encoding="utf-8")
    return {"root": tmp_path, "url": f"sqlite:///{tmp_path / 'mlops.db'}"}


def _record(project: dict, *args: str) -> str:
    """Run the script as a user does, from the project folder; return its run's id."""
    subprocess.run([sys.executable, "scripts/train.py", *args], cwd=project["root"], env=_env(project),
                   check=True, timeout=120)
    (run,) = open_store(project["url"]).search_runs().items
    return run.id


def _code(project: dict, run_id: str) -> dict:
    run = open_store(project["url"]).get_run(run_id)
    return BlobStore(project["root"] / "blobs").get_json(run.code_hash)


def test_a_script_run_records_its_command_line(project: dict) -> None:
    original = _record(project, "--seed", "7")
    code = _code(project, original)
    command = code["command"]
    assert command["argv"] == ["scripts/train.py", "--seed", "7"] and command["redacted"] == []
    assert command["cwd"] == str(project["root"]) and command["python"] == sys.executable
    assert code["script"] == str(project["root"] / "scripts" / "train.py") and code["cells"][0]["source"] == SCRIPT


def test_a_seeded_argparse_script_reproduces_exactly_as_a_linked_run(project: dict) -> None:
    original = _record(project, "--seed", "7", "--scale=2")
    done = run_reproduce(project, original[:8], "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert (report["outcome"], report["mode"]) == ("reproduced", "script")
    assert [(m["key"], m["status"]) for m in report["metrics"]] == [("total", "exact")]
    assert report["script"]["replayed_argv"] == ["scripts/train.py", "--seed", "7", "--scale=2"]
    assert report["script"]["changed_on_disk"] is False
    store = open_store(project["url"])
    new = store.get_run(report["reproduction"])
    assert new.reproduction_of == original and new.status.value == "finished" and "reproduction" in new.tags
    recorded = {"seed": 7, "scale": 2.0, "password": "***", "api_key": "***"}  # secret names: masked
    assert new.params == store.get_run(original).params == recorded
    assert _code(project, new.id)["command"]["argv"] == ["scripts/train.py", "--seed", "7", "--scale=2"]
    table = run_reproduce(project, original)
    assert table.returncode == 0 and "REPRODUCED" in table.stdout and "mode script" in table.stdout, table.stdout
    assert "scripts/train.py --seed 7 --scale=2" in table.stdout


def test_the_recorded_source_runs_not_the_file_as_it_is_now(project: dict) -> None:
    original = _record(project, "--seed", "7")
    script = project["root"] / "scripts" / "train.py"
    script.write_text(SCRIPT.replace("+ random.random()", "+ 1000"), encoding="utf-8")
    done = run_reproduce(project, original, "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["outcome"] == "reproduced" and report["script"]["changed_on_disk"] is True
    # the new run's snapshot is the source that ran (the recorded one), not the edited file
    assert _code(project, report["reproduction"])["cells"][0]["source"] == SCRIPT
    table = run_reproduce(project, original)
    assert "the file changed since the run" in table.stdout, table.stdout


def test_a_changed_data_file_refuses_naming_it(project: dict) -> None:
    original = _record(project, "--seed", "7")
    recorded = open_store(project["url"]).get_run(original).data_inputs[0]
    (project["root"] / "data.csv").write_text("value\n1\n2\n4\n", encoding="utf-8")
    done = run_reproduce(project, original)
    assert done.returncode == 2, done.stdout + done.stderr
    assert str(project["root"] / "data.csv") in done.stderr and recorded.hash in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert len(open_store(project["url"]).search_runs().items) == 1  # nothing ran


def test_a_what_if_param_rewrites_the_argparse_option(project: dict) -> None:
    original = _record(project, "--seed", "7")
    done = run_reproduce(project, original, "--param", "scale=3", "--param", "seed=8", "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["outcome"] == "compared" and report["overrides"] == {"scale": 3, "seed": 8}
    # --seed was on the command line: rewritten; --scale was not: added, as the script declares it
    assert report["script"]["replayed_argv"] == ["scripts/train.py", "--seed", "8", "--scale", "3"]
    new = open_store(project["url"]).get_run(report["reproduction"])
    assert new.params["seed"] == 8 and new.params["scale"] == 3.0 and "what-if" in new.tags
    for args, message in ((("--param", "nosuch=1"), "not a parameter of this script run"),
                          (("--param", "password=x", "--param", "seed=[1]"), "only a number or a text"),
                          (("--as-executed",), "--as-executed")):
        refused = run_reproduce(project, original, *args)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert message in refused.stderr and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
        assert "Traceback" not in refused.stderr
    assert len(open_store(project["url"]).search_runs().items) == 2  # the original and one what-if run


def test_secrets_on_the_command_line_are_not_recorded_and_cannot_be_replayed(project: dict) -> None:
    original = _record(project, "--seed", "7", "--password", "hunter2", "--api-key=sk-abcdef123456")
    command = _code(project, original)["command"]
    assert command["argv"] == ["scripts/train.py", "--seed", "7", "--password", "***", "--api-key=***"]
    assert command["redacted"] == [4, 5]
    stored = b"".join(path.read_bytes() for path in (project["root"] / "blobs").rglob("*") if path.is_file())
    assert b"hunter2" not in stored and b"sk-abcdef123456" not in stored
    done = run_reproduce(project, original, "--format", "json")
    assert done.returncode == 2, done.stdout + done.stderr
    assert json.loads(done.stdout)["outcome"] == "refused"
    assert "--password" in done.stderr and "held a secret" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert len(open_store(project["url"]).search_runs().items) == 1  # nothing ran


def test_a_script_that_fails_now_is_could_not_run_with_its_error(project: dict) -> None:
    original = _record(project, "--seed", "7")
    (project["root"] / "data.csv").write_text("value\n1\nnot-a-number\n", encoding="utf-8")
    done = run_reproduce(project, original, "--allow-changed-data", "--format", "json")
    assert done.returncode == 2, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["outcome"] == "failed" and "ValueError" in report["reason"] and "exit status 1" in report["reason"]
    failed = open_store(project["url"]).get_run(report["reproduction"])
    assert failed.reproduction_of == original and failed.status.value == "failed"


def test_a_script_run_recorded_without_its_command_line_says_so(project: dict) -> None:
    store = open_store(project["url"])
    blobs = BlobStore(project["root"] / "blobs")
    cell = {"index": 0, "source": SCRIPT, "execution_count": None, "cell_id": None, "path": "/x/train.py"}
    run = store.create_run(name="old")
    store.update_run(run.id, code_hash=blobs.put_json({"cells": [cell], "script": "/x/train.py"}), status="finished")
    done = run_reproduce(project, run.id)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "script run" in done.stderr and "not recorded" in done.stderr and "train.py" in done.stderr


@pytest.mark.requires_kernel
def test_track_reproduce_in_a_notebook_reaches_script_runs(project: dict) -> None:
    from kernel_session import KernelSession, notebook

    original = _record(project, "--seed", "7")
    path = project["root"] / "check.ipynb"
    nb = notebook(path, ["%load_ext jupyter_mlops", f"%track reproduce {original}",
                         f"%track reproduce {original} --as-executed"])
    kernel = KernelSession(path, project["url"])
    try:
        replies = kernel.run_cells(nb.cells)
    finally:
        kernel.shutdown()
    assert replies[1]["status"] == "ok", replies[1]
    assert replies[2]["status"] == "error" and "--as-executed" in replies[2]["evalue"]
    store = open_store(project["url"])
    (new,) = store.search_runs(f'reproduction_of = "{original}"').items
    assert new.status.value == "finished" and new.metrics == store.get_run(original).metrics
    assert new.notebook_path is None  # the script's run, not the notebook's kernel it was started from
