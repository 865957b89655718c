"""Split a notebook's cells into sections: at markdown headings (H1..H3) or at cells tagged ``section:<name>``.

A heading of the chosen level *or shallower* starts a section (``h2`` splits at ``#`` and ``##``), except that a
notebook's only H1 is its title, not a section, when splitting at H2 or H3. Cells before the first section start
belong to a section named ``setup``. Section names are snake_case identifiers, unique,
never a Python keyword or one of the package's own module names.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field
from typing import Any

from jupyter_mlops.errors import InvalidInput

SECTION_MODES = ("h1", "h2", "h3", "tag")
MAX_NAME = 32
RESERVED = frozenset({"params", "pipeline", "__main__", "__init__", "mlops"})

_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")


@dataclass
class RawSection:
    """A run of cells: its title and the cells (index, cell) that belong to it."""

    title: str
    cells: list[tuple[int, Any]] = field(default_factory=list)


def heading(cell: Any, max_level: int) -> str | None:
    """The text of the first heading of level ≤ ``max_level`` in a markdown cell, else None."""
    if cell.get("cell_type") != "markdown":
        return None
    fenced = False
    for line in str(cell.get("source", "")).splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            continue
        match = None if fenced else _HEADING.match(line)
        if match and len(match[1]) <= max_level:
            return clean_title(match[2])
    return None


def clean_title(text: str) -> str:
    """Heading text without markdown emphasis, code ticks or link targets."""
    text = _LINK.sub(r"\1", text)
    return re.sub(r"[*_`]+", "", text).strip() or "section"


def _section_tag(cell: Any) -> str | None:
    for tag in cell.get("metadata", {}).get("tags", []) or []:
        if isinstance(tag, str) and tag.startswith("section:") and tag[len("section:") :].strip():
            return tag[len("section:") :].strip()
    return None


def split_sections(cells: list[tuple[int, Any]], mode: str) -> list[RawSection]:
    """Group ``(index, cell)`` pairs into sections.

    Args:
        cells: the notebook's cells with their indices (already without the parameters cell, if wanted).
        mode: ``h1``/``h2``/``h3`` (markdown headings up to that level) or ``tag`` (``section:<name>`` tags).

    Raises:
        InvalidInput: an unknown mode.
    """
    if mode not in SECTION_MODES:
        raise InvalidInput(f"unknown section mode {mode!r} (choose from {', '.join(SECTION_MODES)})")
    sections = [RawSection("setup")]
    level = 0 if mode == "tag" else int(mode[1])
    h1_cells = [index for index, cell in cells if heading(cell, 1) is not None] if level > 1 else []
    for index, cell in cells:
        title = _section_tag(cell) if mode == "tag" else heading(cell, level)
        if h1_cells == [index] and heading(cell, 1) == title:
            title = None  # the notebook's only H1 is its title
        if title is not None:
            sections.append(RawSection(title))
        sections[-1].cells.append((index, cell))
    return [section for section in sections if section.cells]


def snake_case(title: str) -> str:
    """A valid module/function name from a heading: ``"1. Load the data!"`` → ``section_1_load_the_data``."""
    name = re.sub(r"[^0-9a-zA-Z]+", "_", title).strip("_").lower()
    name = re.sub(r"_+", "_", name) or "section"
    while len(name) > MAX_NAME and "_" in name:  # long headings make unreadable module names
        name = name.rsplit("_", 1)[0]
    if name[0].isdigit():
        name = f"section_{name}"
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or name in RESERVED:
        name = f"{name}_section"
    return name


def unique_names(titles: list[str]) -> list[str]:
    """snake_case names for titles, made unique with ``_2``, ``_3``... in order."""
    names: list[str] = []
    for title in titles:
        base = name = snake_case(title)
        count = 1
        while name in names:
            count += 1
            name = f"{base}_{count}"
        names.append(name)
    return names
