"""Slicing a run: the executed cells that produced a metric or a variable, as clean code (ADR-095..098).

:func:`~.slicer.slice_cells` computes the slice from the executed-cell log (pure; :mod:`.view` reads magics,
:mod:`.effects` each statement); :mod:`.emit` writes it as a script, a notebook or a package. The use case over a
run or a live kernel session is :mod:`jupyter_mlops.app.slicing`.
"""

from jupyter_mlops.notebooks.slicing.slicer import Cell, Slice, slice_cells

__all__ = ["Cell", "Slice", "slice_cells"]
