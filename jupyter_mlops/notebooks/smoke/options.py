"""The options of one smoke call, and the one place where they are assembled from what the user gave.

``nb-smoke`` (:mod:`jupyter_mlops.cli.smoke`) and ``pytest --nb-smoke`` (:mod:`jupyter_mlops.pytest_plugin`)
each parse their own flags, then hand the values to :meth:`SmokeOptions.from_sources`; the rules are written
only here and in :meth:`SmokeOptions.parameters_for` (ADR-044):

- parameters, later wins: the ``[tool.jupyter-mlops.smoke."<glob>"]`` tables that match the notebook (in the
  notebook's nearest ``pyproject.toml``), the ``-f`` files in order, then ``-p KEY=VALUE``; every value is
  typed against the notebook's defaults (:mod:`.params`);
- output caps: the flag, else ``[tool.jupyter-mlops.smoke]`` of the working directory's project, else the
  defaults (:func:`.limits.output_caps`);
- timeouts: positive seconds; a cell may run 600 s unless the cell or the call says otherwise, a notebook has
  no limit of its own unless given one;
- the gate (``--gate-model NAME --gate-metric KEY:max|min ...``, ADR-066): given whole or not at all, never with
  ``--no-track`` (the notebooks' runs must reach the store the model registry is in). Its rules are judged by
  ``app.smoke_gate``, above this package; here they are only carried, as the user spelled them;
- the data check (``--data-against RUN|MODEL:VERSION|SCHEMA.yaml``, ADR-079): never with ``--no-track``, for
  the same reason; the baseline is resolved by ``app.smoke_data``.

Every bad value is an :class:`~jupyter_mlops.errors.InvalidInput` that names the flag as the face spells it
(:class:`Flags`), raised before any kernel starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_mlops.errors import InvalidInput
from jupyter_mlops.notebooks.smoke.discover import parse_shard
from jupyter_mlops.notebooks.smoke.limits import (
    DEFAULT_CELL_TIMEOUT,
    Limits,
    output_caps,
    project_smoke_table,
)
from jupyter_mlops.notebooks.smoke.params import (
    load_params_file,
    pyproject_params,
    resolve_parameters,
    split_assignment,
)
from jupyter_mlops.notebooks.smoke.preload import Preload, parse_preload

#: What a face may pass to :meth:`SmokeOptions.from_sources` (absent or None: not given).
ARG_NAMES = frozenset({
    "paths", "jobs", "prestart", "params", "params_files", "strict_params", "kernel", "cell_timeout", "timeout",
    "keep_going", "output_dir", "changed_since", "shard", "durations_from", "no_track", "max_cell_output",
    "max_notebook_output", "gate_model", "gate_version", "gate_metrics", "gate_min_deltas", "gate_max_regressions",
    "preload", "data_against", "fork",
})


@dataclass(frozen=True)
class Flags:
    """How a face spells its flags, so that an error names the flag the user typed.

    Attributes:
        prefix: put before an option's name (``--`` gives ``--cell-timeout``).
        param_hint: appended to a malformed ``KEY=VALUE`` error (the CLI also takes ``-p KEY VALUE``).
    """

    prefix: str = "--"
    param_hint: str = " (or -p KEY VALUE)"

    def __call__(self, name: str) -> str:
        """The flag of option ``name`` (``cell-timeout``)."""
        return self.prefix + name


@dataclass(frozen=True)
class GateOptions:
    """``nb-smoke --gate-*``: judge each notebook's run against a registered model's champion (or a version).

    Attributes:
        model: the registered model whose ``champion`` (or ``version``) is the baseline.
        version: a version of ``model`` instead of its champion.
        metrics: ``KEY:max|min`` texts; ``min_deltas``/``max_regressions``: ``KEY=N[%]`` texts (``jupyter-mlops
            gate``'s syntax, checked by the gate's own parser).
        prefix: how the face spells the gate's flags (``--gate-`` or ``--nb-smoke-gate-``), for error messages.
    """

    model: str
    metrics: tuple[str, ...]
    version: str | None = None
    min_deltas: tuple[str, ...] = ()
    max_regressions: tuple[str, ...] = ()
    prefix: str = "--gate-"


#: ``nb-smoke`` and ``jupyter-mlops smoke``.
CLI_FLAGS = Flags()
#: ``pytest --nb-smoke``: every option is ``--nb-smoke-<name>``, and ``KEY VALUE`` pairs are not taken.
PYTEST_FLAGS = Flags(prefix="--nb-smoke-", param_hint="")


@dataclass
class SmokeOptions:
    """Everything a smoke call can be told (build it with :meth:`from_sources` from a face).

    Attributes:
        paths: files, folders and globs to discover notebooks in.
        jobs: notebooks executing at once (default: CPU count).
        prestart: kernels started ahead of need (default: ``jobs``).
        parameters: ``-p`` values (strings are typed against the notebook's defaults).
        param_files: ``-f`` YAML/JSON files, applied before ``parameters``.
        kernel: kernelspec name (default: the current interpreter for Python notebooks).
        limits: cell/notebook timeouts, ``keep_going`` and the output caps.
        output_dir: where executed notebooks go (default ``<project>/.mlops/smoke``).
        changed_since: only notebooks changed since this git revision.
        shard: ``(K, N)``: run only shard K of N.
        durations_from: a previous ``--json`` report, to balance shards.
        track: False sends ``%track`` runs to a throwaway store.
        startup_timeout: seconds a kernel may take to answer after launch.
        strict_params: every ``-p``/``-f`` name must be defined by every notebook's parameters cell (by
            default a notebook takes the names its cell defines; see :func:`.run.check_parameters`).
        gate: judge each notebook's run after it executed (None: no gate).
        data_against: check each notebook's run's data inputs against this baseline after it executed (a run,
            ``MODEL:VERSION`` or a pandera YAML file; None: no data check).
        kernel_env: variables added to every kernel's environment (the gate sends runs to the project store).
        preload: modules imported in each Python notebook's fresh kernel before it runs (:mod:`.preload`).
        fork: fork each Python notebook's kernel from a zygote that imported its ``preload`` modules, where that
            is safe (:mod:`.fork`, Linux only); a fresh kernel otherwise, and the result says why.
    """

    paths: list[str] = field(default_factory=list)
    jobs: int | None = None
    prestart: int | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    param_files: list[str] = field(default_factory=list)
    kernel: str | None = None
    limits: Limits = field(default_factory=Limits)
    output_dir: Path | None = None
    changed_since: str | None = None
    shard: tuple[int, int] | None = None
    durations_from: str | None = None
    track: bool = True
    startup_timeout: float = 60.0
    strict_params: bool = False
    gate: GateOptions | None = None
    data_against: str | None = None
    kernel_env: dict[str, str] = field(default_factory=dict)
    preload: Preload | None = None
    fork: bool = False

    @classmethod
    def from_sources(cls, cli_args: Mapping[str, Any], pyproject: Mapping[str, Any] | None = None,
                     flags: Flags = CLI_FLAGS) -> SmokeOptions:
        """The options of one call from the face's parsed flags and the project's ``[tool.jupyter-mlops.smoke]``.

        Args:
            cli_args: values by the names in :data:`ARG_NAMES` (None or absent: not given). ``params`` are
                ``KEY=VALUE`` strings, ``shard`` is ``"K/N"``, ``no_track`` a flag; the rest as in the attributes.
            pyproject: the ``[tool.jupyter-mlops.smoke]`` table (default: the working directory's project's).
            flags: how the face spells its flags, for error messages.

        Raises:
            InvalidInput: a malformed ``KEY=VALUE``, an unreadable ``-f`` file, a timeout that is not positive,
                a bad shard or output size, or an unknown option in the table.
            TypeError: a name outside :data:`ARG_NAMES` (a face's bug, not the user's).
        """
        unknown = set(cli_args) - ARG_NAMES
        if unknown:
            raise TypeError(f"unknown smoke option(s): {', '.join(sorted(unknown))}")
        args = {name: cli_args.get(name) for name in ARG_NAMES}
        table = project_smoke_table() if pyproject is None else pyproject
        parameters = {}
        for text in args["params"] or ():
            key, value = split_assignment(text, flags.param_hint, flags("param"))
            parameters[key] = value
        param_files = [str(f) for f in args["params_files"] or ()]
        for file in param_files:
            load_params_file(file)  # an unreadable file is a usage error now, not once per notebook later
        max_cell, max_notebook = output_caps(args["max_cell_output"], args["max_notebook_output"], table,
                                             flags.prefix)
        cell_timeout = _seconds(args["cell_timeout"], flags("cell-timeout"))
        limits = Limits(cell_timeout=DEFAULT_CELL_TIMEOUT if cell_timeout is None else cell_timeout,
                        timeout=_seconds(args["timeout"], flags("timeout")), keep_going=bool(args["keep_going"]),
                        max_cell_output=max_cell, max_notebook_output=max_notebook)
        return cls(
            paths=[str(p) for p in args["paths"] or ()] or ["."], jobs=args["jobs"], prestart=args["prestart"],
            parameters=parameters, param_files=param_files, kernel=args["kernel"] or None, limits=limits,
            output_dir=Path(args["output_dir"]) if args["output_dir"] else None,
            changed_since=args["changed_since"] or None,
            shard=parse_shard(args["shard"]) if args["shard"] else None,
            durations_from=args["durations_from"] or None, track=not args["no_track"],
            strict_params=bool(args["strict_params"]), gate=_gate(args, flags),
            preload=parse_preload(args["preload"], flags("preload")), data_against=_data_against(args, flags),
            fork=bool(args["fork"]),
        )

    def given_parameters(self) -> dict[str, Any]:
        """The ``-f`` files in order, then ``-p``, merged (later wins); values not typed yet.

        Raises:
            InvalidInput: an unreadable ``-f`` file.
        """
        merged: dict[str, Any] = {}
        for file in self.param_files:
            merged.update(load_params_file(file))
        merged.update(self.parameters)
        return merged

    def parameters_for(self, notebook: Path, nb: Any, given: Mapping[str, Any] | None = None,
                       cache: dict[Path, dict[str, Any]] | None = None) -> dict[str, Any]:
        """The typed parameters injected into ``nb`` (read from ``notebook``): pyproject globs, then ``-f``, ``-p``.

        A name in a matching pyproject table that the notebook does not define is an error: the table names the
        notebooks it is for. ``-f`` and ``-p`` names the notebook does not define are left out (unless
        :attr:`strict_params`), since one call's values are given to a whole folder of notebooks.

        Args:
            notebook: the notebook's path (finds its pyproject tables).
            nb: the parsed notebook (its parameters cell gives names and types).
            given: :meth:`given_parameters`, when the caller already read them once for many notebooks.
            cache: pyproject tables by project root, shared across the notebooks of one call.

        Raises:
            InvalidInput: an unknown name or a value that does not fit the default's type.
        """
        configured = resolve_parameters(nb, [pyproject_params(notebook, cache)])
        layer = self.given_parameters() if given is None else given
        chosen = resolve_parameters(nb, [layer], skip_unknown=not self.strict_params)
        return {**configured, **chosen}


#: The gate's options other than the model, by their from_sources name.
_GATE_FLAGS = {"gate_version": "gate-version", "gate_metrics": "gate-metric", "gate_min_deltas": "gate-min-delta",
               "gate_max_regressions": "gate-max-regression"}


def _gate(args: Mapping[str, Any], flags: Flags) -> GateOptions | None:
    given = [flag for name, flag in _GATE_FLAGS.items() if args[name]]
    if not args["gate_model"]:
        if given:
            raise InvalidInput(f"{flags(given[0])} needs {flags('gate-model')} NAME (the model whose champion the "
                               "notebooks' runs are judged against)")
        return None
    if not args["gate_metrics"]:
        raise InvalidInput(f"{flags('gate-model')} needs at least one {flags('gate-metric')} KEY:max|min")
    if args["no_track"]:
        raise InvalidInput(f"{flags('no-track')} sends the notebooks' runs to a throwaway store; "
                           f"{flags('gate-model')} needs them in the project store, where the model registry is")
    return GateOptions(
        model=str(args["gate_model"]), metrics=tuple(args["gate_metrics"]),
        version=str(args["gate_version"]) if args["gate_version"] else None,
        min_deltas=tuple(args["gate_min_deltas"] or ()), max_regressions=tuple(args["gate_max_regressions"] or ()),
        prefix=flags("gate-"),
    )


def _data_against(args: Mapping[str, Any], flags: Flags) -> str | None:
    if args["data_against"] is None:
        return None
    text = str(args["data_against"]).strip()
    if not text:
        raise InvalidInput(f"{flags('data-against')}: give a run, MODEL:VERSION or a SCHEMA.yaml file")
    if args["no_track"]:
        raise InvalidInput(f"{flags('no-track')} sends the notebooks' runs to a throwaway store; "
                           f"{flags('data-against')} checks the data those runs recorded, in the project store")
    return text


def _seconds(value: Any, flag: str) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{flag}: expected seconds, got {value!r}") from None
    if not seconds > 0:  # also refuses NaN
        raise InvalidInput(f"{flag}: must be > 0 seconds, got {value!r}")
    return seconds
