"""The ``%track`` / ``%%track`` magics: parse the line, call the tracking API, show the result.

Faces hold no logic: every sub-command is a few lines over :mod:`jupyter_mlops.tracking.fluent`, the use cases
of :mod:`jupyter_mlops.app` and the renderers. :meth:`TrackMagics.track` is the one place where errors become a
single red ``UsageError`` line (no traceback); a failing sub-command never touches stored runs it was not asked
to change. Every sub-command parses its arguments with argparse, so a missing, extra or mistyped argument and
an unknown flag are refused the same way (``--`` passes a path or tag that starts with ``-``); integers are
bounded to 64 bits so a huge one is an argument error, not an ``OverflowError`` deep in the store. Anything else
that escapes is a bug, still shown as one line (``JUPYTER_MLOPS_DEBUG=1`` shows its traceback). Errors raised by
the user's own code inside a ``%%track`` cell keep their normal traceback.
"""

from __future__ import annotations

import argparse
import ast
import os
import shlex
import sys
from collections.abc import Callable
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.display import display

from jupyter_mlops.errors import InvalidInput, MlopsError, NoActiveRun
from jupyter_mlops.ipython.kernel_events import CellObserver
from jupyter_mlops.notebooks.convert.runtime import is_number as _is_number
from jupyter_mlops.notebooks.convert.runtime import is_param_value
from jupyter_mlops.render.run_view import RichText as _Rich
from jupyter_mlops.render.run_view import run_views as _run_views
from jupyter_mlops.tracking import fluent
from jupyter_mlops.tracking.run import native

__all__ = ["TrackMagics", "load_ipython_extension", "unload_ipython_extension"]

SUBCOMMANDS = (
    "start", "stop", "status", "params", "metric", "metrics", "data", "artifact", "model", "tag", "note", "list",
    "show", "compare", "reproduce", "slice",
)
_HELP = "usage: %track {" + ",".join(SUBCOMMANDS) + "} ... (see docs/magics.md)"
_INT64 = (-(2**63), 2**63 - 1)


class _Parser(argparse.ArgumentParser):
    """argparse that raises InvalidInput instead of printing usage and exiting the kernel."""

    def error(self, message: str) -> Any:  # noqa: D102 - argparse hook
        usage = " ".join(self.format_usage().split()[1:])  # argparse wraps it over lines; the error is one line
        raise InvalidInput(f"{self.prog}: {message} (usage: {usage})")

    def exit(self, status: int = 0, message: str | None = None) -> Any:  # noqa: D102, A003 - argparse hook
        raise _HelpShown()


class _HelpShown(Exception):
    """``--help`` printed its text; nothing else to do."""


def _parser(name: str) -> _Parser:
    return _Parser(prog=f"%track {name}", add_help=True)


