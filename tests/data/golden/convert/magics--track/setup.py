"""Section "setup" of magics--track.ipynb (cell 2)."""

from __future__ import annotations

import jupyter_mlops as mlops


def setup(lr, steps, tag):
    """setup."""
    # # Tracking magics become API calls
    # cell 2
    mlops.start_run('magic-run', experiment='convert-tests', tags=['fixture'])
    mlops.log_params({'lr': lr, 'steps': steps, 'tag': tag})
