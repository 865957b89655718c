"""``jupyter-mlops ci``: nb-smoke, data check, gate and servability, in that order, as one CI step (ADR-077).

:func:`load_ci_config` reads and checks ``[tool.jupyter-mlops.ci]`` (the one place it is read); :func:`run_ci`
runs each configured step with its own use case (:func:`notebooks.smoke.run.run_smoke`,
:func:`app.data_check.check_data`, :func:`app.gate.gate`) and returns a :class:`CiReport`: each step's own
result, its exit code and its duration, the first failing step, and the steps skipped after it. Rendering (text,
JUnit with a testsuite per step, JSON, GitHub annotations) is :mod:`jupyter_mlops.render.ci`.

A step is a row of :data:`STEPS`: its table name, its keys and their types, the function that runs it and the
single-step command that shows more. A step runs only when its sub-table is there; after a failing step the
rest are skipped (a CI job stops at the first broken stage; later ones often depend on it: the gate judges the
run the notebooks just made), unless ``keep-going`` asks for every step.

Paths in the table are relative to the folder of the ``pyproject.toml`` that holds it. The notebooks' runs go to
the project's store (the kernels are handed its absolute location), where the gate and the registry look.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomllib

from jupyter_mlops.config import Settings, load_settings
from jupyter_mlops.errors import InvalidInput, MlopsError

__all__ = ["STEPS", "CiConfig", "CiReport", "Step", "StepResult", "load_ci_config", "run_ci"]

#: Outcome of a step: passed, failed its check (exit 1), could not run (exit 2), or not run after a failure.
STATUSES = ("pass", "fail", "error", "skipped")

_STR, _NUM, _INT, _BOOL = (str,), (int, float), (int,), (bool,)
_LIST = (list,)
_TABLE = (dict,)
_DURATION = (str, int, float)
_TYPE_WORDS: dict[tuple[type, ...], str] = {
    _STR: "a string", _NUM: "a number", _INT: "an integer", _BOOL: "true or false", _LIST: "a list of strings",
    _TABLE: "a table", _DURATION: "a duration (50ms, 0.05)",
}


@dataclass(frozen=True)
class Step:
    """One row of the step table.

    Attributes:
        name: the sub-table (``[tool.jupyter-mlops.ci.<name>]``) and the step's name in every report.
        keys: allowed keys and their types (one of the ``_STR``/``_NUM``/... tuples).
        required: keys that must be given.
        run: ``(settings, table) -> (exit_code, result)``; raises :class:`MlopsError` when it cannot run.
        command: ``table -> the jupyter-mlops command line that runs this step alone`` (how to see more).
    """

    name: str
    keys: Mapping[str, tuple[type, ...]]
    required: tuple[str, ...]
    run: Callable[[Settings, Mapping[str, Any]], tuple[int, Any]]
    command: Callable[[Mapping[str, Any]], str]


@dataclass(frozen=True)
class CiConfig:
    """The checked ``[tool.jupyter-mlops.ci]`` table: each configured step's sub-table, in step order."""

    source: Path
    steps: dict[str, dict[str, Any]]
    keep_going: bool = False


@dataclass
class StepResult:
    """One step's outcome.

    Attributes:
        name: the step's name.
        status: ``pass``, ``fail``, ``error`` or ``skipped``.
        exit_code: the step's own exit code (0, 1, 2), None when skipped.
        result: the step's own result (``SmokeReport``, ``DataCheckResult``, ``GateResult``, ...), None when it
            could not run or was skipped.
        error: one line, when the step could not run.
        duration: seconds the step took.
        command: the command that runs this step alone.
    """

    name: str
    status: str
    exit_code: int | None = None
    result: Any = None
    error: str = ""
    duration: float = 0.0
    command: str = ""


@dataclass
class CiReport:
    """Every configured step's result, in order."""

    steps: list[StepResult] = field(default_factory=list)
    source: str = ""

    @property
    def failed_step(self) -> StepResult | None:
        """The first step that failed or could not run."""
        return next((s for s in self.steps if s.status in ("fail", "error")), None)

    @property
    def exit_code(self) -> int:
        """The first failing step's exit code (1 a check failed, 2 a step could not run); 0 when all passed."""
        failed = self.failed_step
        return 0 if failed is None else int(failed.exit_code or 1)

    @property
    def steps_seconds(self) -> float:
        """Seconds spent in the steps themselves (the rest of a ``ci`` call is its overhead)."""
        return sum(s.duration for s in self.steps)