def _int64(text: str) -> int:
    """An argparse type: an integer that a 64-bit store column holds."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if not _INT64[0] <= value <= _INT64[1]:
        raise argparse.ArgumentTypeError(f"{text} is out of range (a 64-bit integer: {_INT64[0]} to {_INT64[1]})")
    return value


def _one_line(text: str) -> str:
    lines = str(text).strip().splitlines()
    return lines[0] if lines else ""


def _split(line: str) -> list[str]:
    try:
        return shlex.split(line, posix=os.name != "nt")
    except ValueError as exc:
        raise InvalidInput(f"cannot read the %track line: {exc}") from None


@magics_class
class TrackMagics(Magics):
    """``%track SUBCOMMAND ...`` and ``%%track params|metrics``.

    Args:
        shell: the IPython shell.
        observer: the post-cell observer that records cells into the active run.
    """

    def __init__(self, shell: Any, observer: CellObserver) -> None:
        super().__init__(shell)
        self.observer = observer
        self._user_code_failed = False

    @line_cell_magic
    def track(self, line: str, cell: str | None = None) -> Any:
        """Track experiments: ``%track start|stop|status|params|metric|data|artifact|model|tag|note|list|show|compare``.

        ``%track reproduce RUN`` re-executes a run in a fresh kernel and shows the verdict; ``%track slice METRIC``
        shows the executed cells that produced a metric (or a variable) as clean code.

        ``%%track params`` and ``%%track metrics`` run the cell and record its assignments.
        """
        words = line.strip().split(None, 1)
        if not words:
            raise UsageError(_HELP)
        command, rest = words[0], (words[1] if len(words) > 1 else "")
        handler: Callable[[str, str | None], Any] | None = getattr(self, f"_cmd_{command}", None)
        self._user_code_failed = False
        try:
            if command not in SUBCOMMANDS or handler is None:
                raise InvalidInput(f"unknown %track sub-command {command!r}; use one of: {', '.join(SUBCOMMANDS)}")
            if cell is not None and command not in ("params", "metrics"):
                raise InvalidInput(f"%%track {command} is not a cell magic; use %%track params or %%track metrics")
            return handler(rest, cell)
        except _HelpShown:
            return None
        except Exception as exc:  # the one translation point: a single red line, no traceback
            if self._user_code_failed:  # the user's own cell code: its own traceback, untouched
                raise
            if isinstance(exc, MlopsError):
                raise UsageError(_one_line(exc.message)) from None
            if os.environ.get("JUPYTER_MLOPS_DEBUG"):
                raise
            raise UsageError(f"%track {command}: internal error: {type(exc).__name__}: {_one_line(str(exc))} "
                             "(set JUPYTER_MLOPS_DEBUG=1 for the traceback)") from None

    # -- lifecycle ----------------------------------------------------------------------------------------
    def _cmd_start(self, rest: str, cell: str | None) -> None:
        parser = _parser("start")
        parser.add_argument("name", nargs="?")
        parser.add_argument("--experiment", "-e")
        parser.add_argument("--tag", "-t", action="append", default=[])
        parser.add_argument("--note", "-n")
        parser.add_argument("--no-auto", action="store_true")
        args = parser.parse_args(_split(rest))
        previous = fluent.active_run()
        if previous is not None:
            fluent.end_run()
            _say(f"Ended run {previous.name!r} ({previous.id[:8]}) as finished.")
        with self.observer.starting_explicitly():
            run = fluent.start_run(
                args.name, args.experiment, args.tag, args.note, user_ns=self.shell.user_ns, auto_capture=True
            )
        self.observer.attach(run, auto=not args.no_auto)
        auto = "off" if args.no_auto else "on"
        _say(f"Started run {run.name!r} ({run.id[:8]}) in experiment {run.experiment!r}; auto-capture {auto}.")

    def _cmd_stop(self, rest: str, cell: str | None) -> None:
        parser = _parser("stop")
        parser.add_argument("--failed", action="store_true")
        args = parser.parse_args(_split(rest))
        active = _require()
        ended = fluent.end_run("failed" if args.failed else "finished")
        status = ended.status.value if ended is not None else "finished"
        _say(f"Ended run {active.name!r} ({active.id[:8]}) as {status}.")

    def _cmd_status(self, rest: str, cell: str | None) -> None:
        _parser("status").parse_args(_split(rest))
        active = fluent.active_run()
        if active is None:
            _say("No active run. Start one with %track start [NAME].")
            return
        auto = "on" if self.observer.auto else "off"
        _say(
            f"Run {active.name!r} ({active.id[:8]}) is running in experiment {active.experiment!r}; "
            f"auto-capture {auto}; {self.observer.run_cells} cells recorded."
        )

    # -- values -------------------------------------------------------------------------------------------
    def _cmd_params(self, rest: str, cell: str | None) -> Any:
        parser = _parser("params")
        parser.add_argument("names", nargs="*", metavar="VAR")
        names = parser.parse_args(_split(rest)).names
        if cell is not None:
            if names:
                raise InvalidInput("%%track params takes no arguments: it records the cell's assignments")
            assigned = self._run_cell_body(cell)
            values = {n: native(self.shell.user_ns[n]) for n in assigned if _is_param_value(self.shell.user_ns, n)}
            self._log_or_warn(lambda run: run.log_params(values, source="%%track params"), "params")
            return None
        active = _require()
        if not names:
            active.flush()
            return fluent.get_run(active.id, store=active.store, blobs=active.blobs).params
        missing = [n for n in names if n not in self.shell.user_ns]
        if missing:
            raise InvalidInput(f"no variable named {', '.join(missing)} in the notebook")
        active.log_params({n: self.shell.user_ns[n] for n in names}, source="%track params")
        return None

    def _cmd_metrics(self, rest: str, cell: str | None) -> None:
        parser = _parser("metrics")
        parser.add_argument("--step", type=_int64)
        args = parser.parse_args(_split(rest))
        if cell is None:
            raise InvalidInput("%track metrics is a cell magic (%%track metrics); for one value use %track metric")
        assigned = self._run_cell_body(cell)
        ns = self.shell.user_ns
        values = {n: ns[n] for n in assigned if n in ns and _is_number(ns[n])}  # log_metrics checks the range
        self._log_or_warn(lambda run: run.log_metrics(values, step=args.step), "metrics")

    def _cmd_metric(self, rest: str, cell: str | None) -> None:
        parser = _parser("metric")
        parser.add_argument("pairs", nargs="+", metavar="NAME=VALUE")
        parser.add_argument("--step", type=_int64)
        args = parser.parse_args(_split(rest))
        values = dict(self._metric_pair(pair) for pair in args.pairs)
        _require().log_metrics(values, step=args.step)

    def _metric_pair(self, pair: str) -> tuple[str, Any]:
        name, sep, text = pair.partition("=")
        if not sep or not name or not text:
            raise InvalidInput(f"expected NAME=VALUE, got {pair!r}")
        try:
            return name, float(text)
        except ValueError:
            pass
        value = self.shell.user_ns.get(text) if text.isidentifier() else None
        if not _is_number(value):
            raise InvalidInput(f"metric {name!r}: {text!r} is not a number or a numeric variable")
        return name, value  # log_metrics refuses what no float can hold (10**400) in one line

    def _cmd_data(self, rest: str, cell: str | None) -> None:
        words = _split(rest)
        if words[:1] == ["check"]:
            self._data_check(words[1:])
            return
        parser = _parser("data")
        parser.add_argument("targets", nargs="+", metavar="PATH_OR_VARIABLE")
        targets = parser.parse_args(words).targets
        active = _require()
        for target in targets:
            value = self.shell.user_ns.get(target) if target.isidentifier() else None
            if value is None:
                record = active.log_data(target)
            elif isinstance(value, (str, os.PathLike)):
                record = active.log_data(value)
            else:
                record = active.log_data(value, name=target)
            _say(f"Recorded data {record.name!r} ({record.kind}, {record.hash[:20]}...).")

    def _data_check(self, words: list[str]) -> None:
        from jupyter_mlops.app.data_check import check_data
        from jupyter_mlops.comparing.data_check import Limits
        from jupyter_mlops.render.data_check import check_text

        parser = _parser("data check")
        parser.add_argument("targets", nargs="+", metavar="PATH_OR_DATAFRAME")
        parser.add_argument("--against", metavar="RUN|MODEL:VERSION|SCHEMA.yaml")
        parser.add_argument("--data", dest="recorded", metavar="NAME")
        defaults = Limits()
        parser.add_argument("--psi", type=float, default=defaults.psi)
        parser.add_argument("--null-increase", type=float, default=defaults.null_increase)
        parser.add_argument("--range-slack", type=float, default=defaults.range_slack)
        parser.add_argument("--warn", action="store_true", help="report anomalies without failing the cell")
        args = parser.parse_args(words)
        ns = self.shell.user_ns
        frames = {t: ns[t] for t in args.targets if t.isidentifier() and type(ns.get(t)).__name__ == "DataFrame"}
        paths = [t for t in args.targets if t not in frames]
        limits = Limits(psi=args.psi, null_increase=args.null_increase, range_slack=args.range_slack)
        result = check_data(_workspace(), paths, args.against, limits, args.recorded, frames)
        _say(check_text(result).rstrip("\n"))
        if result.anomalies and not args.warn:  # a data unit test: the cell fails, so Run All and nb-smoke stop
            n = len(result.anomalies)
            raise MlopsError(f"data check found {n} anomal{'ies' if n != 1 else 'y'} (see the table above)")

    def _cmd_artifact(self, rest: str, cell: str | None) -> None:
        parser = _parser("artifact")
        parser.add_argument("paths", nargs="+", metavar="PATH")
        paths = parser.parse_args(_split(rest)).paths
        active = _require()
        for path in paths:
            for artifact in active.log_artifact(path):
                _say(f"Stored artifact {artifact.path!r} ({artifact.size} bytes).")

    def _cmd_model(self, rest: str, cell: str | None) -> None:
        parser = _parser("model")
        parser.add_argument("name", metavar="NAME")
        parser.add_argument("target", metavar="VARIABLE_OR_PATH")
        parser.add_argument("--flavor", default=None)
        parser.add_argument("--version", default=None, metavar="MAJOR.MINOR.PIPELINE")
        parser.add_argument("--parent", action="append", default=[], metavar="NAME:VERSION|NAME@ALIAS")
        args = parser.parse_args(_split(rest))
        active = _require()
        # A variable of the notebook wins over a file of the same name, as in %track data.
        ns = self.shell.user_ns
        target = ns[args.target] if args.target.isidentifier() and args.target in ns else args.target
        version = active.log_model(target, args.name, args.flavor, args.version, args.parent)
        _say(f"Registered model {version.ref} ({version.format}, {version.artifact_hash[:20]}...).")

    def _cmd_tag(self, rest: str, cell: str | None) -> None:
        parser = _parser("tag")
        parser.add_argument("tags", nargs="+", metavar="TAG")
        tags = parser.parse_args(_split(rest)).tags
        _say("Tags: " + ", ".join(_require().set_tags(*tags)))

    def _cmd_note(self, rest: str, cell: str | None) -> None:
        if not rest.strip():  # the note is free text, flags included: only a missing one is refused
            raise InvalidInput("usage: %track note TEXT (the text replaces the run's note)")
        _require().note(rest.strip())
        _say("Note saved.")

    # -- reading ------------------------------------------------------------------------------------------
    def _cmd_list(self, rest: str, cell: str | None) -> Any:
        from jupyter_mlops.app.runs import list_runs

        parser = _parser("list")
        parser.add_argument("--filter", "-f")
        parser.add_argument("--limit", "-n", type=_int64, default=20)
        args = parser.parse_args(_split(rest))
        if args.limit < 1:
            raise InvalidInput(f"%track list: --limit must be a positive number; got {args.limit}")
        page = list_runs(_workspace(), args.filter, limit=args.limit)
        if not page.items:
            _say("No runs match." if args.filter else "No runs yet.")
            return None
        frame = fluent.runs_frame(page.items)
        keep = ["run_id", "name", "experiment", "status", "start_time"]
        keep += [c for c in frame.columns if c.startswith("metrics.")][:6]
        shown = frame[keep].copy()
        shown["run_id"] = shown["run_id"].str[:8]
        display(shown)
        return None

    def _cmd_show(self, rest: str, cell: str | None) -> None:
        from jupyter_mlops.app.runs import list_runs

        parser = _parser("show")
        parser.add_argument("run", nargs="?", metavar="RUN")
        chosen = parser.parse_args(_split(rest)).run
        workspace = _workspace()
        active = fluent.active_run()
        if chosen is not None:
            run_id = chosen
        elif active is not None:
            run_id = active.id
        else:
            latest = list_runs(workspace, limit=1).items
            if not latest:
                raise InvalidInput("no runs yet: start one with %track start")
            run_id = latest[0].id
        display(_Rich(*_run_views(fluent.get_run(run_id, store=workspace.store, blobs=workspace.blobs))))

    def _cmd_compare(self, rest: str, cell: str | None) -> None:
        parser = _parser("compare")
        parser.add_argument("runs", nargs="*")
        parser.add_argument("--last", type=_int64)
        parser.add_argument("--filter", "-f", help="with --last: only runs matching this filter")
        parser.add_argument("--all", action="store_true")
        parser.add_argument("--html", action="store_true", help="static HTML instead of the interactive view")
        args = parser.parse_args(_split(rest))
        workspace, ids = _compared_runs(args.runs, args.last, args.filter)
        if len(ids) < 2:
            # The first Run All of a notebook ending in `%track compare --last 2` has one run: not an error.
            self._too_few_to_compare(workspace, ids)
            return
        # In a kernel every frontend (Lab, Notebook 7, VS Code, Colab) renders ipywidgets; a terminal shows text.
        if hasattr(self.shell, "kernel") and not args.html:
            from jupyter_mlops.ipython.widgets import compare_widget

            display(compare_widget(ids, workspace=workspace))
        else:
            display(_Rich(*_comparison_html(workspace, ids, all_values=args.all)))

    def _cmd_reproduce(self, rest: str, cell: str | None) -> None:
        from jupyter_mlops.app.reproduce import reproduce_run
        from jupyter_mlops.render.reproduction import reproduction_views

        parser = _parser("reproduce")
        parser.add_argument("run", metavar="RUN")
        parser.add_argument("--as-executed", action="store_true")
        parser.add_argument("--allow-changed-data", action="store_true")
        parser.add_argument("--strict-env", action="store_true")
        parser.add_argument("--tolerance", action="append", default=[])
        parser.add_argument("--param", action="append", default=[])
        args = parser.parse_args(_split(rest))
        # The same use case as `jupyter-mlops reproduce`: a fresh kernel, tracked into this kernel's store.
        result = reproduce_run(_workspace(), args.run, as_executed=args.as_executed,
                               allow_changed_data=args.allow_changed_data, strict_env=args.strict_env,
                               tolerances=args.tolerance, params=args.param)
        display(_Rich(*reproduction_views(result.to_dict())))
        if result.reason:
            raise InvalidInput(result.reason)

    def _cmd_slice(self, rest: str, cell: str | None) -> None:
        from jupyter_mlops.app.slicing import slice_run, slice_session
        from jupyter_mlops.notebooks.slicing import Cell
        from jupyter_mlops.render.slicing import slice_text

        parser = _parser("slice")
        parser.add_argument("target", metavar="METRIC_OR_VARIABLE")
        parser.add_argument("--run", metavar="RUN", help="slice a stored run instead of this kernel's cells")
        parser.add_argument("--to", nargs=2, metavar=("script|notebook|package", "PATH"))
        parser.add_argument("--force", action="store_true")
        parser.add_argument("--verify", action="store_true")
        parser.add_argument("--tolerance", action="append", default=[])
        args = parser.parse_args(_split(rest))
        kind, output = args.to if args.to else (None, None)
        options = {"to": kind, "output": output, "force": args.force, "verify": args.verify,
                   "tolerances": args.tolerance}
        workspace = _workspace()
        if args.run is not None:
            result = slice_run(workspace, args.run, args.target, **options)
        else:  # the cells this kernel ran, as they ran; the active run holds the value to verify
            cells = [Cell(c.source, c.execution_count, c.cell_id, c.error, c.metrics)
                     for c in self.observer.session.log]
            active = fluent.active_run()
            result = slice_session(workspace, cells, args.target, run_ref=active.id if active else None, **options)
        _say(slice_text(result.to_dict(), code=args.to is None).rstrip("\n"))
        if result.verification is not None and result.verification.reason:
            raise InvalidInput(result.verification.reason)

    def _too_few_to_compare(self, workspace: Any, ids: list[str]) -> None:
        if not ids:
            _say("No runs to compare yet: start one with %track start, and a second one to compare them.")
            return
        display(_Rich(*_run_views(fluent.get_run(ids[0], store=workspace.store, blobs=workspace.blobs))))
        _say("Only one run so far: a second run is needed to compare (run the notebook again).")

    # -- helpers ------------------------------------------------------------------------------------------
    def _run_cell_body(self, cell: str) -> list[str]:
        """Run a ``%%track`` cell's body in the user namespace; return the names it assigns at top level."""
        source = self.shell.transform_cell(cell)
        try:
            tree = ast.parse(source)
        except SyntaxError as exc:
            raise InvalidInput(f"the cell is not valid Python: {exc.msg} (line {exc.lineno})") from None
        from jupyter_mlops.capture import cells

        assigned = list(cells.analyze(tree).assigned_names)
        # Registered with IPython's compiler cache so a traceback from the user's own code shows its lines.
        filename = self.shell.compile.cache(source, self.shell.execution_count, raw_code=cell)
        try:
            exec(compile(tree, filename, "exec"), self.shell.user_global_ns, self.shell.user_ns)  # noqa: S102
        except BaseException:
            self._user_code_failed = True  # track() lets it through with its own traceback
            raise
        return assigned

    def _log_or_warn(self, action: Callable[[Any], None], what: str) -> None:
        active = fluent.active_run()
        if active is None:
            sys.stderr.write(f"jupyter_mlops: no active run; the cell ran but its {what} were not recorded.\n")
            return
        action(active)


