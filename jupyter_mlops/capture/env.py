"""The environment a run ran in: Python, platform, installed packages, CPU, RAM and GPUs.

:func:`snapshot` is computed once per process (packages do not change under a running kernel often enough to pay
for re-reading them on every run) and can be warmed in the background with :func:`prefetch`, so starting a run
never waits for it. Installed packages come from the ``*.dist-info`` folder names on ``sys.path`` (their names
carry name and version by the wheel spec), which is ~100× cheaper than parsing every ``METADATA`` file through
``importlib.metadata``; only legacy ``.egg-info`` installs fall back to it.

GPUs come from NVML (``pynvml``, the ``nvidia-ml-py`` distribution) when it loads, else from
``nvidia-smi --query-gpu ... --format=csv``, else there is no GPU: an empty list, never an error.
"""

from __future__ import annotations

import logging
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Mapping
from typing import Any

__all__ = [
    "SMI_FIELDS",
    "gpu_info",
    "packages",
    "parse_nvidia_smi_csv",
    "prefetch",
    "snapshot",
    "snapshot_diff",
]

logger = logging.getLogger(__name__)

#: The query ``gpu_info`` asks nvidia-smi for, and the keys it reports them under.
SMI_FIELDS: tuple[tuple[str, str], ...] = (
    ("index", "index"),
    ("name", "name"),
    ("uuid", "uuid"),
    ("memory.total", "memory_total"),
    ("memory.used", "memory_used"),
    ("driver_version", "driver_version"),
    ("compute_cap", "compute_cap"),
    ("utilization.gpu", "utilization"),
    ("temperature.gpu", "temperature"),
    ("power.draw", "power_draw"),
)
SMI_TIMEOUT_S = 10.0
_UNIT_FACTORS = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}
_MISSING = {"", "N/A", "[N/A]", "[Not Supported]", "Not Supported", "[Unknown Error]", "[Insufficient Permissions]"}

_lock = threading.Lock()
_cached: dict[str, Any] | None = None


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def packages() -> dict[str, str]:
    """Installed distributions as ``{canonical name: version}``, first match on ``sys.path`` winning."""
    found: dict[str, str] = {}
    legacy = False
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if name.endswith(".dist-info"):
                stem = name[: -len(".dist-info")]
                dist, _, version = stem.partition("-")
                if dist and version:
                    found.setdefault(_canonical(dist), version)
            elif name.endswith(".egg-info"):
                legacy = True
    if legacy:
        import importlib.metadata

        for distribution in importlib.metadata.distributions():
            try:
                found.setdefault(_canonical(distribution.metadata["Name"]), distribution.version)
            except Exception:  # a broken metadata file must not hide the others
                continue
    return dict(sorted(found.items()))


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as stream:
            for line in stream:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_total() -> int | None:
    try:
        import psutil

        return int(psutil.virtual_memory().total)
    except Exception:  # psutil is optional
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


def _number(text: str) -> int | float | str:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def _smi_value(raw: str) -> Any:
    value = raw.strip()
    if value in _MISSING:
        return None
    amount, _, unit = value.partition(" ")
    if unit in _UNIT_FACTORS:
        number = _number(amount)
        return int(number * _UNIT_FACTORS[unit]) if isinstance(number, (int, float)) else value
    if unit in ("%", "W", "C", "MHz"):
        return _number(amount)
    return _number(value) if re.fullmatch(r"-?\d+", value) else value


def parse_nvidia_smi_csv(text: str) -> list[dict[str, Any]]:
    """Parse ``nvidia-smi --query-gpu=... --format=csv`` output (with its header line).

    Units are stripped; memory becomes bytes; ``[N/A]``-style values become None. Columns are named by
    :data:`SMI_FIELDS` (unknown columns keep their query name with dots as underscores).

    Args:
        text: the command's standard output.

    Returns:
        One dict per GPU, in output order.
    """
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return []
    names = dict(SMI_FIELDS)
    header = [re.sub(r"\s*\[.*?\]\s*$", "", column.strip()) for column in lines[0].split(",")]
    keys = [names.get(column, column.replace(".", "_")) for column in header]
    gpus = []
    for line in lines[1:]:
        values = [part.strip() for part in line.split(",")]
        if len(values) != len(keys):
            continue  # a warning line or a name containing a comma: skip rather than misattribute
        gpus.append({key: _smi_value(value) for key, value in zip(keys, values, strict=True)})
    return gpus


