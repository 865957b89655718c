"""Section "Shadowing" of flow--functions.ipynb (cell 8)."""

from __future__ import annotations


def shadowing(classify, offset, scaled, Scorer, half, raw):
    """Shadowing."""
    # ## Shadowing
    # cell 8
    threshold = 0.3
    # re-defined: `threshold` changed since cell 4 defined `classify`
    def classify(p):
        return p > threshold
    # re-defined: `classify` changed since cell 4 defined `Scorer`
    class Scorer:
        def score(self, xs):
            return sum(classify(x) for x in xs) * factor
    factor = 3
    # re-defined: `factor` changed since cell 4 defined `scaled`
    def scaled(v):
        return v * factor + offset
    # re-defined: `factor` changed since cell 4 defined `half`
    half = lambda v: v / factor
    value = 'ten'
    second = [classify(p) for p in raw]
    second_scaled = [scaled(v) for v in (1, 2)]
    second_score = Scorer().score(raw)
    second_half = half(9)
    squares = [k * k for k in range(4)]
    last = (n := len(squares)) + 1
    return value, second, second_scaled, second_score, second_half, squares, last, n
