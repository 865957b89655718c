"""The REST wire format: request parsing/validation and entity → JSON, in one place.

Everything the Experiments sidebar sends or receives is spelled here; ``docs/openapi.yaml`` documents the same
shapes and ``labextension/src/tokens.ts`` mirrors them. Parsing functions take plain strings/bytes (what tornado
hands a handler) and raise :class:`~jupyter_mlops.errors.InvalidInput` with one line, so the handler's single
``write_error`` turns every malformed request into a 400 with ``{"code", "message"}``.

Run ids and names arrive in URLs; they are matched against :data:`RUN_REF` and only ever reach the store as
bound parameters, never a file system path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from jupyter_mlops.app.compare import MAX_CHART_POINTS, MIN_POINTS
from jupyter_mlops.comparing.downsample import DEFAULT_MAX_POINTS
from jupyter_mlops.entities import Metric, Page, Run, SliceMetric, slice_dims
from jupyter_mlops.errors import InvalidInput
from jupyter_mlops.store.engine import redact_url
from jupyter_mlops.store.model_rules import check_model_name, check_stage

#: A run reference in a URL: full id, id prefix or run name made of safe characters (no dots first, no slashes).
RUN_REF = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}$")
#: A model reference in a URL: NAME, NAME:VERSION, NAME:latest or NAME@ALIAS, printable and bounded.
MODEL_REF = re.compile(r"^[^\x00-\x1f\x7f/]{1,300}$")
#: A background job's id: what :mod:`.jobs` makes (uuid4 hex).
JOB_ID = re.compile(r"^[0-9a-f]{32}$")
#: A metric key: printable, no control characters, bounded length.
METRIC_KEY = re.compile(r"^[^\x00-\x1f\x7f]{1,250}$")
#: A sort key: a column (``name``, ``start_time``...) or ``params.<key>`` / ``metrics.<key>``; ``-`` = descending.
SORT_ITEM = re.compile(r"^(-?)([A-Za-z_][A-Za-z0-9_.\-/]{0,200})$")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_COMPARE = 100  # issue 13: a compare of 100 runs x 1,000 steps stays interactive (docs/benchmarks.md)
MAX_FILTER_CHARS = 4000
MAX_NOTE_CHARS = 100_000
MAX_TAG_CHARS = 200
MAX_TAGS = 200
#: Larger than any valid PATCH can be (200 tags, a 100,000-character note, every character escaped).
MAX_BODY_BYTES = 4_000_000
#: Paging past a billion runs is never meant; SQLite's integers stop at 2**63 and a bigger offset used to be a 500.
MAX_OFFSET = 1_000_000_000

#: Options of POST runs/{id}/reproduce (the CLI's flags).
REPRODUCE_FIELDS = frozenset({"as_executed", "allow_changed_data", "strict_env", "tolerances", "params", "timeout"})
MAX_OPTION_ITEMS = 200

#: Fields of POST models/{ref}/alias and models/{ref}/stage (the CLI's ALIAS/STAGE, --force, --reason, --note).
MODEL_CHANGE_FIELDS = {"alias": frozenset({"alias", "force", "reason", "note"}),
                       "stage": frozenset({"stage", "force", "reason", "note"})}
MAX_REASON_CHARS = 2000

#: Fields the sidebar may change with PATCH runs/{id}.
PATCH_FIELDS = frozenset({"tags", "note", "name"})


@dataclass(frozen=True)
class RunsQuery:
    """A parsed ``GET runs`` request."""

    filter: str | None
    order_by: tuple[str, ...]
    limit: int
    offset: int


@dataclass(frozen=True)
class RunPatch:
    """A parsed ``PATCH runs/{id}`` body; ``None`` means "leave unchanged"."""

    tags: tuple[str, ...] | None = None
    note: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class ReproduceOptions:
    """A parsed ``POST runs/{id}/reproduce`` body, in the CLI's terms (``--tolerance``, ``--param NAME=VALUE``)."""

    as_executed: bool = False
    allow_changed_data: bool = False
    strict_env: bool = False
    tolerances: tuple[str, ...] = ()
    params: tuple[str, ...] = ()
    timeout: float | None = None


