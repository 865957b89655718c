"""Servability: can a registered model version be loaded and queried here? (``models check``, ``gate --servable``).

:func:`check_servable` resolves the version, starts the sandbox (:mod:`jupyter_mlops.app.model_sandbox`) in a
fresh ``sys.executable`` with only the blob path, expected hash, sample path and options, reads its one JSON
line, compares the key packages with the environment the model's run recorded, and judges it all
(:func:`jupyter_mlops.comparing.servability.judge`). The parent never unpickles anything.

Assumptions:
    * "Key packages" are those the model's flavor implies (``sklearn``: scikit-learn, numpy, scipy, joblib), joblib
      for the joblib format, and the distributions of the pickle's top-level modules (standard library left out);
      their versions now are compared with the run's recorded environment snapshot. Python's own version is not
      judged (the pickle protocol is stable across 3.x).
    * Only pickled models (``joblib``, ``pickle``, and a logged ``file`` that joblib can read) can be queried; a
      folder model has no entry point to call, so it cannot be checked (exit 2).
    * The whole child has one timeout (default 120 s); a child that runs past it, or dies without answering, makes
      the model not servable (exit 1) with the reason.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_mlops.comparing.servability import Check, Servability, env_check, judge, parse_latency
from jupyter_mlops.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from jupyter_mlops.app.workspace import Workspace
    from jupyter_mlops.entities import ModelVersion

__all__ = ["LATENCY_CALLS", "candidate_version", "check_servable", "key_packages"]

#: Per-row calls timed for the latency percentile (fewer when the sample has fewer rows).
LATENCY_CALLS = 100
#: Seconds the whole sandbox (start, hash, load, every call) may take.
DEFAULT_TIMEOUT_S = 120.0

_FLAVOR_PACKAGES = {"sklearn": ("scikit-learn", "numpy", "scipy", "joblib")}
_MODULE_DISTRIBUTION = {"sklearn": "scikit-learn", "skimage": "scikit-image", "cv2": "opencv-python",
                        "yaml": "pyyaml", "PIL": "pillow"}
_NOT_PACKAGES = {"__main__", "builtins", "__builtin__", "copy_reg"}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def key_packages(flavor: str, fmt: str, modules: list[str], installed: dict[str, str],
                 module_files: dict[str, str | None] | None = None) -> list[str]:
    """The canonical distribution names whose versions decide whether the model loads and behaves as recorded.

    ``module_files`` (where the sandbox found each module) leaves out the project's own modules: only modules
    loaded from an installed location (site-packages) name a distribution.
    """
    names: list[str] = list(_FLAVOR_PACKAGES.get(flavor, ()))
    if fmt == "joblib":
        names.append("joblib")
    distributions: dict[str, list[str]] | None = None
    for module in modules:
        if module in _NOT_PACKAGES or module in sys.stdlib_module_names or module.startswith("_"):
            continue
        if module_files is not None and not _installed_location(module_files.get(module)):
            continue
        name = _MODULE_DISTRIBUTION.get(module, module)
        if _canonical(name) not in installed:
            if distributions is None:  # about 0.5 s on a 200-package environment: only when the name misses
                import importlib.metadata

                distributions = dict(importlib.metadata.packages_distributions())
            name = (distributions.get(module) or [name])[0]
        names.append(name)
    return list(dict.fromkeys(_canonical(n) for n in names))


def _installed_location(path: str | None) -> bool:
    import sysconfig

    if not path:
        return False
    roots = {Path(sysconfig.get_paths()[k]).resolve() for k in ("purelib", "platlib")}
    where = Path(path).resolve()
    return any(where.is_relative_to(root) for root in roots)


def _recorded_packages(workspace: Workspace, version: ModelVersion) -> dict[str, str] | None:
    from jupyter_mlops.tracking.models import effective_lineage

    env_hash = effective_lineage(workspace.store, version).env_hash
    if not env_hash:
        return None
    try:
        snapshot = workspace.blobs.get_json(env_hash)
    except NotFound:
        return None
    packages = snapshot.get("packages") if isinstance(snapshot, dict) else None
    return {_canonical(str(k)): str(v) for k, v in packages.items()} if isinstance(packages, dict) else None


def _ask_sandbox(request: dict[str, Any], timeout: float) -> tuple[dict[str, Any] | None, str]:
    """The child's answer (None when it gave none) and, then, why."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "jupyter_mlops.app.model_sandbox"], input=json.dumps(request),
            capture_output=True, text=True, timeout=timeout, check=False,
        )
    except subprocess.TimeoutExpired:
        return None, f"the sandbox did not finish within {timeout:g} s (loading or predicting hangs or is too slow)"
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if lines:
        try:
            return json.loads(lines[-1]), ""
        except ValueError:
            pass
    tail = " | ".join(done.stderr.strip().splitlines()[-3:])[-400:]
    return None, f"the sandbox exited with code {done.returncode} without an answer{': ' + tail if tail else ''}"


