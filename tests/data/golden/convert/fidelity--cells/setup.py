"""Section "setup" of fidelity--cells.ipynb (cell 2)."""

from __future__ import annotations

import jupyter_mlops as mlops


def setup(scale, limit):
    """setup."""
    # # Cells a package must keep faithfully
    # cell 2
    mlops.start_run('fidelity', experiment='convert-tests')
    mlops.log_params({'scale': scale, 'limit': limit})
