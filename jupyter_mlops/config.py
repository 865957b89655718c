"""Settings resolution.

Order, first wins: explicit argument > environment (``JUPYTER_MLOPS_STORE``, ``JUPYTER_MLOPS_BLOBS``,
``JUPYTER_MLOPS_REMOTE``, ``JUPYTER_MLOPS_REMOTE_BLOBS``) >
``[tool.jupyter-mlops]`` in the nearest ``pyproject.toml`` > defaults. The default store is the embedded SQLite
file ``<project root>/.mlops/mlops.db`` with blobs in ``<project root>/.mlops/blobs``; the project root is the
nearest folder upward holding ``.git`` or ``pyproject.toml``, else the starting folder.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import tomllib

from jupyter_mlops.errors import InvalidInput

ENV_STORE = "JUPYTER_MLOPS_STORE"
ENV_BLOBS = "JUPYTER_MLOPS_BLOBS"
ENV_BLOBS_OPTIONS = "JUPYTER_MLOPS_BLOBS_OPTIONS"  # JSON object of fsspec storage options for a remote blob store
ENV_BLOBS_CACHE = "JUPYTER_MLOPS_BLOBS_CACHE"  # the read-through cache folder of a remote blob store

ENV_REMOTE = "JUPYTER_MLOPS_REMOTE"  # the team store that `sync push|pull` talks to (ADR-084)
ENV_REMOTE_BLOBS = "JUPYTER_MLOPS_REMOTE_BLOBS"
ENV_RUN_CONTEXT = "JUPYTER_MLOPS_CONTEXT"  # JSON our runners hand to kernels (notebook path, tags, parameters)
MLOPS_DIR = ".mlops"


@dataclass(frozen=True)
class StoreLocation:
    """Where a store URL points, read with the standard library alone: the one place a URL becomes a file path.

    Config (relative paths, the blobs default), the CLI (missing store, the quick listing), the server (open now or
    on first use) and the SQLAlchemy engine all ask this class, so they agree on which file a URL names. The
    SQLite part follows SQLAlchemy's own reading: the path after ``sqlite:///`` up to ``?``, percent-decoded, with
    ``~`` the home folder; ``sqlite://``, ``:memory:`` and ``file::memory:`` are in-memory databases.

    Attributes:
        url: the URL as given.
        scheme: the back-end before ``+`` or ``:`` (``postgresql+psycopg://...`` gives ``postgresql``); "" for none.
        database: a SQLite URL's database text, decoded but not expanded ("" for other databases).
        query: the ``?...`` part of a SQLite URL without the ``?`` ("" when none).

    Example:
        >>> StoreLocation.of("sqlite:///runs/mlops.db?timeout=5").sqlite_path
        PosixPath('runs/mlops.db')
        >>> StoreLocation.of("postgresql+psycopg://u@db/runs").scheme, StoreLocation.of("sqlite://").sqlite_path
        ('postgresql', None)
    """

    url: str
    scheme: str
    database: str = ""
    query: str = ""

    @classmethod
    def of(cls, url: str) -> StoreLocation:
        """Parse a store URL (never fails: what is not SQLite is left to the back-end that opens it)."""
        head, sep, rest = url.partition(":")
        scheme = head.split("+", 1)[0].lower() if sep else ""
        if scheme != "sqlite" or not rest.startswith("//"):
            return cls(url, scheme)
        location, _, query = rest[2:].partition("?")
        return cls(url, scheme, unquote(location.partition("/")[2]), query)

    @property
    def sqlite_path(self) -> Path | None:
        """The database file of a SQLite URL; None for in-memory SQLite and for other databases."""
        if self.database in ("", ":memory:") or self.database.startswith("file::memory:"):
            return None
        return Path(self.database).expanduser()

    def exists(self) -> bool:
        """False only for a SQLite file that is not there yet; other databases are checked when opened."""
        path = self.sqlite_path
        return path is None or path.exists()

    def resolved(self, root: Path) -> str:
        """The URL with a relative SQLite path made absolute against ``root`` (other URLs unchanged)."""
        path = self.sqlite_path
        # `~` means the home folder, as SQLAlchemy's own SQLite URLs treat it; other relative paths the project root.
        if path is None or Path(self.database).is_absolute():
            return self.url
        prefix = self.url[: len(self.url) - len(self.url.partition("://")[2])]
        # Encoded back as SQLAlchemy decodes it, so a folder named with `%` or `?` still names that folder.
        absolute = str((root / path).resolve()).replace("%", "%25").replace("?", "%3F")
        return f"{prefix}/{absolute}{'?' + self.query if self.query else ''}"


@dataclass(frozen=True)
class Settings:
    """Resolved settings for one process.

    Attributes:
        store_url: SQLAlchemy URL of the run store (``sqlite:///...`` or ``postgresql+psycopg://...``).
        blobs_url: folder (or fsspec URL) of the content-addressed blob store.
        project_root: folder the defaults were resolved against.
        heartbeat_interval: seconds between heartbeats of a running run.
        stale_after: a running run whose heartbeat is older than this many seconds reads as crashed.
        flush_interval: the metric writer flushes at least this often (seconds).
        redact: replace secret-looking params/tags with ``***`` before storing.
        blobs_cache: the local read-through cache of a remote blob store ("" for the user cache folder).
        blobs_options: fsspec storage options of a remote blob store (never shown: they may hold credentials).
        tool: the raw ``[tool.jupyter-mlops]`` table, for sub-tables such as ``smoke`` and ``lint``.
        remote: store URL of the team store ``sync`` pushes to and pulls from (None: not configured).
        remote_blobs: blob folder/URL of the team store (None: blobs are not copied by sync).
    """

    store_url: str
    blobs_url: str
    project_root: Path
    heartbeat_interval: float = 5.0
    stale_after: float = 30.0
    flush_interval: float = 0.5
    redact: bool = True
    tool: dict[str, Any] = field(default_factory=dict)
    blobs_cache: str = ""
    blobs_options: dict[str, Any] = field(default_factory=dict, repr=False)

    remote: str | None = None
    remote_blobs: str | None = None

    @property
    def store_location(self) -> StoreLocation:
        """Where :attr:`store_url` points (scheme, SQLite file, whether it exists)."""
        return StoreLocation.of(self.store_url)

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some fields replaced."""
        return replace(self, **changes)


def find_project_root(start: Path | str | None = None) -> Path:
    """Nearest folder upward from ``start`` (default: cwd) holding ``.git`` or ``pyproject.toml``, else ``start``."""
    here = Path(start or os.getcwd()).resolve()
    if here.is_file():
        here = here.parent
    for folder in (here, *here.parents):
        if (folder / ".git").exists() or (folder / "pyproject.toml").is_file():
            return folder
    return here


def read_tool_table(root: Path) -> dict[str, Any]:
    """The ``[tool.jupyter-mlops]`` table of ``root/pyproject.toml`` ({} when absent)."""
    path = root / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInput(f"cannot read {path}: {exc}") from None
    table = data.get("tool", {}).get("jupyter-mlops", {})
    return table if isinstance(table, dict) else {}


def default_store_url(root: Path) -> str:
    """The embedded SQLite default for a project root."""
    return f"sqlite:///{root / MLOPS_DIR / 'mlops.db'}"


def load_settings(
    store_url: str | None = None,
    blobs_url: str | None = None,
    start: Path | str | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Resolve settings (explicit > environment > pyproject > defaults).

    Args:
        store_url: explicit store URL, wins over everything.
        blobs_url: explicit blob folder/URL.
        start: where to look for the project root (default: cwd).
        environ: environment mapping (default: ``os.environ``); injectable for tests.

    Returns:
        The resolved :class:`Settings`.

    Example:
        >>> s = load_settings(store_url="sqlite:///:memory:", environ={})
        >>> s.store_url
        'sqlite:///:memory:'
    """
    env = os.environ if environ is None else environ
    root = find_project_root(start)
    tool = read_tool_table(root)
    store = str(store_url or env.get(ENV_STORE) or tool.get("store") or default_store_url(root))
    location = StoreLocation.of(store)
    store = location.resolved(root)
    blobs = blobs_url or env.get(ENV_BLOBS) or tool.get("blobs") or str(_default_blobs(StoreLocation.of(store), root))
    numbers = {k: float(tool[k]) for k in ("heartbeat_interval", "stale_after", "flush_interval") if k in tool}
    remote = "://" in str(blobs) and not str(blobs).startswith("file://")
    return Settings(
        store_url=str(store),
        blobs_url=str(blobs),
        project_root=root,
        redact=bool(tool.get("redact", True)),
        tool=tool,
        blobs_cache=str(env.get(ENV_BLOBS_CACHE) or tool.get("blobs_cache") or ""),
        blobs_options=_blobs_options(env, tool) if remote else {},

        remote=_remote(str(env.get(ENV_REMOTE) or tool.get("remote") or ""), root),
        remote_blobs=str(env.get(ENV_REMOTE_BLOBS) or tool.get("remote_blobs") or "") or None,
        **numbers,
    )


def _blobs_options(env: Mapping[str, str], tool: dict[str, Any]) -> dict[str, Any]:
    """A remote blob store's storage options: ``JUPYTER_MLOPS_BLOBS_OPTIONS`` over ``blobs_options`` in pyproject.

    Raises:
        InvalidInput: the variable is not a JSON object (its text is not shown: it may hold a secret).
    """
    table = tool.get("blobs_options") or {}
    if not isinstance(table, dict):
        raise InvalidInput("[tool.jupyter-mlops] blobs_options must be a table of fsspec storage options")
    text = env.get(ENV_BLOBS_OPTIONS, "").strip()
    if not text:
        return dict(table)
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise InvalidInput(f"{ENV_BLOBS_OPTIONS} must be a JSON object of fsspec storage options, "
                           'such as {"endpoint_url": "http://127.0.0.1:9000"}')
    return {**table, **value}


def _remote(url: str, root: Path) -> str | None:
    # A relative SQLite remote in pyproject.toml names a file of the project, like the store itself.
    return StoreLocation.of(url).resolved(root) if url else None


def _default_blobs(location: StoreLocation, root: Path) -> Path:
    # Blobs sit beside a SQLite file by default, so a store copied elsewhere keeps its snapshots.
    path = location.sqlite_path
    return root / MLOPS_DIR / "blobs" if path is None else path.parent / "blobs"
