"""Section "Plot" of fidelity--cells.ipynb (cell 7)."""

from __future__ import annotations


def plot(frame):
    """Plot."""
    # ## Plot
    # cell 7
    frame.plot(kind='bar')
    # shown in the notebook: len(frame.rows)
