"""Content-addressed blobs anywhere fsspec reaches (``s3://``, ``gs://``, ``az://``, ``memory://``, ...), ADR-088.

The layout is the local store's, under the URL's prefix: ``<prefix>/xxh3_128/<2 hex>/<rest>``. A put hashes the
bytes first and skips the upload when the object is already there (content addressing makes that a complete
dedupe); large files go up with the back-end's streamed multipart upload, in bounded parts, never read whole.
Reads go through a local read-through cache, itself a :class:`~jupyter_mlops.store.blobs.BlobStore`: a blob is
downloaded to a temporary file beside its cache place, its hash checked, and renamed into place, so a cached blob
is always whole and correct and never goes stale (its name is its content).

Every call to the remote is retried a bounded number of times with exponential backoff on errors that may pass
(connection refused or reset, timeouts, throttling); a missing object is ``NotFound`` at once, a refused
credential or bucket ``StoreUnavailable`` at once, and retries spent give one ``StoreUnavailable`` line naming
the URL without credentials (ADR-089). Credentials are the back-end's business (environment, AWS config,
instance roles): a URL carrying them inline is refused, and they never reach a message.

fsspec (and the back-end, e.g. s3fs) are imported when a remote store is opened, never at module import.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from jupyter_mlops.errors import Conflict, InvalidInput, MlopsError, NotFound, StoreUnavailable
from jupyter_mlops.store.blobs import Blobs, BlobStore, Progress, digest_bytes, hash_file, validate_hash

T = TypeVar("T")

# Object stores whose URL netloc is a bucket: anything before an `@` there can only be a credential.
_BUCKET_SCHEMES = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "oss", "r2"})
_MIB = 1024 * 1024
PART_SIZE = 16 * _MIB  # multipart part size for S3: memory held per part in flight (S3's minimum is 5 MiB)
PART_CONCURRENCY = 4  # parts in flight at once: at most PART_SIZE * PART_CONCURRENCY of a file in memory
RETRIES = 4  # attempts per remote call, the first included
BACKOFF = 0.5  # seconds before the second attempt, doubling after each failure


def redact_url(url: str) -> str:
    """A blobs URL fit to show: credentials replaced by ``***``, query and fragment dropped.

    Example:
        >>> redact_url("s3://AKIA:secret@bucket/prefix?sig=x")
        's3://***@bucket/prefix'
    """
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    netloc = f"***@{host}" if "@" in parts.netloc else host
    return f"{parts.scheme}://{netloc}{parts.path}"


def check_url(url: str) -> str:
    """Return ``url`` when it carries no credentials, else refuse it without echoing them.

    A password in the user part (``user:pass@``), any user part on an object store (``s3://KEY@bucket``) and any
    query string (SAS tokens, signatures) are refused: credentials belong in the environment, the back-end's own
    config files, or storage options, never in a URL that is configured, logged and shown.

    Raises:
        InvalidInput: the URL carries (or may carry) a secret, or has no scheme.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if not scheme:
        raise InvalidInput(f"blob store URL {redact_url(url)!r} has no scheme")
    user = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    if ":" in user or (user and scheme in _BUCKET_SCHEMES) or parts.query or parts.fragment:
        raise InvalidInput(
            f"blob store URL {redact_url(url)!r} carries credentials or a query; give credentials through the "
            "environment or the provider's config (AWS_ACCESS_KEY_ID, ~/.aws/credentials, ...) and options through "
            "JUPYTER_MLOPS_BLOBS_OPTIONS")
    return url


def default_cache_dir() -> Path:
    """The user's cache folder for downloaded blobs (``~/.cache/jupyter_mlops/blobs`` on Linux)."""
    from platformdirs import user_cache_path

    return user_cache_path("jupyter_mlops") / "blobs"


class FsspecBlobStore(Blobs):
    """Content-addressed blobs on any fsspec file system, read through a local cache.

    Args:
        url: ``s3://bucket/prefix`` or any fsspec URL (not a local folder: that is :class:`BlobStore`).
        cache_dir: the local read-through cache (default :func:`default_cache_dir`); safe to share between stores
            and users' projects, since entries are named by their content and verified when fetched.
        options: fsspec storage options (``endpoint_url``, ``profile``, ``client_kwargs``, ...), over those that
            fsspec reads itself from ``FSSPEC_<PROTOCOL>_*`` variables.
        retries: attempts per remote call, the first included.
        backoff: seconds before the second attempt; doubles after each failure.
        part_size: multipart part size for S3 (bytes); a file under two parts goes up in one request.
        concurrency: multipart parts in flight at once.

    Raises:
        InvalidInput: a URL carrying credentials, or a protocol fsspec does not know (or whose package is missing).

    Example:
        >>> import tempfile
        >>> blobs = FsspecBlobStore("memory://doc/prefix", cache_dir=tempfile.mkdtemp())
        >>> blobs.get_json(blobs.put_json({"a": 1}))
        {'a': 1}
    """

    def __init__(self, url: str, *, cache_dir: str | os.PathLike[str] | None = None,
                 options: Mapping[str, Any] | None = None, retries: int = RETRIES, backoff: float = BACKOFF,
                 part_size: int = PART_SIZE, concurrency: int = PART_CONCURRENCY) -> None:
        self.url = check_url(url)
        self._shown = redact_url(url)
        self.retries = max(1, int(retries))
        self.backoff = float(backoff)
        self.part_size = max(5 * _MIB, int(part_size))
        self.concurrency = max(1, int(concurrency))
        self.cache = BlobStore(Path(cache_dir).expanduser() if cache_dir else default_cache_dir())
        self.fs, self.prefix = _file_system(url, dict(options or {}), self._shown)
        self.prefix = self.prefix.rstrip("/")
        self.protocol = urlsplit(url).scheme.lower()

    @property
    def location(self) -> str:
        """The URL without credentials or query."""
        return self._shown

    def key_of(self, hash: str) -> str:  # noqa: A002 - the contract's name
        """The object path of a blob inside the file system."""
        algorithm, _, hexdigits = validate_hash(hash).partition(":")
        return f"{self.prefix}/{algorithm}/{hexdigits[:2]}/{hexdigits[2:]}"

    def exists(self, hash: str) -> bool:  # noqa: A002
        """Whether the remote holds the blob (the cache is not asked: it may outlive the remote's copy)."""
        key = self.key_of(hash)
        return bool(self._call(f"check {hash}", lambda: self.fs.exists(key)))

    def put_bytes(self, data: bytes) -> str:
        """Store ``data`` unless the remote has it; keep a copy in the cache (snapshots are read back soon)."""
        digest = digest_bytes(data)
        key = self.key_of(digest)
        if not self.exists(digest):
            self._call(f"upload {digest}", lambda: self.fs.pipe_file(key, data))
        try:
            self.cache.put_bytes(data)
        except MlopsError:
            pass  # the blob is stored; a cache that cannot be written only costs a download later
        return digest

    def put_file(self, path: str | os.PathLike[str], progress: Progress | None = None) -> tuple[str, int]:
        """Hash the file, then stream it up (multipart when large) unless the remote already has it.

        An interrupted multipart upload is aborted by the back-end and retried whole; nothing is visible under the
        blob's name until the upload completes (object stores publish an object atomically).
        """
        source = Path(path)
        digest, size = hash_file(source)
        if self.exists(digest):
            return digest, size
        key = self.key_of(digest)
        extra: dict[str, Any] = {}
        if self.protocol in ("s3", "s3a"):
            extra = {"chunksize": self.part_size, "max_concurrency": self.concurrency}

        def upload() -> None:
            self.fs.put_file(os.fspath(source), key, callback=_callback(progress), **extra)
        self._call(f"upload {digest} ({size} bytes)", upload)
        return digest, size

    def get_bytes(self, hash: str) -> bytes:  # noqa: A002
        """The blob's bytes, from the cache or fetched into it (hash-verified).

        Raises:
            NotFound: no such blob.
            Conflict: the remote object does not match its hash (corrupt); nothing is cached.
        """
        return self.local_path(hash).read_bytes()

    def local_path(self, hash: str) -> Path:  # noqa: A002
        """The cached copy of the blob, fetched and verified first when it is not cached yet.

        Raises:
            NotFound: no such blob.
            Conflict: the remote object does not match its hash (corrupt); nothing is cached.
        """
        target = self.cache.path_of(hash)
        if target.is_file():
            return target
        key = self.key_of(hash)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            os.close(fd)
        except OSError as error:
            why = error.strerror or error
            raise StoreUnavailable(f"cannot write the blob cache {self.cache.root}: {why}") from None
        tmp = Path(name)
        try:
            self._call(f"download {hash}", lambda: self.fs.get_file(key, name))
            actual, _ = hash_file(tmp)
            if actual != hash:
                raise Conflict(f"blob {hash} in {self._shown} is corrupt: its content hashes to {actual}; "
                               "not cached, not used")
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        return target

    def _call(self, what: str, operation: Callable[[], T]) -> T:
        """Run one remote call with bounded retries; translate what fails into one-line errors."""
        delay = self.backoff
        for attempt in range(1, self.retries + 1):
            try:
                return operation()
            except FileNotFoundError:
                if what.startswith("download"):
                    raise NotFound(f"no blob {what.split()[1]} in {self._shown}") from None
                raise StoreUnavailable(f"blob store {self._shown}: cannot {what}: the bucket or folder does not "
                                       "exist") from None
            except PermissionError:
                raise StoreUnavailable(f"blob store {self._shown}: cannot {what}: access denied (check the "
                                       "credentials the environment or provider config gives)") from None
            except Exception as error:  # noqa: BLE001 - back-ends raise their own types; the kind is sorted below
                if not _transient(error):
                    raise StoreUnavailable(f"blob store {self._shown}: cannot {what}: {_why(error)}") from None
                if attempt == self.retries:
                    raise StoreUnavailable(f"blob store {self._shown} unreachable: cannot {what} after "
                                           f"{self.retries} tries: {_why(error)}") from None
            _invalidate(self.fs)
            time.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def _file_system(url: str, options: dict[str, Any], shown: str) -> tuple[Any, str]:
    try:
        import fsspec
    except ImportError:  # pragma: no cover - fsspec is a dependency
        raise InvalidInput(f"blob store {shown}: fsspec is not installed (pip install fsspec)") from None
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("s3", "s3a"):
        _s3_defaults(options)
    try:
        fs, path = fsspec.core.url_to_fs(url, **options)
    except ImportError as error:
        hint = " (pip install 'jupyter_mlops[s3]')" if scheme in ("s3", "s3a") else ""
        raise InvalidInput(f"blob store {shown}: the package for {scheme}:// is missing{hint}: "
                           f"{str(error).splitlines()[0][:160]}") from None
    except ValueError as error:
        raise InvalidInput(f"blob store {shown}: {str(error).splitlines()[0][:160]}") from None
    if scheme in ("s3", "s3a"):
        fs.retries = 1  # s3fs's own retry loop (a class attribute, not an option): ours is the one layer
    return fs, str(path)


def _s3_defaults(options: dict[str, Any]) -> None:
    """One retry layer, ours: botocore and s3fs each retry by default, which multiplies into minutes of waiting."""
    config = dict(options.get("config_kwargs") or {})
    config.setdefault("retries", {"total_max_attempts": 1})
    config.setdefault("connect_timeout", 10)
    options["config_kwargs"] = config
    # A fresh instance per store: a cached one keeps connections to a server that may since have restarted.
    options.setdefault("skip_instance_cache", True)


def _transient(error: BaseException) -> bool:
    """Whether another try may succeed: connection trouble, timeouts, throttling; not bad input or credentials."""
    name = type(error).__name__
    if isinstance(error, (ValueError, TypeError, NotADirectoryError, IsADirectoryError)) or "Credential" in name:
        return False
    text = str(error)
    if "NoSuchBucket" in text or "AccessDenied" in text or "InvalidAccessKeyId" in text:
        return False
    return True


def _why(error: BaseException) -> str:
    # The first line of the back-end's message, short: endpoint and key names, never credentials (those are not in
    # the URL, and botocore's messages do not print them).
    text = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _invalidate(fs: Any) -> None:
    # After a failure a listing cache may remember a half state; forget it before the next try.
    try:
        fs.invalidate_cache()
    except Exception:  # noqa: BLE001 - best effort: a file system without a cache has nothing to forget
        pass


def _callback(progress: Progress | None) -> Any:
    from fsspec.callbacks import Callback, NoOpCallback

    if progress is None:
        return NoOpCallback()
    report: Progress = progress
    seen = [0]

    def hook(size: int | None = None, value: int | None = None, **_: Any) -> None:
        # fsspec calls hooks with the running total; the caller is told each increment.
        if value is not None and value > seen[0]:
            report(value - seen[0])
            seen[0] = value

    return Callback(hooks={"report": hook})