def check_servable(workspace: Workspace, ref: str, sample_path: str | Path, n: int = 1000,
                   latency_p95: float | str | None = None, entry_point: str = "predict", *,
                   timeout: float = DEFAULT_TIMEOUT_S) -> Servability:
    """Load the version ``ref`` names in a sandbox, query it on the first ``n`` rows of a CSV sample, judge it.

    Args:
        workspace: the project's stores.
        ref: ``NAME:VERSION``, ``NAME:latest`` or ``NAME@ALIAS``.
        sample_path: a CSV file with the model's input columns (others are dropped when the model recorded its
            feature names).
        n: how many sample rows to use.
        latency_p95: the bound on the per-row p95 latency: seconds (``0.05``), or a duration text (``50ms``,
            ``0.2s``).
        entry_point: the method to call (``predict``, ``predict_proba``, ``transform``...).
        timeout: seconds the whole sandbox may take.

    Returns:
        The report; ``exit_code`` 0 servable, 1 not servable, 2 could not check.

    Raises:
        InvalidInput: a malformed reference, ``n`` < 1, a bad bound, timeout or entry point.
        NotFound: an unknown model, version or alias; no sample file.
    """
    from jupyter_mlops.app.models import resolve_version
    from jupyter_mlops.capture.env import packages

    bound_ms = parse_latency(latency_p95)
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise InvalidInput(f"--n must be a positive number of sample rows; got {n!r}")
    if not entry_point.isidentifier():
        raise InvalidInput(f"entry point must be a method name such as predict; got {entry_point[:40]!r}")
    if not timeout > 0:
        raise InvalidInput(f"timeout must be positive; got {timeout!r}")
    sample = Path(sample_path)
    if not sample.is_file():
        raise NotFound(f"sample file not found: {sample}")
    version = resolve_version(workspace, ref)
    base = Servability(ref=version.ref, entry_point=entry_point, sample=str(sample), latency_bound_ms=bound_ms)
    if version.format not in ("joblib", "pickle", "file"):
        return _error(base, f"{version.ref} is a {version.format!r} model; only pickled models (joblib, pickle, "
                            "or a file joblib can read) can be loaded and queried")
    try:
        # The sandbox child reads a local file: a remote store hands its verified cached copy.
        blob = workspace.blobs.local_path(version.artifact_hash)
    except NotFound:
        return _error(base, f"{version.ref}: its content {version.artifact_hash} is missing from the blob store")
    signature = version.lineage.signature or {}
    request = {"blob": str(blob), "hash": version.artifact_hash, "format": version.format,
               "sample": str(sample.resolve()), "n": n, "entry_point": entry_point,
               "features": signature.get("features"), "latency_calls": LATENCY_CALLS,
               "latency_bound_s": None if bound_ms is None else bound_ms / 1000}
    started = time.perf_counter()
    found: dict[str, dict[str, str]] = {}
    # This interpreter's packages are read while the sandbox starts (about 0.2 s of the parent's time otherwise).
    reader = threading.Thread(target=lambda: found.setdefault("packages", packages()), daemon=True)
    reader.start()
    answer, why = _ask_sandbox(request, timeout)
    sandbox_ms = (time.perf_counter() - started) * 1000
    reader.join()
    installed = found.get("packages") or packages()
    if answer is None:
        return _replace(base, checks=(Check("sandbox", "fail", why),), sandbox_ms=sandbox_ms)
    key = key_packages(version.flavor, version.format, list(answer.get("modules") or ()), installed,
                       answer.get("module_files"))
    recorded = _recorded_packages(workspace, version)
    result = judge(base, answer, env_check(recorded, installed, key), bound_ms)
    return _replace(result, key_packages={k: installed.get(k, "-") for k in key}, sandbox_ms=sandbox_ms)


def candidate_version(workspace: Workspace, run_id: str, model: str | None = None) -> str:
    """The reference of the newest model version the run registered (of ``model`` when given).

    Raises:
        NotFound: the run registered no (such) model version.
    """
    found = [v for v in workspace.store.model_versions(model) if v.run_id == run_id]
    if not found:
        which = f"a version of {model!r}" if model else "any model version"
        raise NotFound(f"run {run_id[:8]} registered {which}; nothing to check for --servable "
                       "(log the model with run.log_model)")
    return max(found, key=lambda v: v.created).ref


def _error(base: Servability, message: str) -> Servability:
    return _replace(base, error=message)


def _replace(base: Servability, **changes: Any) -> Servability:
    from dataclasses import replace

    return replace(base, **changes)
