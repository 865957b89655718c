"""Section "setup" of flow--functions.ipynb (cell 2)."""

from __future__ import annotations

import json
import math
from math import e


def setup():
    """setup."""
    # # Functions, globals and shadowing
    # cell 2
    pass
