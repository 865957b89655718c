"""MLflow interop against a real MLflow SQLite tracking store: export, import, round trip, idempotence, errors.

The source run is written through the store and blob store (a tracked run's records: params, a metric with three
steps and their timestamps, tags, a note, an artifact, the notebook snapshot) and a model version is registered
and aliased through the tracking API, so the test sees what a notebook run leaves behind.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from test_cli_runs import invoke

from jupyter_mlops.app.interop import export_to_mlflow, import_from_mlflow
from jupyter_mlops.app.workspace import Workspace
from jupyter_mlops.config import load_settings
from jupyter_mlops.entities import RunStatus, SliceMetric
from jupyter_mlops.store import open_store
from jupyter_mlops.store.blobs import BlobStore
from jupyter_mlops.tracking import models

mlflow = pytest.importorskip("mlflow", reason="the mlflow extra (pip install 'jupyter_mlops[mlflow]')")
from mlflow.entities import Metric, Param, RunTag  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402

NOTEBOOK = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
POINTS = [(0.61, 0, 1_700_000_000.125), (0.72, 1, 1_700_000_001.25), (0.81, 2, 1_700_000_002.5)]


@pytest.fixture(scope="module")
def mlflow_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty MLflow SQLite store, made once: MLflow's own schema migrations take seconds per new store."""
    path = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture(autouse=True)
def _empty_mlflow_store(tmp_path: Path, mlflow_template: Path) -> None:
    (tmp_path / "mlflow").mkdir()
    shutil.copyfile(mlflow_template, tmp_path / "mlflow" / "mlflow.db")


def _workspace(store_url: str, blobs: Path) -> Workspace:
    return Workspace(load_settings(store_url=store_url, blobs_url=str(blobs), environ={}), create=True)


@pytest.fixture
def source(tmp_path: Path) -> tuple[str, Path, str]:
    """A store with one finished, fully recorded run and a model version aliased champion: (url, blobs, run id)."""
    url, blob_dir = f"sqlite:///{tmp_path / 'a' / 'mlops.db'}", tmp_path / "a" / "blobs"
    blobs = BlobStore(blob_dir)
    artifact = tmp_path / "confusion.csv"
    artifact.write_text("tp,fp\n8,2\n")
    with open_store(url) as store:
        run = store.create_run(name="fit-one", experiment="churn", tags=["baseline", "team=ml"], note="first try",
                               start_time=1_700_000_000.0)
        store.log_params(run.id, {"lr": 0.1, "layers": [64, 32], "optimizer": "adam"})
        for value, step, at in POINTS:
            store.log_metric(run.id, "auc", value, step=step, timestamp=at)
        digest, size = blobs.put_file(artifact)
        from jupyter_mlops.entities import Artifact

        store.log_artifacts(run.id, [Artifact("confusion.csv", digest, size)])
        store.update_run(run.id, notebook_hash=blobs.put_bytes(NOTEBOOK), notebook_path="fit.ipynb",
                         git_commit="abc123", flags={"out_of_order": True})
        store.end_run(run.id, RunStatus.FINISHED, end_time=1_700_000_010.5)
        version = models.register(store, blobs, run.id, {"w": [1, 2]}, "churn")
        store.set_model_alias("churn", "champion", version.version, who="tester")
    return url, blob_dir, run.id


def _mlflow_uri(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}"


def _export(tmp_path: Path, url: str, blobs: Path, *extra: str) -> tuple[int, str, str]:
    os.environ["JUPYTER_MLOPS_BLOBS"] = str(blobs)
    try:
        return invoke("export", "--to", "mlflow", "--tracking-uri", _mlflow_uri(tmp_path), "--store", url,
                      "--artifact-root", (tmp_path / "mlflow" / "artifacts").as_uri(), *extra)
    finally:
        del os.environ["JUPYTER_MLOPS_BLOBS"]


def _import(tracking_uri: str, url: str, blobs: Path, *extra: str) -> tuple[int, str, str]:
    os.environ["JUPYTER_MLOPS_BLOBS"] = str(blobs)
    try:
        return invoke("import", "--from", "mlflow", "--tracking-uri", tracking_uri, "--store", url, *extra)
    finally:
        del os.environ["JUPYTER_MLOPS_BLOBS"]


