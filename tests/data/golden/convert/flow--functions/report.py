"""Section "Report" of flow--functions.ipynb (cell 10)."""

from __future__ import annotations

import json
import math


def report(
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
):
    """Report."""
    # ## Report
    # cell 10
    name = name.upper()
    print(json.dumps({
        'first': first, 'first_scaled': first_scaled, 'first_score': first_score, 'second': second,
        'second_scaled': second_scaled, 'second_score': second_score, 'second_half': second_half,
        'value': value, 'value_type': value_type, 'const': const, 'bonus': bonus, 'squares': squares,
        'last': last, 'n': n, 'name': name, 'pi': round(math.pi, 4),
    }, sort_keys=True))
