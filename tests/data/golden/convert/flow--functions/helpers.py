"""Section "Helpers" of flow--functions.ipynb (cell 4)."""

from __future__ import annotations


def helpers(threshold, factor):
    """Helpers."""
    # ## Helpers
    # cell 4
    def classify(p):
        return p > threshold

    def scaled(v):
        return v * factor + offset

    class Scorer:
        def score(self, xs):
            return sum(classify(x) for x in xs) * factor

    half = lambda v: v / factor
    raw = [0.1, 0.4, 0.6, 0.9]
    offset = 1
    return classify, offset, scaled, Scorer, half, raw