def test_export_writes_everything_mlflow_has_a_place_for(tmp_path, source):
    url, blobs, run_id = source
    code, out, err = _export(tmp_path, url, blobs)
    assert code == 0, err
    assert out.startswith("1 run(s) exported to MLflow"), out
    client = MlflowClient(tracking_uri=_mlflow_uri(tmp_path), registry_uri=_mlflow_uri(tmp_path))
    (run,) = client.search_runs([client.get_experiment_by_name("churn").experiment_id])
    assert run.data.tags["jupyter_mlops.run_id"] == run_id
    assert run.data.tags["mlflow.note.content"] == "first try"
    assert run.data.tags["team"] == "ml" and run.data.tags["baseline"] == ""
    assert run.data.params == {"lr": "0.1", "layers": "[64, 32]", "optimizer": "adam"}
    history = client.get_metric_history(run.info.run_id, "auc")
    assert sorted((m.value, m.step, m.timestamp) for m in history) == [
        (v, s, round(t * 1000)) for v, s, t in POINTS]
    assert (run.info.start_time, run.info.end_time, run.info.status) == (1_700_000_000_000, 1_700_000_010_500,
                                                                        "FINISHED")
    listed = {f.path for f in client.list_artifacts(run.info.run_id)}
    assert {"confusion.csv", "jupyter_mlops"} <= listed
    notebook = client.download_artifacts(run.info.run_id, "jupyter_mlops/notebook.ipynb", str(tmp_path / "dl"))
    assert Path(notebook).read_bytes() == NOTEBOOK
    assert {k: str(v) for k, v in client.get_registered_model("churn").aliases.items()} == {"champion": "1"}
    (mv,) = client.search_model_versions("name='churn'")
    assert mv.run_id == run.info.run_id and mv.tags["jupyter_mlops.version"] == "1.0.0"


def test_round_trip_keeps_ids_times_values_and_models(tmp_path, source):
    url, blobs, run_id = source
    assert _export(tmp_path, url, blobs)[0] == 0
    target, target_blobs = f"sqlite:///{tmp_path / 'b' / 'mlops.db'}", tmp_path / "b" / "blobs"
    code, out, err = _import(_mlflow_uri(tmp_path), target, target_blobs)
    assert code == 0, err
    assert out.startswith("1 run(s) imported from MLflow"), out
    assert "3 metric points, 1 artifacts, 1 model versions, 1 aliases" in out, err
    with open_store(url) as a, open_store(target) as b:
        before, after = a.get_run(run_id), b.get_run(run_id)
        for name in ("id", "name", "experiment", "status", "start_time", "end_time", "note", "tags", "params",
                     "metrics", "flags", "notebook_path", "git_commit", "notebook_hash", "artifacts"):
            assert getattr(after, name) == getattr(before, name), name
        assert b.metric_history(run_id, "auc") == a.metric_history(run_id, "auc")
        assert [p.source for p in b.param_history(run_id, "lr")] == ["api"]
        old, new = a.resolve_model("churn@champion"), b.resolve_model("churn@champion")
        assert (new.version, new.artifact_hash, new.format, new.run_id) == (old.version, old.artifact_hash,
                                                                            old.format, run_id)
        assert new.lineage.params == old.lineage.params
    assert BlobStore(target_blobs).get_bytes(after.notebook_hash) == NOTEBOOK
    with _workspace(target, target_blobs) as workspace:
        assert models.load_version(workspace.blobs, new) == {"w": [1, 2]}


def test_import_twice_adds_nothing(tmp_path, source):
    url, blobs, _ = source
    assert _export(tmp_path, url, blobs)[0] == 0
    target, target_blobs = f"sqlite:///{tmp_path / 'b' / 'mlops.db'}", tmp_path / "b" / "blobs"
    assert _import(_mlflow_uri(tmp_path), target, target_blobs)[0] == 0
    code, out, err = _import(_mlflow_uri(tmp_path), target, target_blobs)
    assert (code, out.strip()) == (0, f"nothing new: 1 run(s) already imported from MLflow {_mlflow_uri(tmp_path)}")
    with open_store(target) as store:
        assert store.search_runs().total == 1
        assert len(store.model_versions("churn")) == 1
        assert [e.to_value for e in store.model_history("churn")] == ["1.0.0"]


