"""``--to script`` (one percent-format .py with magics translated) and ``--pair`` (jupytext pairing).

Both use jupytext, imported inside the functions (its import pulls in nbformat, which is slow to import).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from jupyter_mlops.errors import ConversionError
from jupyter_mlops.notebooks.convert.flow import find_parameters, normalize_sources
from jupyter_mlops.notebooks.convert.magics import API_IMPORT, translate_cell

PAIRED_FORMATS = "ipynb,py:percent"


def script_text(nb: Any, *, origin: str = "notebook") -> str:
    """The notebook as one runnable percent-format script: magics translated, or ConversionError naming the cells."""
    import jupytext

    normalize_sources(nb)
    spec = find_parameters(list(enumerate(nb.cells)))
    names = [f.name for f in spec.fields]
    after = f"mlops.log_params({{{', '.join(f'{n!r}: {n}' for n in names)}}})" if names else ""
    converted = copy.deepcopy(nb)
    errors: list[str] = []
    api_imported = False
    for index, cell in enumerate(converted.cells):
        if cell.cell_type != "code":
            continue
        source = str(cell.source)
        translation = translate_cell(source, after_start=after)
        if translation.errors:
            first = next((line.strip() for line in source.splitlines() if line.strip()), "")
            errors.append(f"cell {index} (`{first}`): {'; '.join(translation.errors)}")
            continue
        code = translation.code
        if translation.uses_api and not api_imported:
            code, api_imported = f"{API_IMPORT}\n{code}", True
        cell.source = code
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
