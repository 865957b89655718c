"""The built-in lint rules, ``NB001``-``NB010``. Each is a function ``(nb, path, **options) -> list[Finding]``.

Importing this module writes them into :data:`.registry.lint_rules` (the package ``__init__`` imports it); the
runner reads the registry and never imports this module.

Rules read the notebook only; none modifies it. Secrets are found with
:func:`jupyter_mlops.capture.redact.find_secrets`, the detector the tracker uses for redaction, so what lint
flags is exactly what the tracker would mask.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

from jupyter_mlops.capture.parameters import PARAMETERS_TAG, tagged_index
from jupyter_mlops.capture.redact import find_secrets
from jupyter_mlops.config import find_project_root
from jupyter_mlops.notebooks.clean import KEEP_OUTPUT_TAG, cell_tags
from jupyter_mlops.notebooks.format_checks import (
    KNOWN_CELL_TYPES,
    cells_without_id,
    duplicate_cell_ids,
    known_minor,
    missing_ids_message,
    unknown_cell_types,
    unknown_minor,
    unknown_minor_message,
    unknown_output_types,
)
from jupyter_mlops.notebooks.lint.config import DEFAULT_MAX_OUTPUT_BYTES
from jupyter_mlops.notebooks.lint.registry import Finding, lint_rules
from jupyter_mlops.notebooks.summary import cell_source, parse_python

_MAGIC_LINE = re.compile(r"^\s*(%|!)")
#: Home folders and Windows drive paths: machine-specific, so the notebook will not run elsewhere.
_ABSOLUTE_PATH = re.compile(r"(?<![\w./~-])(?:/home/|/Users/|/root/|[A-Za-z]:[\\/])[^\s'\"]*")
_JUPYTEXT_CONFIG_NAMES = tuple(
    prefix + name
    for name in ("jupytext", "jupytext.toml", "jupytext.yml", "jupytext.yaml", "jupytext.json", "jupytext.py")
    for prefix in ("", ".")
)
_TEXT_MIMETYPES = ("text/", "application/json", "application/javascript")


def _code_cells(nb: Any) -> list[tuple[int, Any]]:
    return [(i, c) for i, c in enumerate(nb.get("cells", [])) if c.get("cell_type") == "code"]


def committed_outputs(nb: Any, path: str) -> list[Finding]:
    """Code cells with stored outputs (cells tagged keep-output excepted)."""
    findings = []
    for index, cell in _code_cells(nb):
        outputs = cell.get("outputs", [])
        if outputs and KEEP_OUTPUT_TAG not in cell_tags(cell):
            findings.append(Finding("NB001", f"{len(outputs)} stored output(s); run `jupyter-mlops clean` or tag "
                                    f"the cell {KEEP_OUTPUT_TAG}", path, index))
    return findings


def execution_order(nb: Any, path: str) -> list[Finding]:
    """Execution counts out of order, or missing on some cells of an executed notebook."""
    cells = [(i, c) for i, c in _code_cells(nb) if cell_source(c).strip()]
    executed = [(i, c) for i, c in cells if isinstance(c.get("execution_count"), int)]
    if not executed:
        return []
    findings = []
    if any(KEEP_OUTPUT_TAG not in cell_tags(c) for _, c in executed):  # a cleaned notebook keeps only those
        for index, cell in cells:
            if cell.get("execution_count") is None:
                findings.append(Finding("NB002", "no execution count: the cell was not run with the others (or "
                                        "ran before a restart)", path, index))
    previous: tuple[int, int] | None = None
    for index, cell in executed:
        count = cell["execution_count"]
        if previous is not None and count <= previous[1]:
            findings.append(Finding("NB002", f"out of order: execution count {count} comes after {previous[1]} "
                                    f"(cell {previous[0]}); restart and run all", path, index))
        previous = (index, count)
    return findings


def missing_parameters_cell(nb: Any, path: str) -> list[Finding]:
    """No cell tagged `parameters`, so papermill and nb-smoke cannot inject parameters."""
    if not _code_cells(nb) or tagged_index(nb.get("cells", [])) is not None:
        return []
    return [Finding("NB003", f"no cell tagged '{PARAMETERS_TAG}': papermill/nb-smoke cannot inject parameters",
                    path)]


def absolute_paths(nb: Any, path: str) -> list[Finding]:
    """Absolute home-folder or drive paths in code (/home/..., /Users/..., C: drive paths)."""
    findings = []
    for index, cell in _code_cells(nb):
        for line, found in _absolute_paths_in(cell_source(cell)):
            findings.append(Finding("NB004", f"absolute path {found!r}: use a path relative to the project",
                                    path, index, line))
    return findings


def _absolute_paths_in(source: str) -> list[tuple[int, str]]:
    """(line, path) for string literals (and magic/shell lines) that hold absolute paths; comments are ignored."""
    if not _ABSOLUTE_PATH.search(source):
        return []  # the common case: one regex pass, no parse
    hits: list[tuple[int, str]] = []
    lines = source.splitlines()
    for number, text in enumerate(lines, 1):
        if _MAGIC_LINE.match(text):
            hits.extend((number, m.group(0)) for m in _ABSOLUTE_PATH.finditer(text))
    tree = parse_python(source)
    if tree is None:  # not Python: fall back to the raw lines
        return [(n, m.group(0)) for n, text in enumerate(lines, 1) for m in _ABSOLUTE_PATH.finditer(text)]
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            hits.extend((node.lineno, m.group(0)) for m in _ABSOLUTE_PATH.finditer(node.value))
    return sorted(set(hits))


def secrets(nb: Any, path: str) -> list[Finding]:
    """Secrets (API keys, tokens, passwords) in code or outputs, by the tracker's redaction detector."""
    findings = []
    for index, cell in enumerate(nb.get("cells", [])):
        for hit in find_secrets(cell_source(cell)):
            findings.append(Finding("NB005", f"possible secret ({hit.kind}, {hit.preview}) in the source; move it "
                                    "to an environment variable", path, index, hit.line, "error"))
        for number, output in enumerate(cell.get("outputs", [])):
            kinds = sorted({hit.kind for hit in find_secrets(_output_text(output))})
            if kinds:
                findings.append(Finding("NB005", f"possible secret ({', '.join(kinds)}) in output {number}; clear "
                                        "the output", path, index, None, "error"))
    return findings


