"""``python -m fidelity_cells``: read the parameters from the command line and run the pipeline."""

from __future__ import annotations

import sys

from .params import parse_args
from .pipeline import run


def main(argv: list[str] | None = None) -> None:
    """Parse ``argv`` (default: ``sys.argv[1:]``) and run the pipeline."""
    run(parse_args(argv))


if __name__ == "__main__":
    main(sys.argv[1:])