# -- configuration -------------------------------------------------------------------------------------------


def load_ci_config(path: str | Path | None = None) -> CiConfig:
    """Read and check ``[tool.jupyter-mlops.ci]`` of ``path`` (default: the nearest ``pyproject.toml`` upward).

    Raises:
        InvalidInput: no pyproject.toml, no ``ci`` table, no step in it, an unknown key, a wrong type, a missing
            required key (each named with its table).
    """
    source = _pyproject(path)
    try:
        with source.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInput(f"cannot read {source}: {exc}") from None
    tool = data.get("tool", {}).get("jupyter-mlops", {})
    table = tool.get("ci") if isinstance(tool, dict) else None
    if table is None:
        raise InvalidInput(f"{source} has no [tool.jupyter-mlops.ci] table; see docs/ci.md for one")
    where = "[tool.jupyter-mlops.ci]"
    if not isinstance(table, dict):
        raise InvalidInput(f"{where} in {source} must be a table")
    names = {step.name for step in STEPS}
    unknown = sorted(set(table) - names - {"keep-going"})
    if unknown:
        raise InvalidInput(f"{where}: unknown key {unknown[0]!r} (known: keep-going, {', '.join(sorted(names))})")
    keep_going = table.get("keep-going", False)
    if not isinstance(keep_going, bool):
        raise InvalidInput(f"{where} keep-going must be true or false, not {keep_going!r}")
    steps = {step.name: _checked(step, table[step.name]) for step in STEPS if step.name in table}
    if not steps:
        raise InvalidInput(f"{where} configures no step; add one of "
                           + ", ".join(f"[tool.jupyter-mlops.ci.{s.name}]" for s in STEPS))
    root = source.parent
    return CiConfig(source, {name: _rooted(name, sub, root) for name, sub in steps.items()}, keep_going)


def _pyproject(path: str | Path | None) -> Path:
    if path is not None:
        given = Path(path)
        found = given / "pyproject.toml" if given.is_dir() else given
        if not found.is_file():
            raise InvalidInput(f"config file not found: {path}")
        return found.resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file():
            return folder / "pyproject.toml"
    raise InvalidInput("no pyproject.toml here or above; give one with --config PATH")


def _checked(step: Step, table: Any) -> dict[str, Any]:
    where = f"[tool.jupyter-mlops.ci.{step.name}]"
    if not isinstance(table, dict):
        raise InvalidInput(f"{where} must be a table, not {table!r}")
    for key, value in table.items():
        if key not in step.keys:
            raise InvalidInput(f"{where}: unknown key {key!r} (known: {', '.join(step.keys)})")
        kinds = step.keys[key]
        wrong = not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)
        if kinds == _LIST and not wrong:
            wrong = not all(isinstance(item, str) for item in value)
        if wrong:
            raise InvalidInput(f"{where} {key} must be {_TYPE_WORDS[kinds]}, not {value!r}")
    missing = [key for key in step.required if key not in table]
    if missing:
        raise InvalidInput(f"{where} needs {missing[0]!r}")
    if step.name == "gate":  # checked now, so a bad gate fails before the notebooks run
        from jupyter_mlops.comparing.gate import build_rules

        if ("model" in table) == ("baseline" in table):
            raise InvalidInput(f"{where} needs the baseline as model = NAME or baseline = RUN (one of them)")
        if "version" in table and "model" not in table:
            raise InvalidInput(f"{where} version needs model")
        try:
            build_rules(_list(table, "metrics"), _list(table, "min-delta"), _list(table, "max-regression"),
                        _list(table, "per-slice"))
        except InvalidInput as error:
            raise InvalidInput(f"{where} {error.message}") from None
    return dict(table)


_PATH_KEYS = {"smoke": ("notebooks",), "data": ("paths", "against"), "servable": ("sample",)}


def _rooted(name: str, table: dict[str, Any], root: Path) -> dict[str, Any]:
    # Relative to the pyproject's folder, written relative to the working directory so reports name them as typed.
    def fix(key: str, text: str) -> str:
        if key == "against" and not text.lower().endswith((".yaml", ".yml")):
            return text  # a run or MODEL:VERSION, not a file
        path = Path(text)
        return text if path.is_absolute() else os.path.relpath(root / path)

    out = dict(table)
    for key in _PATH_KEYS.get(name, ()):
        if key in out:
            out[key] = [fix(key, v) for v in out[key]] if isinstance(out[key], list) else fix(key, out[key])
    return out


