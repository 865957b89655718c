"""Autolog integrations: small patches that turn what a program already does into params.

Each integration is a registry row (:data:`INTEGRATIONS`) with an ``enable``/``disable`` pair; patches never
raise into the user's program (a failure to log becomes one warning).

Assumptions for argparse:
    * With a run active, ``parse_args``/``parse_known_args`` log the parsed namespace as params (source
      ``argparse``) and return exactly what the original returned.
    * With no run active nothing is recorded at parse time; the namespace is remembered and logged onto the
      next run this process starts (scripts usually parse their arguments before ``start_run``).
"""

from __future__ import annotations

import argparse
import logging
import threading
from collections.abc import Callable
from typing import Any

from jupyter_mlops.tracking import fluent
from jupyter_mlops.tracking.run import ActiveRun

__all__ = ["INTEGRATIONS", "autolog_argparse"]

logger = logging.getLogger(__name__)

SOURCE = "argparse"
_ORIGINAL: dict[str, Callable[..., Any]] = {}
_pending: list[dict[str, Any]] = []
_depth = threading.local()


def _record(namespace: Any) -> None:
    try:
        values = dict(vars(namespace))
    except TypeError:
        return
    active = fluent.active_run()
    try:
        if active is None:
            _pending[:] = [values]
        else:
            active.log_params(values, source=SOURCE)
    except Exception as exc:  # autolog never breaks the program it observes
        logger.warning("jupyter_mlops: could not log argparse arguments: %s", exc)


def _apply_pending(active: ActiveRun) -> None:
    if _pending:
        values = _pending.pop()
        try:
            active.log_params(values, source=SOURCE)
        except Exception as exc:
            logger.warning("jupyter_mlops: could not log argparse arguments: %s", exc)


def _patched_parse_known_args(self: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> Any:
    # Sub-parsers call parse_known_args from inside the outer parse: only the outermost result is recorded.
    depth = getattr(_depth, "value", 0)
    _depth.value = depth + 1
    try:
        result = _ORIGINAL["parse_known_args"](self, *args, **kwargs)
    finally:
        _depth.value = depth
    if depth == 0:
        _record(result[0] if isinstance(result, tuple) else result)
    return result


def autolog_argparse(disable: bool = False) -> None:
    """Make every ``ArgumentParser.parse_args()`` of this process log its namespace as params.

    Args:
        disable: undo the patch.

    Example:
        >>> import argparse, tempfile, jupyter_mlops as mlops
        >>> mlops.autolog_argparse()
        >>> parser = argparse.ArgumentParser()
        >>> _ = parser.add_argument("--lr", type=float, default=0.1)
        >>> with mlops.start_run(store=f"sqlite:///{tempfile.mkdtemp()}/mlops.db") as run:
        ...     args = parser.parse_args(["--lr", "0.05"])
        >>> mlops.get_run(run.id, store=run.store).params
        {'lr': 0.05}
        >>> mlops.autolog_argparse(disable=True)
    """
    if disable:
        original = _ORIGINAL.pop("parse_known_args", None)
        if original is not None:
            argparse.ArgumentParser.parse_known_args = original  # type: ignore[method-assign]
        if _apply_pending in fluent.START_HOOKS:
            fluent.START_HOOKS.remove(_apply_pending)
        _pending.clear()
        return
    if "parse_known_args" not in _ORIGINAL:
        _ORIGINAL["parse_known_args"] = argparse.ArgumentParser.parse_known_args
        argparse.ArgumentParser.parse_known_args = _patched_parse_known_args  # type: ignore[method-assign]
    if _apply_pending not in fluent.START_HOOKS:
        fluent.START_HOOKS.append(_apply_pending)


#: name -> (enable, disable)
INTEGRATIONS: dict[str, tuple[Callable[[], None], Callable[[], None]]] = {
    "argparse": (autolog_argparse, lambda: autolog_argparse(disable=True)),
}
