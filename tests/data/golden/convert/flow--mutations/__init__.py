"""flow_mutations: the pipeline converted from flow--mutations.ipynb by ``jupyter-mlops convert``.

Run it with ``python -m flow_mutations [--help]``, or from Python: ``run(Params(...))``.
"""

from .params import Params, parse_args
from .pipeline import run

__all__ = ["Params", "parse_args", "run"]
