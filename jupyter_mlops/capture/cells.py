"""Static analysis of one cell: which files it reads, which literals it assigns, which names it reads and binds.

It runs after every executed cell on the AST IPython already built (so nothing is parsed twice) and must cost
microseconds: one pass over the tree, dispatching on node type, plus a cache keyed by the cell's source text.

Recognised file reads are calls whose path argument is a string literal:
``pd.read_*``/``pl.read_*``/``pl.scan_*`` (any receiver), ``np.load``/``loadtxt``/``genfromtxt``/``fromfile``,
``torch.load``/``joblib.load`` (any ``*.load("...")``), ``open("...")`` in a read mode, ``Path("...").read_text()``/
``read_bytes()``/``open()``, and therefore ``json.load(open("..."))`` and ``yaml.safe_load(open("..."))``.
Paths built at run time (f-strings, variables) are not visible to a static pass; ``%track data`` covers those.
"""

from __future__ import annotations

import ast
import json
import logging
import re
from collections import OrderedDict
from typing import Any

from jupyter_mlops.capture import names

__all__ = ["CONFIG_SUFFIXES", "CellAnalysis", "analyze", "analyze_source", "literal_value"]

logger = logging.getLogger(__name__)

CONFIG_SUFFIXES = (".yaml", ".yml", ".toml", ".json")
#: Method names that load a file given as their first argument, whatever the receiver (np, torch, joblib...).
_LOADERS = frozenset({"load", "loadtxt", "genfromtxt", "fromfile", "open_dataset", "load_npz", "read_file"})
_PATH_CALLS = frozenset({"Path", "PurePath", "PosixPath", "WindowsPath"})
_PATH_READERS = frozenset({"read_text", "read_bytes", "open"})
#: Keyword names under which readers take their path.
_PATH_KEYWORDS = ("filepath_or_buffer", "path", "path_or_buf", "source", "file", "fname", "f", "io", "filename")
_WRITE_MODE_CHARS = frozenset("wax")
_CACHE_SIZE = 1024
_NOT_LITERAL = object()
_LITERAL_NODES = frozenset({ast.Constant, ast.UnaryOp, ast.List, ast.Tuple, ast.Dict})


_PUBLIC_FIELDS = (
    "files_read",
    "config_files",
    "literal_assignments",
    "numeric_assignments",
    "assigned_names",
    "uses_argparse",
)


class CellAnalysis:
    """What one cell does, as far as a static look can tell.

    Attributes:
        files_read: string-literal paths passed to recognised readers, in source order, without duplicates.
        config_files: the subset of ``files_read`` that are YAML/TOML/JSON files.
        literal_assignments: top-level ``name = <literal>`` (also ``name: T = <literal>`` and ``a, b = 1, 2``);
            tuples become lists so every value is JSON-ready.
        numeric_assignments: the int/float (not bool) entries of ``literal_assignments``, as floats.
        assigned_names: every name bound by a top-level assignment, in order (literal or not); ``%%track metrics``
            looks these up in the user namespace after the cell ran.
        uses_argparse: the cell imports argparse or calls ``ArgumentParser``/``parse_args``.
        names_read: names the cell looks up in the notebook's namespace, sorted (computed on first access): loads
            at the cell's level plus the free names of the functions, classes, lambdas and comprehensions it
            defines; a function's parameters and locals are not reads (:func:`capture.names.module_names`).
        names_defined: names bound at the cell's top-level scope (assignments, loops, ``with``, imports, ``def``,
            ``class``, walrus targets), sorted (computed on first access).
    """

    __slots__ = (*_PUBLIC_FIELDS, "_tree", "_names")

    def __init__(self, tree: ast.Module | None = None) -> None:
        self.files_read: list[str] = []
        self.config_files: list[str] = []
        self.literal_assignments: dict[str, Any] = {}
        self.numeric_assignments: dict[str, float] = {}
        self.assigned_names: list[str] = []
        self.uses_argparse = False
        self._tree = tree
        self._names: tuple[tuple[str, ...], tuple[str, ...]] | None = None

    @property
    def names_read(self) -> list[str]:
        """Names the cell reads from the notebook's namespace, sorted."""
        return list(self._name_sets()[0])

    @property
    def names_defined(self) -> list[str]:
        """Names bound at the cell's top-level scope, sorted."""
        return list(self._name_sets()[1])

    def _name_sets(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        # Name flow is only needed for a run's context cells, computed on the writer thread, so the post-cell
        # hook never pays for it.
        if self._names is None:
            reads, binds = names.module_names(self._tree) if self._tree is not None else (set(), set())
            self._names = (tuple(sorted(reads)), tuple(sorted(binds)))
        return self._names

    def copy(self) -> CellAnalysis:
        """A copy whose lists and dicts can be changed without touching the cached original."""
        other = CellAnalysis(self._tree)
        other.files_read = list(self.files_read)
        other.config_files = list(self.config_files)
        other.literal_assignments = dict(self.literal_assignments)
        other.numeric_assignments = dict(self.numeric_assignments)
        other.assigned_names = list(self.assigned_names)
        other.uses_argparse = self.uses_argparse
        other._names = self._names
        return other

    def to_dict(self) -> dict[str, Any]:
        """Every attribute as plain JSON-ready data."""
        return {name: getattr(self, name) for name in (*_PUBLIC_FIELDS, "names_read", "names_defined")}

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in _PUBLIC_FIELDS)
        return f"CellAnalysis({shown})"



