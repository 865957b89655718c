"""``nb-smoke PATHS...`` (also ``jupyter-mlops smoke``): execute notebooks in fresh kernels, report failures.

Only click and the standard library are imported at module level so that ``nb-smoke --help`` starts in a
fraction of a second; the runner (and through it nbclient and jupyter_client) is imported when the command runs.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

_FLAGS_WITH_PAIRS = ("-p", "--param")


def join_param_pairs(args: list[str]) -> list[str]:
    """Rewrite ``-p key value`` as ``-p key=value`` (``-p key=value`` is left alone)."""
    out: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        out.append(arg)
        if arg == "--":
            out.extend(args[i + 1:])
            break
        nxt = args[i + 1] if i + 1 < len(args) else None
        if (arg in _FLAGS_WITH_PAIRS and nxt is not None and "=" not in nxt and i + 2 < len(args)
                and not nxt.startswith("-")):
            out.append(f"{nxt}={args[i + 2]}")
            i += 3
            continue
        i += 1
    return out


class SmokeCommand(click.Command):
    """A click command that also accepts papermill's ``-p key value`` form."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Parse after joining ``-p KEY VALUE`` pairs."""
        return super().parse_args(ctx, join_param_pairs(list(args)))


@click.command(cls=SmokeCommand, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("paths", nargs=-1)
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Notebooks run at once (default: CPU count).")
@click.option("--executor", metavar="local|dask://HOST:PORT", help="Where notebooks run: local (default) or on "
              "the workers of a Dask scheduler, each in its own process; runs are tracked into this command's store.")
@click.option("-p", "--param", "params", multiple=True, metavar="KEY=VALUE",
              help="Parameter to inject (also -p KEY VALUE) into the notebooks whose parameters cell defines it; "
                   "typed from their defaults. Repeatable.")
@click.option("-f", "--params-file", "params_files", multiple=True, type=click.Path(dir_okay=False),
              help="YAML/JSON file of parameters (applied before -p). Repeatable.")
@click.option("--strict-params", is_flag=True,
              help="Every notebook must define every -p/-f parameter (default: a notebook takes the ones it defines).")
@click.option("--kernel", metavar="NAME", help="Kernelspec to use (default: the current Python interpreter).")
@click.option("--cell-timeout", type=float, help="Seconds a cell may run (default: 600); a cell's metadata "
              "jupyter_mlops.timeout or tag timeout=N wins.")
@click.option("--timeout", type=float, help="Seconds a whole notebook may run.")
@click.option("--keep-going", is_flag=True, help="Run past failing cells and report every failing cell.")
@click.option("--output-dir", type=click.Path(file_okay=False), help="Where executed notebooks are kept "
              "(default: .mlops/smoke in the project root).")
@click.option("--changed-since", metavar="GIT_REF", help="Only notebooks changed (or untracked) since GIT_REF.")
@click.option("--shard", metavar="K/N", help="Run only shard K of N (deterministic split).")
@click.option("--durations-from", type=click.Path(dir_okay=False), metavar="REPORT.json",
              help="A previous --json report: balance shards by recorded durations.")
@click.option("--junit-xml", type=click.Path(dir_okay=False), help="Write a JUnit XML report.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write a JSON report.")
@click.option("--github", is_flag=True, help="Print GitHub Actions ::error annotations for failing cells.")
@click.option("--no-track", is_flag=True, help="Send %track runs made by the notebooks to a throwaway store.")
@click.option("--progress/--plain", default=None, help="Live progress display (default: on a terminal, not in CI).")
@click.option("--prestart", type=click.IntRange(min=0), help="Kernels started ahead of need (default: --jobs).")
@click.option("--max-cell-output", metavar="SIZE", help="Output kept per cell, e.g. 4MiB or 500kB; the rest is "
              "dropped and noted (default: 4MiB, or max-cell-output in [tool.jupyter-mlops.smoke]).")
@click.option("--preload", metavar="MODULES|auto", help="Import these modules (comma-separated) in each Python "
              "notebook's fresh kernel before it runs; 'auto': the installed packages its import statements name.")
@click.option("--fork", is_flag=True, help="Linux: fork each Python notebook's fresh kernel from a process that "
              "imported ipykernel and the --preload modules once (a fresh start where that is not safe; -v says).")
@click.option("-v", "--verbose", is_flag=True, help="Also say what --preload imported, or failed to, per notebook "
              "(and with --fork, whether its kernel was forked).")
@click.option("--max-notebook-output", metavar="SIZE", help="Output kept per notebook (default: 16MiB, or "
              "max-notebook-output in [tool.jupyter-mlops.smoke]).")
@click.option("--gate-model", metavar="NAME", help="After the notebooks ran, judge each one's run against this "
              "registered model's champion, as `jupyter-mlops gate` does: a regression fails the notebook.")
@click.option("--gate-version", metavar="V", help="With --gate-model: this version (1.2.0, latest) instead.")
@click.option("--gate-metric", "gate_metrics", multiple=True, metavar="KEY:max|min",
              help="A metric the gate judges and which way is better; repeatable, at least one with --gate-model.")
@click.option("--gate-min-delta", "gate_min_deltas", multiple=True, metavar="KEY=N[%]",
              help="The run must beat the champion on KEY by at least N (N% of it). Repeatable.")
@click.option("--gate-max-regression", "gate_max_regressions", multiple=True, metavar="KEY=N[%]",
              help="The run may be worse than the champion on KEY by at most N (N% of it). Repeatable.")
@click.option("--data-against", metavar="RUN|MODEL:VERSION|SCHEMA.yaml", help="After the notebooks ran, check "
              "the data each one's run read against this baseline, as `jupyter-mlops data check` does: anomalies "
              "fail the notebook.")
@click.option("--psi", type=float, help="With --data-against: drift, a column whose population stability index "
              "reaches this is an anomaly (default: 0.2, as `data check`).")
@click.option("--null-increase", type=float, help="With --data-against: a null share that rises by more than this "
              "(absolute) is an anomaly (default: 0.01).")
@click.option("--range-slack", type=float, help="With --data-against: values beyond the baseline's [min, max] "
              "widened by this share of its span are out of range (default: 0.1).")
def smoke(paths: tuple[str, ...], **opts: Any) -> None:
    """Execute notebooks in fresh kernels with smoke parameters and report which broke, where and why.

    PATHS are notebooks, folders (searched recursively; checkpoints, build folders, virtualenvs and hidden
    folders are skipped) or globs; default: the current folder. Parameters also come from
    [tool.jupyter-mlops.smoke."<glob>"] tables of pyproject.toml. Cells tagged skip-smoke are skipped; cells
    tagged raises-exception may fail. Output beyond --max-cell-output / --max-notebook-output is dropped (and
    noted), and every process a notebook's kernel started is ended with it.

    With --gate-model and --gate-metric, each notebook that passed is then judged like `jupyter-mlops gate
    --model NAME --candidate <its run>`: its runs go to the project store (where the model registry is), and a
    regression fails the notebook (exit 1), a run that cannot be judged is a gate error (exit 2).

    With --data-against, the data inputs each passed notebook's run recorded (their profiles) are then checked
    like `jupyter-mlops data check --against BASELINE`: anomalies fail the notebook (exit 1), data that cannot be
    checked is a data error (exit 2). --psi, --null-increase and --range-slack set its thresholds, as they do
    for `data check`.

    Exit status: 0 all notebooks passed, 1 a notebook failed (or regressed, or its data has anomalies), 2 usage
    error (bad option or parameter, no notebooks found) or a gate or data check that could not judge.

    \b
    Examples:
      nb-smoke example_notebooks/ -j 2 -p epochs=1
      nb-smoke 'notebooks/**/*.ipynb' --changed-since origin/main --junit-xml smoke.xml --github
      nb-smoke notebooks/ --shard 2/4 --durations-from last-smoke.json --json smoke.json
      nb-smoke train.ipynb -p epochs=1 --gate-model churn --gate-metric auc:max --gate-max-regression auc=0.01
      nb-smoke train.ipynb --data-against churn@champion --junit-xml smoke.xml --github
      nb-smoke train.ipynb --data-against churn@champion --psi 0.3 --range-slack 0.25
    """
    early = _start_zygote_early(opts)
    try:
        _smoke(paths, opts)
    finally:
        if early is not None:  # an early zygote nobody adopted (a usage error, no Python notebook) ends here
            from jupyter_mlops.notebooks.smoke.zygotes import close_zygotes

            close_zygotes()


def _start_zygote_early(opts: dict[str, Any]) -> Any:
    """With ``--fork`` here: start the zygote before nb-smoke imports its runner and reads the notebooks (ADR-118).

    Its interpreter start and ipykernel imports then run beside ours; the first forked kernel adopts it and
    names its modules. Returns it (None without ``--fork``, with a Dask executor, or where forking is not
    supported).
    """
    if not opts.get("fork") or (opts.get("executor") or "local").strip().lower() != "local":
        return None
    from jupyter_mlops.notebooks.smoke.zygotes import call_env, start_early

    return start_early(call_env())


def _smoke(paths: tuple[str, ...], opts: dict[str, Any]) -> None:
    from jupyter_mlops.notebooks.smoke import run as runner

    limits = _data_limits(opts)  # checked before anything starts, like every other option
    options = smoke_options(paths, opts)
    gate = None
    if options.gate is not None:
        from jupyter_mlops.app import smoke_gate

        gate = smoke_gate.prepare(options.gate)  # bad gate options fail before a kernel starts
        options = dataclasses.replace(options, kernel_env={**options.kernel_env, **gate.kernel_env})
    data = None
    if options.data_against is not None:
        from jupyter_mlops.app import smoke_data

        data = smoke_data.prepare(options.data_against)  # a bad baseline fails before a kernel starts
        options = dataclasses.replace(options, kernel_env={**options.kernel_env, **data.kernel_env})
    notebooks = runner.collect(options)
    runner.check_parameters(notebooks, options)
    if not notebooks:
        click.echo("nb-smoke: no notebooks to run (nothing changed, or an empty shard)")
        return
    cluster = _cluster(opts["executor"], options)  # an unreachable scheduler fails before anything runs
    if cluster is not None:
        options = dataclasses.replace(options, kernel_env={**_store_env(), **options.kernel_env})
    display = _Display(len(notebooks), _use_progress(opts["progress"]), opts["verbose"])
    since = time.time()
    with display:
        if cluster is None:
            report = runner.run_smoke(notebooks, options, on_start=display.started, on_result=display.finished)
        else:
            with cluster:
                report = cluster.run(notebooks, options, on_result=display.finished)
    if gate is not None:
        _judge(gate, report, since)
    if data is not None:
        _check_data(data, report, since, limits)
    display.summary(report)
    _write_reports(report, opts)
    # SystemExit rather than ctx.exit: a non-standalone click main returns ctx.exit's code instead of raising.
    if report.exit_code:
        sys.exit(report.exit_code)


#: Options of the command that are about its reports, not about the call (see SmokeOptions.from_sources).
_REPORT_OPTIONS = ("junit_xml", "json_path", "github", "progress", "verbose", "executor")
#: The data check's thresholds: ``data check``'s options of the same names, used only with --data-against.
_DATA_LIMITS = ("psi", "null_increase", "range_slack")


def _data_limits(opts: dict[str, Any]) -> Any:
    """The data check's :class:`~jupyter_mlops.comparing.data_check.Limits` from --psi/--null-increase/--range-slack.

    Raises:
        InvalidInput: a negative threshold, or one given without --data-against.
    """
    from jupyter_mlops.errors import InvalidInput

    given = {name: opts.pop(name) for name in _DATA_LIMITS}
    given = {name: value for name, value in given.items() if value is not None}
    for name, value in given.items():
        if value < 0:
            raise InvalidInput(f"--{name.replace('_', '-')} must not be negative; got {value}")
    if given and opts.get("data_against") is None:
        raise InvalidInput(f"--{next(iter(given)).replace('_', '-')} sets a data check threshold: it needs "
                           "--data-against")
    from jupyter_mlops.comparing.data_check import Limits

    return Limits(**given)


def smoke_options(paths: Sequence[str], opts: dict[str, Any]) -> Any:
    """The :class:`~jupyter_mlops.notebooks.smoke.SmokeOptions` of a call from the command's parsed values."""
    from jupyter_mlops.notebooks.smoke import SmokeOptions

    # The data check's thresholds are not the runner's: smoke() reads them apart (_data_limits).
    given = {name: value for name, value in opts.items() if name not in _REPORT_OPTIONS + _DATA_LIMITS}
    return SmokeOptions.from_sources({**given, "paths": list(paths)})


def _cluster(executor: str | None, options: Any) -> Any:
    """The Dask cluster of ``--executor dask://...`` (connected), or None to run here."""
    from jupyter_mlops.notebooks.smoke.cluster import Cluster, parse_executor

    address = parse_executor(executor)
    return None if address is None else Cluster(address)


def _store_env() -> dict[str, str]:
    """The store locations every worker's kernel tracks into: this command's (absolute), so runs land in one place."""
    from jupyter_mlops.app.reproduce.execute import store_env
    from jupyter_mlops.config import load_settings

    return store_env(load_settings())


def _judge(gate: Any, report: Any, since: float) -> None:
    """Gate the notebooks that passed (their kernels have ended, so have their runs) and show each verdict."""
    from jupyter_mlops.app.smoke_gate import judge_notebooks
    from jupyter_mlops.render.gate import gate_lines

    for answer in judge_notebooks(gate, report.results, since):
        answer.notebook.add_gate(answer.verdict, answer.data, gate_lines(answer.result, answer.error))
        _show("GATE", answer.notebook.path, answer.notebook.gate_lines)


def _check_data(data: Any, report: Any, since: float, limits: Any) -> None:
    """Check the data the passed notebooks' runs read (their kernels have ended) and show each verdict."""
    from jupyter_mlops.app.smoke_data import check_notebooks
    from jupyter_mlops.render.data_check import smoke_lines

    for checked in check_notebooks(data, report.results, since, limits):
        checked.notebook.add_data(checked.verdict, checked.data, smoke_lines(checked.result, checked.error))
        _show("DATA", checked.notebook.path, checked.notebook.data_lines)


def _show(step: str, path: str, lines: list[str]) -> None:
    click.echo(f"{step} {path}")
    for line in lines:
        click.echo(f"  {line}")


def _write_reports(report: Any, opts: dict[str, Any]) -> None:
    from jupyter_mlops.notebooks.smoke.report import github_annotations, junit_xml, write_json

    if opts["junit_xml"]:
        Path(opts["junit_xml"]).write_text(junit_xml(report), encoding="utf-8")
    if opts["json_path"]:
        write_json(report, opts["json_path"])
    if opts["github"]:
        for row in github_annotations(report):
            click.echo(row)


def _use_progress(choice: bool | None) -> bool:
    if choice is not None:
        return choice
    ci = os.environ.get("CI", "").lower() not in ("", "0", "false")
    return sys.stdout.isatty() and not ci


class _Display:
    """Live rich progress on a terminal; plain lines (one per notebook, details for failures) otherwise."""

    def __init__(self, total: int, live: bool, verbose: bool = False, title: str = "") -> None:
        self.title = title or f"nb-smoke: {total} notebook{'s' * (total != 1)}"
        self.total = total
        self.live = live
        self.verbose = verbose
        self.running: list[str] = []
        self.progress: Any = None
        self.task: Any = None

    def __enter__(self) -> _Display:
        if self.live:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.progress = Progress(TextColumn("nb-smoke"), BarColumn(), MofNCompleteColumn(),
                                     TimeElapsedColumn(), TextColumn("{task.description}"), transient=True)
            self.progress.__enter__()
            self.task = self.progress.add_task("", total=self.total)
        else:
            click.echo(self.title)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.__exit__(None, None, None)

    def started(self, key: str) -> None:
        """A notebook began executing."""
        self.running.append(key)
        self._describe()

    def finished(self, result: Any) -> None:
        """A notebook's result is known."""
        if result.path in self.running:
            self.running.remove(result.path)
        lines = result.lines() + (result.preload_lines() if self.verbose else [])
        if self.progress is None:
            for line in lines:
                click.echo(line)
            return
        from rich.markup import escape

        colour = "green" if result.passed else "red"
        self.progress.console.print(f"[{colour}]{lines[0][:4]}[/{colour}]{escape(lines[0][4:])}", highlight=False,
                                    markup=True)
        for line in lines[1:]:
            self.progress.console.print(line, highlight=False, markup=False)
        self.progress.advance(self.task)
        self._describe()

    def _describe(self) -> None:
        if self.progress is not None:
            self.progress.update(self.task, description=", ".join(Path(k).name for k in self.running[:3]))

    def summary(self, report: Any) -> None:
        """The closing lines."""
        click.echo(report.summary())
        for result in report.failed:
            click.echo(f"  failed: {result.path} [{result.reason}]")


def main(argv: Sequence[str] | None = None) -> None:
    """The ``nb-smoke`` console script: one-line errors and the documented exit codes (0, 1, 2)."""
    from jupyter_mlops.cli import run_command

    run_command(smoke, argv, "nb-smoke")
