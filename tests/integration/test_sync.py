"""``sync push|pull`` between real stores: SQLite -> PostgreSQL (and SQLite -> SQLite) and back.

Every run comes back with the same id, times and histories; a second push moves nothing; edits on both sides merge
by the documented rules (docs/sync.md); bad remotes are one line and exit 2 with nothing lost.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pg

from jupyter_mlops.app.sync import local_only, sync
from jupyter_mlops.app.workspace import Workspace
from jupyter_mlops.config import load_settings
from jupyter_mlops.entities import Artifact, DataInput, ExternalLink, Param, SliceMetric
from jupyter_mlops.store import open_store
from jupyter_mlops.store.blobs import BlobStore

ROOT = Path(__file__).resolve().parents[2]


def workspace_at(tmp_path: Path, name: str, remote: str | None = None) -> Workspace:
    environ = {"JUPYTER_MLOPS_REMOTE": remote} if remote else {}
    settings = load_settings(store_url=f"sqlite:///{tmp_path / name / 'mlops.db'}",
                             blobs_url=str(tmp_path / name / "blobs"), start=tmp_path, environ=environ)
    return Workspace(settings, create=True)


def make_run(ws: Workspace, name: str, *, points: int = 50) -> str:
    """A run with everything sync must carry: param history, metrics, slices, tags, note, data, artifacts, blobs."""
    store, blobs = ws.store, ws.blobs
    run = store.create_run(name=name, experiment="churn", tags=["base", "lgbm"], note="first try",
                           notebook_path="nb/train.ipynb")
    store.log_params(run.id, {"lr": 0.1, "depth": 5, "model": {"kind": "lgbm"}})
    store.log_params(run.id, {"lr": 0.05})  # a param with history
    t0 = run.start_time
    store.log_metric_rows(run.id, [("loss", 1.0 / (i + 1), i, t0 + i * 0.25) for i in range(points)])
    store.log_metric_rows(run.id, [("auc", math.nan, 0, t0 + 1), ("auc", 0.91, 1, t0 + 2)])
    store.log_batch(run.id, sliced=[SliceMetric("auc", "region=EU", 0.8, 1, t0 + 3),
                                    SliceMetric("auc", "region=US", 0.7, 1, t0 + 3)])
    code = blobs.put_json({"cells": ["print(1)"]})
    env = blobs.put_json({"python": "3.11"})
    artifact = blobs.put_bytes(b"model bytes " + name.encode())
    store.log_data_inputs(run.id, [DataInput(name="train.csv", kind="file", hash="xxh3:abc", path="data/train.csv",
                                             size=10, schema={"columns": ["a"]})])
    store.log_artifacts(run.id, [Artifact(path="model.pkl", hash=artifact, size=12)])
    store.link_external(ExternalLink("mlflow", "sqlite:///m.db", "run", f"mlflow-{name}", run.id, "rev1"))
    store.update_run(run.id, code_hash=code, env_hash=env, git_commit="abc123", git_dirty=False)
    store.update_run(run.id, status="finished", end_time=t0 + 100)
    return run.id


def snapshot(url: str, run_ids: list[str]) -> dict[str, Any]:
    """Everything stored about the runs, comparable across databases (rows as multisets, no local revision)."""
    store = open_store(url, create=False)
    try:
        out = {}
        for bundle in store.read_bundles(run_ids):  # type: ignore[attr-defined]
            rows = {t: Counter(r) for t, r in bundle.rows.items()}
            out[bundle.id] = (bundle.run, rows, sorted(bundle.links))
        runs = {r: store.get_run(r) for r in run_ids}
        histories = {r: store.param_history(r, "lr") for r in run_ids}
        return {"bundles": out, "runs": runs, "param_history": histories}
    finally:
        store.close()


def test_push_then_pull_keeps_ids_times_and_histories(tmp_path: Path, remote: str) -> None:
    with workspace_at(tmp_path, "laptop") as laptop:
        ids = [make_run(laptop, f"r{i}") for i in range(3)]
        summary = sync(laptop, "push", remote=remote, remote_blobs=str(tmp_path / "team-blobs"))
        assert (summary.runs, summary.points) == (3, 3 * 54)
        assert summary.blobs == 2 + 3  # one code and one env snapshot (equal in every run), three artifacts
        here = snapshot(laptop.store_url, ids)
    there = snapshot(remote, ids)
    assert there == here
    run = there["runs"][ids[0]]
    assert run.start_time == here["runs"][ids[0]].start_time and run.end_time == here["runs"][ids[0]].end_time
    assert [p.value for p in there["param_history"][ids[0]]] == [0.1, 0.05]
    assert run.slices == {"auc": {"region=EU": 0.8, "region=US": 0.7}}
    team_blobs = BlobStore(tmp_path / "team-blobs")
    assert all(team_blobs.exists(h) for h in (run.code_hash, run.env_hash, run.artifacts[0].hash))

    with workspace_at(tmp_path, "desktop") as desktop:
        pulled = sync(desktop, "pull", remote=remote, remote_blobs=str(tmp_path / "team-blobs"))
        assert pulled.runs == 3 and pulled.blobs == 5
        assert desktop.blobs.get_json(run.code_hash) == {"cells": ["print(1)"]}
        assert snapshot(desktop.store_url, ids) == here


def test_second_push_moves_nothing_and_a_change_moves_one_run(tmp_path: Path, remote: str) -> None:
    with workspace_at(tmp_path, "laptop") as laptop:
        ids = [make_run(laptop, f"r{i}", points=20) for i in range(4)]
        assert sync(laptop, "push", remote=remote).runs == 4
        again = sync(laptop, "push", remote=remote)
        assert again.nothing_new and again.runs == 0 and again.points == 0
        laptop.store.log_metric_rows(ids[2], [("loss", 0.001, 99, time.time())])
        third = sync(laptop, "push", remote=remote)
        assert (third.runs, third.merged) == (1, 0)
        assert sync(laptop, "pull", remote=remote).nothing_new
    there = open_store(remote, create=False)
    try:
        assert there.search_runs().total == 4
        history = there.metric_history(ids[2], "loss")
        assert len(history) == 21 and history[-1].step == 99  # appended once, nothing doubled
    finally:
        there.close()


def test_edits_on_both_sides_merge_by_the_rules(tmp_path: Path, remote: str) -> None:
    with workspace_at(tmp_path, "laptop") as laptop:
        local = laptop.store
        run = local.create_run(name="edited", tags=["keep", "drop-here", "drop-there"], note="original")
        local.log_metric_rows(run.id, [("loss", 1.0, 0, run.start_time + 1)])
        sync(laptop, "push", remote=remote)
        # The laptop's kernel dies: the run stays 'running' with an old heartbeat (crashed) here, while the team
        # store gets the finished run from a rerun of the notebook elsewhere.
        team = open_store(remote, create=False)
        try:
            team.set_tags(run.id, add=["team"], remove=["drop-there"])
            team.update_run(run.id, note="team note")
            team.update_run(run.id, status="finished", end_time=run.start_time + 50)
            team.log_metric_rows(run.id, [("loss", 0.5, 1, run.start_time + 2)])
        finally:
            team.close()
        time.sleep(0.01)  # the laptop's note is written after the team's: it wins
        local.set_tags(run.id, add=["mine"], remove=["drop-here"])
        local.update_run(run.id, note="laptop note")
        local.log_metric_rows(run.id, [("acc", 0.7, 1, run.start_time + 3)])

        summary = sync(laptop, "push", remote=remote)
        assert (summary.runs, summary.merged) == (1, 1)
        mine = local.get_run(run.id)
        assert sync(laptop, "push", remote=remote).nothing_new  # the merge converged
        assert sync(laptop, "pull", remote=remote).nothing_new
    theirs = open_store(remote, create=False)
    try:
        merged = theirs.get_run(run.id)
        notes = [row[0] for row in theirs.read_bundles([run.id])[0].rows["note_history"]]  # type: ignore[attr-defined]
        loss = theirs.metric_history(run.id, "loss")
    finally:
        theirs.close()
    for got in (mine, merged):
        assert got.tags == ("keep", "mine", "team")  # union, with both removals kept
        assert got.note == "laptop note"  # last writer wins
        assert got.status.value == "finished" and got.end_time == run.start_time + 50  # finished beats crashed
        assert got.metrics == {"loss": 0.5, "acc": 0.7}
    assert {"original", "team note", "laptop note"} <= set(notes)  # the losing note is kept in history
    assert [p.value for p in loss] == [1.0, 0.5]


def test_a_tag_removed_on_one_side_stays_removed_and_readding_wins(tmp_path: Path, remote: str) -> None:
    with workspace_at(tmp_path, "laptop") as laptop:
        run = laptop.store.create_run(name="t", tags=["x", "y"])
        sync(laptop, "push", remote=remote)
        laptop.store.set_tags(run.id, remove=["x"])
        sync(laptop, "push", remote=remote)
        assert open_store(remote, create=False).get_run(run.id).tags == ("y",)
        time.sleep(0.01)
        laptop.store.set_tags(run.id, add=["x"])
        sync(laptop, "push", remote=remote)
        with workspace_at(tmp_path, "other") as other:
            sync(other, "pull", remote=remote)
            assert other.store.get_run(run.id).tags == ("x", "y")


def test_model_versions_with_aliases_and_stages_travel(tmp_path: Path, remote: str) -> None:
    with workspace_at(tmp_path, "laptop") as laptop:
        run_id = make_run(laptop, "trained")
        store = laptop.store
        artifact = laptop.blobs.put_bytes(b"weights")
        versions = _register(store, run_id, artifact)
        sync(laptop, "push", remote=remote, remote_blobs=str(tmp_path / "team-blobs"))
        assert BlobStore(tmp_path / "team-blobs").exists(artifact)
        here = store.read_models()  # type: ignore[attr-defined]
        with workspace_at(tmp_path, "ci") as ci:
            sync(ci, "pull", remote=remote)
            there = ci.store.read_models()  # type: ignore[attr-defined]
            assert set(there.versions) == set(here.versions) and set(there.aliases) == set(here.aliases)
            assert Counter(there.events) == Counter(here.events)
            assert ci.store.get_model_version(versions[0].name, versions[0].version).run_id == run_id


def _register(store: Any, run_id: str, artifact: str) -> list[Any]:
    from jupyter_mlops.entities import ModelLineage

    first = store.create_model_version("churn", artifact_hash=artifact, format="pickle", flavor="sklearn", size=7,
                                       lineage=ModelLineage(run_id=run_id))
    second = store.create_model_version("churn", artifact_hash=artifact, format="pickle", flavor="sklearn", size=7,
                                        lineage=ModelLineage(run_id=run_id))
    store.set_model_alias("churn", "champion", first.version, who="me")
    store.set_model_alias("churn", "challenger", second.version, who="me")
    store.remove_model_alias("churn", "challenger", who="me")
    store.set_model_stage("churn", first.version, "production", who="me")
    return [first, second]


def test_dry_run_writes_nothing(tmp_path: Path, remote: str) -> None:
    with workspace_at(tmp_path, "laptop") as laptop:
        make_run(laptop, "r")
        preview = sync(laptop, "push", remote=remote, dry_run=True)
        assert preview.dry_run and preview.runs == 1 and preview.points == 54
        assert sync(laptop, "push", remote=remote).runs == 1  # the watermark did not move


def test_filter_pushes_only_matching_runs(tmp_path: Path, remote: str) -> None:
    with workspace_at(tmp_path, "laptop") as laptop:
        keep = laptop.store.create_run(name="keep", tags=["paper"])
        laptop.store.create_run(name="scratch")
        summary = sync(laptop, "push", remote=remote, filter_text='tag = "paper"')
        assert summary.runs == 1
        assert [r.id for r in open_store(remote, create=False).search_runs().items] == [keep.id]


def test_local_only_says_which_runs_were_never_pushed(tmp_path: Path) -> None:
    remote = f"sqlite:///{tmp_path / 'team.db'}"
    with workspace_at(tmp_path, "laptop", remote=remote) as laptop:
        a = laptop.store.create_run(name="a")
        sync(laptop, "push")
        b = laptop.store.create_run(name="b")
        assert local_only(laptop, [a.id, b.id]) == {b.id}
    with workspace_at(tmp_path, "plain") as plain:
        assert local_only(plain, [a.id]) is None  # no remote configured: the field is left out


# -- the CLI --------------------------------------------------------------------------------------------------


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    environ.pop("JUPYTER_MLOPS_STORE", None)
    return subprocess.run([sys.executable, "-m", "jupyter_mlops", *args], capture_output=True, text=True,
                          cwd=cwd, env=environ, timeout=120)


def test_cli_push_uses_the_configured_remote_and_runs_list_reads_it(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text('[tool.jupyter-mlops]\nremote = "sqlite:///team/team.db"\n')
    store = open_store(f"sqlite:///{project / '.mlops' / 'mlops.db'}")
    run = store.create_run(name="from-laptop")
    store.close()
    first = cli("sync", "push", cwd=project)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("1 run(s) pushed to sqlite:///") and "team/team.db" in first.stdout
    second = cli("sync", "push", cwd=project)
    assert second.returncode == 0 and second.stdout.startswith("nothing to push: up to date"), second.stdout
    listed = cli("runs", "list", "--remote", "--format", "json", cwd=project)
    assert listed.returncode == 0, listed.stderr
    assert '"from-laptop"' in listed.stdout and run.id in listed.stdout


def test_cli_bad_remotes_are_one_line_exit_2_and_lose_nothing(tmp_path: Path, pg_url: str) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    local = project / ".mlops" / "mlops.db"
    store = open_store(f"sqlite:///{local}")
    run = store.create_run(name="precious")
    store.close()
    foreign = tmp_path / "other.db"
    import sqlite3

    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    admin_head = pg_url.rpartition("@")[2]
    foreign_pg = pg.create_database(pg_url, f"mlops_foreign_{uuid.uuid4().hex[:12]}")
    pg.admin_execute(foreign_pg, "CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    cases = {
        "foreign postgresql": foreign_pg,
        "same": f"sqlite:///{local}",
        "unreachable": "postgresql+psycopg://alice:s3cr3t-pw@127.0.0.1:1/team",
        "foreign": f"sqlite:///{foreign}",
        "wrong password": f"postgresql+psycopg://alice:s3cr3t-pw@{admin_head}",
        "a path, not a URL": str(local),
        "no scheme": "alice:s3cr3t-pw@db.example/team",
    }
    for label, url in cases.items():
        done = cli("sync", "push", "--remote", url, cwd=project)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2, (label, done.stdout, done.stderr)
        assert len(lines) == 1 and lines[0].startswith("Error: "), (label, done.stderr)
        assert "s3cr3t-pw" not in done.stdout + done.stderr, label
        assert "Traceback" not in done.stderr
    assert "did not create" in cli("sync", "push", "--remote", cases["foreign"], cwd=project).stderr
    assert "another program" in cli("sync", "push", "--remote", foreign_pg, cwd=project).stderr
    from sqlalchemy import create_engine, inspect

    engine = create_engine(foreign_pg)
    try:
        assert inspect(engine).get_table_names() == ["invoices"]  # nothing of ours was created there
    finally:
        engine.dispose()
    with sqlite3.connect(foreign) as conn:  # the other program's database was not touched
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")] == ["invoices"]
    no_remote = cli("sync", "push", cwd=project)
    assert no_remote.returncode == 2 and "no remote" in no_remote.stderr
    check = open_store(f"sqlite:///{local}", create=False)
    try:
        assert check.get_run(run.id).name == "precious"
        assert not check.sync_watermark("sqlite:///x")  # type: ignore[attr-defined]
    finally:
        check.close()


def test_a_password_is_never_stored_in_the_watermark(tmp_path: Path, pg_url: str) -> None:
    with workspace_at(tmp_path, "laptop") as laptop:
        laptop.store.create_run(name="a")
        team = pg.create_database(pg_url, f"mlops_sync_{uuid.uuid4().hex[:12]}")
        sync(laptop, "push", remote=team)
        from sqlalchemy import text

        with laptop.store.engine.connect() as conn:  # type: ignore[attr-defined]
            stored = [r[0] for r in conn.execute(text("SELECT remote FROM sync_runs UNION SELECT remote FROM "
                                                      "sync_remotes"))]
        from jupyter_mlops.store.engine import redact_url

        assert stored == [redact_url(team)]


def test_param_edit_keeps_history_order(tmp_path: Path, remote: str) -> None:
    with workspace_at(tmp_path, "laptop") as laptop:
        run = laptop.store.create_run(name="p")
        laptop.store.log_batch(run.id, params=[Param("lr", 0.1)])
        sync(laptop, "push", remote=remote)
        laptop.store.log_batch(run.id, params=[Param("lr", 0.2)])
        sync(laptop, "push", remote=remote)
    there = open_store(remote, create=False)
    try:
        assert [p.value for p in there.param_history(run.id, "lr")] == [0.1, 0.2]
        assert there.get_run(run.id).params == {"lr": 0.2}
    finally:
        there.close()
