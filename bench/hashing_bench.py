"""Content hashing against plain reading, side by side in one run; DataFrame hashing against its buffers.

Measures, with the file already in the page cache (it is read once before timing):
  * read      — plain ``readinto`` of the whole file into one reused 8 MiB buffer (the ceiling);
  * xxh3_128  — ``capture.hashing.hash_file`` (the default algorithm, pipelined reader), caches cleared;
  * xxh3_seq  — the same hash read and hashed in one thread (what the pipeline is compared with);
  * xxh3_mmap — xxh3 over an mmap of the file (fastest, rejected: SIGBUS if the file shrinks meanwhile);
  * blake3, md5 — ``hash_file(algorithm=...)``;
  * rehash    — ``hash_file`` of the unchanged file again: in-process memo, and persistent cache only;
  * frame     — ``frames.describe_object`` of a 1M x 10 float64 DataFrame vs xxh3 over its column buffers,
                and of a frame with 2 string columns (Arrow-backed in pandas 3) vs its buffers;
  * cells     — ``cells.analyze`` of a 20-line cell without and with file reads (uncached), and cached.
The order of the file measurements rotates between rounds (the machine is noisy). Medians are printed and
written to bench/results/hashing.json.

Usage: .venv/bin/python bench/hashing_bench.py [--rounds 5] [--size-mib 1024] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import ast
import json
import mmap
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import xxhash

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from jupyter_mlops.capture import cells, frames, hashing  # noqa: E402

CELL_PLAIN = "\n".join(
    ["x = 1", "y = 2", "model = make_model(x, y)", "for epoch in range(10):", "    loss = model.step(epoch)",
     "    history.append(loss)", "def helper(a, b):", "    return a * b + x", "result = helper(3, 4)",
     "acc = compute_accuracy(model, data)", "z = [i * i for i in range(100)]", "summary = dict(x=x, y=y, acc=acc)",
     "if acc > 0.9:", "    print('good')", "else:", "    print('bad')", "total = sum(z)", "mean = total / len(z)",
     "print(mean)", "done = True"]
)  # fmt: skip
CELL_READS = CELL_PLAIN.replace("x = 1", "df = pd.read_csv('data/train.csv')").replace(
    "y = 2", "cfg = yaml.safe_load(open('params.yaml'))"
)


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def plain_read(path: Path) -> None:
    buffer = bytearray(hashing.BLOCK_SIZE)
    with open(path, "rb", buffering=0) as stream:
        while stream.readinto(buffer):
            pass


def xxh3_sequential(path: Path) -> str:
    hasher = xxhash.xxh3_128()
    buffer = bytearray(hashing.BLOCK_SIZE)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as stream:
        while n := stream.readinto(buffer):
            hasher.update(view[:n])
    return hasher.hexdigest()


def xxh3_mmap(path: Path) -> str:
    with open(path, "rb") as stream, mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        return xxhash.xxh3_128(mapped).hexdigest()


def fresh(algorithm: str, path: Path) -> Callable[[], object]:
    def run() -> object:
        hashing._MEMO.clear()
        return hashing.hash_file(path, algorithm=algorithm)

    return run


def make_file(folder: Path, size_mib: int) -> Path:
    path = folder / "hashing-bench.bin"
    if not path.exists() or path.stat().st_size != size_mib << 20:
        block = os.urandom(64 << 20)
        with open(path, "wb") as stream:
            for _ in range(size_mib // 64):
                stream.write(block[: 64 << 20])
            stream.write(os.urandom((size_mib % 64) << 20))
    old = time.time_ns() - 3_600_000_000_000  # an hour ago: outside the racy window, so cacheable
    os.utime(path, ns=(old, old))
    plain_read(path)  # into the page cache
    return path


def bench_files(path: Path, rounds: int) -> dict[str, list[float]]:
    cases: dict[str, Callable[[], object]] = {
        "read": lambda: plain_read(path),
        "xxh3_128": fresh("xxh3_128", path),
        "xxh3_seq": lambda: xxh3_sequential(path),
        "xxh3_mmap": lambda: xxh3_mmap(path),
        "blake3": fresh("blake3", path),
        "md5": fresh("md5", path),
    }
    try:
        import blake3  # noqa: F401
    except ImportError:
        del cases["blake3"]  # optional dependency missing on this machine
    names = list(cases)
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(rounds):
        order = names[round_index % len(names) :] + names[: round_index % len(names)]
        for name in order:
            times[name].append(timed(cases[name]))
    return times


class DictCache:
    def __init__(self) -> None:
        self.entries: dict[object, str] = {}

    def get_hash(self, key: object, algorithm: str) -> str | None:
        return self.entries.get((key, algorithm))

    def put_hash(self, key: object, algorithm: str, digest: str) -> None:
        self.entries[(key, algorithm)] = digest


def bench_rehash(path: Path, calls: int = 1000) -> dict[str, float]:
    cache = DictCache()
    hashing._MEMO.clear()
    hashing.hash_file(path, cache)
    memo = [timed(lambda: hashing.hash_file(path, cache)) for _ in range(calls)]
    persistent = []
    for _ in range(calls):
        hashing._MEMO.clear()
        persistent.append(timed(lambda: hashing.hash_file(path, cache)))
    return {"memo_ms": statistics.median(memo) * 1e3, "persistent_cache_ms": statistics.median(persistent) * 1e3}


def column_buffers_hash(df: object) -> str:
    import numpy as np

    hasher = xxhash.xxh3_128()
    for name in df.columns:
        array = df[name].array
        if hasattr(array, "_pa_array"):
            for chunk in array._pa_array.chunks:
                for buffer in chunk.buffers():
                    if buffer is not None:
                        hasher.update(memoryview(buffer))
        else:
            hasher.update(np.ascontiguousarray(df[name].to_numpy()))
    return hasher.hexdigest()


def bench_frames(rounds: int) -> dict[str, dict[str, float]]:
    try:
        import numpy as np
        import pandas as pd
    except ImportError:
        return {}  # e.g. a bare benchmark machine: the file numbers still stand
    rng = np.random.default_rng(0)
    numeric = pd.DataFrame(rng.random((1_000_000, 10)), columns=[f"c{i}" for i in range(10)])
    mixed = numeric.copy()
    for name in ("c8", "c9"):
        mixed[name] = pd.Series(rng.integers(0, 10**9, 1_000_000)).astype(str).astype("str")
    result = {}
    for label, df in (("numeric_1m_x10", numeric), ("two_string_columns_1m_x10", mixed)):
        ours = [timed(lambda df=df: frames.describe_object(df)) for _ in range(rounds)]
        buffers = [timed(lambda df=df: column_buffers_hash(df)) for _ in range(rounds)]
        result[label] = {
            "describe_object_ms": statistics.median(ours) * 1e3,
            "column_buffers_ms": statistics.median(buffers) * 1e3,
            "ratio": statistics.median(ours) / statistics.median(buffers),
        }
    return result


def bench_cells(calls: int = 3000) -> dict[str, float]:
    result = {}
    for label, source in (("plain_20_lines", CELL_PLAIN), ("with_reads_20_lines", CELL_READS)):
        tree = ast.parse(source)
        samples = []
        for _ in range(calls):
            cells._CACHE.clear()
            samples.append(timed(lambda tree=tree, source=source: cells.analyze(tree, source)))
        result[f"{label}_us"] = statistics.median(samples) * 1e6
    tree = ast.parse(CELL_PLAIN)
    cells.analyze(tree, CELL_PLAIN)
    result["cached_us"] = statistics.median(timed(lambda: cells.analyze(tree, CELL_PLAIN)) for _ in range(calls)) * 1e6
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--dir", default=tempfile.gettempdir())
    args = parser.parse_args()

    path = make_file(Path(args.dir), args.size_mib)
    gib = args.size_mib / 1024
    times = bench_files(path, args.rounds)
    medians = {name: statistics.median(samples) for name, samples in times.items()}
    files = {
        name: {"median_s": value, "gib_per_s": gib / value, "vs_read": medians["read"] / value}
        for name, value in medians.items()
    }
    report = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "file_mib": args.size_mib,
        "rounds": args.rounds,
        "files": files,
        "rehash_unchanged": bench_rehash(path),
        "frames": bench_frames(args.rounds),
        "cells": bench_cells(),
    }
    print(f"{args.size_mib} MiB file in the page cache, {args.rounds} rounds, medians:")
    for name, row in files.items():
        print(f"  {name:10s} {row['gib_per_s']:6.2f} GiB/s  {row['vs_read']:6.1%} of plain read")
    print(f"  rehash unchanged: {report['rehash_unchanged']}")
    for label, row in report["frames"].items():
        print(f"  {label}: {row}")
    print(f"  cells: {report['cells']}")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "hashing.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
