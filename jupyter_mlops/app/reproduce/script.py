"""Reproducing a script run: its recorded source, with its recorded command line, in a fresh interpreter.

Assumptions:
    * A script run's code snapshot (``tracking.context``'s script provider) holds the script's source, its path and
      the command that started it: ``argv`` (secrets masked, the masked indices in ``redacted``), ``cwd`` and the
      interpreter. Runs recorded before the command was recorded cannot be replayed and say so.
    * The *recorded* source runs, not the file as it is now: it is compiled under the script's own path and
      executed as ``__main__`` with the recorded ``argv`` in the recorded working directory, so ``__file__``,
      relative paths and ``sys.path[0]`` are what they were. Its loader hands the recorded source to the new run's
      script snapshot. When the file on disk differs, the report says so.
    * The interpreter is this one (``sys.executable``): the environment verified before is the one that runs it.
      The recorded interpreter is reported, not used.
    * The new run is linked through ``JUPYTER_MLOPS_CONTEXT`` (``reproduction_of``, tags), as a notebook's is.
    * ``--param k=v`` rewrites the option of a parameter the run recorded (``--k v``, ``--k=v``, ``--k-name``
      for ``k_name``), or appends it when the recorded source declares that option; anything else is refused.
      A masked argument cannot be replayed: the reproduction is refused naming it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_mlops.app.reproduce.execute import REPRODUCTION_TAG, Execution, store_env
from jupyter_mlops.app.reproduce.modules import write_modules
from jupyter_mlops.capture.redact import MASK, redact_text
from jupyter_mlops.config import ENV_RUN_CONTEXT, Settings
from jupyter_mlops.errors import InvalidInput

__all__ = ["ScriptCommand", "execute_script", "override_argv", "recorded_command", "refusal"]

#: Run as ``python -c``: executes the recorded source as ``__main__`` under the script's path (see the module doc).
_BOOTSTRAP = """\
import builtins, linecache, os, sys, types
source_file, path, argv0, *args = sys.argv[1:]
with open(source_file, encoding="utf-8") as f:
    source = f.read()
class RecordedSource:
    def get_source(self, name):
        return source
main = types.ModuleType("__main__")
main.__dict__.update(__file__=path, __loader__=RecordedSource(), __builtins__=builtins, __spec__=None,
                     __cached__=None)
sys.modules["__main__"] = main
sys.argv = [argv0, *args]
sys.path[0] = os.path.dirname(path)
if os.environ.get("JUPYTER_MLOPS_REPRODUCE_MODULES"):
    sys.path.insert(0, os.environ.pop("JUPYTER_MLOPS_REPRODUCE_MODULES"))
