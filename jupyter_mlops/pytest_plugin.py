"""pytest plugin: ``pytest --nb-smoke PATHS`` runs each notebook as a test item with the nb-smoke runner.

Every pytest run imports this module once jupyter_mlops is installed (entry point ``pytest11``), so it imports
nothing heavy: the runner (nbclient, jupyter_client, nbformat) is imported by the first notebook item, and
``.ipynb`` files are collected only when ``--nb-smoke`` is given. Items are independent, so pytest-xdist
(``-n 2``) distributes them like any other test. A failing item's report is nb-smoke's own lines: reason,
failing cell index and id, its first source lines, the exception, and the executed notebook's path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jupyter_mlops.errors import MlopsError

_OPTIONS = pytest.StashKey[Any]()
_GATE = pytest.StashKey[Any]()
_DATA = pytest.StashKey[Any]()
_CLUSTER = pytest.StashKey[Any]()
#: SmokeOptions.from_sources's name of each ``--nb-smoke-*`` option (its pytest dest is ``nb_smoke_<flag name>``).
_PASSED_ON = {"params": "param", "params_files": "params_file", "gate_metrics": "gate_metric",
              "gate_min_deltas": "gate_min_delta", "gate_max_regressions": "gate_max_regression", **{
                  name: name for name in ("strict_params", "kernel", "cell_timeout", "timeout", "keep_going",
                                          "output_dir", "no_track", "max_cell_output", "max_notebook_output",
                                          "gate_model", "gate_version", "preload",
                                          "data_against", "fork")}}


class NotebookSmokeFailed(MlopsError):
    """A notebook item failed; carries the nb-smoke result for the report."""

    code = "CELL_ERROR"

    def __init__(self, result: Any) -> None:
        super().__init__(f"{result.path} [{result.reason}] {result.message}")
        self.result = result


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register ``--nb-smoke`` and its options (the same knobs as the ``nb-smoke`` command)."""
    group = parser.getgroup("nb-smoke", "notebook smoke tests (jupyter_mlops)")
    group.addoption("--nb-smoke", action="store_true", help="collect .ipynb files and execute each in a fresh "
                    "kernel with the nb-smoke runner")
    group.addoption("--nb-smoke-param", action="append", default=[], metavar="KEY=VALUE",
                    help="parameter to inject, typed from the notebook's defaults (repeatable)")
    group.addoption("--nb-smoke-params-file", action="append", default=[], metavar="FILE",
                    help="YAML/JSON file of parameters (repeatable)")
    group.addoption("--nb-smoke-strict-params", action="store_true",
                    help="every notebook must define every given parameter (default: each takes the ones it defines)")
    group.addoption("--nb-smoke-kernel", metavar="NAME", help="kernelspec (default: the current interpreter)")
    group.addoption("--nb-smoke-cell-timeout", type=float, default=None, metavar="SECONDS",
                    help="seconds a cell may run (default: 600; cell metadata or a timeout=N tag wins)")
    group.addoption("--nb-smoke-timeout", type=float, default=None, metavar="SECONDS",
                    help="seconds a whole notebook may run")
    group.addoption("--nb-smoke-keep-going", action="store_true", help="run past failing cells, report all")
    group.addoption("--nb-smoke-output-dir", metavar="DIR", help="where executed notebooks are kept")
    group.addoption("--nb-smoke-no-track", action="store_true", help="send %%track runs to a throwaway store")
    group.addoption("--nb-smoke-max-cell-output", metavar="SIZE", help="output kept per cell, e.g. 4MiB "
                    "(default: 4MiB, or max-cell-output in [tool.jupyter-mlops.smoke])")
    group.addoption("--nb-smoke-preload", metavar="MODULES|auto", help="modules imported in each notebook's fresh "
                    "kernel before it runs (comma-separated; 'auto': the installed packages it imports)")
    group.addoption("--nb-smoke-fork", action="store_true", help="Linux: fork each notebook's fresh kernel from a "
                    "process that imported ipykernel and the --nb-smoke-preload modules once (one per pytest worker)")
    group.addoption("--nb-smoke-max-notebook-output", metavar="SIZE", help="output kept per notebook (default: "
                    "16MiB, or max-notebook-output in [tool.jupyter-mlops.smoke])")
    group.addoption("--nb-smoke-gate-model", metavar="NAME", help="judge each notebook's run against this "
                    "registered model's champion (jupyter-mlops gate); a regression fails the item")
    group.addoption("--nb-smoke-gate-version", metavar="V", help="with --nb-smoke-gate-model: this version instead")
    group.addoption("--nb-smoke-gate-metric", action="append", default=[], metavar="KEY:max|min",
                    help="a metric the gate judges and which way is better (repeatable)")
    group.addoption("--nb-smoke-gate-min-delta", action="append", default=[], metavar="KEY=N[%]",
                    help="the run must beat the champion on KEY by at least N (repeatable)")
    group.addoption("--nb-smoke-gate-max-regression", action="append", default=[], metavar="KEY=N[%]",
                    help="the run may be worse than the champion on KEY by at most N (repeatable)")
    group.addoption("--nb-smoke-executor", metavar="local|dask://HOST:PORT", help="where each notebook runs: here "
                    "(default) or in its own process on a worker of this Dask scheduler (runs tracked into this "
                    "project's store)")
    group.addoption("--nb-smoke-data-against", metavar="RUN|MODEL:VERSION|SCHEMA.yaml", help="check the data "
                    "each notebook's run read against this baseline (jupyter-mlops data check); anomalies fail the "
                    "item")


