"""Section "setup" of flow--mutations.ipynb (cell 2)."""

from __future__ import annotations

import json
import pandas as pd


def setup():
    """setup."""
    # # Mutations count as outputs
    # cell 2
    pass
