"""The CI gate: does a candidate run beat the baseline (a model's champion, a version, or a run) on its metrics?

:func:`baseline_run` finds the baseline, :func:`gate` judges the candidate against it and returns a
:class:`~jupyter_mlops.comparing.gate.GateResult` (each metric's verdict, the lineage difference, the overall
verdict and its exit code). The rules and the judgement are pure (:mod:`jupyter_mlops.comparing.gate`); the
lineage difference is read from the two runs' :class:`~jupyter_mlops.comparing.Comparison` (the one
``runs compare`` builds), so ``gate`` and ``runs compare`` report the same changes.
Presentation (text, markdown, JUnit XML, GitHub annotations) lives in :mod:`jupyter_mlops.render.gate`.
On a SQLite store not yet open, runs given by reference are resolved and read straight from the file
(:func:`jupyter_mlops.app.runs.runs_from_file`, ADR-059), so a cold gate does not import SQLAlchemy.

A model's versions come from the model registry (:func:`jupyter_mlops.app.models.resolve_version`, whose
``run_id`` is the run that produced the version); it is imported only when ``--model`` is used, so a cold gate
on runs does not pay for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jupyter_mlops.comparing import RunSnapshot, build_comparison
from jupyter_mlops.comparing.gate import GateResult, MetricRule, judge, lineage_of
from jupyter_mlops.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from jupyter_mlops.app.workspace import Workspace

__all__ = ["Baseline", "baseline_run", "candidate_run", "gate"]



@dataclass(frozen=True, slots=True)
class Baseline:
    """The run a candidate is judged against.

    ``label`` names the model version (``churn@champion (1.2.0)``); empty when the baseline was given as a run.
    """

    run_id: str
    label: str


def baseline_run(
    workspace: Workspace, model: str | None = None, version: str | None = None, baseline: str | None = None
) -> Baseline:
    """The baseline run: a model's champion (``model``), one of its versions (``model`` + ``version``), or a run.

    Args:
        workspace: the project's stores.
        model: a registered model name: its ``champion`` alias, or ``version`` when given.
        version: a version of ``model`` (``1.2.0``, ``latest``).
        baseline: a run id, unique id prefix or unique run name.

    Raises:
        InvalidInput: neither or both of ``model`` and ``baseline``; ``version`` without ``model``.
        NotFound: no such run, model, version or alias.
        Conflict: a run reference is ambiguous.
    """
    if (model is None) == (baseline is None):
        raise InvalidInput("give the baseline as --model NAME [--version V] or --baseline RUN (one of them)")
    if version is not None and model is None:
        raise InvalidInput("--version needs --model NAME (a run given with --baseline has no versions)")
    if baseline is not None:
        return Baseline(_resolve(workspace, baseline), "")
    assert model is not None  # one of the two is given (checked above)
    from jupyter_mlops.app.models import resolve_version

    ref = f"{model}:{version}" if version is not None else f"{model}@champion"
    found = resolve_version(workspace, ref)
    run_id = found.run_id
    if not run_id:
        raise NotFound(f"{ref} records no run, so there is nothing to compare with")
    return Baseline(run_id, f"{ref} ({found.version})" if found.version != version else ref)


def candidate_run(workspace: Workspace, candidate: str | None = None, last: bool = False,
                  filter_text: str | None = None) -> str:
    """The candidate run: ``candidate`` (id, unique prefix or name), or the most recent run (``last``).

    With ``last``, ``filter_text`` narrows it to the most recent run matching the filter.

    Raises:
        InvalidInput: neither or both of ``candidate`` and ``last``; ``filter_text`` without ``last``.
        NotFound: no such run, or no run matches.
        FilterSyntaxError: the filter is malformed.
    """
    from jupyter_mlops.app.runs import choose_runs

    if (candidate is None) == (not last):
        raise InvalidInput("give the candidate as --candidate RUN or --last (one of them)")
    if candidate is not None and filter_text is None:
        return _resolve(workspace, candidate)
    ids = choose_runs(workspace, [candidate] if candidate is not None else (), 1 if last else None, filter_text)
    if not ids:
        raise NotFound(f"no run matches {filter_text!r}" if filter_text else "no runs recorded yet")
    return ids[-1]


def gate(workspace: Workspace, baseline: Baseline, candidate_id: str, rules: Sequence[MetricRule]) -> GateResult:
    """Judge the candidate run against the baseline run on ``rules`` (see :func:`comparing.gate.build_rules`).

    Returns:
        The result: per-metric verdicts, lineage difference, overall verdict (``result.exit_code``).

    Raises:
        InvalidInput: the candidate is the baseline run itself.
        NotFound: a run does not exist.
    """
    from jupyter_mlops.app.compare import load_snapshots, snapshots_of
    from jupyter_mlops.app.runs import runs_from_file

    if candidate_id == baseline.run_id:
        raise InvalidInput(f"the candidate is the baseline run itself ({candidate_id[:8]}); nothing to gate")
    runs = runs_from_file(workspace, [baseline.run_id, candidate_id])
    if runs is not None:
        snapshots = snapshots_of(_blobs_unopened(workspace), runs)
    else:
        snapshots = load_snapshots(workspace.store, workspace.blobs, [baseline.run_id, candidate_id])
    # The comparison without its code section: that section runs nbdime, whose import alone is ~0.4 s of a cold
    # gate (ADR-056); the gate says whether the code changed and how many cells, from the snapshots themselves.
    comparison = build_comparison([RunSnapshot(s.run, None, s.env) for s in snapshots])
    lineage = lineage_of(comparison, (snapshots[0].code, snapshots[-1].code))
    return judge(snapshots[0].run, snapshots[-1].run, rules, baseline_label=baseline.label, lineage=lineage)


def _resolve(workspace: Workspace, ref: str) -> str:
    # A SQLite store that is not open yet answers from the file (no SQLAlchemy: ~0.2 s of a cold gate, ADR-059);
    # any other store, or a file the quick reader cannot vouch for, through the store itself.
    from jupyter_mlops.app.runs import runs_from_file

    found = runs_from_file(workspace, [ref])
    return found[0].id if found is not None else workspace.store.resolve_run(ref.strip())


def _blobs_unopened(workspace: Workspace) -> Any:
    # The blob store the workspace would open with its run store (store.open_from_settings), without that store.
    from jupyter_mlops.store import open_blobs

    return open_blobs(workspace.settings)