def _output_text(output: Any) -> str:
    """The text a person could read in an output: streams, text-like mime data, error messages."""
    parts: list[str] = []
    text = output.get("text")
    parts.append("".join(text) if isinstance(text, list) else str(text or ""))
    for mimetype, value in (output.get("data") or {}).items():
        if mimetype.startswith(_TEXT_MIMETYPES):
            parts.append("".join(value) if isinstance(value, list) else str(value))
    if output.get("output_type") == "error":
        parts.extend([str(output.get("evalue", "")), *map(str, output.get("traceback", []))])
    return "\n".join(p for p in parts if p)


def large_outputs(nb: Any, path: str, max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES) -> list[Finding]:
    """Outputs larger than max-output-bytes (they bloat the repository and slow every diff)."""
    findings = []
    for index, cell in _code_cells(nb):
        for number, output in enumerate(cell.get("outputs", [])):
            size = len(json.dumps(output, ensure_ascii=False).encode("utf-8"))
            if size > max_output_bytes:
                findings.append(Finding("NB006", f"output {number} is {size:,} bytes (limit {max_output_bytes:,}; "
                                        "set max-output-bytes in [tool.jupyter-mlops.lint])", path, index))
    return findings


def error_outputs(nb: Any, path: str) -> list[Finding]:
    """Stored error outputs (cells tagged raises-exception excepted)."""
    findings = []
    for index, cell in _code_cells(nb):
        if "raises-exception" in cell_tags(cell):
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                message = f"{output.get('ename', 'Error')}: {output.get('evalue', '')}".strip().splitlines()[0]
                findings.append(Finding("NB007", f"stored error output ({message[:120]})", path, index))
    return findings


