"""Section "Evaluate" of magics--track.ipynb (cells 7-9)."""

from __future__ import annotations

import jupyter_mlops as mlops
from jupyter_mlops.notebooks.convert.runtime import tracked_metrics


def evaluate(history):
    """Evaluate."""
    # ## Evaluate
    # cell 7
    final = round(history[-1], 6)
    mlops.log_metrics({'final_loss': final})
    print('final', final)
    # cell 8
    best = min(history)
    mean_loss = sum(history) / len(history)
    mlops.log_metrics(tracked_metrics({'best': best, 'mean_loss': mean_loss}))
    # cell 9
    mlops.end_run()
