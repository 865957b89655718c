"""magics_track: the pipeline converted from magics--track.ipynb by ``jupyter-mlops convert``.

Run it with ``python -m magics_track [--help]``, or from Python: ``run(Params(...))``.
"""

from .params import Params, parse_args
from .pipeline import run

__all__ = ["Params", "parse_args", "run"]
