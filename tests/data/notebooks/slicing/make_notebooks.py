"""Writes the tricky notebooks of the slice tests (run it to regenerate them; the .ipynb files are committed).

Each notebook's metadata ``slice_test`` holds what the test does with it: ``order`` (cell indices in the order the
kernel runs them; ``[index, "new source"]`` re-runs that cell after an edit), ``metric`` (the slice target), the
recorded ``value`` and ``expected`` (the execution counts the slice keeps, in emission order).
"""

from __future__ import annotations

from pathlib import Path

import nbformat

START = ["%load_ext jupyter_mlops", "scale = 2", "%track start"]

NOTEBOOKS = {
    "rerun--edited": {
        "cells": [*START, "base = 10", "total = base * scale\n%track metric total=total", "total"],
        "order": [0, 1, 2, 3, [3, "base = 20"], 4, 5],
        "metric": "total", "value": 40.0, "expected": [2, 3, 5, 6],
    },
    "order--shuffled": {
        "cells": [*START, "offset = 1", "values = [scale, offset]", "offset = 100",
                  "score = sum(values)\n%track metric score=score"],
        "order": [0, 1, 2, 5, 4, 3, 6],
        "metric": "score", "value": 102.0, "expected": [2, 3, 4, 5, 7],
    },
    "mutation--append": {
        "cells": [*START, "items = [1, 2]", "items.append(5)", "unused = len(items)",
                  "m = sum(items) * scale\n%track metric m=m"],
        "order": [0, 1, 2, 3, 4, 5, 6],
        "metric": "m", "value": 16.0, "expected": [2, 3, 4, 5, 7],
    },
    "mutation--inplace": {
        "cells": [*START, "import pandas as pd", "df = pd.DataFrame({'a': [1.0, None, 3.0]})",
                  "df.dropna(inplace=True)", "df.head()",
                  "mean_a = float(df['a'].mean()) * scale\n%track metric mean_a=mean_a"],
        "order": [0, 1, 2, 3, 4, 5, 6, 7],
        "metric": "mean_a", "value": 4.0, "expected": [2, 3, 4, 5, 6, 8],
    },
    "function--global": {
        "cells": [*START, "def predict(v):\n    return v * weight + bias", "weight = 3", "other = 7", "bias = 1",
                  "p = predict(scale)\n%track metric p=p", "weight = 50"],
        "order": [0, 1, 2, 3, 4, 5, 6, 7, 8],
        "metric": "p", "value": 7.0, "expected": [2, 3, 4, 5, 7, 8],
    },
    "file--written-read": {
        "cells": [*START, "with open('numbers.txt', 'w') as f:\n    f.write('1 2 3')", "scratch = 0",
                  "nums = [int(v) for v in open('numbers.txt').read().split()]",
                  "s = sum(nums) * scale\n%track metric s=s"],
        "order": [0, 1, 2, 3, 4, 5, 6],
        "metric": "s", "value": 12.0, "expected": [2, 3, 4, 6, 7],
    },
    "dead--ends": {
        "cells": [*START, "import math", "a = 4", "b = math.sqrt(a)", "plot_data = [a] * 10\nprint(plot_data)",
                  "tmp = b + 100", "r = b * scale\n%track metric r=r", "r", "a = 0"],
        "order": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        "metric": "r", "value": 4.0, "expected": [2, 3, 4, 5, 6, 9],
    },
}


def main() -> None:
    """Write every notebook next to this script."""
    folder = Path(__file__).parent
    for name, spec in NOTEBOOKS.items():
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(source, id=f"c{i}") for i, source in enumerate(spec["cells"])]
        nb.cells[1].metadata["tags"] = ["parameters"]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.metadata["slice_test"] = {key: spec[key] for key in ("order", "metric", "value", "expected")}
        nbformat.write(nb, folder / f"{name}.ipynb")


if __name__ == "__main__":
    main()