def parse_run_ref(value: str, what: str = "run id") -> str:
    """Validate a run id/prefix/name taken from a URL.

    Raises:
        InvalidInput: when the value holds characters a run id never has (slashes, leading dots, spaces...).
    """
    if not RUN_REF.match(value or ""):
        raise InvalidInput(f"invalid {what} {value[:60]!r}: use letters, digits, '_', '-' or '.'")
    return value


def parse_model_ref(value: str) -> str:
    """A model reference from a URL segment (already URL-decoded), bounded and free of control characters.

    The use case's own parser (``store.model_rules.parse_model_ref``) then checks its form; this only keeps an
    absurd segment from travelling further and gives the 400 a short message.
    """
    if not isinstance(value, str) or not MODEL_REF.fullmatch(value):
        raise InvalidInput(f"invalid model reference {str(value)[:80]!r}: expected NAME, NAME:VERSION, "
                           "NAME:latest or NAME@ALIAS")
    return value


def parse_metric_key(value: str) -> str:
    """Validate a metric key taken from a URL."""
    if not METRIC_KEY.match(value or ""):
        raise InvalidInput(f"invalid metric key {value[:60]!r}")
    return value


def parse_slice_target(metric: str | None, target: str | None) -> tuple[str, bool]:
    """``runs/{id}/slice``'s query: exactly one of ``metric`` (a logged metric) or ``target`` (a metric or a name).

    Returns:
        The target and whether it must be a metric the run logged.
    """
    if (metric is None) == (target is None):
        raise InvalidInput("slice takes one of ?metric=KEY or ?target=NAME")
    if metric is not None:
        return parse_metric_key(metric), True
    return parse_metric_key(str(target)), False


def parse_int(value: str | None, name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    """Parse a bounded integer query argument."""
    if value is None or value == "":
        return default
    if len(value) > 30:
        raise InvalidInput(f"{name} must be an integer, got {value[:30]!r}...")
    try:
        number = int(value)
    except ValueError:
        raise InvalidInput(f"{name} must be an integer, got {value[:30]!r}") from None
    if number < minimum or (maximum is not None and number > maximum):
        upper = f" and {maximum}" if maximum is not None else ""
        raise InvalidInput(f"{name} must be between {minimum}{upper}, got {number}")
    return number


def parse_sort(value: str | None) -> tuple[str, ...]:
    """Turn ``"-metrics.auc,name"`` into the store's ``("metrics.auc DESC", "name ASC")``."""
    if not value:
        return ()
    items = []
    for raw in value.split(","):
        match = SORT_ITEM.match(raw.strip())
        if not match:
            raise InvalidInput(f"invalid sort key {raw.strip()[:60]!r}: use 'name', '-start_time', 'metrics.auc'...")
        items.append(f"{match.group(2)} {'DESC' if match.group(1) else 'ASC'}")
    return tuple(items)


def parse_runs_query(args: dict[str, str | None]) -> RunsQuery:
    """Parse the query string of ``GET runs`` (``filter``, ``sort``, ``limit`` ≤ 500, ``offset``)."""
    text = (args.get("filter") or "").strip()
    if len(text) > MAX_FILTER_CHARS:
        raise InvalidInput(f"filter is longer than {MAX_FILTER_CHARS} characters")
    return RunsQuery(
        filter=text or None,
        order_by=parse_sort(args.get("sort")),
        limit=parse_int(args.get("limit"), "limit", DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT),
        offset=parse_int(args.get("offset"), "offset", 0, minimum=0, maximum=MAX_OFFSET),
    )


def parse_id_list(value: str | None) -> list[str]:
    """Parse ``compare?ids=a,b,c``: 2 to :data:`MAX_COMPARE` distinct valid run references, order kept."""
    ids = [part.strip() for part in (value or "").split(",") if part.strip()]
    if len(ids) < 2:
        raise InvalidInput("compare needs at least two run ids: ids=<a>,<b>")
    if len(ids) > MAX_COMPARE:
        raise InvalidInput(f"compare takes at most {MAX_COMPARE} runs, got {len(ids)}")
    unique = list(dict.fromkeys(parse_run_ref(i) for i in ids))
    if len(unique) < 2:
        raise InvalidInput("compare needs two different runs")
    return unique


def parse_json_object(body: bytes) -> dict[str, Any]:
    """Decode a request body that must be one JSON object."""
    if len(body) > MAX_BODY_BYTES:
        raise InvalidInput(f"request body is larger than {MAX_BODY_BYTES} bytes")
    try:
        data = json.loads(body.decode("utf-8") or "null")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"request body is not valid JSON: {exc}") from None
    except RecursionError:
        # No request this API takes nests more than two levels; a deeper body is hostile, not a server fault.
        raise InvalidInput("request body is nested too deeply") from None
    if not isinstance(data, dict):
        raise InvalidInput("request body must be a JSON object")
    return data


