"""ActiveRun against a real SQLite store: params, metrics, data, artifacts, tags, lifecycle, background capture."""

from __future__ import annotations

import json
import subprocess

import pytest

import jupyter_mlops as mlops
from jupyter_mlops.errors import Conflict, InvalidInput, NotFound
from jupyter_mlops.tracking import context


def test_params_keep_native_types_and_history(stores):
    store = stores[0]
    with mlops.start_run("p") as run:
        run.log_params({"lr": 0.1, "epochs": 3, "deep": True, "name": "x", "layers": (64, 32), "cfg": {"a": None}})
        run.log_param("lr", 0.2)
        run.log_param("long", "y" * 5000)
    view = mlops.get_run(run.id)
    assert view.params["lr"] == 0.2 and view.params["epochs"] == 3 and view.params["deep"] is True
    assert view.params["layers"] == [64, 32] and view.params["cfg"] == {"a": None}
    assert len(view.params["long"]) == 5000
    assert view.param_history("lr") == [0.1, 0.2]
    assert [p.source for p in store.param_history(run.id, "epochs")] == ["api"]


def test_secrets_are_redacted_unless_the_run_opts_out(project):
    with mlops.start_run("r") as run:
        run.log_params({"api_token": "abc123", "lr": 0.1})
        run.set_tags("password=hunter2", "ok")
    view = mlops.get_run(run.id)
    assert view.params == {"api_token": "***", "lr": 0.1}
    assert "password=hunter2" not in view.tags and "ok" in view.tags
    with mlops.start_run("raw", redact=False) as raw:
        raw.log_param("api_token", "abc123")
    assert mlops.get_run(raw.id).params["api_token"] == "abc123"


def test_metric_names_are_redacted_on_every_logging_path(project):
    key = "ghp_" + "a1B2c3D4e5" * 4  # a GitHub token pasted where a metric name goes
    with mlops.start_run() as run:
        run.log_metric(f"loss {key}", 1.0)
        run.log_metrics({f"auc {key}": 0.5, "f1": 0.7}, step=2)
    names = set(mlops.get_run(run.id).metrics)
    assert "f1" in names and len(names) == 3
    assert not any(key in name for name in names)


def test_metric_steps_increment_per_key_and_follow_explicit_steps(project):
    with mlops.start_run() as run:
        for value in (3.0, 2.0, 1.0):
            run.log_metric("loss", value)
        run.log_metric("auc", 0.5)
        run.log_metric("loss", 0.5, step=10)
        run.log_metric("loss", 0.4)
        run.log_metrics({"auc": 0.6, "f1": 0.7}, step=2)
    view = mlops.get_run(run.id)
    assert [m.step for m in view.metric_history("loss")] == [0, 1, 2, 10, 11]
    assert [m.step for m in view.metric_history("auc")] == [0, 2]
    assert view.metrics == {"loss": 0.4, "auc": 0.6, "f1": 0.7}


def test_bad_metric_and_param_names_are_one_line_errors(project):
    with mlops.start_run() as run:
        with pytest.raises(InvalidInput):
            run.log_metric("", 1.0)
        with pytest.raises(InvalidInput):
            run.log_params({"": 1})
        with pytest.raises(InvalidInput):
            run.log_metric("x", 1.0, step="later")


def test_non_numeric_metric_value_is_invalid_input_and_keeps_the_step_count(project):
    with mlops.start_run() as run:
        with pytest.raises(InvalidInput, match="metric 'acc' must be a number, not 'high'"):
            run.log_metric("acc", "high")
        with pytest.raises(InvalidInput):
            mlops.log_metrics({"acc": None})
        run.log_metric("acc", 0.5)
    assert [m.step for m in mlops.get_run(run.id).metric_history("acc")] == [0]


