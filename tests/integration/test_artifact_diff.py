"""``diff-artifact`` and ``GET artifact-diff``: one answer for two runs' artifacts, hostile ones as one line (ADR-104).

Given a project store whose two runs logged a changed artifact of each kind (text, PNG, CSV, Parquet, JSON) and
some hostile ones (an image too large to decode, binary posing as text, invalid JSON), when the console command
and a real Jupyter server's REST API diff them, then both give the same JSON, each kind's diff is its golden
output, and a hostile artifact is one line: in its ``error`` over all artifacts, exit 2 / HTTP 400 when named.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from artifact_diff_data import artifacts, hostile
from tornado.httpclient import HTTPClientError

from jupyter_mlops.config import load_settings
from jupyter_mlops.entities import Artifact
from jupyter_mlops.store import open_from_settings

pytest_plugins = ["pytest_jupyter.jupyter_server"]
GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden" / "artifact_diff"


@pytest.fixture
def project(jp_root_dir: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    for key in [k for k in os.environ if k.startswith("JUPYTER_MLOPS")]:
        monkeypatch.delenv(key)
    root = Path(jp_root_dir)
    store, blobs = open_from_settings(load_settings(start=root, environ={}))
    ids = []
    with store:
        for side in (0, 1):
            run = store.create_run(name=f"run{side}", experiment="e")
            logged = [Artifact(name, blobs.put_bytes(pair[side]), len(pair[side]))
                      for name, pair in {**artifacts(), **hostile()}.items()]
            logged.append(Artifact("same.txt", blobs.put_bytes(b"same\n"), 5))
            if side:
                logged.append(Artifact("new.txt", blobs.put_bytes(b"new\n"), 4))
            store.log_artifacts(run.id, logged)
            store.end_run(run.id)
            ids.append(run.id)
    return {"root": root, "a": ids[0], "b": ids[1]}


def cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_MLOPS")}
    return subprocess.run([sys.executable, "-m", "jupyter_mlops", "diff-artifact", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)


async def test_cli_and_rest_give_the_same_diffs_matching_the_goldens(api, project):
    printed = cli(project["root"], project["a"], project["b"], "--format", "json")
    assert printed.returncode == 0, printed.stderr
    report = json.loads(printed.stdout)
    rest = await api("artifact-diff", a=project["a"], b=project["b"])
    assert rest == report
    by_name = {item["name"]: item for item in report["artifacts"]}
    for name in artifacts():
        expected = json.loads((GOLDEN / (name.replace(".", "_") + ".json")).read_text(encoding="utf-8"))
        assert by_name[name]["status"] == "changed" and by_name[name]["diff"] == expected, name
    assert (by_name["same.txt"]["status"], by_name["same.txt"]["diff"]) == ("identical", None)
    assert by_name["new.txt"]["status"] == "added"
    for name in hostile():  # over all artifacts a hostile one is its own one-line error; the others are diffed
        assert by_name[name]["error"] and "\n" not in by_name[name]["error"], name
    text = cli(project["root"], project["a"], project["b"])
    assert "notes.txt (text): changed" in text.stdout and "2 of 48 pixels changed (4.17%)" in text.stdout
    assert "rows 4 → 5 (+1)" in text.stdout and "~ $.auc: 0.9 → 0.92" in text.stdout
    assert "cannot diff: artifact 'bad.json' (run) is not valid JSON" in text.stdout


async def test_an_image_diff_writes_and_serves_its_overlay(api, project, tmp_path):
    out = tmp_path / "overlay.png"
    done = cli(project["root"], project["a"], project["b"], "plot.png", "--overlay", str(out),
               "--side-by-side", str(tmp_path / "side.png"))
    assert done.returncode == 0, done.stderr
    assert out.read_bytes().startswith(b"\x89PNG") and (tmp_path / "side.png").is_file()
    reply = await api("artifact-diff", a=project["a"], b=project["b"], name="plot.png", images="1")
    (item,) = reply["artifacts"]
    assert base64.b64decode(item["images"]["overlay"]) == out.read_bytes()


@pytest.mark.parametrize(("name", "message"), [
    ("huge.png", "is 10000x5000 pixels, over the 40,000,000 pixel limit of an image diff"),
    ("data.txt", "is binary, not text"),
    ("bad.json", "is not valid JSON"),
])
async def test_a_named_hostile_artifact_is_one_line_exit_2_and_http_400(api, project, name, message):
    done = cli(project["root"], project["a"], project["b"], name)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("Error: ") and message in done.stderr and len(done.stderr.splitlines()) == 1
    with pytest.raises(HTTPClientError) as info:
        await api("artifact-diff", a=project["a"], b=project["b"], name=name)
    assert info.value.code == 400 and message in json.loads(info.value.response.body)["message"]


async def test_unknown_artifacts_and_runs_are_not_found(api, project):
    done = cli(project["root"], project["a"], project["b"], "nope.txt")
    assert done.returncode == 1 and "neither run has an artifact 'nope.txt'" in done.stderr
    with pytest.raises(HTTPClientError) as info:
        await api("artifact-diff", a=project["a"], b="no-such-run")
    assert info.value.code == 404