_COMPARE_USAGE = "usage: %track compare RUN RUN ... | --last N [--filter EXPR] [--all] [--html]"


def _workspace() -> Any:
    """The kernel's workspace (the stores the tracking API opened), with the active run's latest points in it."""
    from jupyter_mlops.app.workspace import Workspace

    active = fluent.active_run()
    if active is not None:
        active.flush()
    return Workspace.of_process()


def _compared_runs(refs: list[str], last: int | None, filter_text: str | None) -> tuple[Any, list[str]]:
    """The workspace and the run ids to compare (``choose_runs``: names, ids, prefixes, or the last N)."""
    from jupyter_mlops.app.runs import choose_runs

    workspace = _workspace()
    try:
        return workspace, choose_runs(workspace, refs, last, filter_text)
    except InvalidInput as exc:
        raise InvalidInput(f"%track compare: {exc.message} ({_COMPARE_USAGE})") from None


def _comparison_html(workspace: Any, ids: list[str], *, all_values: bool) -> tuple[str, str]:
    """Render the comparison of resolved runs as (HTML, plain text)."""
    from jupyter_mlops.app.compare import compare_runs
    from jupyter_mlops.render import render_comparison_html, render_comparison_text

    comparison = compare_runs(workspace.store, workspace.blobs, ids, all_values=all_values)
    return render_comparison_html(comparison), render_comparison_text(comparison)


def _require() -> Any:
    active = fluent.active_run()
    if active is None:
        raise NoActiveRun("no active run: start one with %track start [NAME]")
    return active


def _say(message: str) -> None:
    print(message)  # noqa: T201 - the magic's output is for the notebook reader


def _is_param_value(ns: dict[str, Any], name: str) -> bool:
    return name in ns and is_param_value(ns[name])


_OBSERVERS: dict[int, CellObserver] = {}


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext jupyter_mlops``: register ``%track`` and the post-cell observer."""
    if id(ipython) in _OBSERVERS:
        return
    observer = CellObserver(ipython)
    observer.register()
    _OBSERVERS[id(ipython)] = observer
    ipython.register_magics(TrackMagics(ipython, observer))


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext jupyter_mlops``: remove the observer (an active run stays active)."""
    observer = _OBSERVERS.pop(id(ipython), None)
    if observer is not None:
        observer.unregister()
