"""Shared options of the ``runs`` commands (the sqlite-utils ``output_options`` pattern).

Option values are validated here and bad ones raise :class:`~jupyter_mlops.errors.InvalidInput`, so
``cli.main`` prints one line instead of click's multi-line usage block. Nothing heavy is imported at module level:
``jupyter-mlops runs list`` must start fast.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from jupyter_mlops.errors import InvalidInput, MlopsError

F = TypeVar("F", bound=Callable[..., Any])


class VerdictCommandError(MlopsError):
    """An error of a command whose exits 0 and 1 are verdicts (gate, data check, models check, ci): always exit 2.

    It keeps the original error's ``code`` (``NOT_FOUND``, ``INVALID_INPUT``...) for the JSON a face prints, and
    takes the subclass's ``default_code`` otherwise.
    """

    exit_code = 2
    default_code = "COMMAND_ERROR"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code or self.default_code


def write_report(path: str | None, text: str, error: type[MlopsError] = VerdictCommandError) -> None:
    """Write a report file (``--junit-xml``, ``--markdown``...) if one was asked for; an unwritable path: ``error``."""
    if not path:
        return
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise error(f"cannot write {path}: {exc.strerror}") from None


def store_option(func: F) -> F:
    """``--store URL``: which store to use (default: settings resolution)."""
    return click.option(
        "--store",
        "store_url",
        metavar="URL",
        default=None,
        help="Store URL, e.g. sqlite:///path/mlops.db or postgresql+psycopg://user@host/db "
        "(default: $JUPYTER_MLOPS_STORE, [tool.jupyter-mlops] store, else .mlops/mlops.db in the project root).",
    )(func)


def _flag(param: click.Parameter) -> str:
    # The user typed the option's flag, not its Python name (``--format``, not ``fmt``).
    return next((o for o in param.opts if o.startswith("--")), param.opts[0] if param.opts else str(param.name))


def _choice_callback(choices: Sequence[str]) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def check(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is not None and value not in choices:
            raise InvalidInput(f"{_flag(param)} must be one of {', '.join(choices)}; got {value!r}")
        return value

    return check


def format_option(*choices: str, default: str = "table") -> Callable[[F], F]:
    """``--format``/``-f`` limited to ``choices`` (validated with a one-line error)."""

    def decorate(func: F) -> F:
        return click.option(
            "--format",
            "-f",
            "fmt",
            default=default,
            show_default=True,
            metavar="|".join(choices),
            callback=_choice_callback(choices),
            help=f"Output format: {', '.join(choices)}.",
        )(func)

    return decorate


def filter_option(func: F) -> F:
    """``--filter``: a filter-language expression."""
    return click.option(
        "--filter",
        "filter_text",
        metavar="EXPR",
        default=None,
        help='Only runs matching a filter, e.g. "metrics.auc >= 0.8 and params.lr < 0.1" (see docs/cli.md).',
    )(func)


def _check_limit(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value is not None and value < 1:
        raise InvalidInput(f"{_flag(param)} must be a positive number; got {value}")
    return value


def non_negative(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Click callback: reject negative numbers with a one-line error."""
    if value is not None and value < 0:
        raise InvalidInput(f"{_flag(param)} must not be negative; got {value}")
    return value


def sort_option(func: F) -> F:
    """``--sort``: repeatable sort keys such as ``"metrics.auc desc"``."""
    return click.option(
        "--sort",
        "sort",
        metavar="KEY [asc|desc]",
        multiple=True,
        help='Sort key, repeatable: "metrics.auc desc", "params.lr", "name", "start_time" (default: newest first).',
    )(func)


def limit_option(default: int | None = 50) -> Callable[[F], F]:
    """``--limit N``: at most N runs."""

    def decorate(func: F) -> F:
        return click.option(
            "--limit",
            "-n",
            type=int,
            default=default,
            show_default=default is not None,
            callback=_check_limit,
            help="At most this many runs.",
        )(func)

    return decorate


def stdin_is_terminal() -> bool:
    """Whether a person can answer a confirmation prompt."""
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False
