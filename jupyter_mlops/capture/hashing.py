"""Content hashes of files and folders: streamed, fast, and never re-read when unchanged.

Hash strings look like ``"xxh3_128:<32 hex>"`` (algorithm prefix, then the hex digest), the same shape the blob
store uses. xxh3_128 is the default (see ``docs/decisions.md``, ADR-001); ``blake3``, ``md5`` and ``sha256`` are
available for users who need a cryptographic or DVC-compatible digest.

Assumptions:
    * A file whose identity ``(path, device, inode, size, mtime_ns)`` is unchanged has unchanged content. Files
      modified within the last :data:`RACY_WINDOW_NS` are not cached (git's "racily clean" problem: a write that
      lands in the same timestamp tick as our read would otherwise go unnoticed).
    * Reading releases the GIL; hashing may not. Large files are therefore read by a helper thread into one of
      two reused buffers while the caller's thread hashes the other, so throughput approaches that of the slower
      of the two instead of their sum.

Explicit calls (``hash_file``/``hash_path``) raise :class:`~jupyter_mlops.errors.MlopsError` subclasses; the
``try_*`` variants used by automatic capture log one warning and return None instead.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import stat
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from jupyter_mlops.errors import InvalidInput, MlopsError, NotFound

__all__ = [
    "ALGORITHMS",
    "DEFAULT_ALGORITHM",
    "HashResult",
    "MemoryStatCache",
    "StatCache",
    "hash_bytes",
    "hash_file",
    "hash_path",
    "hash_tree",
    "stat_key",
    "try_hash_path",
]

logger = logging.getLogger(__name__)

DEFAULT_ALGORITHM = "xxh3_128"
#: Read size per block. 8 MiB amortises per-call overhead while staying inside L2/L3-friendly territory.
BLOCK_SIZE = 8 << 20
#: Files smaller than this are read and hashed in one call (thread start-up would cost more than it saves).
PIPELINE_MIN_SIZE = 32 << 20
#: Files modified this recently are hashed but not cached (timestamp granularity; see module docstring).
RACY_WINDOW_NS = 2_000_000_000

StatKey = tuple[str, int, int, int, int]


class StatCache(Protocol):
    """Remembers content hashes by file identity (same shape as ``jupyter_mlops.store.base.StatCache``).

    Re-declared here, structurally identical, because capture/ must not import store/.
    """

    def get_hash(self, key: StatKey, algorithm: str) -> str | None:
        """The cached hash for this file identity, or None."""
        ...

    def put_hash(self, key: StatKey, algorithm: str, digest: str) -> None:
        """Remember a hash for this file identity."""
        ...


class _Hasher(Protocol):
    def update(self, data: Any, /) -> object: ...

    def hexdigest(self) -> str: ...


def _xxh3_128() -> _Hasher:
    import xxhash

    return xxhash.xxh3_128()


def _blake3() -> _Hasher:
    import blake3

    hasher: _Hasher = blake3.blake3()
    return hasher


ALGORITHMS: dict[str, Callable[[], _Hasher]] = {
    "xxh3_128": _xxh3_128,
    "blake3": _blake3,
    "md5": lambda: hashlib.md5(usedforsecurity=False),
    "sha256": hashlib.sha256,
}


@dataclass(frozen=True, slots=True)
class HashResult:
    """The hash of a file or folder: ``kind`` is ``"file"`` or ``"dir"``; ``size`` is total bytes."""

    hash: str
    kind: str
    size: int


class MemoryStatCache:
    """A bounded in-process :class:`StatCache` (least recently used entries are dropped first).

    Args:
        max_entries: how many file identities to remember.
    """

    def __init__(self, max_entries: int = 65536) -> None:
        self._entries: OrderedDict[tuple[StatKey, str], str] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()

    def get_hash(self, key: StatKey, algorithm: str) -> str | None:
        """The cached hash for this file identity, or None."""
        with self._lock:
            digest = self._entries.get((key, algorithm))
            if digest is not None:
                self._entries.move_to_end((key, algorithm))
            return digest

    def put_hash(self, key: StatKey, algorithm: str, digest: str) -> None:
        """Remember a hash for this file identity."""
        with self._lock:
            self._entries[(key, algorithm)] = digest
            self._entries.move_to_end((key, algorithm))
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()


#: Sits in front of any persistent cache, so a second look at the same file costs one dict lookup.
_MEMO = MemoryStatCache()


def _new_hasher(algorithm: str) -> _Hasher:
    try:
        factory = ALGORITHMS[algorithm]
    except KeyError:
        raise InvalidInput(
            f"unknown hash algorithm {algorithm!r}; choose one of {', '.join(sorted(ALGORITHMS))}"
        ) from None
    try:
        return factory()
    except ImportError as exc:
        raise MlopsError(f"hash algorithm {algorithm!r} needs the {exc.name or algorithm!r} package") from None


def hash_bytes(data: bytes | bytearray | memoryview, algorithm: str = DEFAULT_ALGORITHM) -> str:
    """Hash in-memory bytes.

    Args:
        data: the bytes.
        algorithm: one of :data:`ALGORITHMS`.

    Returns:
        ``"<algorithm>:<hex>"``.
    """
    hasher = _new_hasher(algorithm)
    hasher.update(data)
    return f"{algorithm}:{hasher.hexdigest()}"


def stat_key(path: str | os.PathLike[str], st: os.stat_result | None = None) -> StatKey:
    """The identity of a file as the stat cache sees it: ``(absolute path, device, inode, size, mtime_ns)``."""
    absolute = os.path.abspath(os.fspath(path))
    st = os.stat(absolute) if st is None else st
    return (absolute, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _blocks_sequential(fd: int, buffer: bytearray) -> Iterator[memoryview]:
    view = memoryview(buffer)
    with open(fd, "rb", buffering=0, closefd=False) as stream:
        while True:
            n = stream.readinto(buffer)
            if not n:
                return
            yield view[:n]


def _blocks_pipelined(fd: int, block_size: int) -> Iterator[memoryview]:
    """Yield blocks read by a helper thread, so reading (GIL released) overlaps hashing.

    Two buffers circulate: the reader fills one while the consumer hashes the other. A buffer goes back to the
    reader only when the consumer asks for the next block, so a yielded view stays valid until then.
    """
    free: queue.Queue[bytearray | None] = queue.Queue()
    full: queue.Queue[tuple[bytearray, int] | BaseException | None] = queue.Queue()
    for _ in range(2):
        free.put(bytearray(block_size))

    def reader() -> None:
        try:
            with open(fd, "rb", buffering=0, closefd=False) as stream:
                while (buffer := free.get()) is not None:
                    n = stream.readinto(buffer)
                    if not n:
                        break
                    full.put((buffer, n))
            full.put(None)
        except BaseException as exc:  # handed to the consumer, which re-raises in its own thread
            full.put(exc)

    thread = threading.Thread(target=reader, name="jupyter-mlops-hash-reader", daemon=True)
    thread.start()
    try:
        while (item := full.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            buffer, n = item
            yield memoryview(buffer)[:n]
            free.put(buffer)
    finally:
        free.put(None)
        thread.join()


def _hash_open_file(fd: int, size: int, algorithm: str) -> str:
    hasher = _new_hasher(algorithm)
    if size >= PIPELINE_MIN_SIZE:
        blocks = _blocks_pipelined(fd, BLOCK_SIZE)
    else:
        blocks = _blocks_sequential(fd, bytearray(min(max(size, 1), BLOCK_SIZE)))
    for block in blocks:
        hasher.update(block)
    return f"{algorithm}:{hasher.hexdigest()}"


def _is_racy(st: os.stat_result) -> bool:
    return time.time_ns() - st.st_mtime_ns < RACY_WINDOW_NS


def hash_file(
    path: str | os.PathLike[str],
    cache: StatCache | None = None,
    *,
    algorithm: str = DEFAULT_ALGORITHM,
) -> str:
    """Hash one file's content, reusing a cached hash when the file's identity is unchanged.

    Args:
        path: the file.
        cache: an optional persistent cache (the store's); an in-process cache always sits in front of it.
        algorithm: one of :data:`ALGORITHMS`.

    Returns:
        ``"<algorithm>:<hex>"``.

    Raises:
        NotFound: the file does not exist.
        InvalidInput: the path is not a regular file, or the algorithm is unknown.
        MlopsError: the file cannot be read.
    """
    name = os.fspath(path)
    _new_hasher(algorithm)  # validate the name before touching the file
    try:
        fd = os.open(name, os.O_RDONLY)
    except FileNotFoundError:
        raise NotFound(f"file not found: {name}") from None
    except IsADirectoryError:
        raise InvalidInput(f"not a regular file: {name} (a folder: use hash_path)") from None
    except OSError as exc:
        raise MlopsError(f"cannot read {name}: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            hint = " (a folder: use hash_path)" if stat.S_ISDIR(st.st_mode) else ""
            raise InvalidInput(f"not a regular file: {name}{hint}")
        key = stat_key(name, st)
        digest = _cached(key, algorithm, cache)
        if digest is not None:
            return digest
        try:
            digest = _hash_open_file(fd, st.st_size, algorithm)
        except OSError as exc:
            raise MlopsError(f"cannot read {name}: {exc.strerror}") from None
        after = os.fstat(fd)
        # Only a file that stayed put while we read it, and is not racily fresh, may be remembered.
        if (after.st_size, after.st_mtime_ns) == (st.st_size, st.st_mtime_ns) and not _is_racy(after):
            _remember(key, algorithm, digest, cache)
        return digest
    finally:
        os.close(fd)


def _cached(key: StatKey, algorithm: str, cache: StatCache | None) -> str | None:
    digest = _MEMO.get_hash(key, algorithm)
    if digest is None and cache is not None:
        try:
            digest = cache.get_hash(key, algorithm)
        except Exception as exc:  # a broken persistent cache must not stop hashing
            logger.warning("hash cache lookup failed, hashing anyway: %s", exc)
            digest = None
        if digest is not None:
            _MEMO.put_hash(key, algorithm, digest)
    return digest


def _remember(key: StatKey, algorithm: str, digest: str, cache: StatCache | None) -> None:
    _MEMO.put_hash(key, algorithm, digest)
    if cache is not None:
        try:
            cache.put_hash(key, algorithm, digest)
        except Exception as exc:
            logger.warning("could not store a hash in the hash cache: %s", exc)


def _walk_files(root: Path) -> list[tuple[str, Path, int]]:
    """Regular files under ``root`` as (posix relative path, path, size), sorted; symlinks to files followed."""
    found: list[tuple[str, Path, int]] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for filename in filenames:
            full = Path(dirpath, filename)
            try:
                st = full.stat()
            except OSError:
                continue  # dangling link or vanished file: not part of the content
            if stat.S_ISREG(st.st_mode):
                found.append((full.relative_to(root).as_posix(), full, st.st_size))
    found.sort(key=lambda item: item[0])
    return found


def hash_tree(
    root: str | os.PathLike[str],
    cache: StatCache | None = None,
    *,
    algorithm: str = DEFAULT_ALGORITHM,
    workers: int | None = None,
) -> HashResult:
    """Hash a folder as a sorted manifest of ``relative path, file hash, size`` lines.

    Renaming, adding, removing or changing any file changes the hash; file order on disk and timestamps do not.

    Args:
        root: the folder.
        cache: an optional persistent cache for the files' hashes.
        algorithm: one of :data:`ALGORITHMS`.
        workers: threads hashing files at once (default: up to 4, never more than the CPU count).

    Returns:
        A :class:`HashResult` with ``kind="dir"`` and the total size of the files.
    """
    base = Path(root)
    if not base.is_dir():
        raise NotFound(f"folder not found: {base}")
    files = _walk_files(base)
    workers = workers or min(4, os.cpu_count() or 1)

    def one(item: tuple[str, Path, int]) -> str:
        return hash_file(item[1], cache, algorithm=algorithm)

    if workers > 1 and len(files) > 1:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="jupyter-mlops-hash") as pool:
            digests = list(pool.map(one, files))
    else:
        digests = [one(item) for item in files]
    manifest = "".join(f"{rel}\t{digest}\t{size}\n" for (rel, _, size), digest in zip(files, digests, strict=True))
    total = sum(size for _, _, size in files)
    return HashResult(hash_bytes(manifest.encode("utf-8"), algorithm), "dir", total)


def hash_path(
    path: str | os.PathLike[str],
    cache: StatCache | None = None,
    *,
    algorithm: str = DEFAULT_ALGORITHM,
) -> HashResult:
    """Hash a file or a folder.

    Args:
        path: a file or folder.
        cache: an optional persistent cache.
        algorithm: one of :data:`ALGORITHMS`.

    Returns:
        A :class:`HashResult` (``kind`` ``"file"`` or ``"dir"``).

    Raises:
        NotFound: nothing exists at ``path``.
    """
    target = Path(path)
    if target.is_dir():
        return hash_tree(target, cache, algorithm=algorithm)
    digest = hash_file(target, cache, algorithm=algorithm)
    return HashResult(digest, "file", target.stat().st_size)


def try_hash_path(
    path: str | os.PathLike[str],
    cache: StatCache | None = None,
    *,
    algorithm: str = DEFAULT_ALGORITHM,
) -> HashResult | None:
    """:func:`hash_path` for automatic capture: logs one warning and returns None instead of raising."""
    try:
        return hash_path(path, cache, algorithm=algorithm)
    except Exception as exc:
        logger.warning("could not hash %s: %s", path, exc)
        return None