def test_export_twice_adds_nothing_and_import_into_the_source_keeps_its_runs(tmp_path, source):
    url, blobs, run_id = source
    assert _export(tmp_path, url, blobs)[0] == 0
    code, out, _ = _export(tmp_path, url, blobs)
    assert out.startswith("nothing new: 1 run(s) already exported"), out
    client = MlflowClient(tracking_uri=_mlflow_uri(tmp_path), registry_uri=_mlflow_uri(tmp_path))
    assert len(client.search_runs([client.get_experiment_by_name("churn").experiment_id])) == 1
    assert len(client.search_model_versions("name='churn'")) == 1
    code, out, err = _import(_mlflow_uri(tmp_path), url, blobs)
    assert code == 0 and out.startswith("nothing new"), out + err
    with open_store(url) as store:
        assert store.search_runs().total == 1
        assert store.get_run(run_id).start_time == 1_700_000_000.0


def _native_mlflow_store(tmp_path: Path) -> tuple[str, str]:
    """An MLflow store written by MLflow's own client: one run with a registered, aliased model version."""
    uri = _mlflow_uri(tmp_path)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    exp = client.create_experiment("native", artifact_location=(tmp_path / "mlflow" / "art").as_uri())
    run = client.create_run(exp, start_time=1_650_000_000_123, tags={"stage": "dev", "mlflow.note.content": "n"},
                            run_name="mlflow-run")
    rid = run.info.run_id
    client.log_batch(rid, metrics=[Metric("loss", 1.0 / (s + 1), 1_650_000_000_200 + s, s) for s in range(5)],
                     params=[Param("alpha", "0.5"), Param("api_token", "tok-123")],
                     tags=[RunTag("owner", "ana")])
    model_dir = tmp_path / "m"
    model_dir.mkdir()
    (model_dir / "MLmodel").write_text("flavors: {}\n")
    client.log_artifacts(rid, str(model_dir), "model")
    client.set_terminated(rid, "FINISHED", end_time=1_650_000_009_999)
    client.create_registered_model("ranker")
    mv = client.create_model_version("ranker", f"{run.info.artifact_uri}/model", run_id=rid)
    client.set_registered_model_alias("ranker", "prod", mv.version)
    return uri, rid


def test_import_native_mlflow_runs_on_sqlite_and_postgresql(tmp_path, store_url, monkeypatch):
    uri, rid = _native_mlflow_store(tmp_path)
    blobs = tmp_path / "blobs"
    with _workspace(store_url, blobs) as workspace:
        summary = import_from_mlflow(workspace, uri, "native")
        assert (summary.copied, summary.points, summary.model_versions, summary.aliases) == (1, 5, 1, 1)
        assert summary.ids == ((rid, rid),)
        run = workspace.store.get_run(rid)
        assert (run.name, run.experiment, run.status, run.start_time, run.end_time) == (
            "mlflow-run", "native", RunStatus.FINISHED, 1_650_000_000.123, 1_650_000_009.999)
        assert run.params == {"alpha": "0.5", "api_token": "***"}  # the same redaction as logged params
        assert set(run.tags) == {"owner=ana", "stage=dev"} and run.note == "n"
        assert [(m.value, m.step, m.timestamp) for m in workspace.store.metric_history(rid, "loss")] == [
            (1.0 / (s + 1), s, (1_650_000_000_200 + s) / 1000) for s in range(5)]
        assert [a.path for a in run.artifacts] == ["model/MLmodel"]
        version = workspace.store.resolve_model("ranker@prod")
        assert (version.version, version.run_id, version.format) == ("1.0.0", rid, "dir")
        again = import_from_mlflow(workspace, uri, "native")
        assert again.nothing_new and again.unchanged == 1
        assert workspace.store.search_runs().total == 1


