"""Section "setup" of active--markers.ipynb (cells 2-7)."""

from __future__ import annotations

import jupyter_mlops as mlops
from jupyter_mlops.notebooks.convert.runtime import tracked_metrics


def setup(factor):
    """setup."""
    # # jupytext active markers
    # cell 2
    mlops.start_run('active-markers', experiment='convert-tests')
    mlops.log_params({'factor': factor})
    # cell 3
    base = 10
    # cell 4 (runs only in the notebook: jupytext active marker):
    # !echo only in the notebook
    # base = 1000
    # cell 5
    base = base + 1
    # cell 6
    result = base * factor
    mlops.log_metrics(tracked_metrics({'result': result}))
    # cell 7
    print('result', result)
    mlops.end_run()
