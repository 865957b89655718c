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
    "smoke": ("jupyter_mlops.cli.smoke", "smoke", "Execute notebooks in fresh kernels and report failures (nb-smoke)."),
    "convert": ("jupyter_mlops.cli.convert", "convert", "Convert a notebook to a package or a script."),
    "diff": ("jupyter_mlops.cli.notebooks", "diff", "Diff notebooks, git revisions or runs without metadata noise."),
    "lint": ("jupyter_mlops.cli.notebooks", "lint", "Report notebook hygiene problems."),
    "clean": ("jupyter_mlops.cli.notebooks", "clean", "Strip outputs and volatile metadata from notebooks."),
    "install-git-hooks": (
        "jupyter_mlops.cli.notebooks",
        "install_git_hooks",
        "Configure nbdime diff/merge drivers and a clean filter.",
    ),
    "enable": ("jupyter_mlops.cli.setup", "enable", "Load the %track magics in every IPython kernel."),
    "disable": ("jupyter_mlops.cli.setup", "disable", "Stop loading the %track magics automatically."),
}


class LazyGroup(click.Group):
    """A group whose sub-commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
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


def main(argv: Sequence[str] | None = None, prog_name: str = "jupyter-mlops") -> None:
    """Run the CLI; the single translation of errors to messages and exit codes.

    Exit codes: 0 success, 1 failure (e.g. a notebook failed, a run was not found), 2 usage error.
    """
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name=prog_name, standalone_mode=False)
    except MlopsError as exc:
        click.echo(f"Error: {exc.message}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as exc:  # an unexpected bug: one line unless asked for the traceback
        if os.environ.get("JUPYTER_MLOPS_DEBUG"):
            raise
        click.echo(f"Error: internal error: {type(exc).__name__}: {exc} (set JUPYTER_MLOPS_DEBUG=1 for details)", err=True)
        sys.exit(1)
    sys.exit(0)
