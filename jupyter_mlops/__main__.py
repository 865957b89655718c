"""``python -m jupyter_mlops`` runs the CLI."""

from jupyter_mlops.cli import main

if __name__ == "__main__":
    main()
