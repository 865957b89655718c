"""``--to script`` (one percent-format .py with magics translated) and ``--pair`` (jupytext pairing).

Both use jupytext, imported inside the functions (its import pulls in nbformat, which is slow to import).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from jupyter_mlops.errors import ConversionError
from jupyter_mlops.notebooks.convert.active import active_in_py, py_view
from jupyter_mlops.notebooks.convert.flow import find_parameters, normalize_sources
from jupyter_mlops.notebooks.convert.translate import API_IMPORT, translate_cell

PAIRED_FORMATS = "ipynb,py:percent"


def script_text(nb: Any, *, origin: str = "notebook") -> str:
    """The notebook as one runnable percent-format script: magics translated, or ConversionError naming the cells."""
    import jupytext

    normalize_sources(nb)
    spec = find_parameters([(index, py_view(cell)) for index, cell in enumerate(nb.cells)])
    names = [f.name for f in spec.fields]
    after = f"mlops.log_params({{{', '.join(f'{n!r}: {n}' for n in names)}}})" if names else ""
    converted = copy.deepcopy(nb)
    errors: list[str] = []
    imported: set[str] = set()
    for index, cell in enumerate(converted.cells):
        if cell.cell_type not in ("code", "raw") or not active_in_py(cell):
            continue  # jupytext comments out a cell that does not run in the .py: its magics need no translation
        source = str(cell.source)
        translation = translate_cell(source, after_start=after)
        if translation.errors:
            first = next((line.strip() for line in source.splitlines() if line.strip()), "")
            errors.append(f"cell {index} (`{first}`): {'; '.join(translation.errors)}")
            continue
        needed = ([API_IMPORT] if translation.uses_api else []) + translation.imports
        cell.source = "\n".join([*(line for line in needed if line not in imported), translation.code])
        imported.update(needed)
    if errors:
        raise ConversionError(f"cannot convert {origin}: " + "; ".join(errors))
    converted.metadata.pop("jupytext", None)
    return str(jupytext.writes(converted, fmt="py:percent"))


def pair_notebook(path: Path, nb: Any) -> Path:
    """Pair ``nb`` (read from ``path``) with a percent script: sets its jupytext formats and writes both files.

    This is the one conversion that modifies the notebook file: only its ``jupytext.formats`` metadata changes.
    Returns the path of the paired script.
    """
    import jupytext

    from jupyter_mlops.notebooks.io import write_notebook

    normalize_sources(nb)
    meta = nb.metadata.setdefault("jupytext", {})
    meta["formats"] = PAIRED_FORMATS
    script = path.with_suffix(".py")
    jupytext.write(nb, script, fmt="py:percent")
    write_notebook(nb, path)
    return script
