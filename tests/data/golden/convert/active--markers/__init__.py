"""active_markers: the pipeline converted from active--markers.ipynb by ``jupyter-mlops convert``.

Run it with ``python -m active_markers [--help]``, or from Python: ``run(Params(...))``.
"""

from .params import Params, parse_args
from .pipeline import run

__all__ = ["Params", "parse_args", "run"]