_CACHE: OrderedDict[str, CellAnalysis] = OrderedDict()


def literal_value(node: ast.expr) -> Any:
    """The JSON-ready value of a literal expression node, or raise ValueError.

    Accepts constants (not bytes/complex/Ellipsis), negative numbers, and lists/tuples/dicts of those; tuples
    become lists. Sets are refused (not JSON).
    """
    kind = type(node)
    if kind is ast.Constant:
        value = node.value  # type: ignore[attr-defined]
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        raise ValueError("not a JSON literal")
    if kind is ast.UnaryOp and isinstance(node.op, (ast.USub, ast.UAdd)):  # type: ignore[attr-defined]
        operand = literal_value(node.operand)  # type: ignore[attr-defined]
        if isinstance(operand, bool) or not isinstance(operand, (int, float)):
            raise ValueError("sign on a non-number")
        return -operand if isinstance(node.op, ast.USub) else operand  # type: ignore[attr-defined]
    if kind is ast.List or kind is ast.Tuple:
        return [literal_value(item) for item in node.elts]  # type: ignore[attr-defined]
    if kind is ast.Dict:
        result: dict[str, Any] = {}
        for key, value_node in zip(node.keys, node.values, strict=True):  # type: ignore[attr-defined]
            if key is None:
                raise ValueError("dict unpacking")
            key_value = literal_value(key)
            if isinstance(key_value, (list, dict)):
                raise ValueError("unhashable key")
            # JSON keys are strings: {1: 0.5} is stored as {"1": 0.5}, as json.dumps would write it.
            result[key_value if isinstance(key_value, str) else json.dumps(key_value)] = literal_value(value_node)
        return result
    raise ValueError("not a literal")


def _try_literal(node: ast.expr | None) -> Any:
    # Most right-hand sides are calls or names: reject them without the cost of raising.
    if node is None or type(node) not in _LITERAL_NODES:
        return _NOT_LITERAL
    try:
        return literal_value(node)
    except (ValueError, RecursionError):
        return _NOT_LITERAL


def _string(node: ast.expr) -> str | None:
    if type(node) is ast.Constant and isinstance(node.value, str):
        return node.value
    return None


def _path_argument(call: ast.Call) -> str | None:
    if call.args:
        return _string(call.args[0])
    for keyword in call.keywords:
        if keyword.arg in _PATH_KEYWORDS:
            return _string(keyword.value)
    return None


def _mode_reads(call: ast.Call, position: int) -> bool:
    """Whether an ``open``-style call's mode (positional at ``position`` or ``mode=``) reads the file."""
    mode_node: ast.expr | None = call.args[position] if len(call.args) > position else None
    for keyword in call.keywords:
        if keyword.arg == "mode":
            mode_node = keyword.value
    if mode_node is None:
        return True
    mode = _string(mode_node)
    # An unknown (computed) mode is not counted as a read; "r+" reads, "w+" truncates first.
    return mode is not None and not (_WRITE_MODE_CHARS & set(mode))


def _callee_name(func: ast.expr) -> str | None:
    if type(func) is ast.Name:
        return func.id
    if type(func) is ast.Attribute:
        return func.attr
    return None


def _file_read_by(call: ast.Call) -> str | None:
    """The literal path a call reads, or None."""
    func = call.func
    if type(func) is ast.Name:
        if func.id == "open":
            return _path_argument(call) if _mode_reads(call, 1) else None
        return None
    if type(func) is not ast.Attribute:
        return None
    attr: str = func.attr
    receiver: ast.expr = func.value
    if attr in _PATH_READERS and type(receiver) is ast.Call and _callee_name(receiver.func) in _PATH_CALLS:
        if attr == "open" and not _mode_reads(call, 0):
            return None
        return _path_argument(receiver)
    if attr == "open":  # io.open / codecs.open
        return _path_argument(call) if _mode_reads(call, 1) else None
    if attr.startswith(("read_", "scan_")) or attr in _LOADERS:
        return _path_argument(call)
    return None


