"""Section "Load" of fidelity--cells.ipynb (cell 4)."""

from __future__ import annotations

import csv


def load(limit):
    """Load."""
    # ## Load
    # cell 4
    class Frame:
        """A tiny frame with a plot method, like pandas'."""

        def __init__(self, rows):
            self.rows = rows

        def plot(self, **options):
            print('plot', len(self.rows), sorted(options))


    with open('fidelity--cells.csv') as handle:  # a path relative to the notebook's folder
        rows = [float(r['value']) for r in csv.DictReader(handle)][:limit]
    frame = Frame(rows)
    # shown in the notebook: rows[0]
    # cell 5 (raw):
    # .. note:: a raw cell for nbconvert; it never runs
    return rows, frame
