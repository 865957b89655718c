"""Notebook diff without the noise, on nbformat objects: the engine, output descriptions and renderers.

:mod:`.engine` cleans copies of two notebooks and diffs them with nbdime (:func:`diff_notebooks`, one
:class:`NotebookDiff` whose ``to_dict()`` is the JSON every face prints or serves); :mod:`.outputs` describes what
changed inside outputs and attachments; :mod:`.render` formats a result for a terminal or as one HTML page.
Run ids are resolved above this package (:mod:`jupyter_mlops.app.diff`): here a run's executed code is already a
snapshot dict, turned into a notebook by :func:`notebook_from_code_snapshot`.
"""

from jupyter_mlops.notebooks.diff.engine import DiffOptions, NotebookDiff, diff_notebooks, notebook_from_code_snapshot

__all__ = ["DiffOptions", "NotebookDiff", "diff_notebooks", "notebook_from_code_snapshot"]