#: A cell whose source contains none of these words cannot read a file or use argparse in a way we recognise,
#: so its tree is not walked at all (the common case: most cells cost only the top-level assignment scan).
_CALL_HINT = re.compile(r"read_|scan_|load|open|fromfile|argparse|parse_args|parse_known_args|ArgumentParser")
_AST = ast.AST


def _scan_calls(tree: ast.AST) -> tuple[list[str], bool]:
    """Paths read (in source order) and whether argparse is used, from every call and import in the tree."""
    found: list[tuple[int, int, str]] = []
    argparse = False
    stack: list[Any] = [tree]
    pop, extend, append = stack.pop, stack.extend, stack.append
    while stack:
        node = pop()
        kind = type(node)
        if kind is ast.Call:
            path = _file_read_by(node)
            if path:
                found.append((node.lineno, node.col_offset, path))
            if _callee_name(node.func) in ("ArgumentParser", "parse_args", "parse_known_args"):
                argparse = True
        elif kind is ast.Import or kind is ast.ImportFrom:
            if kind is ast.ImportFrom and node.module == "argparse":
                argparse = True
            argparse = argparse or any(alias.name == "argparse" for alias in node.names)
            continue
        # Hand-rolled instead of ast.walk: about 40 % cheaper, and this runs after every cell.
        for name in node._fields:
            child = getattr(node, name, None)
            if child.__class__ is list:
                extend(child)
            elif isinstance(child, _AST):
                append(child)
    found.sort()
    return list(dict.fromkeys(path for _, _, path in found)), argparse


def _top_level_assignments(body: list[ast.stmt], result: CellAnalysis) -> None:
    literals = result.literal_assignments
    assigned = result.assigned_names
    for stmt in body:
        kind = type(stmt)
        if kind is ast.Assign:
            value = _try_literal(stmt.value)  # type: ignore[attr-defined]
            for target in stmt.targets:  # type: ignore[attr-defined]
                _bind(target, stmt.value, value, literals, assigned)  # type: ignore[attr-defined]
        elif kind is ast.AnnAssign and type(stmt.target) is ast.Name:  # type: ignore[attr-defined]
            name = stmt.target.id  # type: ignore[attr-defined]
            assigned.append(name)
            value = _try_literal(stmt.value)  # type: ignore[attr-defined]
            if value is not _NOT_LITERAL:
                literals[name] = value
        elif kind is ast.AugAssign and type(stmt.target) is ast.Name:  # type: ignore[attr-defined]
            assigned.append(stmt.target.id)  # type: ignore[attr-defined]
            literals.pop(stmt.target.id, None)  # type: ignore[attr-defined]  # no longer the literal it was
    for name, value in literals.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            result.numeric_assignments[name] = float(value)


def _bind(target: ast.expr, node: ast.expr, value: Any, literals: dict[str, Any], assigned: list[str]) -> None:
    if type(target) is ast.Name:
        assigned.append(target.id)
        if value is _NOT_LITERAL:
            literals.pop(target.id, None)
        else:
            literals[target.id] = value
    elif type(target) in (ast.Tuple, ast.List):
        elements = target.elts  # type: ignore[attr-defined]
        same_shape = type(node) in (ast.Tuple, ast.List) and len(node.elts) == len(elements)  # type: ignore[attr-defined]
        for index, element in enumerate(elements):
            sub_node = node.elts[index] if same_shape else node  # type: ignore[attr-defined]
            sub_value = _try_literal(sub_node) if same_shape else _NOT_LITERAL
            _bind(element, sub_node, sub_value, literals, assigned)


def _analyze_tree(tree: ast.Module, source: str | None) -> CellAnalysis:
    result = CellAnalysis(tree)
    if source is None or _CALL_HINT.search(source):
        result.files_read, result.uses_argparse = _scan_calls(tree)
        result.config_files = [path for path in result.files_read if path.lower().endswith(CONFIG_SUFFIXES)]
    _top_level_assignments(tree.body, result)
    return result


def analyze(tree: ast.Module, source: str | None = None) -> CellAnalysis:
    """Analyse a parsed cell.

    Args:
        tree: the cell's module AST (e.g. the one IPython built; it is not modified).
        source: the cell's source text, if known; identical sources then share one cached analysis.

    Returns:
        A :class:`CellAnalysis` the caller may modify freely.
    """
    if source is not None:
        cached = _CACHE.get(source)
        if cached is not None:
            _CACHE.move_to_end(source)
            return cached.copy()
    result = _analyze_tree(tree, source)
    if source is not None:
        _CACHE[source] = result
        if len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
        return result.copy()
    return result


def analyze_source(source: str) -> CellAnalysis | None:
    """Parse and analyse source text; None (with one warning) when it is not valid Python.

    Cells with IPython syntax (magics, ``!shell``) should be analysed from IPython's transformed AST instead.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError) as exc:
        logger.warning("cell analysis skipped: %s", exc)
        return None
    return analyze(tree, source)
