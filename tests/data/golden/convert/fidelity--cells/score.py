"""Section "Score" of fidelity--cells.ipynb (cells 9-11)."""

from __future__ import annotations

import jupyter_mlops as mlops
from jupyter_mlops.notebooks.convert.runtime import tracked_metrics


def score(scale, rows):
    """Score."""
    # ## Score
    # cell 9
    clf = {'kind': 'mean', 'scale': scale}
    mean_value = sum(rows) / len(rows) * scale
    n_rows = len(rows)
    label = 'mean'
    mlops.log_metrics(tracked_metrics({'clf': clf, 'mean_value': mean_value, 'n_rows': n_rows, 'label': label}))
    # cell 10
    print('mean', mean_value, 'rows', n_rows, clf['kind'])


    print('done')
    # cell 11
    mlops.end_run()
