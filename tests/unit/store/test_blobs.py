"""The content-addressed blob store."""

from __future__ import annotations

import re

import pytest
import xxhash

from jupyter_mlops.errors import InvalidInput, NotFound
from jupyter_mlops.store.blobs import BlobStore


def test_bytes_round_trip_and_naming(blobs):
    digest = blobs.put_bytes(b"hello")
    assert digest == f"xxh3_128:{xxhash.xxh3_128_hexdigest(b'hello')}"
    assert re.fullmatch(r"xxh3_128:[0-9a-f]{32}", digest)
    assert blobs.get_bytes(digest) == b"hello" and blobs.exists(digest)
    assert blobs.put_bytes(b"hello") == digest  # idempotent
    assert blobs.path_of(digest).relative_to(blobs.root).parts[0] == "xxh3_128"


def test_json_is_canonical(blobs):
    a = blobs.put_json({"b": 1, "a": [1, 2]})
    b = blobs.put_json({"a": [1, 2], "b": 1})
    assert a == b and blobs.get_json(a) == {"a": [1, 2], "b": 1}


def test_put_file_streams_and_reports_size(blobs, tmp_path):
    source = tmp_path / "data.bin"
    payload = bytes(range(256)) * 40_000  # ~10 MB: more than one read block
    source.write_bytes(payload)
    digest, size = blobs.put_file(source)
    assert size == len(payload) and digest == blobs.put_bytes(payload)
    assert blobs.get_bytes(digest) == payload
    with pytest.raises(NotFound):
        blobs.put_file(tmp_path / "missing.bin")


def test_no_temporary_files_are_left(blobs):
    digest = blobs.put_bytes(b"x" * 1000)
    leftovers = [p for p in blobs.path_of(digest).parent.iterdir() if p.name.startswith(".tmp-")]
    assert leftovers == []


@pytest.mark.parametrize("bad", ["../../etc/passwd", "xxh3_128:../../x", "xxh3_128:ABC", "xxh3_128:",
                                 "/abs:00", "xxh3_128:00/..", "", "sha256:0a\n"])
def test_malformed_hashes_never_become_paths(blobs, bad):
    with pytest.raises(InvalidInput):
        blobs.path_of(bad)
    with pytest.raises(InvalidInput):
        blobs.get_bytes(bad)


def test_missing_blob_is_not_found(blobs):
    with pytest.raises(NotFound):
        blobs.get_bytes("xxh3_128:" + "0" * 32)
    assert not blobs.exists("xxh3_128:" + "0" * 32)


def test_file_url_root_and_remote_urls(tmp_path):
    assert BlobStore(f"file://{tmp_path}").root == tmp_path
    with pytest.raises(InvalidInput):
        BlobStore("s3://bucket/blobs")