linecache.cache[path] = (len(source), None, source.splitlines(True), path)
del source_file, f, args, argv0
exec(compile(source, path, "exec"), main.__dict__)
"""
#: Environment variables that would tell the replayed script it runs in another notebook's kernel.
_KERNEL_VARIABLES = ("JPY_SESSION_NAME", "JPY_PARENT_PID", ENV_RUN_CONTEXT)


@dataclass(frozen=True)
class ScriptCommand:
    """A script run as recorded: ``path`` and ``source`` of the script, how it was started."""

    path: str
    source: str
    argv: list[str]
    cwd: str | None
    python: str | None = None
    redacted: list[int] = field(default_factory=list)

    def changed_on_disk(self) -> bool | None:
        """Whether the script file now differs from the recorded source (None when the file is gone)."""
        try:
            now = Path(self.path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
        # The recorded source had its secrets masked: compare like with like.
        return now != self.source and redact_text(now) != self.source

    def to_dict(self, argv: Sequence[str] | None = None) -> dict[str, Any]:
        """JSON shape in the reproduction report (``argv``: the command line replayed, when it was rewritten)."""
        return {"path": self.path, "argv": list(self.argv), "replayed_argv": list(argv if argv is not None
                                                                                   else self.argv),
                "cwd": self.cwd, "python": self.python, "changed_on_disk": self.changed_on_disk()}


def recorded_command(code: Mapping[str, Any] | None) -> ScriptCommand | str | None:
    """The script command of a code snapshot: None for a notebook run, a one-line reason when it cannot be replayed."""
    if not code or not code.get("script"):
        return None
    script = str(code["script"])
    command = code.get("command")
    cells = code.get("cells") or []
    if not isinstance(command, Mapping) or not command.get("argv") or not cells:
        return (f"script run ({script}): its command line was not recorded (recorded by an older jupyter_mlops), "
                "so it cannot be re-run")
    argv = [str(arg) for arg in command["argv"]]
    redacted = [int(index) for index in command.get("redacted") or [] if 0 <= int(index) < len(argv)]
    return ScriptCommand(script, str(cells[0].get("source") or ""), argv, command.get("cwd"), command.get("python"),
                         redacted)


def _option_index(argv: Sequence[str], name: str) -> tuple[int, str] | None:
    """Where ``--name`` (or ``--na-me``) is given on the command line, and the spelling used."""
    spellings = {f"--{name}", f"--{name.replace('_', '-')}"}
    for index, arg in enumerate(argv[1:], start=1):
        option = arg.partition("=")[0]
        if option in spellings:
            return index, option
    return None


def override_argv(command: ScriptCommand, recorded: Mapping[str, Any], overrides: Mapping[str, Any]) -> list[str]:
    """The recorded argv with ``--param`` overrides written in as options.

    Raises:
        InvalidInput: an override that is no recorded parameter, has no option the script declares, or is no
            plain value.
    """
    argv = list(command.argv)
    for key, value in overrides.items():
        if key not in recorded:
            known = ", ".join(sorted(recorded)) or "none recorded"
            raise InvalidInput(f"--param {key}: not a parameter of this script run (parameters: {known})")
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise InvalidInput(f"--param {key}: only a number or a text can be written on the command line")
        found = _option_index(argv, key)
        if found is not None:
            index, option = found
            if "=" in argv[index]:
                argv[index] = f"{option}={value}"
            elif index + 1 < len(argv) and not argv[index + 1].startswith("--"):
                argv[index + 1] = str(value)
            else:  # a flag (store_true and the like): there is no value to rewrite
                raise InvalidInput(f"--param {key}: {option} takes no value on the recorded command line")
            continue
        declared = [f"--{spelling}" for spelling in dict.fromkeys((key, key.replace("_", "-")))
                    if f'"--{spelling}"' in command.source or f"'--{spelling}'" in command.source]
        if not declared:
            raise InvalidInput(f"--param {key}: the script declares no option --{key.replace('_', '-')} "
                               "to set it with (only argparse options can be overridden)")
        argv += [declared[0], str(value)]
    return argv


def refusal(command: ScriptCommand, argv: Sequence[str]) -> str | None:
    """Why the command cannot be replayed: an argument whose secret was masked when recorded, a folder that is gone."""
    for index in command.redacted:
        if index < len(argv) and MASK in argv[index]:
            shown = argv[index - 1] if argv[index] == MASK and index > 0 else argv[index]
            return (f"argument {index} ({shown}) of the recorded command line held a secret, which was not "
                    "recorded: the script cannot be replayed as it ran")
    if not command.cwd or not Path(command.cwd).is_dir():
        return f"the script's recorded working directory {command.cwd} no longer exists"
    return None


def execute_script(command: ScriptCommand, argv: Sequence[str], *, settings: Settings, original_id: str,
                   what_if: bool, timeout: float | None = None, modules: Mapping[str, bytes] | None = None
                   ) -> Execution:
    """Run the recorded source with ``argv`` in the recorded folder in a fresh interpreter, as a reproduction.

    ``modules`` (relative path → source) are the recorded local modules, importable first (ADR-103).
    """
    started = time.time()
    tags = [REPRODUCTION_TAG, "what-if"] if what_if else [REPRODUCTION_TAG]
    context = {"tags": tags, "reproduction_of": original_id}
    env = {key: value for key, value in os.environ.items() if key not in _KERNEL_VARIABLES}
    env.update(store_env(settings))
    env[ENV_RUN_CONTEXT] = json.dumps(context)
    with tempfile.TemporaryDirectory(prefix="mlops-reproduce-") as folder:
        source = Path(folder) / "recorded_source.py"
        source.write_text(command.source, encoding="utf-8")
        if modules:
            write_modules(Path(folder) / "modules", modules)
            env["JUPYTER_MLOPS_REPRODUCE_MODULES"] = str(Path(folder) / "modules")
        try:
            done = subprocess.run(
                [sys.executable, "-c", _BOOTSTRAP, str(source), command.path, *argv],
                cwd=command.cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                errors="replace", timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return Execution(started, f"the script ran longer than {timeout:g} s and was stopped")
        except OSError as exc:
            return Execution(started, f"the script could not be started: {exc}")
    if done.returncode != 0:
        last = next((line.strip() for line in reversed(done.stderr.splitlines()) if line.strip()), "")
        return Execution(started, f"exit status {done.returncode}" + (f": {last}" if last else ""))
    return Execution(started)