def pytest_configure(config: pytest.Config) -> None:
    """Check the options once, so a malformed ``--nb-smoke-param`` is a usage error, not N failures."""
    if not config.getoption("nb_smoke"):
        return
    try:
        options = smoke_options(config)
        config.stash[_GATE] = None
        if options.gate is not None:
            import dataclasses

            from jupyter_mlops.app.smoke_gate import prepare

            gate = config.stash[_GATE] = prepare(options.gate)
            options = dataclasses.replace(options, kernel_env={**options.kernel_env, **gate.kernel_env})
        config.stash[_DATA] = None
        if options.data_against is not None:
            import dataclasses

            from jupyter_mlops.app import smoke_data

            data = config.stash[_DATA] = smoke_data.prepare(options.data_against, "--nb-smoke-data-against")
            options = dataclasses.replace(options, kernel_env={**options.kernel_env, **data.kernel_env})
        config.stash[_CLUSTER] = None
        executor = config.getoption("nb_smoke_executor")
        if executor:
            options = _connect(config, executor, options)
        config.stash[_OPTIONS] = options
    except MlopsError as exc:
        raise pytest.UsageError(exc.message) from None


def _connect(config: pytest.Config, executor: str, options: Any) -> Any:
    """Connect to ``--nb-smoke-executor``'s scheduler once (None: local); the kernels track into this store."""
    import dataclasses

    from jupyter_mlops.notebooks.smoke.cluster import Cluster, parse_executor

    address = parse_executor(executor, "--nb-smoke-executor")
    if address is None:
        return options
    config.stash[_CLUSTER] = Cluster(address)
    from jupyter_mlops.app.reproduce.execute import store_env
    from jupyter_mlops.config import load_settings

    return dataclasses.replace(options, kernel_env={**store_env(load_settings()), **options.kernel_env})


def pytest_unconfigure(config: pytest.Config) -> None:
    """Disconnect from ``--nb-smoke-executor``'s scheduler and end the ``--nb-smoke-fork`` zygotes, also after Ctrl-C.

    The zygotes are this process's: the items share them, so they end with the session, not with an item.
    """
    cluster = config.stash.get(_CLUSTER, None)
    if cluster is not None:
        cluster.close()
    options = config.stash.get(_OPTIONS, None)
    if options is not None and options.fork:
        from jupyter_mlops.notebooks.smoke.zygotes import close_zygotes

        close_zygotes()


