"""jupyter_mlops: experiment tracking inside notebooks, run comparison, and notebook hygiene.

The public API (``start_run``, ``log_metric``, ``runs``, ...) is re-exported lazily (PEP 562) so that the
pytest plugin, the CLI's ``--help`` and ``notebooks/`` do not pay for SQLAlchemy or pandas. The Jupyter hooks
import their face inside the function, as nbdime does.
"""

from __future__ import annotations

import importlib
from typing import Any

from jupyter_mlops._version import __version__

# public name -> module that defines it
_API = {
    "start_run": "jupyter_mlops.tracking.fluent",
    "end_run": "jupyter_mlops.tracking.fluent",
    "active_run": "jupyter_mlops.tracking.fluent",
    "log_param": "jupyter_mlops.tracking.fluent",
    "log_params": "jupyter_mlops.tracking.fluent",
    "log_metric": "jupyter_mlops.tracking.fluent",
    "log_metrics": "jupyter_mlops.tracking.fluent",
    "log_sliced_metrics": "jupyter_mlops.tracking.fluent",
    "log_data": "jupyter_mlops.tracking.fluent",
    "log_artifact": "jupyter_mlops.tracking.fluent",
    "log_model": "jupyter_mlops.tracking.fluent",
    "load_model": "jupyter_mlops.tracking.fluent",
    "set_tags": "jupyter_mlops.tracking.fluent",
    "note": "jupyter_mlops.tracking.fluent",
    "get_run": "jupyter_mlops.tracking.fluent",
    "runs": "jupyter_mlops.tracking.fluent",
    "autolog_argparse": "jupyter_mlops.tracking.autolog",
    "compare_runs": "jupyter_mlops.app.compare",
    "compare_widget": "jupyter_mlops.ipython.widgets",
    "MlopsError": "jupyter_mlops.errors",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'jupyter_mlops' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext jupyter_mlops``: register the ``%track`` magics and the post-cell observer."""
    from jupyter_mlops.ipython.magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext jupyter_mlops``."""
    from jupyter_mlops.ipython.magics import unload_ipython_extension as unload

    unload(ipython)


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "jupyter_mlops"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    from jupyter_mlops.server import load_jupyter_server_extension

    load_jupyter_server_extension(server_app)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyter-mlops"}]