def test_a_failed_import_leaves_no_partial_run_and_the_next_completes_it(tmp_path, monkeypatch):
    uri, rid = _native_mlflow_store(tmp_path)
    target, blobs = f"sqlite:///{tmp_path / 'b' / 'mlops.db'}", tmp_path / "b" / "blobs"
    from jupyter_mlops.store.sql import SqlStore

    def broken(self, *args, **kwargs):
        raise OSError("killed mid-import")

    with monkeypatch.context() as patch:
        patch.setattr(SqlStore, "_bulk_insert", broken)  # fails inside the run's transaction, after its row
        with _workspace(target, blobs) as workspace, pytest.raises(OSError):
            import_from_mlflow(workspace, uri)
    with open_store(target) as store:
        assert store.search_runs().total == 0
        assert store.external_links("mlflow", uri, "run") == {}
    with _workspace(target, blobs) as workspace:
        summary = import_from_mlflow(workspace, uri)
        assert summary.copied == 1 and workspace.store.get_run(rid).metrics == {"loss": 0.2}


def test_bad_uri_missing_store_and_missing_experiment_are_one_line_exit_2(tmp_path):
    target = f"sqlite:///{tmp_path / 'b' / 'mlops.db'}"
    for uri, expected in (("bogus://nowhere", "unsupported scheme 'bogus'"),
                          (f"sqlite:///{tmp_path / 'none.db'}", "no MLflow store at"),
                          ("", "--tracking-uri needs a value")):
        code, out, err = _import(uri, target, tmp_path / "blobs")
        assert code == 2 and expected in err and err.count("\n") == 1, err
    uri, _ = _native_mlflow_store(tmp_path)
    code, _, err = _import(uri, target, tmp_path / "blobs", "--experiment", "nope")
    assert code == 2 and err.strip() == f"Error: no experiment named 'nope' in MLflow store {uri}"


def test_missing_extra_is_one_line_naming_it(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        sys.modules["mlflow"] = None  # as if the extra were not installed
        from jupyter_mlops.cli import main
        main(["import", "--from", "mlflow", "--tracking-uri", "sqlite:///{tmp_path}/x.db",
              "--store", "sqlite:///{tmp_path}/m.db"])
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "JUPYTER_MLOPS_BLOBS": str(tmp_path / "blobs")})
    assert done.returncode == 2
    assert done.stderr == "Error: MLflow interop needs the mlflow extra: pip install 'jupyter_mlops[mlflow]'\n"


def test_sliced_metrics_are_named_as_not_exported_and_the_rest_is(tmp_path, source):
    url, blobs, run_id = source
    with open_store(url) as store:
        store.log_batch(run_id, sliced=[SliceMetric("auc", label, 0.7) for label in ("region=EU", "region=US")])
    with _workspace(url, blobs) as workspace:
        summary = export_to_mlflow(workspace, _mlflow_uri(tmp_path), artifact_root=(tmp_path / "art").as_uri())
    assert [line for line in summary.skipped if "sliced" in line] == [
        f"run {run_id}: 2 sliced metric series not exported: MLflow metric names cannot hold a slice "
        "(kept in `runs export`)"]
    client = MlflowClient(tracking_uri=_mlflow_uri(tmp_path))
    (run,) = client.search_runs([client.get_experiment_by_name("churn").experiment_id])
    assert sorted(run.data.metrics) == ["auc"] and len(client.get_metric_history(run.info.run_id, "auc")) == 3


def test_export_filter_picks_runs_and_a_bad_filter_is_exit_2(tmp_path, source):
    url, blobs, _ = source
    with open_store(url) as store:
        other = store.create_run(name="other", experiment="churn")
        store.log_metric(other.id, "auc", 0.1)
        store.end_run(other.id)
    with _workspace(url, blobs) as workspace:
        summary = export_to_mlflow(workspace, _mlflow_uri(tmp_path), "metrics.auc < 0.5",
                                   artifact_root=(tmp_path / "art").as_uri())
        assert summary.ids and [local for _, local in summary.ids] == [other.id]
    code, _, err = _export(tmp_path, url, blobs, "--filter", "metrics.auc <")
    assert code == 2 and err.count("\n") == 1, err
