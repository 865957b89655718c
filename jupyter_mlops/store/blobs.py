"""Content-addressed blob storage: the :class:`Blobs` contract, the local folder store, and :func:`open_blobs`.

A blob is named by its content hash, ``xxh3_128:<32 hex digits>``, and lives at
``<root>/xxh3_128/<first 2 hex>/<rest>``. Writes go to a temporary file in the same folder and are renamed into
place, so a reader never sees half a blob and two writers of the same content do not clash. Hash strings are
validated (``^[a-z0-9_]+:[0-9a-f]+$``) before they become paths, so a hash can never escape the root.

A plain path or ``file://`` URL is a :class:`BlobStore` (the local fast path); any other ``scheme://`` URL (``s3://``,
``gs://``, ``az://``, ``memory://``, ...) is an fsspec-backed store with the same layout and a local read-through
cache (``store/remote_blobs.py``, ADR-088); ``store.open_blobs`` chooses. Callers hold a :class:`Blobs` and never ask
which kind it is.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any

import xxhash

from jupyter_mlops.errors import InvalidInput, MlopsError, NotFound, StoreUnavailable

ALGORITHM = "xxh3_128"
_HASH = re.compile(r"^[a-z0-9_]+:[0-9a-f]+$")
_BLOCK = 8 * 1024 * 1024  # large reads keep hashing near memory speed


def digest_bytes(data: bytes) -> str:
    """The blob name of ``data``."""
    return f"{ALGORITHM}:{xxhash.xxh3_128_hexdigest(data)}"


def validate_hash(value: str) -> str:
    """Return ``value`` when it is a well-formed blob hash.

    Raises:
        InvalidInput: anything else (including path separators or dots).
    """
    if not isinstance(value, str) or not _HASH.fullmatch(value) or len(value) > 200:
        raise InvalidInput(f"malformed blob hash {str(value)[:80]!r}; expected '<algorithm>:<hex digits>'")
    return value


Progress = Callable[[int], None]
"""Called with the number of bytes just transferred (large uploads report each part)."""


def hash_file(path: str | os.PathLike[str]) -> tuple[str, int]:
    """The blob name and size of a file, read in large blocks (never whole into memory).

    Raises:
        NotFound: the file does not exist.
        InvalidInput: it cannot be read.
    """
    source = Path(path)
    hasher = xxhash.xxh3_128()
    size = 0
    try:
        with source.open("rb") as fh:
            while block := fh.read(_BLOCK):
                hasher.update(block)
                size += len(block)
    except FileNotFoundError:
        raise NotFound(f"no file {source}") from None
    except OSError as error:
        raise InvalidInput(f"cannot read {source}: {error.strerror or error}") from None
    return f"{ALGORITHM}:{hasher.hexdigest()}", size


def is_local_url(url: str | os.PathLike[str]) -> bool:
    """Whether a blobs URL names a local (or mounted) folder: a plain path or ``file://``."""
    text = os.fspath(url)
    return "://" not in text or text.startswith("file://")


