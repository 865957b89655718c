"""capture.hashing: streamed file hashes, the stat cache, folder manifests."""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import blake3
import pytest
import xxhash

from jupyter_mlops.capture import hashing
from jupyter_mlops.errors import InvalidInput, NotFound

OLD_NS = 1_600_000_000 * 10**9  # a fixed mtime far in the past: not "racily fresh"


class CountingCache:
    """A real dict-backed StatCache that counts lookups and stores."""

    def __init__(self) -> None:
        self.entries: dict[tuple[tuple[str, int, int, int, int], str], str] = {}
        self.gets = 0
        self.puts = 0

    def get_hash(self, key: tuple[str, int, int, int, int], algorithm: str) -> str | None:
        self.gets += 1
        return self.entries.get((key, algorithm))

    def put_hash(self, key: tuple[str, int, int, int, int], algorithm: str, digest: str) -> None:
        self.puts += 1
        self.entries[(key, algorithm)] = digest


@pytest.fixture(autouse=True)
def fresh_memo() -> None:
    hashing._MEMO.clear()


def write(path: Path, data: bytes, mtime_ns: int | None = OLD_NS) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


@pytest.mark.parametrize(
    ("algorithm", "reference"),
    [
        ("xxh3_128", lambda data: xxhash.xxh3_128(data).hexdigest()),
        ("blake3", lambda data: blake3.blake3(data).hexdigest()),
        ("md5", lambda data: hashlib.md5(data).hexdigest()),
        ("sha256", lambda data: hashlib.sha256(data).hexdigest()),
    ],
)
def test_hash_file_matches_reference_implementation(tmp_path: Path, algorithm: str, reference) -> None:
    data = os.urandom(300_000)
    path = write(tmp_path / "f.bin", data)
    assert hashing.hash_file(path, algorithm=algorithm) == f"{algorithm}:{reference(data)}"


def test_multi_block_pipelined_read_equals_one_shot_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Shrink the thresholds so a small file exercises the threaded two-buffer reader over many blocks.
    monkeypatch.setattr(hashing, "BLOCK_SIZE", 4096)
    monkeypatch.setattr(hashing, "PIPELINE_MIN_SIZE", 1)
    data = os.urandom(4096 * 25 + 123)
    path = write(tmp_path / "big.bin", data)
    assert hashing.hash_file(path) == "xxh3_128:" + xxhash.xxh3_128(data).hexdigest()


def test_empty_file_hashes(tmp_path: Path) -> None:
    path = write(tmp_path / "empty", b"")
    assert hashing.hash_file(path) == "xxh3_128:" + xxhash.xxh3_128(b"").hexdigest()


def test_unchanged_file_is_served_from_the_persistent_cache(tmp_path: Path) -> None:
    cache = CountingCache()
    path = write(tmp_path / "f.csv", b"a,b\n1,2\n")
    first = hashing.hash_file(path, cache)
    assert cache.puts == 1
    hashing._MEMO.clear()  # a new process: only the persistent cache remembers
    path.write_bytes(b"XXXXXXXX")  # same size and (restored) mtime: identity unchanged, so the cache answers
    os.utime(path, ns=(OLD_NS, OLD_NS))
    assert hashing.hash_file(path, cache) == first
    assert cache.gets >= 1


def test_changed_content_with_new_mtime_is_rehashed(tmp_path: Path) -> None:
    cache = CountingCache()
    path = write(tmp_path / "f.csv", b"a,b\n1,2\n")
    first = hashing.hash_file(path, cache)
    write(path, b"a,b\n1,3\n", mtime_ns=OLD_NS + 1)
    assert hashing.hash_file(path, cache) != first


def test_racily_fresh_file_is_hashed_but_not_cached(tmp_path: Path) -> None:
    cache = CountingCache()
    path = write(tmp_path / "fresh", b"just written", mtime_ns=None)
    hashing.hash_file(path, cache)
    assert cache.puts == 0
    assert hashing._MEMO.get_hash(hashing.stat_key(path), "xxh3_128") is None


def test_broken_persistent_cache_does_not_stop_hashing(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        def get_hash(self, key, algorithm):
            raise RuntimeError("database is locked")

        def put_hash(self, key, algorithm, digest):
            raise RuntimeError("database is locked")

    path = write(tmp_path / "f", b"data")
    with caplog.at_level(logging.WARNING, logger="jupyter_mlops.capture.hashing"):
        assert hashing.hash_file(path, Broken()).startswith("xxh3_128:")
    assert "hash cache" in caplog.text


def test_missing_file_and_bad_algorithm_raise_mlops_errors(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="file not found"):
        hashing.hash_file(tmp_path / "nope")
    with pytest.raises(InvalidInput, match="unknown hash algorithm 'crc'"):
        hashing.hash_file(write(tmp_path / "f", b"x"), algorithm="crc")
    with pytest.raises(InvalidInput, match="not a regular file: .* use hash_path"):
        hashing.hash_file(tmp_path)


def test_try_hash_path_logs_and_returns_none(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert hashing.try_hash_path(tmp_path / "missing.csv") is None
    assert len(caplog.records) == 1


def make_tree(root: Path) -> None:
    write(root / "b.txt", b"bee")
    write(root / "a" / "x.txt", b"ex")
    write(root / "a" / "y.txt", b"why")


def test_folder_hash_is_a_sorted_manifest(tmp_path: Path) -> None:
    make_tree(tmp_path / "d")
    result = hashing.hash_path(tmp_path / "d")
    assert (result.kind, result.size) == ("dir", 8)
    manifest = "".join(
        f"{rel}\t{hashing.hash_file(tmp_path / 'd' / rel)}\t{size}\n"
        for rel, size in (("a/x.txt", 2), ("a/y.txt", 3), ("b.txt", 3))
    )
    assert result.hash == hashing.hash_bytes(manifest.encode())


def test_folder_hash_ignores_creation_order_and_threads(tmp_path: Path) -> None:
    make_tree(tmp_path / "one")
    write(tmp_path / "two" / "a" / "y.txt", b"why")
    write(tmp_path / "two" / "b.txt", b"bee")
    write(tmp_path / "two" / "a" / "x.txt", b"ex")
    single = hashing.hash_tree(tmp_path / "one", workers=1)
    assert single == hashing.hash_tree(tmp_path / "two", workers=4)


@pytest.mark.parametrize("change", ["rename", "edit", "add", "remove"])
def test_any_folder_change_changes_the_hash(tmp_path: Path, change: str) -> None:
    root = tmp_path / "d"
    make_tree(root)
    before = hashing.hash_path(root).hash
    if change == "rename":
        (root / "b.txt").rename(root / "c.txt")
    elif change == "edit":
        write(root / "a" / "x.txt", b"EX", mtime_ns=OLD_NS + 5)
    elif change == "add":
        write(root / "new.txt", b"")
    else:
        (root / "a" / "y.txt").unlink()
    assert hashing.hash_path(root).hash != before


def test_hash_path_of_file_reports_size(tmp_path: Path) -> None:
    result = hashing.hash_path(write(tmp_path / "f", b"12345"))
    assert (result.kind, result.size) == ("file", 5)


def test_memory_cache_is_bounded() -> None:
    cache = hashing.MemoryStatCache(max_entries=2)
    for i in range(3):
        cache.put_hash((f"/f{i}", 1, i, 1, 1), "xxh3_128", f"h{i}")
    assert cache.get_hash(("/f0", 1, 0, 1, 1), "xxh3_128") is None
    assert cache.get_hash(("/f2", 1, 2, 1, 1), "xxh3_128") == "h2"