def not_paired(nb: Any, path: str) -> list[Finding]:
    """Pairing is configured (jupytext formats) but a paired file is missing."""
    file = Path(path)
    metadata_formats = (nb.get("metadata", {}).get("jupytext") or {}).get("formats")
    if not file.is_file() or not (metadata_formats or _jupytext_config_present(file)):
        return []  # cheap exit: importing jupytext costs ~0.6 s, so only when pairing can apply
    from jupytext.config import find_jupytext_configuration_file, load_jupytext_configuration_file
    from jupytext.paired_paths import paired_paths

    formats = metadata_formats
    try:
        if not formats:
            config_file = find_jupytext_configuration_file(str(file.parent))
            config = load_jupytext_configuration_file(config_file) if config_file else None
            formats = config.default_formats(str(file)) if config else None
        if not formats:
            return []
        expected = [p for p, _ in paired_paths(str(file), "ipynb", formats) if Path(p) != file]
    except Exception as exc:  # jupytext raises several types for bad format strings; report, do not crash
        return [Finding("NB008", f"cannot apply the jupytext pairing {formats!r}: {exc}", path)]
    return [Finding("NB008", f"not paired: {Path(p).name} is missing; run `jupytext --sync {file.name}`", path)
            for p in expected if not Path(p).exists()]


def _jupytext_config_present(file: Path) -> bool:
    root = find_project_root(file.parent)
    for folder in (file.parent.resolve(), *file.parent.resolve().parents):
        if any((folder / name).is_file() for name in _JUPYTEXT_CONFIG_NAMES):
            return True
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and "[tool.jupytext" in pyproject.read_text(encoding="utf-8", errors="replace"):
            return True
        if folder == root:
            break
    return False


def cell_ids(nb: Any, path: str) -> list[Finding]:
    """Duplicate cell ids, and cells without an id in an nbformat 4.5+ notebook."""
    findings = []
    for cell_id, indices in duplicate_cell_ids(nb).items():
        for index in indices[1:]:
            findings.append(Finding("NB009", f"duplicate cell id {cell_id!r} (also cell {indices[0]}): nbformat "
                                    "would replace it with a random id on every save; give it a unique id",
                                    path, index, None, "error"))
    missing = cells_without_id(nb)
    if missing:
        findings.append(Finding("NB009", missing_ids_message(missing), path))
    return findings


def unknown_format(nb: Any, path: str) -> list[Finding]:
    """An nbformat minor version, cell type or output type that the installed nbformat does not know."""
    findings = []
    minor = unknown_minor(nb)
    if minor is not None:
        findings.append(Finding("NB010", unknown_minor_message(minor), path))
    for index, kind in unknown_cell_types(nb):
        findings.append(Finding("NB010", f"unknown cell type {kind!r}: Jupyter and nbformat 4.{known_minor()} know "
                                f"{', '.join(KNOWN_CELL_TYPES)}", path, index))
    for index, number, kind in unknown_output_types(nb):
        findings.append(Finding("NB010", f"output {number} has unknown output type {kind!r}", path, index))
    return findings


BUILTIN_RULES = (
    ("NB001", "committed-outputs", committed_outputs, ()),
    ("NB002", "execution-order", execution_order, ()),
    ("NB003", "no-parameters-cell", missing_parameters_cell, ()),
    ("NB004", "absolute-path", absolute_paths, ()),
    ("NB005", "secret", secrets, ()),
    ("NB006", "large-output", large_outputs, ("max_output_bytes",)),
    ("NB007", "error-output", error_outputs, ()),
    ("NB008", "not-paired", not_paired, ()),
    ("NB009", "cell-ids", cell_ids, ()),
    ("NB010", "unknown-format", unknown_format, ()),
)


# Registered when this module is imported, as papermill registers its engines; the package imports it.
for _rule_id, _name, _check, _options in BUILTIN_RULES:
    lint_rules.register(_rule_id, _check, name=_name, options=_options)
