"""nb-smoke: execute notebooks in fresh kernels with smoke parameters, and report which broke, where and why.

One module per job: :mod:`.options` (what a call is told, assembled once for the CLI and the pytest plugin),
:mod:`.discover` (which notebooks), :mod:`.params` (parameters: sources, types, injection), :mod:`.run` (the
scheduler), :mod:`.kernel` and :mod:`.procs` (kernels and the processes they start), :mod:`.execute` (one
notebook, cell by cell), :mod:`.limits` and :mod:`.outputs` (timeouts and output caps), :mod:`.report`
(results, JUnit XML, JSON, GitHub annotations). Importing the package imports none of nbclient, nbformat or
jupyter_client.

Example:
    >>> from jupyter_mlops.notebooks.smoke import SmokeOptions, collect, run_smoke
    >>> options = SmokeOptions.from_sources({"paths": ["example_notebooks"], "params": ["epochs=1"]})  # doctest: +SKIP
    >>> run_smoke(collect(options), options).exit_code  # doctest: +SKIP
    0
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jupyter_mlops.notebooks.smoke.options import SmokeOptions
    from jupyter_mlops.notebooks.smoke.run import check_parameters, collect, run_smoke

__all__ = ["SmokeOptions", "check_parameters", "collect", "run_smoke"]
#: Re-exported lazily (PEP 562): importing one module of the package (``nb-smoke --fork`` starts its zygote
#: from :mod:`.zygotes` before anything else, ADR-118) does not import the runner.
_LAZY = {"SmokeOptions": "jupyter_mlops.notebooks.smoke.options",
         "check_parameters": "jupyter_mlops.notebooks.smoke.run", "collect": "jupyter_mlops.notebooks.smoke.run",
         "run_smoke": "jupyter_mlops.notebooks.smoke.run"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
