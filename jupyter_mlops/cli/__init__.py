"""The ``jupyter-mlops`` command (also ``jupyter mlops``): a lazy click group.

Commands are listed in :data:`COMMANDS` and imported only when invoked, so ``--help`` stays fast (``import
nbformat`` alone costs seconds). :func:`main` is the one place where errors become one-line messages and exit codes.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence

import click

from jupyter_mlops._version import __version__
from jupyter_mlops.errors import MlopsError

#: name -> (module, attribute, one-line help). The help is here so `--help` imports nothing.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "runs": ("jupyter_mlops.cli.runs", "runs", "List, show, compare, tag, annotate, export and delete runs."),
    "models": ("jupyter_mlops.cli.models", "models", "List, show, trace, alias, stage and check model versions."),
    "reproduce": (
        "jupyter_mlops.cli.reproduce",
        "reproduce",
        "Verify a run's data, environment and code, execute it again and judge its metrics.",
    ),
    "slice": ("jupyter_mlops.cli.slicing", "slice_", "The executed cells that produced a metric, as clean code."),
    "smoke": ("jupyter_mlops.cli.smoke", "smoke", "Execute notebooks in fresh kernels and report failures (nb-smoke)."),
    "convert": ("jupyter_mlops.cli.convert", "convert", "Convert a notebook to a package or a script."),
    "diff": ("jupyter_mlops.cli.notebooks", "diff", "Diff notebooks, git revisions or runs without metadata noise."),
    "diff-artifact": (
        "jupyter_mlops.cli.artifacts", "diff_artifact", "Diff two runs' artifacts: text, images, tables, JSON."
    ),
    "lint": ("jupyter_mlops.cli.notebooks", "lint", "Report notebook hygiene problems."),
    "clean": ("jupyter_mlops.cli.notebooks", "clean", "Strip outputs and volatile metadata from notebooks."),
    "install-git-hooks": (
        "jupyter_mlops.cli.notebooks",
        "install_git_hooks",
        "Configure nbdime diff/merge drivers and a clean filter.",
    ),
    "sweep": ("jupyter_mlops.cli.sweep", "sweep", "Run a notebook once per parameter combination, one tracked sweep."),
    "data": ("jupyter_mlops.cli.data", "data", "Check data against a baseline run, model or schema; infer a schema."),
    "gate": ("jupyter_mlops.cli.gate", "gate", "Fail CI when a candidate run is worse than the champion or a run."),
    "ci": ("jupyter_mlops.cli.ci", "ci", "Run nb-smoke, data check, gate and servability as configured, one report."),
    "export": ("jupyter_mlops.cli.interop", "export", "Copy runs and model versions to MLflow (ids kept)."),
    "import": ("jupyter_mlops.cli.interop", "import_", "Copy MLflow runs and model versions in (ids and times kept)."),
    "sync": ("jupyter_mlops.cli.sync", "sync", "Push runs to a team store and pull them back (ids and times kept)."),
    "enable": ("jupyter_mlops.cli.setup", "enable", "Load the %track magics in every IPython kernel."),
    "disable": ("jupyter_mlops.cli.setup", "disable", "Stop loading the %track magics automatically."),
}


class LazyGroup(click.Group):
    """A group whose sub-commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command name, without importing any command module."""
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Import the command's module on first use."""
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        spec = COMMANDS.get(cmd_name)
        if spec is None:
            return None
        command = getattr(importlib.import_module(spec[0]), spec[1])
        if not isinstance(command, click.Command):
            raise TypeError(f"{spec[0]}.{spec[1]} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List commands with the help from the table, so ``--help`` imports nothing."""
        rows = [(name, COMMANDS[name][2]) for name in sorted(COMMANDS)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="jupyter-mlops")
def cli() -> None:
    """Track, compare and reproduce notebook experiments; keep notebooks healthy.

    The run store defaults to .mlops/mlops.db in the project root; set JUPYTER_MLOPS_STORE (e.g.
    postgresql+psycopg://user@host/db) to share runs.
    """


def run_command(command: click.Command, argv: Sequence[str] | None, prog_name: str) -> None:
    """Run a click command as a console script: the single translation of errors to messages and exit codes.

    Exit codes: 0 success, 1 failure (e.g. a notebook failed, a run was not found), 2 usage error, 130
    interrupted. A command's ``ctx.exit(n)`` is honoured. An unexpected exception is a bug: one line, unless
    ``JUPYTER_MLOPS_DEBUG`` asks for the traceback.
    """
    try:
        result = command.main(
            args=list(argv) if argv is not None else None, prog_name=prog_name, standalone_mode=False
        )
    except MlopsError as exc:
        click.echo(f"Error: {exc.message}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        # One line, like every other error; click's own form spends three on usage and a hint.
        where = exc.ctx.command_path if exc.ctx is not None else prog_name
        click.echo(f"Error: {exc.format_message()} (see '{where} --help')", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (click.Abort, KeyboardInterrupt):
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as exc:
        if os.environ.get("JUPYTER_MLOPS_DEBUG"):
            raise
        hint = "set JUPYTER_MLOPS_DEBUG=1 for details"
        click.echo(f"Error: internal error: {type(exc).__name__}: {exc} ({hint})", err=True)
        sys.exit(1)
    # In non-standalone mode click returns the code given to ctx.exit(n), or the command's return value.
    sys.exit(result if isinstance(result, int) else 0)


def main(argv: Sequence[str] | None = None, prog_name: str = "jupyter-mlops") -> None:
    """The ``jupyter-mlops`` console script (also ``jupyter mlops`` and ``python -m jupyter_mlops``)."""
    run_command(cli, argv, prog_name)