def smoke_options(config: pytest.Config) -> Any:
    """The :class:`~jupyter_mlops.notebooks.smoke.SmokeOptions` of the ``--nb-smoke-*`` flags (ADR-044).

    Each item runs one notebook (pytest, or pytest-xdist with ``-n``, runs the items), so no kernel is started
    ahead of need; every other rule is :meth:`SmokeOptions.from_sources`'s, as for ``nb-smoke``.
    """
    from jupyter_mlops.notebooks.smoke.options import PYTEST_FLAGS, SmokeOptions

    given = {name: config.getoption(f"nb_smoke_{flag}") for name, flag in _PASSED_ON.items()}
    return SmokeOptions.from_sources({**given, "jobs": 1, "prestart": 0}, flags=PYTEST_FLAGS)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """A parameter that none of the collected notebooks defines is a usage error, as with ``nb-smoke``."""
    notebooks = [item.path for item in items if isinstance(item, NotebookItem)]
    if not notebooks:
        return
    from jupyter_mlops.notebooks.smoke.run import check_parameters

    try:
        check_parameters(notebooks, config.stash[_OPTIONS])
    except MlopsError as exc:
        raise pytest.UsageError(exc.message) from None


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """Collect notebooks only under ``--nb-smoke`` (and never checkpoint copies)."""
    if file_path.suffix == ".ipynb" and parent.config.getoption("nb_smoke"):
        if ".ipynb_checkpoints" in file_path.parts:
            return None
        return NotebookFile.from_parent(parent, path=file_path)
    return None


class NotebookFile(pytest.File):
    """A notebook file: one item."""

    def collect(self) -> Any:
        """Yield the notebook's single item."""
        yield NotebookItem.from_parent(self, name=self.path.name)


class NotebookItem(pytest.Item):
    """One notebook executed by the nb-smoke runner."""

    def runtest(self) -> None:
        """Execute the notebook; raise with the smoke result when it fails."""
        import time

        from jupyter_mlops.notebooks.smoke.run import run_smoke

        since = time.time()
        cluster = self.config.stash[_CLUSTER]
        if cluster is not None:
            report = cluster.run([self.path], self.config.stash[_OPTIONS])
        else:
            report = run_smoke([self.path], self.config.stash[_OPTIONS], keep_zygotes=True)
        result = report.results[0]
        gate = self.config.stash[_GATE]
        if gate is not None:  # the kernel has ended, and with it the notebook's run
            from jupyter_mlops.app.smoke_gate import judge_notebooks
            from jupyter_mlops.render.gate import gate_lines

            for answer in judge_notebooks(gate, [result], since):
                result.add_gate(answer.verdict, answer.data, gate_lines(answer.result, answer.error))
                self.user_properties.append(("nb_smoke_gate", answer.verdict))
        data = self.config.stash[_DATA]
        if data is not None:
            from jupyter_mlops.app.smoke_data import check_notebooks
            from jupyter_mlops.render.data_check import smoke_lines

            for checked in check_notebooks(data, [result], since):
                result.add_data(checked.verdict, checked.data, smoke_lines(checked.result, checked.error))
                self.user_properties.append(("nb_smoke_data", checked.verdict))
        self.user_properties.append(("nb_smoke_executed", result.executed_path))
        if not result.passed:
            raise NotebookSmokeFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        """The smoke report lines instead of a Python traceback through the runner."""
        if isinstance(excinfo.value, NotebookSmokeFailed):
            lines = excinfo.value.result.lines()
            for failure in excinfo.value.result.failures:
                if failure.traceback:
                    lines.extend(["", *failure.traceback[-15:]])
            return "\n".join(lines)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        """Location shown by pytest."""
        return self.path, None, f"nb-smoke {self.name}"