def parse_run_patch(body: bytes) -> RunPatch:
    """Validate a ``PATCH runs/{id}`` body: only ``tags`` (list of strings), ``note`` and ``name`` (strings)."""
    data = parse_json_object(body)
    unknown = sorted(set(data) - PATCH_FIELDS)
    if unknown:
        raise InvalidInput(f"unknown field(s) {', '.join(unknown)}; allowed: name, note, tags")
    if not data:
        raise InvalidInput("nothing to change: send tags, note or name")
    return RunPatch(tags=_tags(data["tags"]) if "tags" in data else None,
                    note=_text(data, "note", MAX_NOTE_CHARS, allow_empty=True),
                    name=_text(data, "name", 200, allow_empty=False))


def _tags(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise InvalidInput("tags must be a list of strings")
    if len(value) > MAX_TAGS:
        raise InvalidInput(f"at most {MAX_TAGS} tags")
    tags = [t.strip() for t in value]
    for tag in tags:
        if not tag or len(tag) > MAX_TAG_CHARS or any(ord(c) < 32 for c in tag):
            raise InvalidInput(f"invalid tag {tag[:40]!r}: 1-{MAX_TAG_CHARS} printable characters")
    return tuple(dict.fromkeys(tags))


def _text(data: dict[str, Any], key: str, limit: int, *, allow_empty: bool) -> str | None:
    if key not in data:
        return None
    value = data[key]
    if not isinstance(value, str):
        raise InvalidInput(f"{key} must be a string")
    if len(value) > limit:
        raise InvalidInput(f"{key} is longer than {limit} characters")
    if not allow_empty and not value.strip():
        raise InvalidInput(f"{key} must not be empty")
    return value if allow_empty else value.strip()


def parse_reproduce_options(body: bytes) -> ReproduceOptions:
    """Validate a ``POST runs/{id}/reproduce`` body (an empty body means every default).

    ``tolerances`` is a list of the CLI's ``--tolerance`` values (``"1e-6"``, ``"auc=0.002"``, ``"auc=1%"``);
    ``params`` an object ``{"lr": 0.05}``, each value handed on as the Python literal of the JSON value.
    """
    data = parse_json_object(body) if body.strip() else {}
    unknown = sorted(set(data) - REPRODUCE_FIELDS)
    if unknown:
        raise InvalidInput(f"unknown option(s) {', '.join(unknown)}; allowed: {', '.join(sorted(REPRODUCE_FIELDS))}")
    flags = {}
    for name in ("as_executed", "allow_changed_data", "strict_env"):
        value = data.get(name, False)
        if not isinstance(value, bool):
            raise InvalidInput(f"{name} must be true or false")
        flags[name] = value
    tolerances = data.get("tolerances", [])
    if not isinstance(tolerances, list) or not all(isinstance(t, str) for t in tolerances):
        raise InvalidInput('tolerances must be a list of strings such as ["1e-6", "auc=0.002", "auc=1%"]')
    params = data.get("params", {})
    if not isinstance(params, dict):
        raise InvalidInput('params must be an object such as {"lr": 0.05}')
    if len(tolerances) > MAX_OPTION_ITEMS or len(params) > MAX_OPTION_ITEMS:
        raise InvalidInput(f"at most {MAX_OPTION_ITEMS} tolerances and {MAX_OPTION_ITEMS} params")
    timeout = data.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                or not 0 < timeout < 1e7):
        raise InvalidInput("timeout must be a positive number of seconds per cell, or null")
    return ReproduceOptions(tolerances=tuple(tolerances), params=tuple(f"{k}={v!r}" for k, v in params.items()),
                            timeout=float(timeout) if timeout is not None else None, **flags)


@dataclass(frozen=True)
class ModelChange:
    """A parsed ``POST models/{ref}/alias`` or ``.../stage`` body: the alias or stage, and how it is forced."""

    target: str
    force: bool = False
    reason: str = ""
    note: str = ""


