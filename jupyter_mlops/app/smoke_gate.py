"""``nb-smoke --gate-*``: after the notebooks executed, judge each one's run against a registered model.

The faces (``nb-smoke``, ``pytest --nb-smoke``) call :func:`prepare` once, before any kernel starts (bad gate
options are a usage error then, and the kernels are pointed at the project store), and :func:`judge_notebooks`
once the smoke run is over (every kernel has shut down, so every run has ended and flushed its metrics). The
judgement is ``jupyter-mlops gate``'s own (:func:`jupyter_mlops.app.gate.gate` on the rules of
:func:`jupyter_mlops.comparing.gate.build_rules`); the faces render it and hand it to
``NotebookResult.add_gate``.

Assumptions:
    * A notebook's run is the last run started since the smoke call began whose ``notebook_path`` is the
      notebook's (nb-smoke hands every kernel that path). A notebook that tracked no run cannot be judged: a
      gate error for that notebook, as is a model without a champion.
    * With a gate, kernels get the project store's absolute locations in ``JUPYTER_MLOPS_STORE``/``_BLOBS``:
      the model registry lives there, so the candidate runs must too, whatever folder a notebook is in.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyter_mlops.config import Settings, load_settings
from jupyter_mlops.errors import InvalidInput, MlopsError

if TYPE_CHECKING:
    from jupyter_mlops.comparing.gate import GateResult, MetricRule
    from jupyter_mlops.notebooks.smoke.options import GateOptions
    from jupyter_mlops.notebooks.smoke.report import NotebookResult

__all__ = ["NotebookGate", "SmokeGate", "judge_notebooks", "notebook_run", "prepare"]

_GATE_FLAG = re.compile(r"(?<![\w-])--(metric|min-delta|max-regression)\b")


@dataclass(frozen=True)
class SmokeGate:
    """A checked gate for one smoke call: its options, its rules and the store it reads."""

    options: GateOptions
    rules: list[MetricRule]
    settings: Settings

    @property
    def kernel_env(self) -> dict[str, str]:
        """What the kernels need to track into the project store (absolute, as they start in other folders)."""
        from jupyter_mlops.app.reproduce.execute import store_env

        return store_env(self.settings)


@dataclass
class NotebookGate:
    """One notebook's gate: ``result`` judged, or ``error`` (one line) when it could not be."""

    notebook: NotebookResult
    result: GateResult | None = None
    error: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        """``pass``, ``regression`` or ``error``."""
        return self.result.verdict if self.result is not None else "error"


def prepare(options: GateOptions, store_url: str | None = None) -> SmokeGate:
    """Check the gate's options and find the project store, before anything runs.

    Raises:
        InvalidInput: a malformed ``--gate-metric``/``--gate-min-delta``/``--gate-max-regression`` (named as the
            face spells it).
    """
    from jupyter_mlops.comparing.gate import build_rules

    try:
        rules = build_rules(options.metrics, options.min_deltas, options.max_regressions)
    except InvalidInput as error:
        raise InvalidInput(_GATE_FLAG.sub(lambda m: options.prefix + m.group(1), error.message)) from None
    return SmokeGate(options, rules, load_settings(store_url))


def judge_notebooks(gate: SmokeGate, results: Sequence[NotebookResult], since: float) -> list[NotebookGate]:
    """Judge the run of every notebook that passed, against the model's champion (or the gate's version).

    Args:
        gate: from :func:`prepare`.
        results: the smoke results; failed notebooks are not judged (they already failed).
        since: when the smoke call started (``time.time()``): older runs of a notebook are not candidates.
    """
    from jupyter_mlops.app.gate import baseline_run
    from jupyter_mlops.app.gate import gate as judge
    from jupyter_mlops.app.workspace import Workspace

    passed = [result for result in results if result.passed]
    if not passed:
        return []
    answers = [NotebookGate(result) for result in passed]
    with Workspace.from_settings(gate.settings) as workspace:
        try:
            baseline = baseline_run(workspace, model=gate.options.model, version=gate.options.version)
        except MlopsError as error:
            return [_failed(answer, error.message) for answer in answers]
        for answer in answers:
            try:
                candidate = notebook_run(workspace, answer.notebook, since)
                answer.result = judge(workspace, baseline, candidate, gate.rules)
                answer.data = answer.result.to_dict()
            except MlopsError as error:
                _failed(answer, error.message)
    return answers


def _failed(answer: NotebookGate, message: str) -> NotebookGate:
    answer.error = message
    answer.data = {"verdict": "error", "message": message}
    return answer


def notebook_run(workspace: Any, notebook: NotebookResult, since: float, purpose: str = "gate") -> str:
    """The id of the last run ``notebook`` started since ``since`` (the smoke call's start).

    Raises:
        InvalidInput: the notebook tracked no run, so there is nothing to ``purpose``.
    """
    path = str(Path(notebook.path).resolve())
    quoted = path.replace("\\", "\\\\").replace('"', '\\"')
    page = workspace.store.search_runs(filter=f'notebook_path = "{quoted}" and start_time >= {since - 1.0!r}',
                                       order_by=["start_time DESC"], limit=1)
    if not page.items:
        raise InvalidInput(f"{notebook.path} tracked no run (no %track start or mlops.start_run), so there is "
                           "nothing to gate")
    return str(page.items[0].id)
