"""A cold gate reads its two runs straight from a SQLite file (ADR-059): the same runs, the same verdict and the
same one-line errors as through the store, which answers whenever the file reader steps aside."""

from __future__ import annotations

import sqlite3

import pytest

from jupyter_mlops.app import gate as app_gate
from jupyter_mlops.app import runs
from jupyter_mlops.app.workspace import Workspace
from jupyter_mlops.comparing.gate import build_rules
from jupyter_mlops.entities import DataInput, SliceMetric
from jupyter_mlops.errors import MlopsError
from jupyter_mlops.store import open_store
from jupyter_mlops.store.blobs import BlobStore

PREFIX_A, PREFIX_B = "abcd1111" + "0" * 24, "abcd2222" + "0" * 24


@pytest.fixture
def url(tmp_path, monkeypatch):
    """A store with a baseline and a candidate (params, metrics, data, tags, code/env snapshots), two runs named
    alike and two whose ids share a prefix."""
    monkeypatch.chdir(tmp_path)  # settings from this folder, not the repository's pyproject
    monkeypatch.setenv("JUPYTER_MLOPS_BLOBS", str(tmp_path / "blobs"))
    url = f"sqlite:///{tmp_path / 'mlops.db'}"
    blobs = BlobStore(tmp_path / "blobs")
    with open_store(url) as store:
        for i, name in enumerate(("baseline", "candidate")):
            run = store.create_run(name=name, experiment="churn", tags=["ci", name], start_time=1_700_000_000.0 + i)
            store.log_params(run.id, {"lr": 0.1 + i / 100, "layers": [64, 32]})
            store.log_metrics(run.id, {"auc": 0.90 + i / 100, "latency_ms": 100.0 - i})
            store.log_batch(run.id, sliced=[SliceMetric("auc", "region=EU", 0.88 + i / 50),  # ADR-071: via summary
                                            SliceMetric("auc", "region=US", 0.90 - i / 50)])
            store.log_data_inputs(run.id, [DataInput("train.csv", f"xxh3_128:{i:032x}", size=10)])
            store.update_run(run.id, code_hash=blobs.put_json({"cells": [{"index": 0, "source": f"x = {i}"}]}),
                             env_hash=blobs.put_json({"python": "3.11", "packages": {"numpy": f"1.{i}"}}))
            store.end_run(run.id, end_time=1_700_000_100.0 + i)
        for i, run_id in enumerate((PREFIX_A, PREFIX_B)):
            store.end_run(store.create_run(name="twin", start_time=1_700_000_010.0 + i, run_id=run_id).id)
    return url


def judged(url: str, baseline: str, candidate: str, *, through_store: bool) -> tuple[object, bool]:
    """The gate's answer (its result, or the error's class and message) and whether the store was opened."""
    with Workspace.from_url(url) as workspace:
        if through_store:
            workspace.store  # noqa: B018 - an open store takes the store's path
        try:
            chosen = app_gate.baseline_run(workspace, baseline=baseline)
            candidate_id = app_gate.candidate_run(workspace, candidate)
            rules = build_rules(["auc:max", "latency_ms:min"], per_slice=["region"])
            answer: object = app_gate.gate(workspace, chosen, candidate_id, rules)
        except MlopsError as error:
            answer = (type(error).__name__, error.message)
        return answer, workspace.is_open


@pytest.mark.parametrize(("baseline", "candidate", "error"), [
    ("baseline", "candidate", None),  # names
    (PREFIX_A[:6], "candidate", None),  # a unique id prefix
    (PREFIX_A, " candidate ", None),  # a full id; a reference with spaces around it
    ("abcd", "candidate", "Conflict"),  # an ambiguous prefix
    ("twin", "candidate", "Conflict"),  # an ambiguous name
    ("baseline", "nope", "NotFound"),  # unknown
    ("baseline", "ffff", "NotFound"),  # an unknown id prefix
    ("baseline", "baseline", "InvalidInput"),  # the candidate is the baseline
    ("  ", "candidate", "InvalidInput"),  # empty
])
def test_the_file_reader_and_the_store_give_the_same_answer(url, baseline, candidate, error):
    quick, opened = judged(url, baseline, candidate, through_store=False)
    full, _ = judged(url, baseline, candidate, through_store=True)
    assert quick == full
    assert (quick[0] if isinstance(quick, tuple) else None) == error, quick
    assert not opened  # the answer came from the file, SQLAlchemy never loaded


def test_the_runs_read_from_the_file_are_the_runs_the_store_loads(url):
    refs = ["candidate", "baseline", PREFIX_B[:6], "candidate"]
    with Workspace.from_url(url) as workspace:
        quick = runs.runs_from_file(workspace, refs)
        assert quick is not None and not workspace.is_open
        assert quick == runs.find_runs(workspace, refs)
        assert [run.name for run in quick] == ["candidate", "baseline", "twin"]
        assert quick[0].params and quick[0].metrics and quick[0].data_inputs and quick[0].tags
        assert quick[0].slices == {"auc": {"region=EU": 0.90, "region=US": 0.88}}


def test_an_older_schema_steps_aside_to_the_store(url, tmp_path):
    path = tmp_path / "mlops.db"
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE schema_info SET schema_version = schema_version - 1 WHERE id = 1")
    with Workspace.from_url(url) as workspace:
        assert runs.runs_from_file(workspace, ["baseline"]) is None