def parse_model_change(body: bytes, what: str) -> ModelChange:
    """Validate a body ``{"alias"|"stage": ..., "force"?: bool, "reason"?: str, "note"?: str}``.

    ``what`` is ``alias`` or ``stage``. The alias and stage are checked by the registry's own rules, so a bad one
    is the CLI's message; whether ``force`` has its reason is the use case's to say (the same message as the CLI).
    """
    data = parse_json_object(body)
    allowed = MODEL_CHANGE_FIELDS[what]
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise InvalidInput(f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
    target = data.get(what)
    if not isinstance(target, str):
        raise InvalidInput(f"{what} must be a string")
    target = check_model_name(target, "alias") if what == "alias" else check_stage(target)
    force = data.get("force", False)
    if not isinstance(force, bool):
        raise InvalidInput("force must be true or false")
    reason = _text(data, "reason", MAX_REASON_CHARS, allow_empty=True) or ""
    note = _text(data, "note", MAX_NOTE_CHARS, allow_empty=True) or ""
    return ModelChange(target, force, reason, note)


def parse_job_id(value: str) -> str:
    """Validate a job id taken from a URL."""
    if not JOB_ID.match(value or ""):
        raise InvalidInput(f"invalid job id {value[:60]!r}")
    return value


# -- responses ----------------------------------------------------------------------------------------------


def run_json(run: Run) -> dict[str, Any]:
    """One run on the wire (``Run.to_dict()``)."""
    return run.to_dict()


def runs_page_json(page: Page[Run], local_only: set[str] | None = None) -> dict[str, Any]:
    """``GET runs`` response; with a remote configured each run says whether it is ``local_only`` (never synced)."""
    items = [run_json(r) for r in page.items]
    if local_only is not None:
        for item in items:
            item["local_only"] = item["id"] in local_only
    return {"runs": items, "total": page.total, "offset": page.offset, "limit": page.limit}


def run_detail_json(run: Run, env: dict[str, Any] | None, code: dict[str, Any] | None,
                    profiles: dict[str, dict[str, Any]] | None = None,
                    local_only: set[str] | None = None) -> dict[str, Any]:
    """``GET runs/{id}`` response: the run, its snapshots and its data inputs' recorded profiles.

    ``env`` and ``code`` are None when not stored; ``profiles`` maps each input that has a profile to it, by the
    input's name (ADR-082), as ``runs show --format json`` does. With a remote configured the run says whether it
    is ``local_only``, as in ``GET runs``.
    """
    item = run_json(run)
    if local_only is not None:
        item["local_only"] = run.id in local_only
    return {"run": item, "env": env, "code": code, "profiles": dict(profiles or {})}


def metric_history_json(key: str, points: Iterable[Metric | SliceMetric], label: str | None = None) -> dict[str, Any]:
    """``GET runs/{id}/metrics/{key}`` response; a slice's history also names the slice and its dimensions."""
    answer: dict[str, Any] = {"key": key, "points": [{"step": p.step, "value": _finite(p.value),
                                                      "timestamp": p.timestamp} for p in points]}
    if label is not None:
        answer.update(slice=label, dims=slice_dims(label))
    return answer


def compare_json(comparison: dict[str, Any], charts: dict[str, Any], params_charts: dict[str, Any],
                 sampling: dict[str, Any] | None = None) -> dict[str, Any]:
    """``GET compare`` response: ``Comparison.to_dict()`` plus Vega-Lite specs keyed by metric.

    ``charts`` holds each metric's history over steps; ``params_charts`` a parallel-coordinates view of the
    differing params against each metric (empty when no param differs); ``sampling``
    (``CompareAnswer.sampling_json()``) the per-series budget and which series were downsampled.
    """
    return {**comparison, "charts": charts, "params_charts": params_charts, **(sampling or {})}


def parse_points(value: str | None) -> int:
    """Parse ``compare?points=N``: the chart budget per run and metric (default 1,000)."""
    return parse_int(value, "points", DEFAULT_MAX_POINTS, minimum=MIN_POINTS, maximum=MAX_CHART_POINTS)


def settings_json(version: str, store_url: str) -> dict[str, Any]:
    """``GET settings`` response (version handshake); the store URL has any password removed."""
    return {"version": version, "store": redact_url(store_url)}


def _finite(value: float) -> float | None:
    # JSON has no NaN/inf; the sidebar shows a gap for None.
    return value if value == value and value not in (float("inf"), float("-inf")) else None