# -- running -------------------------------------------------------------------------------------------------


def run_ci(config: CiConfig, settings: Settings | None = None, keep_going: bool | None = None,
           on_step: Callable[[StepResult], None] | None = None) -> CiReport:
    """Run every configured step in order; after a failing step skip the rest unless ``keep_going``.

    Args:
        config: from :func:`load_ci_config`.
        settings: the store to use (default: the project's, resolved from the config's folder).
        keep_going: run every step even after a failure (default: the table's ``keep-going``).
        on_step: called with each step's result as soon as it is known (skipped ones too).

    Returns:
        The report; ``report.exit_code`` is the first failing step's (0 when all passed).
    """
    settings = settings or load_settings(start=config.source.parent)
    go_on = config.keep_going if keep_going is None else keep_going
    report = CiReport(source=str(config.source))
    for step in STEPS:
        table = config.steps.get(step.name)
        if table is None:
            continue
        command = step.command(table)
        if report.failed_step is not None and not go_on:
            outcome = StepResult(step.name, "skipped", command=command)
        else:
            outcome = _run_step(step, settings, table, command)
        report.steps.append(outcome)
        if on_step is not None:
            on_step(outcome)
    return report


def _run_step(step: Step, settings: Settings, table: Mapping[str, Any], command: str) -> StepResult:
    began = time.perf_counter()
    try:
        code, result = step.run(settings, table)
    except MlopsError as error:
        return StepResult(step.name, "error", 2, error=error.message, duration=time.perf_counter() - began,
                          command=command)
    except Exception as error:  # a bug in a step is "could not run" (2), never a pass, and the next steps still run
        if os.environ.get("JUPYTER_MLOPS_DEBUG"):
            raise
        return StepResult(step.name, "error", 2, error=f"internal error: {type(error).__name__}: {error} (set "
                          "JUPYTER_MLOPS_DEBUG=1 for details)", duration=time.perf_counter() - began, command=command)
    status = "pass" if code == 0 else "fail" if code == 1 else "error"
    return StepResult(step.name, status, code, result, duration=time.perf_counter() - began, command=command)


def _list(table: Mapping[str, Any], key: str) -> list[str]:
    return [str(v) for v in table.get(key, ())]


def _flags(pairs: Sequence[tuple[str, Any]]) -> list[str]:
    out: list[str] = []
    for flag, value in pairs:
        if value is None or value is False:
            continue
        values = value if isinstance(value, list) else [value]
        for item in values:
            out += [flag] if item is True else [flag, str(item)]
    return out


def _line(words: Sequence[str]) -> str:
    return " ".join(shlex.quote(w) for w in words)


# nb-smoke


def _smoke(settings: Settings, table: Mapping[str, Any]) -> tuple[int, Any]:
    from jupyter_mlops.app.reproduce.execute import store_env
    from jupyter_mlops.notebooks.smoke import run as runner
    from jupyter_mlops.notebooks.smoke.options import SmokeOptions

    params = [f"{key}={value}" for key, value in dict(table.get("params", {})).items()]
    options = SmokeOptions.from_sources({
        "paths": _list(table, "notebooks"), "params": params, "jobs": table.get("jobs"),
        "cell_timeout": table.get("cell-timeout"), "timeout": table.get("timeout"), "kernel": table.get("kernel"),
    }, pyproject=_smoke_table(settings))
    # The notebooks' runs go to the project store whatever folder they are in: the gate step looks there.
    options = dataclasses.replace(options, kernel_env={**options.kernel_env, **store_env(settings)})
    notebooks = runner.collect(options)
    runner.check_parameters(notebooks, options)
    report = runner.run_smoke(notebooks, options)
    return report.exit_code, report


def _smoke_table(settings: Settings) -> dict[str, Any]:
    table = settings.tool.get("smoke", {})
    return table if isinstance(table, dict) else {}


def _smoke_command(table: Mapping[str, Any]) -> str:
    params = [f"{k}={v}" for k, v in dict(table.get("params", {})).items()]
    return _line(["nb-smoke", *_list(table, "notebooks"), *_flags([
        ("-p", params), ("-j", table.get("jobs")), ("--cell-timeout", table.get("cell-timeout")),
        ("--timeout", table.get("timeout")), ("--kernel", table.get("kernel"))])])


