"""``Store.import_run`` and the external links (migration 0008), on SQLite and PostgreSQL."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from jupyter_mlops.entities import Artifact, DataInput, ExternalLink, Run, RunStatus
from jupyter_mlops.errors import InvalidInput

RUN = Run(id="a" * 32, name="copied", experiment="elsewhere", status=RunStatus.FAILED, start_time=1_600_000_000.5,
          end_time=1_600_000_100.25, note="from MLflow", tags=("team=ml", "baseline"),
          params={"lr": 0.1, "layers": [64, 32], "name": "adam"}, flags={"out_of_order": True},
          flag_cells={"out_of_order": [3]}, data_inputs=(DataInput("train", "xxh3:" + "0" * 32, path="t.csv"),),
          artifacts=(Artifact("model.pkl", "xxh3:" + "1" * 32, 10),), git_commit="abc")
POINTS = [("loss", 1.0, 0, 1_600_000_001.0), ("loss", 0.5, 1, 1_600_000_002.0), ("loss", math.nan, 2, 1_600_000_003.0),
          ("auc", 0.9, 0, 1_600_000_004.0)]
LINK = ExternalLink("mlflow", "sqlite:////x/mlflow.db", "run", "r" * 32, "a" * 32, "rev1")


def test_a_run_is_written_with_its_own_id_times_and_every_point(store):
    store.import_run(RUN, POINTS, param_sources={"lr": "papermill"}, link=LINK)
    got = store.get_run(RUN.id)
    for name in ("id", "name", "experiment", "status", "start_time", "end_time", "note", "tags", "params", "flags",
                 "flag_cells", "data_inputs", "artifacts", "git_commit"):
        assert getattr(got, name) == (tuple(sorted(RUN.tags)) if name == "tags" else getattr(RUN, name)), name
    assert got.metrics["auc"] == 0.9 and math.isnan(got.metrics["loss"])
    assert [(m.value, m.step, m.timestamp) for m in store.metric_history(RUN.id, "loss")][:2] == [
        (1.0, 0, 1_600_000_001.0), (0.5, 1, 1_600_000_002.0)]
    assert [p.source for p in store.param_history(RUN.id, "lr")] == ["papermill"]
    assert store.search_runs("params.lr = 0.1 and metrics.auc > 0.5 and tag = baseline").total == 1
    assert store.external_links("mlflow", LINK.location, "run") == {LINK.remote_id: LINK}


def test_importing_again_replaces_the_run_without_duplicating_anything(store):
    store.import_run(RUN, POINTS, link=LINK)
    store.import_run(RUN, POINTS[:1], link=replace(LINK, revision="rev2"))
    assert store.search_runs().total == 1
    assert len(store.metric_history(RUN.id, "loss")) == 1 and store.metric_history(RUN.id, "auc") == []
    assert store.external_links("mlflow", LINK.location, "run")[LINK.remote_id].revision == "rev2"


def test_a_refused_run_writes_nothing_not_even_its_link(store):
    with pytest.raises(InvalidInput):
        store.import_run(RUN, [("bad\x1bname", 1.0, 0, 1.0)], link=LINK)
    assert store.search_runs().total == 0
    assert store.external_links("mlflow", LINK.location, "run") == {}
    with pytest.raises(InvalidInput, match="1 to 32 characters"):
        store.import_run(Run(id="b" * 40, name="x", experiment="e", status=RunStatus.FINISHED, start_time=0.0), [])
