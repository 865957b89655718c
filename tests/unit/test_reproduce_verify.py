"""What ``reproduce`` checks before executing: data hashes and schemas, the environment, git."""

from __future__ import annotations

import platform
import subprocess
from pathlib import Path

from jupyter_mlops.app.reproduce import verify
from jupyter_mlops.capture import env, frames, hashing
from jupyter_mlops.entities import DataInput, Run, RunStatus


def _run(*data: DataInput, **fields) -> Run:
    return Run(id="r1", name="r", experiment="e", status=RunStatus.FINISHED, start_time=0.0, data_inputs=data,
               **fields)


def _recorded(path: Path) -> DataInput:
    result = hashing.hash_path(path)
    return DataInput(name=path.name, hash=result.hash, path=str(path), size=result.size,
                     schema=frames.describe_tabular_file(path))


def test_unchanged_changed_missing_and_in_memory_inputs(tmp_path: Path) -> None:
    same, changed, gone = tmp_path / "same.csv", tmp_path / "changed.csv", tmp_path / "gone.csv"
    for path in (same, changed, gone):
        path.write_text("a,b\n1,x\n2,y\n", encoding="utf-8")
    inputs = [_recorded(same), _recorded(changed), _recorded(gone)]
    frame = DataInput(name="df", hash="xxh3_128:" + "0" * 32, kind="dataframe")
    output = DataInput(name="out", hash="xxh3_128:" + "1" * 32, path=str(tmp_path / "nowhere"), role="output")
    changed.write_text("a,b,c\n1,2,3\n2,3,4\n5,6,7\n", encoding="utf-8")
    gone.unlink()
    checks = verify.check_data(_run(*inputs, frame, output), hashing.MemoryStatCache())
    assert [(c.name, c.status) for c in checks] == [("same.csv", "unchanged"), ("changed.csv", "changed"),
                                                    ("gone.csv", "missing"), ("df", "unchecked")]
    moved = checks[1]
    assert moved.old_hash == inputs[1].hash != moved.new_hash and moved.new_size == changed.stat().st_size
    text_dtype = inputs[1].schema["columns"][1]["dtype"]
    assert moved.schema_diff == {"added": ["c"], "removed": [],
                                 "retyped": [{"name": "b", "dtypes": [text_dtype, "int64"]}], "rows": [2, 3]}


def test_environment_differences_name_python_and_packages() -> None:
    now = env.packages()
    name = next(iter(now))
    recorded = {"python": {"version": "2.7.18"}, "packages": {name: "0.0.0", "surely-not-installed-pkg": "1.0"}}
    check = verify.check_env(recorded)
    assert check.differs and check.python == ["2.7.18", platform.python_version()]
    changes = {p["name"]: p["change"] for p in check.packages}
    assert changes[name] == "bumped" and changes["surely-not-installed-pkg"] == "removed"
    assert not verify.check_env({"python": {"version": platform.python_version()}, "packages": now}).differs
    assert verify.check_env(None).recorded is False


def test_git_commit_reachability_and_dirty_tree(tmp_path: Path) -> None:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True, text=True).stdout.strip()

    git("init", "-q")
    (tmp_path / "f.txt").write_text("1", encoding="utf-8")
    git("add", "f.txt")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    head = git("rev-parse", "HEAD")
    clean = verify.check_git(_run(git_commit=head, git_dirty=False), tmp_path)
    assert (clean.commit_reachable, clean.dirty_now, clean.head) == (True, False, head)
    (tmp_path / "f.txt").write_text("2", encoding="utf-8")
    lost = verify.check_git(_run(git_commit="0" * 40, git_dirty=True), tmp_path)
    assert (lost.commit_reachable, lost.dirty_now, lost.recorded_dirty) == (False, True, True)
