"""Blobs on S3 (ADR-088/089), against a real S3 API server: moto's standalone server, a subprocess on 127.0.0.1.

Upload and layout, dedupe (counted in the server's own request log), read back through the cache with hash
verification, a corrupt object refused, multipart upload of a large file, the server killed mid-upload (one clear
line, then a retry after the restart that completes), and a tracked run end to end through the CLI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
import s3

from jupyter_mlops.config import load_settings
from jupyter_mlops.errors import Conflict, NotFound, StoreUnavailable
from jupyter_mlops.store import open_blobs, open_store
from jupyter_mlops.store.blobs import digest_bytes
from jupyter_mlops.store.remote_blobs import FsspecBlobStore
from jupyter_mlops.tracking import models
from jupyter_mlops.tracking.run import start

MIB = 1024 * 1024


@pytest.fixture
def aws_env(s3_server, monkeypatch):
    """Credentials the standard way (environment), for this process."""
    for key, value in s3_server.env.items():
        monkeypatch.setenv(key, value)
    return s3_server


@pytest.fixture
def bucket(aws_env) -> str:
    name = f"b-{uuid.uuid4().hex[:12]}"
    aws_env.client().create_bucket(Bucket=name)
    return name


def remote(server: s3.MotoS3, url: str, cache: Path, **tuning) -> FsspecBlobStore:
    """The store under test on this server; ``tuning`` sets retries, backoff, part size and concurrency."""
    if tuning:
        return FsspecBlobStore(url, cache_dir=cache, options={"endpoint_url": server.endpoint}, **tuning)
    store = open_blobs(url, cache_dir=cache, options={"endpoint_url": server.endpoint})
    assert isinstance(store, FsspecBlobStore)
    return store


def keys(server: s3.MotoS3, bucket: str) -> dict[str, str]:
    """Every object of the bucket: key → ETag."""
    listing = server.client().list_objects_v2(Bucket=bucket)
    return {item["Key"]: item["ETag"] for item in listing.get("Contents", [])}


def test_upload_lands_content_addressed_and_a_second_put_uploads_nothing(aws_env, bucket, tmp_path):
    blobs = remote(aws_env, f"s3://{bucket}/team/blobs", tmp_path / "cache")
    digest = blobs.put_bytes(b"hello s3")
    hexdigits = digest.partition(":")[2]
    key = f"team/blobs/xxh3_128/{hexdigits[:2]}/{hexdigits[2:]}"
    assert keys(aws_env, bucket) == {key: keys(aws_env, bucket)[key]}
    assert aws_env.requests("PUT", key) == 1

    source = tmp_path / "same.bin"
    source.write_bytes(b"hello s3")
    again = remote(aws_env, f"s3://{bucket}/team/blobs", tmp_path / "other-cache")
    assert again.put_bytes(b"hello s3") == digest
    assert again.put_file(source) == (digest, len(b"hello s3"))
    assert aws_env.requests("PUT", key) == 1, "an object already stored must not be uploaded again"
    assert len(keys(aws_env, bucket)) == 1 and again.exists(digest)


def test_read_back_goes_through_a_verified_cache(aws_env, bucket, tmp_path):
    url = f"s3://{bucket}/p"
    payload = os.urandom(200_000)
    digest = remote(aws_env, url, tmp_path / "writer").put_bytes(payload)
    hexdigits = digest.partition(":")[2]

    reader = remote(aws_env, url, tmp_path / "reader")
    assert reader.get_bytes(digest) == payload
    cached = reader.local_path(digest)
    assert cached.is_relative_to(tmp_path / "reader") and cached.read_bytes() == payload
    gets = aws_env.requests("GET", hexdigits[2:])
    # A second reader on the same cache folder: no request reaches the server (the blob cannot go stale).
    assert remote(aws_env, url, tmp_path / "reader").get_bytes(digest) == payload
    assert aws_env.requests("GET", hexdigits[2:]) == gets

    with pytest.raises(NotFound, match="no blob"):
        reader.get_bytes("xxh3_128:" + "0" * 32)


def test_a_corrupt_object_is_detected_and_never_cached(aws_env, bucket, tmp_path):
    url = f"s3://{bucket}/p"
    digest = remote(aws_env, url, tmp_path / "writer").put_bytes(b"the real content")
    hexdigits = digest.partition(":")[2]
    aws_env.client().put_object(Bucket=bucket, Key=f"p/xxh3_128/{hexdigits[:2]}/{hexdigits[2:]}", Body=b"tampered")

    reader = remote(aws_env, url, tmp_path / "reader")
    with pytest.raises(Conflict, match="corrupt") as caught:
        reader.get_bytes(digest)
    assert digest_bytes(b"tampered") in caught.value.message
    assert not reader.cache.path_of(digest).exists()
    assert not [p for p in (tmp_path / "reader").rglob("*") if p.is_file()], "no partial download left behind"


def test_a_large_file_goes_up_in_parts_and_comes_back_whole(aws_env, bucket, tmp_path):
    source = tmp_path / "big.bin"
    with source.open("wb") as fh:
        for _ in range(12):
            fh.write(os.urandom(MIB))
    blobs = remote(aws_env, f"s3://{bucket}/p", tmp_path / "cache", part_size=5 * MIB, concurrency=2)
    reported: list[int] = []
    digest, size = blobs.put_file(source, progress=reported.append)
    hexdigits = digest.partition(":")[2]
    assert size == 12 * MIB and sum(reported) == size and len(reported) == 3  # one report per part
    assert aws_env.requests("POST", f"{hexdigits[2:]}?uploads") == 1  # a multipart upload was started
    assert aws_env.requests("PUT", "partNumber=") >= 3
    fetched = remote(aws_env, f"s3://{bucket}/p", tmp_path / "fresh-cache").local_path(digest)
    assert fetched.stat().st_size == size and fetched.read_bytes() == source.read_bytes()


def test_server_killed_mid_upload_gives_one_clear_line_and_the_retry_completes(tmp_path, monkeypatch):
    server = s3.start_server()
    try:
        for key, value in server.env.items():
            monkeypatch.setenv(key, value)
        server.client().create_bucket(Bucket="team")
        source = tmp_path / "model.bin"
        source.write_bytes(os.urandom(11 * MIB))
        blobs = remote(server, "s3://team/runs", tmp_path / "cache", part_size=5 * MIB, concurrency=1, retries=2,
                       backoff=0.1)

        def cut_after_first_part(_: int) -> None:
            server.stop()
        with pytest.raises(StoreUnavailable) as caught:
            blobs.put_file(source, progress=cut_after_first_part)
        message = caught.value.message
        assert "\n" not in message and "s3://team/runs" in message and "after 2 tries" in message
        assert s3.SECRET not in message and s3.KEY_ID not in message
        assert server.requests("PUT", "partNumber=1&") == 1, "the first part was uploaded before the cut"

        server.start()  # an empty server: the bucket is created again, as an operator would restore it
        server.client().create_bucket(Bucket="team")
        digest, size = blobs.put_file(source)
        assert size == 11 * MIB and blobs.exists(digest)
        hexdigits = digest.partition(":")[2]
        head = server.client().head_object(Bucket="team", Key=f"runs/xxh3_128/{hexdigits[:2]}/{hexdigits[2:]}")
        assert head["ContentLength"] == size
    finally:
        server.close()


def test_an_unreachable_server_fails_fast_with_the_url_and_no_credentials(aws_env, tmp_path):
    blobs = FsspecBlobStore("s3://nowhere/p", cache_dir=tmp_path, retries=2, backoff=0.05,
                            options={"endpoint_url": f"http://127.0.0.1:{s3.free_port()}"})
    expected = r"^blob store s3://nowhere/p unreachable: cannot check .* after 2 tries"
    with pytest.raises(StoreUnavailable, match=expected):
        blobs.put_bytes(b"x")


def test_a_missing_bucket_is_not_retried(aws_env, tmp_path):
    blobs = remote(aws_env, "s3://no-such-bucket-here/p", tmp_path, retries=3, backoff=5)
    with pytest.raises(StoreUnavailable, match="s3://no-such-bucket-here/p"):
        blobs.put_bytes(b"x")  # backoff=5 s with 3 tries would take 15 s if it were retried


def test_a_model_loads_from_the_bucket_through_a_fresh_cache(aws_env, bucket, tmp_path):
    model = tmp_path / "model.onnx"
    model.write_bytes(os.urandom(50_000))
    url = f"s3://{bucket}/models"
    settings = load_settings(store_url=f"sqlite:///{tmp_path / 'mlops.db'}", start=tmp_path, environ={})
    with open_store(settings.store_url) as store:
        run = start(store, remote(aws_env, url, tmp_path / "trainer-cache"), settings, name="train",
                    capture_context=False)
        version = run.log_model(model, "churn")
        run.end()
        loaded = models.load_version(remote(aws_env, url, tmp_path / "server-cache"), version, dest=tmp_path / "out")
    assert Path(loaded).read_bytes() == model.read_bytes()
    assert Path(loaded).is_relative_to(tmp_path / "out")


def run_cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_a_tracked_script_keeps_its_snapshot_and_artifact_in_the_bucket(aws_env, bucket, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    (project / "model.txt").write_text("weights 1 2 3\n")
    (project / "train.py").write_text(textwrap.dedent("""
        import sys
        import jupyter_mlops as mlops

        lr = float(sys.argv[1])
        with mlops.start_run(f"lr-{lr}") as run:
            run.log_params({"lr": lr})
            run.log_metric("auc", 0.8 + lr)
            run.log_artifact("model.txt")
            print(run.id)
    """))
    env = {**os.environ, **aws_env.env, "JUPYTER_MLOPS_BLOBS": f"s3://{bucket}/mlops",
           "JUPYTER_MLOPS_BLOBS_CACHE": str(tmp_path / "writer-cache"),
           "PYTHONPATH": str(Path(__file__).parents[2])}
    env.pop("JUPYTER_MLOPS_STORE", None)
    ids = []
    for lr in ("0.01", "0.1"):
        done = run_cli(["train.py", lr], env, project)
        assert done.returncode == 0, done.stderr
        ids.append(done.stdout.strip().splitlines()[-1])

    with open_store(f"sqlite:///{project / '.mlops' / 'mlops.db'}") as store:
        run = store.get_run(ids[1])
    stored = set(keys(aws_env, bucket))
    for digest in (run.code_hash, run.env_hash, run.artifacts[0].hash):
        hexdigits = digest.partition(":")[2]
        assert f"mlops/xxh3_128/{hexdigits[:2]}/{hexdigits[2:]}" in stored
    assert not (project / ".mlops" / "blobs").exists(), "nothing was written to the local blob folder"

    # Another machine: an empty cache, the same bucket.
    env["JUPYTER_MLOPS_BLOBS_CACHE"] = str(tmp_path / "reader-cache")
    exported = run_cli(["-m", "jupyter_mlops", "runs", "export", ids[1]], env, project)
    assert exported.returncode == 0, exported.stderr
    record = json.loads(exported.stdout)
    assert "run.log_artifact" in json.dumps(record["code"]) and record["env"]["python"]
    shown = run_cli(["-m", "jupyter_mlops", "runs", "show", ids[1], "--format", "json"], env, project)
    assert shown.returncode == 0, shown.stderr
    compared = run_cli(["-m", "jupyter_mlops", "runs", "compare", *ids, "--format", "json"], env, project)
    assert compared.returncode == 0, compared.stderr
    assert '"lr"' in compared.stdout

    # Credentials never enter the store, the records or the output.
    everything = [exported.stdout, shown.stdout, compared.stdout, shown.stderr, compared.stderr]
    everything += [p.read_bytes().decode("latin-1") for p in (project / ".mlops").rglob("*") if p.is_file()]
    client = aws_env.client()
    everything += [client.get_object(Bucket=bucket, Key=key)["Body"].read().decode("latin-1") for key in stored]
    assert not any(s3.SECRET in text or s3.KEY_ID in text for text in everything)


def test_the_cli_refuses_a_blob_url_with_credentials_in_one_line(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    with open_store(f"sqlite:///{tmp_path / '.mlops' / 'mlops.db'}") as store:
        store.create_run(name="baseline")
    env = {**os.environ, "JUPYTER_MLOPS_BLOBS": f"s3://AKIAEXAMPLEKEY:{s3.SECRET}@bucket/blobs",
           "PYTHONPATH": str(Path(__file__).parents[2])}
    env.pop("JUPYTER_MLOPS_STORE", None)
    done = run_cli(["-m", "jupyter_mlops", "runs", "show", "baseline"], env, tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "s3://***@bucket/blobs" in done.stderr
    assert s3.SECRET not in done.stderr + done.stdout and "AKIAEXAMPLEKEY" not in done.stderr + done.stdout


@pytest.mark.slow
@pytest.mark.requires_kernel
def test_a_tracked_notebook_kernel_keeps_its_code_snapshot_in_the_bucket(aws_env, bucket, tmp_path):
    import nbformat

    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("%load_ext jupyter_mlops\n%track start nbrun"),
                nbformat.v4.new_code_cell("x = 41 + 1"), nbformat.v4.new_code_cell("%track stop")]
    nbformat.write(nb, tmp_path / "n.ipynb")
    env = {**os.environ, **aws_env.env, "JUPYTER_MLOPS_BLOBS": f"s3://{bucket}/nb",
           "JUPYTER_MLOPS_BLOBS_CACHE": str(tmp_path / "cache"), "PYTHONPATH": str(Path(__file__).parents[2])}
    env.pop("JUPYTER_MLOPS_STORE", None)
    execute = ("import nbclient, nbformat; nb = nbformat.read('n.ipynb', 4); "
               "nbclient.NotebookClient(nb, kernel_name='python3', timeout=120).execute()")
    done = run_cli(["-c", execute], env, tmp_path)
    assert done.returncode == 0, done.stderr
    env["JUPYTER_MLOPS_BLOBS_CACHE"] = str(tmp_path / "reader-cache")
    exported = run_cli(["-m", "jupyter_mlops", "runs", "export", "nbrun"], env, tmp_path)
    assert exported.returncode == 0, exported.stderr
    record = json.loads(exported.stdout)
    assert "x = 41 + 1" in json.dumps(record["code"])
    hexdigits = record["run"]["code_hash"].partition(":")[2]
    assert f"nb/xxh3_128/{hexdigits[:2]}/{hexdigits[2:]}" in keys(aws_env, bucket)