def _gpus_from_nvml() -> list[dict[str, Any]] | None:
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except Exception:  # no driver/library: fall through to nvidia-smi
        return None
    try:
        driver = _text(pynvml.nvmlSystemGetDriverVersion())
        gpus = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
            major, minor = pynvml.nvmlDeviceGetCudaComputeCapability(handle)
            gpus.append(
                {
                    "index": index,
                    "name": _text(pynvml.nvmlDeviceGetName(handle)),
                    "uuid": _text(pynvml.nvmlDeviceGetUUID(handle)),
                    "memory_total": int(memory.total),
                    "memory_used": int(memory.used),
                    "driver_version": driver,
                    "compute_cap": f"{major}.{minor}",
                    "utilization": _optional(lambda h=handle: pynvml.nvmlDeviceGetUtilizationRates(h).gpu),
                    "temperature": _optional(lambda h=handle: pynvml.nvmlDeviceGetTemperature(h, 0)),
                    "power_draw": _optional(lambda h=handle: pynvml.nvmlDeviceGetPowerUsage(h) / 1000.0),
                }
            )
        return gpus
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:
            pass


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _optional(read: Any) -> Any:
    try:
        return read()
    except Exception:  # not supported on this board (e.g. power on some consumer cards)
        return None


def _gpus_from_smi() -> list[dict[str, Any]] | None:
    executable = shutil.which("nvidia-smi")
    if executable is None:
        return None
    query = ",".join(field for field, _ in SMI_FIELDS)
    completed = subprocess.run(
        [executable, f"--query-gpu={query}", "--format=csv"],
        capture_output=True,
        text=True,
        timeout=SMI_TIMEOUT_S,
        check=False,
    )
    if completed.returncode != 0:
        logger.warning("nvidia-smi failed (exit %d): %s", completed.returncode, completed.stderr.strip()[:200])
        return None
    return parse_nvidia_smi_csv(completed.stdout)


def gpu_info() -> list[dict[str, Any]]:
    """The GPUs of this machine: NVML first, then ``nvidia-smi``; ``[]`` means no GPU. Never raises."""
    for source in (_gpus_from_nvml, _gpus_from_smi):
        try:
            gpus = source()
        except Exception as exc:
            logger.warning("GPU probe %s failed: %s", source.__name__.strip("_"), exc)
            continue
        if gpus is not None:
            return gpus
    return []


def _build() -> dict[str, Any]:
    return {
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
        },
        "platform": {
            "system": platform.system(),
            "release": platform.release(),
            "machine": platform.machine(),
            "platform": platform.platform(),
        },
        "packages": _guarded(packages, {}),
        "cpu": {"model": _guarded(_cpu_model, None), "count": os.cpu_count()},
        "ram": {"total": _guarded(_ram_total, None)},
        "gpus": gpu_info(),
    }


def _guarded(read: Any, default: Any) -> Any:
    try:
        return read()
    except Exception as exc:
        logger.warning("environment capture: %s failed: %s", getattr(read, "__name__", read), exc)
        return default


def _copy(snap: Mapping[str, Any]) -> dict[str, Any]:
    copied: dict[str, Any] = {}
    for key, value in snap.items():
        if isinstance(value, dict):
            copied[key] = dict(value)
        elif isinstance(value, list):
            copied[key] = [dict(item) if isinstance(item, dict) else item for item in value]
        else:
            copied[key] = value
    return copied


def snapshot(refresh: bool = False) -> dict[str, Any]:
    """This process's environment, computed once and then cached.

    Args:
        refresh: recompute instead of returning the cached snapshot.

    Returns:
        ``{"python": {version, implementation, executable}, "platform": {...}, "packages": {name: version},
        "cpu": {model, count}, "ram": {total}, "gpus": [...]}`` (a copy the caller may change).
    """
    global _cached
    with _lock:
        if _cached is None or refresh:
            _cached = _build()
        return _copy(_cached)


def prefetch() -> threading.Thread:
    """Start computing the snapshot in a daemon thread, so the first :func:`snapshot` call finds it ready."""
    thread = threading.Thread(target=lambda: _guarded(snapshot, None), name="jupyter-mlops-env", daemon=True)
    thread.start()
    return thread


def snapshot_diff(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> dict[str, Any]:
    """What changed between two environment snapshots (either may be None: recorded without one).

    Returns:
        ``{"python": [a_version, b_version] | None, "packages": [{"name", "values": [a, b], "change"}]}`` where
        ``change`` is ``added``, ``removed`` or ``bumped``; ``python`` is None when equal. Packages sorted by name.
    """
    python_a = ((a or {}).get("python") or {}).get("version")
    python_b = ((b or {}).get("python") or {}).get("version")
    packages_a: Mapping[str, str] = (a or {}).get("packages") or {}
    packages_b: Mapping[str, str] = (b or {}).get("packages") or {}
    changes = []
    for name in sorted(set(packages_a) | set(packages_b)):
        old, new = packages_a.get(name), packages_b.get(name)
        if old == new:
            continue
        change = "added" if old is None else "removed" if new is None else "bumped"
        changes.append({"name": name, "values": [old, new], "change": change})
    return {"python": None if python_a == python_b else [python_a, python_b], "packages": changes}
