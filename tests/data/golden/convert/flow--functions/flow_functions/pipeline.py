"""The pipeline of flow--functions.ipynb: its sections in notebook order."""

from __future__ import annotations

from .first_pass import first_pass as _first_pass
from .helpers import helpers as _helpers
from .report import report as _report
from .setup import setup as _setup
from .shadowing import shadowing as _shadowing
from .params import Params


def run(params: Params) -> None:
    """Run every section of the notebook in order, with ``params``."""
    threshold = params.threshold
    factor = params.factor
    name = params.name
    _setup()
    classify, offset, scaled, Scorer, half, raw = _helpers(threshold, factor)
    first, first_scaled, first_score, value_type, const, bonus = _first_pass(factor, classify, scaled, Scorer, raw)
    (value, second, second_scaled, second_score, second_half, squares, last, n) = _shadowing(
        classify,
        offset,
        scaled,
        Scorer,
        half,
        raw,
    )
    _report(
        name,
        first,
        first_scaled,
        first_score,
        value,
        value_type,
        const,
        bonus,
        second,
        second_scaled,
        second_score,
        second_half,
        squares,
        last,
        n,
    )