class Blobs(ABC):
    """What every blob store answers, local or remote: the one interface callers use.

    Subclasses implement the primitives; JSON is written once here on the bytes primitives. A caller that needs a
    file on disk (loading a model, copying an artifact, a sandbox child) asks :meth:`local_path`: the folder store
    answers its own file, a remote store a hash-verified copy in its local cache.
    """

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the blobs are, fit to show (a remote URL without credentials or query)."""

    @abstractmethod
    def exists(self, hash: str) -> bool:  # noqa: A002 - the contract's name
        """Whether the blob is stored."""

    @abstractmethod
    def put_bytes(self, data: bytes) -> str:
        """Store ``data``; return its hash (storing the same bytes twice is free)."""

    @abstractmethod
    def get_bytes(self, hash: str) -> bytes:  # noqa: A002
        """The bytes of a blob.

        Raises:
            NotFound: no such blob.
        """

    @abstractmethod
    def put_file(self, path: str | os.PathLike[str], progress: Progress | None = None) -> tuple[str, int]:
        """Store a file's bytes, streaming; return ``(hash, size)``.

        Raises:
            NotFound: the file does not exist.
        """

    @abstractmethod
    def local_path(self, hash: str) -> Path:  # noqa: A002
        """A local file holding the blob's bytes (do not write to it).

        Raises:
            NotFound: no such blob.
        """

    def put_json(self, obj: Any) -> str:
        """Store ``obj`` as canonical JSON (sorted keys), so equal objects share one blob."""
        text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
        return self.put_bytes(text.encode("utf-8"))

    def get_json(self, hash: str) -> Any:  # noqa: A002
        """The object stored by :meth:`put_json`."""
        return json.loads(self.get_bytes(hash))


class BlobStore(Blobs):
    """Content-addressed bytes under ``root``.

    Args:
        root: the folder (created on first write). A ``file://`` URL is accepted as a plain folder.

    Example:
        >>> import tempfile
        >>> blobs = BlobStore(tempfile.mkdtemp())
        >>> h = blobs.put_json({"a": 1})
        >>> blobs.get_json(h)
        {'a': 1}
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        text = os.fspath(root)
        if text.startswith("file://"):
            text = text[len("file://"):]
        elif "://" in text:
            # Named by scheme only: a URL may carry a credential, and this message is shown.
            raise InvalidInput(f"BlobStore is a local folder; open a {text.partition(':')[0]}:// store with open_blobs")
        self.root = Path(text).expanduser()

    @property
    def location(self) -> str:
        """The folder."""
        return str(self.root)

    def local_path(self, hash: str) -> Path:  # noqa: A002
        """The blob's own file.

        Raises:
            NotFound: no such blob.
        """
        path = self.path_of(hash)
        if not path.is_file():
            raise NotFound(f"no blob {hash} in {self.root}")
        return path

    def path_of(self, hash: str) -> Path:  # noqa: A002 - the contract's name
        """Where the blob with this hash is (or would be) stored."""
        algorithm, _, hexdigits = validate_hash(hash).partition(":")
        return self.root / algorithm / hexdigits[:2] / hexdigits[2:]

    def exists(self, hash: str) -> bool:  # noqa: A002
        """Whether the blob is stored."""
        return self.path_of(hash).is_file()

    def _store(self, target: Path, write: Callable[[Any], object]) -> None:
        if target.is_file():
            return
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    write(fh)
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as error:
            raise StoreUnavailable(f"cannot write blob under {self.root}: {error.strerror or error}") from None

    def put_bytes(self, data: bytes) -> str:
        """Store ``data``; return its hash (storing the same bytes twice is free)."""
        digest = digest_bytes(data)
        self._store(self.path_of(digest), lambda fh: fh.write(data))
        return digest

    def get_bytes(self, hash: str) -> bytes:  # noqa: A002
        """The bytes of a blob.

        Raises:
            NotFound: no such blob.
        """
        try:
            return self.path_of(hash).read_bytes()
        except FileNotFoundError:
            raise NotFound(f"no blob {hash}") from None

    def put_file(self, path: str | os.PathLike[str], progress: Progress | None = None) -> tuple[str, int]:
        """Store a file's bytes, streaming; return ``(hash, size)``.

        Raises:
            NotFound: the file does not exist.
        """
        source = Path(path)
        digest, size = hash_file(source)

        def copy(out: Any) -> None:
            with source.open("rb") as fh:
                while block := fh.read(_BLOCK):
                    out.write(block)
                    if progress is not None:
                        progress(len(block))
        self._store(self.path_of(digest), copy)
        return digest, size


def read_snapshot(blobs: Any, digest: str | None, cache: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """A JSON snapshot (executed code, environment) from a blob store, or None when it is not there.

    The one reader of snapshots for every face and for ``RunView``: a missing, unreadable or malformed snapshot
    must not fail the page, comparison or script around it; that panel or section is simply unavailable.
    Snapshots are JSON objects; anything else counts as malformed.

    Args:
        blobs: the blob store (``get_json(digest)``), or None.
        digest: the snapshot's content hash, or None when the run has none.
        cache: digests already read (runs often share an environment), filled in here.
    """
    if not digest or blobs is None:
        return None
    if cache is not None and digest in cache:
        return cache[digest]  # type: ignore[no-any-return]
    try:
        value = blobs.get_json(digest)
    except (MlopsError, OSError, ValueError):  # json.JSONDecodeError and UnicodeDecodeError are ValueErrors
        value = None
    snapshot = value if isinstance(value, dict) else None
    if cache is not None:
        cache[digest] = snapshot
    return snapshot
