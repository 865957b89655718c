"""flow_functions: the pipeline converted from flow--functions.ipynb by ``jupyter-mlops convert``.

Run it with ``python -m flow_functions [--help]``, or from Python: ``run(Params(...))``.
"""

from .params import Params, parse_args
from .pipeline import run

__all__ = ["Params", "parse_args", "run"]
