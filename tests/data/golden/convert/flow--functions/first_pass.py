"""Section "First pass" of flow--functions.ipynb (cell 6)."""

from __future__ import annotations

from math import e


def first_pass(factor, classify, scaled, Scorer, raw):
    """First pass."""
    # ## First pass
    # cell 6
    first = [classify(p) for p in raw]
    first_scaled = [scaled(v) for v in (1, 2)]
    first_score = Scorer().score(raw)
    value = 10
    value_type = type(value).__name__
    const = round(e, 3)
    if factor > 1:
        bonus = 5
    return first, first_scaled, first_score, value_type, const, bonus
