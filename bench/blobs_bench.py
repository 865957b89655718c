"""Benchmark: blob store put/get, the local folder against S3 (moto's standalone server on 127.0.0.1), ADR-088.

Usage: .venv/bin/python bench/blobs_bench.py [--rounds 5] [--mib 64]

Per store, median of ``--rounds``:
  * ``put file``: a new ``--mib`` MiB file (one changed byte per round, so nothing dedupes): hash + upload;
  * ``put file again``: the same file once more (hash + an existence check; nothing is uploaded);
  * ``get cold``: ``local_path`` of that blob with an empty cache (download + hash check + rename);
  * ``get warm``: ``get_bytes`` of a 1 KiB snapshot already in the cache (for S3: a cache hit, no request);
  * ``put snapshot``: 100 new 1 KiB JSON snapshots (``put_json``), per snapshot;
  * peer (S3 only): the same file straight through s3fs ``put_file``/``get_file`` (no hash, no check, no cache).
The S3 numbers measure this client and moto on one machine (moto is Python, far slower than real S3 per request);
they say what the client adds, not what a bucket delivers. Writes bench/results/blobs.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from timing import median_time

sys.path.insert(0, str(Path(__file__).parents[1]))

from jupyter_mlops.store import open_blobs  # noqa: E402

MIB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_moto(port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(600):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=2):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("moto server did not start")


def measure(name: str, make, source: Path, rounds: int) -> dict[str, float]:
    """``make(cache_dir)`` opens the store under test."""
    size = source.stat().st_size
    work = Path(tempfile.mkdtemp(prefix=f"blobs-bench-{name}-"))
    blobs = make(work / "cache")
    counter = [0]
    digests: list[str] = []

    def put_new() -> None:
        counter[0] += 1
        with source.open("r+b") as fh:
            fh.write(counter[0].to_bytes(8, "little"))
        digests.append(blobs.put_file(source)[0])

    put = median_time(put_new, rounds)
    again = median_time(lambda: blobs.put_file(source), rounds)
    cold_caches = iter(range(rounds))

    def get_cold() -> None:
        reader = make(work / f"cold-{next(cold_caches)}")
        reader.local_path(digests[-1])

    cold = median_time(get_cold, rounds) if name != "local" else median_time(
        lambda: blobs.local_path(digests[-1]).read_bytes(), rounds)
    snapshot = blobs.put_json({"cells": ["x" * 1000]})
    blobs.get_bytes(snapshot)
    warm = median_time(lambda: blobs.get_bytes(snapshot), max(rounds, 50))
    snapshots = iter(range(10**9))
    small = median_time(lambda: [blobs.put_json({"n": next(snapshots), "pad": "y" * 1000}) for _ in range(100)],
                        rounds) / 100
    peer: dict[str, float] = {}
    if name != "local":
        # The same transfers straight through s3fs, without hashing, the existence check or the cache.
        fs, extra = blobs.fs, {"chunksize": blobs.part_size, "max_concurrency": blobs.concurrency}
        peer["peer_s3fs_put_s"] = median_time(lambda: fs.put_file(str(source), "bench/peer/obj", **extra), rounds)
        peer["peer_s3fs_get_s"] = median_time(lambda: fs.get_file("bench/peer/obj", str(work / "peer.bin")), rounds)
    shutil.rmtree(work, ignore_errors=True)
    return {**peer, "put_file_s": put, "put_file_MiB_s": size / MIB / put, "put_again_s": again,
            "get_cold_s": cold, "get_cold_MiB_s": size / MIB / cold, "get_warm_ms": warm * 1000,
            "put_snapshot_ms": small * 1000}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--mib", type=int, default=64)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="blobs-bench-"))
    source = folder / "artifact.bin"
    with source.open("wb") as fh:
        for _ in range(args.mib):
            fh.write(os.urandom(MIB))
    port = free_port()
    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": str(folder / "none"),
                       "AWS_SHARED_CREDENTIALS_FILE": str(folder / "none")})
    moto = start_moto(port)
    try:
        import boto3

        boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}").create_bucket(Bucket="bench")
        options = {"endpoint_url": f"http://127.0.0.1:{port}"}
        results = {
            "local": measure("local", lambda cache: open_blobs(folder / "local"), source, args.rounds),
            "s3 (moto)": measure("s3", lambda cache: open_blobs("s3://bench/blobs", cache_dir=cache,
                                                                options=options), source, args.rounds),
        }
    finally:
        moto.kill()
        shutil.rmtree(folder, ignore_errors=True)
    load = os.getloadavg()[0]
    print(f"{args.mib} MiB file, {args.rounds} rounds, load {load:.1f}")
    columns = list(results["s3 (moto)"])
    print("store".ljust(12) + "".join(c.rjust(17) for c in columns))
    for name, row in results.items():
        print(name.ljust(12) + "".join(f"{row[c]:17.3f}" if c in row else "-".rjust(17) for c in columns))
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "blobs.json").write_text(json.dumps({"mib": args.mib, "rounds": args.rounds, "load": load,
                                                "results": results}, indent=2))


if __name__ == "__main__":
    main()
