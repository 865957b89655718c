"""Section "Train" of magics--track.ipynb (cells 4-5)."""

from __future__ import annotations

import jupyter_mlops as mlops
from jupyter_mlops.notebooks.convert.runtime import tracked_params


def train(lr, steps):
    """Train."""
    # ## Train
    # cell 4
    loss = 1.0
    history = []
    for step in range(steps):
        loss = loss * (1 - lr)
        history.append(loss)
        mlops.log_metrics({'loss': loss}, step=step)
    # cell 5
    optimizer = 'sgd'
    momentum = 0.9
    mlops.log_params(tracked_params({'optimizer': optimizer, 'momentum': momentum}))
    return history