def test_log_data_files_folders_and_frames(project):
    import pandas as pd

    (project / "train.csv").write_text("age,y\n1,0\n2,1\n3,0\n")
    (project / "folder").mkdir()
    (project / "folder" / "a.txt").write_text("a")
    with mlops.start_run() as run:
        csv = run.log_data("train.csv")
        folder = run.log_data(project / "folder", name="raw")
        frame = run.log_data(pd.DataFrame({"x": [1, 2]}), name="features", role="output")
        with pytest.raises(NotFound, match="data path not found: missing.csv"):
            run.log_data("missing.csv")
        with pytest.raises(InvalidInput):
            run.log_data(object())
    assert csv.kind == "file" and csv.size == len("age,y\n1,0\n2,1\n3,0\n") and csv.schema["rows"] == 3
    assert folder.kind == "dir" and folder.name == "raw"
    assert frame.kind == "dataframe" and frame.role == "output"
    stored = {d.name: d for d in mlops.get_run(run.id).data_inputs}
    assert set(stored) == {"train.csv", "raw", "features"}
    assert stored["train.csv"].hash == csv.hash


def test_changed_data_gets_a_new_hash(project):
    (project / "d.csv").write_text("a\n1\n")
    with mlops.start_run() as run:
        first = run.log_data("d.csv")
    (project / "d.csv").write_text("a\n1\n2\n")
    with mlops.start_run() as run:
        second = run.log_data("d.csv")
    assert first.hash != second.hash and second.schema["rows"] == 2


def test_artifacts_go_to_the_blob_store(stores, project):
    _, blobs, _ = stores
    (project / "model.bin").write_bytes(b"weights")
    (project / "out").mkdir()
    (project / "out" / "a.txt").write_text("A")
    with mlops.start_run() as run:
        model = run.log_artifact(project / "model.bin")
        folder = run.log_artifact(project / "out")
        with pytest.raises(NotFound):
            run.log_artifact(project / "nope")
    assert blobs.get_bytes(model[0].hash) == b"weights"
    assert [a.path for a in folder] == ["out/a.txt"]
    assert {a.path for a in mlops.get_run(run.id).artifacts} == {"model.bin", "out/a.txt"}


def test_exception_in_the_block_marks_the_run_failed(project):
    with pytest.raises(ZeroDivisionError):
        with mlops.start_run("boom") as run:
            run.log_metric("x", 1)
            raise ZeroDivisionError
    view = mlops.get_run(run.id)
    assert view.status == "failed" and view.metrics == {"x": 1.0} and view.end_time is not None


def test_ended_run_refuses_more_values_and_ends_once(project):
    run = mlops.start_run()
    first = run.end()
    assert run.end().end_time == first.end_time
    with pytest.raises(Conflict):
        run.log_metric("x", 1.0)
    with pytest.raises(Conflict):
        run.log_param("x", 1)


def test_end_status_is_validated(project):
    run = mlops.start_run()
    with pytest.raises(InvalidInput):
        run.end("crashed")
    run.end("failed")
    assert mlops.get_run(run.id).status == "failed"


def test_end_crashed_is_stored_and_filtered_as_crashed(project):
    run = mlops.start_run()
    assert run.end_crashed().status == "crashed"
    assert list(mlops.runs("status = crashed")["run_id"]) == [run.id]
    assert mlops.runs("status = finished").empty


def test_note_and_tags(project):
    with mlops.start_run(tags=["a"], note="first") as run:
        assert run.set_tags("b", remove=["a"]) == ("b",)
        run.note("second")
    view = mlops.get_run(run.id)
    assert view.tags == ("b",) and view.note == "second"


def test_environment_and_git_are_captured_in_the_background(project):
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    subprocess.run(["git", "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "--allow-empty", "-m", "x"],
                   cwd=project, check=True)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True).stdout.strip()
    context._git_cache.clear()
    with mlops.start_run() as run:
        pass
    assert context.drain()
    view = mlops.get_run(run.id)
    assert view.run.git_commit == commit
    assert view.env["python"] and "pandas" in {k.lower() for k in view.env["packages"]}
    assert view.env["git"]["commit"] == commit


def test_runner_context_sets_notebook_path_tags_and_params(project, monkeypatch):
    notebook = project / "nb.ipynb"
    payload = {"notebook_path": str(notebook), "tags": ["smoke"], "parameters": {"lr": 0.5}}
    monkeypatch.setenv("JUPYTER_MLOPS_CONTEXT", json.dumps(payload))
    with mlops.start_run() as run:
        pass
    view = mlops.get_run(run.id)
    assert view.notebook_path == str(notebook) and "smoke" in view.tags and view.params == {"lr": 0.5}
