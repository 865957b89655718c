"""fidelity_cells: the pipeline converted from fidelity--cells.ipynb by ``jupyter-mlops convert``.

Run it with ``python -m fidelity_cells [--help]``, or from Python: ``run(Params(...))``.
"""

from .params import Params, parse_args
from .pipeline import run

__all__ = ["Params", "parse_args", "run"]
