"""``log_model``/``load_model`` against a real SQLite store and blob folder: round trips, hash checks, numbering."""

from __future__ import annotations

import fractions
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import jupyter_mlops as mlops
from jupyter_mlops.errors import Conflict, InvalidInput, NoActiveRun, NotFound


def fitted(width: int = 3) -> tuple[LogisticRegression, np.ndarray]:
    rng = np.random.default_rng(0)
    features = rng.random((40, width))
    model = LogisticRegression().fit(features, (features[:, 0] > 0.5).astype(int))
    return model, features


def write_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(rows) + "\n")
    return path


def test_an_sklearn_estimator_round_trips_by_version_alias_and_latest(stores, project):
    store = stores[0]
    data = write_csv(project / "train.csv", ["a,b", "1,2", "3,4"])
    model, features = fitted()
    with mlops.start_run("train", auto_capture=False) as run:
        record = run.log_data(str(data))
        run.log_param("C", 1.0)
        run.log_metric("auc", 0.91)
        version = mlops.log_model(model, "churn")
    assert (version.version, version.flavor, version.format) == ("1.0.0", "sklearn", "joblib")
    assert version.lineage.run_id == run.id and version.lineage.params == {"C": 1.0}
    assert version.lineage.metrics == {"auc": 0.91} and version.lineage.signature == {"n_features": 3}
    assert [d.hash for d in version.lineage.data] == [record.hash] and len(record.hash) > 30  # the full hash
    store.set_model_alias("churn", "champion", "1.0.0", who="ana")
    for ref in ("churn:1.0.0", "churn:latest", "churn@champion"):
        loaded = mlops.load_model(ref)
        assert type(loaded) is LogisticRegression
        assert (loaded.predict_proba(features) == model.predict_proba(features)).all()


def test_a_plain_object_a_file_and_a_folder_round_trip(stores, project, tmp_path):
    weights = project / "weights.bin"
    weights.write_bytes(bytes(range(256)) * 10)
    folder = project / "saved_model"
    (folder / "variables").mkdir(parents=True)
    (folder / "saved_model.pb").write_bytes(b"graph")
    (folder / "variables" / "data-0").write_bytes(b"\x00" * 1000)
    with mlops.start_run("train", auto_capture=False):
        obj = mlops.log_model(fractions.Fraction(3, 7), "ratio")
        file = mlops.log_model(str(weights), "weights")
        tree = mlops.log_model(folder, "tf", flavor="tensorflow")
    assert (obj.flavor, file.format, file.size, tree.format, tree.flavor) == ("python", "file", 2560, "dir",
                                                                               "tensorflow")
    assert mlops.load_model("ratio:1.0.0") == fractions.Fraction(3, 7)
    copy = mlops.load_model("weights:latest", dest=str(tmp_path / "out"))
    assert copy.read_bytes() == weights.read_bytes() and copy.parent == tmp_path / "out"
    restored = mlops.load_model("tf:1.0.0", dest=str(tmp_path / "out"))
    assert sorted(p.relative_to(restored).as_posix() for p in restored.rglob("*") if p.is_file()) == [
        "saved_model.pb", "variables/data-0"]
    assert (restored / "variables" / "data-0").read_bytes() == b"\x00" * 1000


def tamper(blobs, digest: str) -> None:
    path = blobs.path_of(digest)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_tampered_object_is_refused_before_it_is_unpickled(stores, project):
    _, blobs, _ = stores
    with mlops.start_run("train", auto_capture=False):
        version = mlops.log_model({"weights": [1.0, 2.0]}, "toy")
    tamper(blobs, version.artifact_hash)
    with pytest.raises(Conflict) as info:
        mlops.load_model("toy:1.0.0")
    assert "toy:1.0.0 is corrupt" in info.value.message and "\n" not in info.value.message


def test_a_tampered_file_in_a_folder_is_refused_and_not_left_behind(stores, project, tmp_path):
    _, blobs, _ = stores
    folder = project / "m"
    folder.mkdir()
    (folder / "a.txt").write_text("alpha")
    (folder / "b.txt").write_text("beta")
    with mlops.start_run("train", auto_capture=False):
        mlops.log_model(str(folder), "tree")
        single = mlops.log_model(str(folder / "a.txt"), "single")
    tamper(blobs, blobs.put_file(folder / "b.txt")[0])
    with pytest.raises(Conflict, match="is corrupt"):
        mlops.load_model("tree:latest", dest=str(tmp_path / "out"))
    assert not (tmp_path / "out" / "tree-1.0.0" / "b.txt").exists()
    blobs.path_of(single.artifact_hash).unlink()
    with pytest.raises(NotFound, match="missing"):
        mlops.load_model("single:1.0.0")


def test_versions_number_by_what_changed(stores, project):
    data = project / "train.csv"
    model, _ = fitted(3)

    def register(rows: list[str], estimator=model, **params) -> str:
        write_csv(data, rows)
        with mlops.start_run("train", auto_capture=False) as run:
            run.log_data(str(data), name="train")
            run.log_params(params or {"C": 1.0})
            return run.log_model(estimator, "churn").version

    assert register(["a,b", "1,2"]) == "1.0.0"
    assert register(["a,b", "1,2"], C=0.5) == "1.0.1"  # same data: pipeline (code/params) change
    assert register(["a,b", "1,2", "5,6"]) == "1.1.0"  # new rows, same columns: minor
    assert register(["a,b,c", "1,2,3"]) == "2.0.0"  # a new column: major
    assert register(["a,b,c", "1,2,3"], estimator=fitted(4)[0]) == "3.0.0"  # the input signature changed


def test_explicit_versions_and_parents(stores, project):
    with mlops.start_run("train", auto_capture=False) as run:
        run.log_model({"v": 1}, "features", version="2.1.0")
        child = run.log_model({"v": 2}, "churn", parents=["features:latest"])
        with pytest.raises(Conflict, match="immutable"):
            run.log_model({"v": 3}, "features", version="2.1.0")
        with pytest.raises(NotFound, match="no model named 'nope'"):
            run.log_model({"v": 3}, "churn", parents=["nope@champion"])
    assert child.parents == ("features:2.1.0",)  # 'latest' is pinned at registration
    assert mlops.load_model("features:2.1.0") == {"v": 1}


def test_bad_models_are_one_line_errors_and_store_nothing(stores, project):
    store = stores[0]
    with mlops.start_run("train", auto_capture=False) as run:
        with pytest.raises(InvalidInput, match="cannot be pickled") as info:
            run.log_model(lambda x: x, "fn")
        assert "\n" not in info.value.message
        with pytest.raises(NotFound, match="model path not found"):
            run.log_model(str(project / "missing.pkl"), "gone")
        with pytest.raises(InvalidInput, match="invalid model name"):
            run.log_model({}, "bad name")
    with pytest.raises(Conflict, match="has ended"):
        run.log_model({}, "late")
    with pytest.raises(NoActiveRun):
        mlops.log_model({}, "late")
    assert store.model_versions() == []
