"""Discovery of notebooks, --changed-since in a real git repository, and deterministic shards."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from jupyter_mlops.errors import InvalidInput
from jupyter_mlops.notebooks.smoke.discover import discover, load_durations, parse_shard, select_shard
from jupyter_mlops.notebooks.smoke.options import SmokeOptions
from jupyter_mlops.notebooks.smoke.run import collect, output_path


def touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    touch(tmp_path, "a.ipynb", "sub/b.ipynb", "sub/deeper/c.ipynb", "sub/.ipynb_checkpoints/b-checkpoint.ipynb",
          "build/x.ipynb", "dist/y.ipynb", ".venv/z.ipynb", "node_modules/n.ipynb", "lib/site-packages/s.ipynb",
          ".hidden/h.ipynb", "notes.txt")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def names(paths: list[Path]) -> list[str]:
    return [p.as_posix() for p in paths]


def test_folders_are_searched_recursively_skipping_checkpoints_build_and_hidden(tree: Path):
    assert names(discover(["."])) == ["a.ipynb", "sub/b.ipynb", "sub/deeper/c.ipynb"]


def test_globs_files_and_duplicates(tree: Path):
    assert names(discover(["sub/**/*.ipynb", "a.ipynb", "./a.ipynb"])) == [
        "sub/b.ipynb", "sub/deeper/c.ipynb", "a.ipynb"]
    assert names(discover(["**/*.ipynb"])) == ["a.ipynb", "sub/b.ipynb", "sub/deeper/c.ipynb"]
    assert names(discover(["build/x.ipynb"])) == ["build/x.ipynb"]  # named explicitly: taken


def test_missing_paths_and_empty_globs_are_usage_errors(tree: Path):
    with pytest.raises(InvalidInput, match="nope.ipynb: no such file"):
        discover(["nope.ipynb"])
    with pytest.raises(InvalidInput, match="matches no files"):
        discover(["*.py"])
    (tree / "empty").mkdir()
    with pytest.raises(InvalidInput, match="no notebooks found"):
        collect(SmokeOptions(paths=["empty"]))


def test_shards_partition_the_notebooks_deterministically():
    nbs = [Path(f"nb{i}.ipynb") for i in range(10)]
    shards = [select_shard(nbs, k, 3) for k in (1, 2, 3)]
    assert sorted(sum(shards, [])) == sorted(nbs)
    assert sorted(len(s) for s in shards) == [3, 3, 4]
    # the same notebooks land in the same shard whatever order they were discovered in
    assert [set(select_shard(nbs[::-1], k, 3)) for k in (1, 2, 3)] == [set(s) for s in shards]


def test_shards_balance_recorded_durations_longest_first():
    nbs = [Path(n) for n in ("a.ipynb", "b.ipynb", "c.ipynb", "d.ipynb", "e.ipynb")]
    durations = {"a.ipynb": 10.0, "b.ipynb": 6.0, "c.ipynb": 5.0, "d.ipynb": 4.0, "e.ipynb": 3.0}
    first, second = select_shard(nbs, 1, 2, durations), select_shard(nbs, 2, 2, durations)
    assert names(first) == ["a.ipynb", "d.ipynb"]  # 10 + 4
    assert names(second) == ["b.ipynb", "c.ipynb", "e.ipynb"]  # 6 + 5 + 3
    # a notebook missing from the report costs the median (5) and is still placed
    del durations["c.ipynb"]
    placed = select_shard(nbs, 1, 2, durations) + select_shard(nbs, 2, 2, durations)
    assert sorted(names(placed)) == names(nbs)


def test_parse_shard_and_durations_file(tmp_path: Path):
    assert parse_shard("2/4") == (2, 4)
    for bad in ("0/2", "3/2", "x", "1/0", "1-2"):
        with pytest.raises(InvalidInput, match="expected K/N"):
            parse_shard(bad)
    report = tmp_path / "r.json"
    report.write_text(json.dumps({"notebooks": [{"path": "a.ipynb", "duration": 1.5}]}))
    assert load_durations(report) == {"a.ipynb": 1.5}
    report.write_text("[1]")
    with pytest.raises(InvalidInput, match="not an nb-smoke --json report"):
        load_durations(report)


def git(cwd: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@x"}
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env=env)


def test_changed_since_selects_modified_and_untracked_notebooks(tree: Path):
    git(tree, "init", "-q")
    git(tree, "add", "a.ipynb", "sub")
    git(tree, "commit", "-qm", "base")
    (tree / "sub" / "b.ipynb").write_text('{"changed": 1}')
    touch(tree, "new.ipynb")
    chosen = collect(SmokeOptions(paths=["."], changed_since="HEAD"))
    assert names(chosen) == ["new.ipynb", "sub/b.ipynb"]
    with pytest.raises(InvalidInput, match="unknown revision"):
        collect(SmokeOptions(paths=["."], changed_since="no-such-rev"))


def test_output_never_overwrites_an_input(tree: Path):
    assert output_path(Path("sub/b.ipynb"), Path("out")) == Path("out/sub/b.ipynb")
    with pytest.raises(InvalidInput, match="would overwrite"):
        output_path(Path("sub/b.ipynb"), Path("."))
