"""The pipeline of magics--track.ipynb: its sections in notebook order."""

from __future__ import annotations

from .evaluate import evaluate as _evaluate
from .setup import setup as _setup
from .train import train as _train
from .params import Params


def run(params: Params) -> None:
    """Run every section of the notebook in order, with ``params``."""
    lr = params.lr
    steps = params.steps
    tag = params.tag
    _setup(lr, steps, tag)
    history = _train(lr, steps)
    _evaluate(history)
