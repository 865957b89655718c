"""Section "Build" of flow--mutations.ipynb (cell 4)."""

from __future__ import annotations

import pandas as pd


def build():
    """Build."""
    # ## Build
    # cell 4
    items = []
    counts = {}
    total = 0
    message = 'start'

    class Box:
        pass

    box = Box()
    box.size = 1
    grid = [[0, 0], [0, 0]]
    frame = pd.DataFrame({'x': [3.0, None, 1.0, 2.0], 'y': [1, 2, 3, 4], 'z': ['p', 'q', 'r', 's']})
    return items, counts, total, message, box, grid, frame
