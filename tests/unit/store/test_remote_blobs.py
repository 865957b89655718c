"""The fsspec-backed blob store without a server (fsspec's in-memory file system), and how a blobs URL is chosen,
checked and configured (ADR-088/089). The S3 behaviour against a real server is in tests/integration/test_blobs_s3.py.
"""

from __future__ import annotations

import doctest
import json
import uuid
from pathlib import Path

import pytest

from jupyter_mlops import store as store_package
from jupyter_mlops.app.reproduce.execute import store_env
from jupyter_mlops.config import load_settings
from jupyter_mlops.errors import Conflict, InvalidInput, NotFound
from jupyter_mlops.store import open_blobs, remote_blobs
from jupyter_mlops.store.blobs import Blobs, BlobStore, digest_bytes
from jupyter_mlops.store.remote_blobs import FsspecBlobStore, redact_url

SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCY"


@pytest.fixture
def memory(tmp_path) -> FsspecBlobStore:
    store = open_blobs(f"memory://blobs-{uuid.uuid4().hex}/prefix", cache_dir=tmp_path / "cache")
    assert isinstance(store, FsspecBlobStore)
    return store


@pytest.mark.parametrize("url", ["relative/blobs", "/abs/blobs", "file:///abs/blobs", "~/blobs"])
def test_plain_paths_and_file_urls_keep_the_local_fast_path(url):
    assert type(open_blobs(url)) is BlobStore


def test_both_kinds_answer_the_same_interface(memory, tmp_path):
    local = open_blobs(tmp_path / "local")
    source = tmp_path / "artifact.bin"
    source.write_bytes(b"\x00weights" * 1000)
    for blobs in (local, memory):
        assert isinstance(blobs, Blobs)
        digest = blobs.put_json({"b": 1, "a": [1, 2]})
        assert blobs.get_json(digest) == {"a": [1, 2], "b": 1} and blobs.exists(digest)
        reported: list[int] = []
        file_digest, size = blobs.put_file(source, progress=reported.append)
        assert (file_digest, size) == (digest_bytes(source.read_bytes()), source.stat().st_size)
        assert sum(reported) == size
        assert blobs.local_path(file_digest).read_bytes() == source.read_bytes()
        with pytest.raises(NotFound):
            blobs.local_path("xxh3_128:" + "0" * 32)
    assert memory.location.startswith("memory://") and local.location == str(tmp_path / "local")


def test_a_fetched_blob_is_verified_and_cached_under_its_hash(memory):
    digest = memory.put_bytes(b"payload")
    memory.cache.path_of(digest).unlink()  # as on another machine: nothing cached yet
    path = memory.local_path(digest)
    assert path == memory.cache.path_of(digest) and path.read_bytes() == b"payload"

    other = memory.put_bytes(b"other payload")
    memory.cache.path_of(other).unlink()
    memory.fs.pipe_file(memory.key_of(other), b"bit rot")
    with pytest.raises(Conflict, match=r"corrupt: its content hashes to xxh3_128:"):
        memory.get_bytes(other)
    assert not memory.cache.path_of(other).exists()


@pytest.mark.parametrize("url", [
    f"s3://AKIAEXAMPLE:{SECRET}@bucket/prefix",
    "s3://AKIAEXAMPLE@bucket/prefix",
    f"sftp://user:{SECRET}@host/blobs",
    f"az://container/blobs?sv=2024&sig={SECRET}",
    f"gs://bucket/blobs#{SECRET}",
])
def test_a_url_with_inline_credentials_is_refused_without_echoing_them(url, tmp_path):
    with pytest.raises(InvalidInput, match="carries credentials") as caught:
        open_blobs(url, cache_dir=tmp_path)
    assert SECRET not in caught.value.message and "AKIAEXAMPLE" not in caught.value.message


def test_redacted_urls_keep_only_where_the_blobs_are():
    assert redact_url(f"s3://KEY:{SECRET}@bucket/p?x=1") == "s3://***@bucket/p"
    assert redact_url("gs://bucket/team/blobs") == "gs://bucket/team/blobs"


def test_a_missing_backend_package_is_one_line():
    with pytest.raises(InvalidInput, match=r"blob store nosuchproto://x/y: "):
        open_blobs("nosuchproto://x/y")


def test_options_come_from_the_environment_over_pyproject(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.jupyter-mlops]\nblobs = "s3://team/blobs"\nblobs_cache = "cache-here"\n'
        '[tool.jupyter-mlops.blobs_options]\nendpoint_url = "http://from-pyproject"\nanon = true\n')
    settings = load_settings(start=tmp_path, environ={
        "JUPYTER_MLOPS_BLOBS_OPTIONS": json.dumps({"endpoint_url": "http://from-env", "secret": SECRET})})
    assert settings.blobs_url == "s3://team/blobs" and settings.blobs_cache == "cache-here"
    assert settings.blobs_options == {"endpoint_url": "http://from-env", "anon": True, "secret": SECRET}
    assert SECRET not in repr(settings)
    env = store_env(settings)
    assert json.loads(env["JUPYTER_MLOPS_BLOBS_OPTIONS"])["endpoint_url"] == "http://from-env"
    assert Path(env["JUPYTER_MLOPS_BLOBS_CACHE"]).is_absolute()


def test_malformed_options_are_refused_without_showing_them(tmp_path):
    with pytest.raises(InvalidInput, match="JUPYTER_MLOPS_BLOBS_OPTIONS must be a JSON object") as caught:
        load_settings(start=tmp_path, environ={"JUPYTER_MLOPS_BLOBS": "s3://b/p",
                                               "JUPYTER_MLOPS_BLOBS_OPTIONS": f"secret={SECRET}"})
    assert SECRET not in caught.value.message
    # A local blob folder never reads them: a stray variable cannot break a project that does not use it.
    assert load_settings(start=tmp_path, environ={"JUPYTER_MLOPS_BLOBS_OPTIONS": "{"}).blobs_options == {}


def test_configured_remote_store_opens_with_its_cache(tmp_path):
    settings = load_settings(start=tmp_path, environ={
        "JUPYTER_MLOPS_BLOBS": f"memory://cfg-{uuid.uuid4().hex}/p",
        "JUPYTER_MLOPS_BLOBS_CACHE": str(tmp_path / "my-cache")})
    blobs = open_blobs(settings)
    assert isinstance(blobs, FsspecBlobStore) and blobs.cache.root == tmp_path / "my-cache"



@pytest.mark.parametrize("module", [remote_blobs, store_package])
def test_docstring_examples(module):
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in doctest.DocTestFinder().find(module):
        runner.run(test)
    assert runner.failures == 0 and runner.tries > 0
