"""The minimal ordered subset of executed cells that produced a metric's value or a variable (program slicing).

The input is the executed-cell log (every cell in the order it ran: re-runs, edits and out-of-order execution
included, each entry the source *as it ran*); nothing is read from the saved notebook. Two passes:

1. **Forward**, in execution order: each cell's Python view (:mod:`.view`) and statement facts (:mod:`.effects`)
   become what the cell read before binding, what it bound for sure (*must*), and what it may have changed
   (*may*: conditional bindings, in-place changes, what the functions it called change). Facts that depend on the
   order are resolved here: which names hold notebook functions (a call reads the globals the function looks up
   *at call time* and changes what it changes), which hold imported modules (``np.array(...)`` changes no ``np``;
   ``np.x = 1`` or ``setattr(np, ...)`` is unsure), and which hold string literals (a path in a variable).
2. **Backward**, from the target cell (the last cell that logged the metric) or from the end (a variable): for each
   name a kept cell read, the cells before it that may have changed the name are kept, back to the latest one that
   bound it for sure. A cell that is unsure (``exec`` of built code, ``globals()``, a star import, a shell command,
   a cell that does not parse) may have changed any name: it is kept when it ran between a read and the binding it
   found, and the slice says which cell and why.

Pure: standard library plus the package's own analysis; no IPython, no store.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jupyter_mlops.errors import InvalidInput
from jupyter_mlops.notebooks.slicing.effects import FunctionFacts, analyze_code
from jupyter_mlops.notebooks.slicing.file_writes import ANY_FILE, FILE, file_name
from jupyter_mlops.notebooks.slicing.view import python_view

__all__ = ["Cell", "CellFlow", "Slice", "cell_flows", "slice_cells"]

_NOTHING_RAN = frozenset({"SyntaxError", "IndentationError", "TabError"})


@dataclass(frozen=True)
class Cell:
    """One executed cell: its source as it ran, and what the kernel recorded about it.

    Attributes:
        source: the source as executed (magics included).
        execution_count: IPython's execution count.
        cell_id: the notebook cell id, when the front end sent it.
        error: ``{"ename", "evalue"}`` when the cell raised.
        metrics: the metric keys the cell logged while it ran (recorded by the kernel observer).
    """

    source: str
    execution_count: int | None = None
    cell_id: str | None = None
    error: Mapping[str, Any] | None = None
    metrics: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Cell:
        """A cell of a code snapshot (``{"source", "execution_count", "cell_id", "error", "metrics"}``)."""
        error = data.get("error")
        return cls(str(data.get("source") or ""), data.get("execution_count"), data.get("cell_id"),
                   error if isinstance(error, Mapping) else None,
                   tuple(str(key) for key in data.get("metrics") or ()))


@dataclass
class CellFlow:
    """What one executed cell read and changed, in the order it ran (the forward pass's result)."""

    code: str
    imports: list[str] = field(default_factory=list)
    reads: set[str] = field(default_factory=set)
    must: set[str] = field(default_factory=set)
    may: set[str] = field(default_factory=set)
    #: why the cell may have changed any name (empty when its effects are known)
    unsure: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: metric keys the code logs by a literal key (``*``: a computed key)
    logs: set[str] = field(default_factory=set)

    @property
    def writes(self) -> set[str]:
        """Everything the cell may have bound or changed."""
        return self.must | self.may


@dataclass
class Slice:
    """A slice: the kept cells (positions in the executed log, in execution order) and why each was kept.

    Attributes:
        target: the metric key or variable name.
        kind: ``metric`` or ``variable``.
        target_cell: the cell that logged the metric (or last changed the variable).
        cells: the kept positions, in emission order (the parameters cell first when that changes nothing).
        reasons: for each kept position, what it provides (names, ``file:PATH``, ``<run>``, ``parameters``...).
        unsure: ``(position, reason)`` of each kept cell whose effects could not be fully seen.
        parameters: the kept parameters cell's position, if any.
        flows: the forward pass of every executed cell (the emitter reads the kept ones' code).
    """

    target: str
    kind: str
    target_cell: int
    cells: list[int]
    reasons: dict[int, list[str]]
    unsure: list[tuple[int, str]]
    parameters: int | None
    flows: list[CellFlow]

    def to_dict(self, cells: Sequence[Cell]) -> dict[str, Any]:
        """JSON shape: each kept cell with its position, execution count, id, source and reasons."""
        return {
            "target": self.target,
            "kind": self.kind,
            "target_cell": self.target_cell,
            "parameters_cell": self.parameters,
            "cells": [{"position": p, "execution_count": cells[p].execution_count, "cell_id": cells[p].cell_id,
                       "source": cells[p].source, "why": self.reasons.get(p, [])} for p in self.cells],
            "unsure": [{"position": p, "execution_count": cells[p].execution_count, "reason": reason}
                       for p, reason in self.unsure],
            "executed_cells": len(cells),
        }


class _State:
    """What the names hold at one point of the execution: functions, imported modules, string literals."""

    def __init__(self) -> None:
        self.functions: dict[str, FunctionFacts] = {}
        self.modules: set[str] = set()
        self.literals: dict[str, str] = {}
        #: names that may name the same object (``b = a``): a change through one is a change of the others
        self.aliases: dict[str, set[str]] = {}


def cell_flows(cells: Sequence[Cell]) -> list[CellFlow]:
    """The forward pass: each cell's reads and changes, resolved in execution order."""
    state = _State()
    return [_flow(cell, state) for cell in cells]


def _flow(cell: Cell, state: _State) -> CellFlow:
    view = python_view(cell.source)
    flow = CellFlow(view.code, list(view.imports), unsure=list(view.unsure))
    statements = analyze_code(view.code)
    if statements is None:
        ename = str((cell.error or {}).get("ename", ""))
        if ename not in _NOTHING_RAN:
            flow.unsure.append("the cell does not parse as Python")
        return flow
    bound: set[str] = set()
    for facts in statements:
        reads = facts.reads - bound
        must, may = set(facts.must), set(facts.may)  # the facts are cached and shared: never changed here
        for variable in facts.path_reads:
            path = state.literals.get(variable)
            reads.add(file_name(path) if path is not None else ANY_FILE)
        for variable, replaces in facts.path_writes.items():
            path = state.literals.get(variable)
            if path is None:
                may.add(ANY_FILE)
                flow.notes.append(f"writes a file at the path held by `{variable}`")
            else:
                (must if replaces else may).add(file_name(path))
        _calls(facts.reads, facts.call_arguments, state, reads, may, flow, bound)
        for name in facts.mutates:
            if name in state.modules:
                if name in facts.attribute_stores:
                    flow.unsure.append(f"sets an attribute of the module `{name}`")
                    may.add(name)
            else:
                may.add(name)
                may |= state.aliases.get(name, set())
        flow.reads |= reads
        flow.must |= must
        flow.may |= may
        flow.unsure += facts.unsure
        flow.notes += facts.file_notes
        flow.logs |= facts.metrics
        _update(state, facts)
        bound |= must
    if cell.error is not None:  # it stopped part way: what it bound may not have been bound
        flow.may |= flow.must
        flow.must = set()
    flow.may -= flow.must
    return flow


def _calls(names: set[str], arguments: Mapping[str, set[str]], state: _State, reads: set[str], may: set[str],
           flow: CellFlow, bound: set[str]) -> None:
    """A read of a notebook function is a call: add what it (and what it calls) reads and changes, now."""
    pending = [name for name in names if name in state.functions]
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        facts = state.functions[name]
        reads |= facts.reads - bound
        may |= facts.writes | facts.mutates
        flow.unsure += [f"calls `{name}`, which {reason}" for reason in facts.unsure]
        if facts.changes_arguments:
            may |= arguments.get(name, set())
        pending += [inner for inner in facts.reads if inner in state.functions]


def _update(state: _State, facts: Any) -> None:
    for name in facts.must:  # rebound: it no longer names what it named
        for other in state.aliases.pop(name, set()):
            state.aliases.get(other, set()).discard(name)
    for name, source in facts.aliases.items():
        group = {source} | state.aliases.get(source, set())
        for member in group:
            state.aliases.setdefault(member, set()).add(name)
        state.aliases[name] = group - {name}
    for name in facts.must | facts.may:
        if name in facts.defs:
            state.functions[name] = facts.defs[name]
        elif name in facts.must:
            state.functions.pop(name, None)
        if name in facts.imports:
            state.modules.add(name)
        elif name in facts.must:
            state.modules.discard(name)
        if name in facts.literals:
            state.literals[name] = facts.literals[name]
        elif name in facts.must:
            state.literals.pop(name, None)


class _Index:
    """Who changed each name, in execution order, for the backward pass."""

    def __init__(self, flows: Sequence[CellFlow]) -> None:
        events: dict[str, tuple[list[int], list[bool]]] = {}
        self.anything: list[int] = []
        self.file_writers: list[int] = []
        self.any_file: list[int] = []
        for position, flow in enumerate(flows):
            for name in flow.must:
                entry = events.setdefault(name, ([], []))
                entry[0].append(position)
                entry[1].append(True)
            for name in flow.may:
                entry = events.setdefault(name, ([], []))
                entry[0].append(position)
                entry[1].append(False)
            if flow.unsure:
                self.anything.append(position)
            if any(name.startswith(FILE) for name in flow.writes):
                self.file_writers.append(position)
            if ANY_FILE in flow.may:
                self.any_file.append(position)
        self.events = events

    def writers(self, name: str, before: int) -> list[tuple[int, bool]]:
        """The cells before ``before`` that may have changed ``name``, back to the latest that bound it for sure."""
        found: list[tuple[int, bool]] = []
        stop = -1
        if name == ANY_FILE:  # a read at a path no static look knows: every file written before may be it
            return [(p, False) for p in self.file_writers[:bisect_left(self.file_writers, before)]]
        entry = self.events.get(name)
        if entry is not None:
            positions, musts = entry
            index = bisect_left(positions, before) - 1
            while index >= 0:
                found.append((positions[index], musts[index]))
                if musts[index]:
                    stop = positions[index]
                    break
                index -= 1
        for group in (self.anything, self.any_file) if name.startswith(FILE) else (self.anything,):
            start, end = bisect_left(group, stop + 1), bisect_left(group, before)
            found += [(p, False) for p in group[start:end]]
        return found


def slice_cells(
    cells: Sequence[Cell],
    target: str,
    *,
    kind: str | None = None,
    parameters: int | None = None,
    flows: list[CellFlow] | None = None,
) -> Slice:
    """Slice the executed ``cells`` for ``target``.

    Args:
        cells: every executed cell, in the order it ran.
        target: a metric key (the slice ends at the last cell that logged it) or a variable name (the slice
            ends after the last cell).
        kind: ``metric``, ``variable`` or None (a metric when some cell logged that key, else a variable).
        parameters: the position of the parameters cell (kept whenever it ran before the target, and emitted
            first when that changes nothing).
        flows: the forward pass, when the caller already has it.

    Raises:
        InvalidInput: no cell logged the metric, or no cell bound the variable.
    """
    flows = flows if flows is not None else cell_flows(cells)
    index = _Index(flows)
    if kind is None:
        kind = "metric" if _metric_cell(cells, flows, target) is not None else "variable"
    kept: dict[int, list[str]] = {}
    pending: list[tuple[str, int]] = []
    target_cell = len(cells) - 1
    if kind == "metric":
        found = _metric_cell(cells, flows, target)
        if found is None:
            raise InvalidInput(f"no executed cell logged the metric {target!r}")
        target_cell = found
        kept[target_cell] = [f"logs {target}"]
        pending += [(name, target_cell) for name in sorted(flows[target_cell].reads, reverse=True)]
    else:
        pending.append((target, len(cells)))
    asked: set[tuple[str, int]] = set()
    _close(pending, asked, kept, index, flows)
    if kind == "variable":
        writers = [p for p, why in kept.items() if target in why]
        if not writers:
            raise InvalidInput(f"no executed cell bound the name {target!r} (and no cell logged a metric of that name)")
        target_cell = max(writers)
    if parameters is not None:
        # its latest execution before the target, unless the data flow already kept one
        runs = [p for p in range(target_cell) if _same_cell(cells[parameters], cells[p])]
        if runs and not any(_same_cell(cells[parameters], cells[p]) for p in kept):
            kept[runs[-1]] = ["parameters"]
            _close([(name, runs[-1]) for name in sorted(flows[runs[-1]].reads)], asked, kept, index, flows)
    order = sorted(kept)
    chosen = next((p for p in order if parameters is not None and _same_cell(cells[parameters], cells[p])), None)
    if chosen is not None and _movable_first(chosen, order, flows):
        order.remove(chosen)
        order.insert(0, chosen)
    unsure = [(p, reason) for p in order for reason in flows[p].unsure + flows[p].notes]
    return Slice(target, kind, target_cell, order, kept, unsure, chosen, flows)


def _close(pending: list[tuple[str, int]], asked: set[tuple[str, int]], kept: dict[int, list[str]], index: _Index,
           flows: Sequence[CellFlow]) -> None:
    while pending:
        name, before = pending.pop()
        if (name, before) in asked:
            continue
        asked.add((name, before))
        for position, _ in index.writers(name, before):
            why = kept.get(position)
            if why is None:
                kept[position] = [name]
                pending += [(read, position) for read in sorted(flows[position].reads, reverse=True)]  # popped A-Z
            elif name not in why:
                why.append(name)


def _metric_cell(cells: Sequence[Cell], flows: Sequence[CellFlow], key: str) -> int | None:
    """The last cell that logged ``key``: by the kernel's record, else by the code (a literal key, then any)."""
    tests: list[Callable[[int], bool]] = [lambda p: key in cells[p].metrics, lambda p: key in flows[p].logs,
                                          lambda p: "*" in flows[p].logs]
    for test in tests:
        found = next((p for p in range(len(cells) - 1, -1, -1) if test(p)), None)
        if found is not None:
            return found
        if any(cell.metrics for cell in cells):
            return None  # the kernel recorded which cell logged what: a key it never saw was not logged
    return None


def _same_cell(a: Cell, b: Cell) -> bool:
    if a.cell_id and b.cell_id:
        return a.cell_id == b.cell_id
    return a.source.strip() == b.source.strip()


def _movable_first(position: int, order: Sequence[int], flows: Sequence[CellFlow]) -> bool:
    """Whether the parameters cell can run before the kept cells that ran before it without changing anything."""
    mine = flows[position]
    for earlier in order:
        if earlier == position:
            return True
        other = flows[earlier]
        if mine.writes & (other.writes | other.reads) or mine.reads & other.writes:
            return False
    return True