# data check


def _data(settings: Settings, table: Mapping[str, Any]) -> tuple[int, Any]:
    from jupyter_mlops.app.data_check import check_data
    from jupyter_mlops.app.workspace import Workspace
    from jupyter_mlops.comparing.data_check import Limits

    given = {name: float(table[key]) for name, key in (("psi", "psi"), ("null_increase", "null-increase"),
                                                       ("range_slack", "range-slack")) if key in table}
    with Workspace.from_settings(settings) as workspace:
        result = check_data(workspace, _list(table, "paths"), table.get("against"), Limits(**given),
                            table.get("data"))
    return int(result.exit_code), result


def _data_command(table: Mapping[str, Any]) -> str:
    return _line(["jupyter-mlops", "data", "check", *_list(table, "paths"), *_flags([
        ("--against", table.get("against")), ("--data", table.get("data")), ("--psi", table.get("psi")),
        ("--null-increase", table.get("null-increase")), ("--range-slack", table.get("range-slack"))])])


# gate


def _gate(settings: Settings, table: Mapping[str, Any]) -> tuple[int, Any]:
    from jupyter_mlops.app.gate import baseline_run, candidate_run, gate
    from jupyter_mlops.app.workspace import Workspace
    from jupyter_mlops.comparing.gate import build_rules

    rules = build_rules(_list(table, "metrics"), _list(table, "min-delta"), _list(table, "max-regression"),
                        _list(table, "per-slice"))
    candidate = table.get("candidate")
    with Workspace.from_settings(settings) as workspace:
        baseline = baseline_run(workspace, model=table.get("model"), version=table.get("version"),
                                baseline=table.get("baseline"))
        chosen = candidate_run(workspace, candidate, candidate is None, table.get("filter"))
        result = gate(workspace, baseline, chosen, rules)
    return int(result.exit_code), result


def _gate_command(table: Mapping[str, Any]) -> str:
    candidate = table.get("candidate")
    return _line(["jupyter-mlops", "gate", *_flags([
        ("--model", table.get("model")), ("--version", table.get("version")), ("--baseline", table.get("baseline")),
        ("--candidate", candidate), ("--last", candidate is None), ("--filter", table.get("filter")),
        ("--metric", _list(table, "metrics")), ("--min-delta", _list(table, "min-delta")),
        ("--max-regression", _list(table, "max-regression")), ("--per-slice", _list(table, "per-slice"))])])


def _servable(settings: Settings, table: Mapping[str, Any]) -> tuple[int, Any]:
    from jupyter_mlops.app.model_check import check_servable
    from jupyter_mlops.app.workspace import Workspace

    with Workspace.from_settings(settings) as workspace:
        result = check_servable(workspace, str(table["model"]), str(table["sample"]), n=int(table.get("n", 1000)),
                                latency_p95=table.get("latency-p95"), entry_point=str(table.get("entry-point",
                                                                                               "predict")))
    return int(result.exit_code), result


def _servable_command(table: Mapping[str, Any]) -> str:
    return _line(["jupyter-mlops", "models", "check", str(table.get("model", "")), *_flags([
        ("--sample", table.get("sample")), ("--n", table.get("n")), ("--latency-p95", table.get("latency-p95")),
        ("--entry-point", table.get("entry-point"))])])


#: The steps, in the order they run.
STEPS: tuple[Step, ...] = (
    Step("smoke", {"notebooks": _LIST, "params": _TABLE, "jobs": _INT, "cell-timeout": _NUM, "timeout": _NUM,
                   "kernel": _STR}, ("notebooks",), _smoke, _smoke_command),
    Step("data", {"paths": _LIST, "against": _STR, "data": _STR, "psi": _NUM, "null-increase": _NUM,
                  "range-slack": _NUM}, ("paths",), _data, _data_command),
    Step("gate", {"model": _STR, "version": _STR, "baseline": _STR, "candidate": _STR, "filter": _STR,
                  "metrics": _LIST, "min-delta": _LIST, "max-regression": _LIST, "per-slice": _LIST},
         ("metrics",), _gate, _gate_command),
    Step("servable", {"model": _STR, "sample": _STR, "n": _INT, "latency-p95": _DURATION, "entry-point": _STR},
         ("model", "sample"), _servable, _servable_command),
)
