"""Every CLI command has help text and a documentation entry (the sqlite-utils ``test_docs`` pattern).

A command is documented when some ``docs/*.md`` file has a markdown heading that names it as typed, e.g.
``## `jupyter-mlops lint` `` or ``### jupyter-mlops runs compare``. Sub-commands of a group need their own
heading (``jupyter-mlops runs list``). One test per command, so a failure names what is missing.
"""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from jupyter_mlops.cli import COMMANDS, cli

DOCS = Path(__file__).resolve().parents[2] / "docs"


def documented_headings() -> str:
    lines = []
    for path in sorted(DOCS.rglob("*.md")):
        lines += [line for line in path.read_text(encoding="utf-8").splitlines() if line.lstrip().startswith("#")]
    return "\n".join(lines)


def load(name: str) -> click.Command:
    command = cli.get_command(click.Context(cli), name)
    assert command is not None, f"{name}: listed in COMMANDS but not loadable"
    return command


def command_paths(name: str, command: click.Command) -> list[tuple[list[str], click.Command]]:
    paths = [([name], command)]
    if isinstance(command, click.Group):
        for sub in command.list_commands(click.Context(command)):
            paths.append(([name, sub], command.get_command(click.Context(command), sub)))
    return paths


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_has_help(name):
    runner = CliRunner()
    for path, command in command_paths(name, load(name)):
        assert (command.help or command.short_help or "").strip(), f"jupyter-mlops {' '.join(path)} has no help text"
        result = runner.invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, f"jupyter-mlops {' '.join(path)} --help failed: {result.output}"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_is_documented(name):
    headings = documented_headings()
    missing = [
        " ".join(path)
        for path, _ in command_paths(name, load(name))
        if not re.search(rf"jupyter-mlops {re.escape(' '.join(path))}(?![\w-])", headings)
    ]
    assert not missing, f"no docs/*.md heading names: {', '.join('jupyter-mlops ' + m for m in missing)}"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_keeps_examples_as_written(name):
    # click keeps a paragraph unwrapped only after a line holding the \b character; a raw docstring's literal
    # backslash-b is printed instead and the examples are re-wrapped into one paragraph.
    runner = CliRunner()
    for path, command in command_paths(name, load(name)):
        output = runner.invoke(cli, [*path, "--help"], terminal_width=80).output
        assert "\\b" not in output, f"jupyter-mlops {' '.join(path)} --help prints a literal \\b"
        doc = command.help or ""
        if "Examples:" in doc:
            examples = doc.split("Examples:", 1)[1].strip().splitlines()
            for line in (ln.strip() for ln in examples if ln.strip()):
                assert any(out.strip() == line for out in output.splitlines()), (
                    f"jupyter-mlops {' '.join(path)} --help re-wrapped the example {line!r}")


def test_nb_smoke_script_help_keeps_examples_as_written():
    from jupyter_mlops.cli.smoke import smoke

    output = CliRunner().invoke(smoke, ["--help"], terminal_width=80).output
    assert "\\b" not in output
    assert "\n    nb-smoke example_notebooks/ -j 2 -p epochs=1\n" in output
