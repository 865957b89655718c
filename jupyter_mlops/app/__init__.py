"""The use cases: one function per behaviour, written once for every face.

The faces (``cli/``, ``server/``, the magics, the widget) parse their input, call a function here, and format
what it returns; nothing here parses a command line or renders a table. Each function works over a
:class:`~jupyter_mlops.app.workspace.Workspace` (settings, store and blob store, opened once):

- :mod:`.workspace`: opening the project's stores, the way each face needs it;
- :mod:`.runs`: list, show, edit, delete and export runs, choose which runs a command means, read snapshots;
- :mod:`.compare`: the comparison of runs and the charts drawn beside it;
- :mod:`.diff`: one diff of notebooks, git revisions and runs (nbdime), the same JSON for every face.

Submodules are imported by name (``from jupyter_mlops.app.runs import list_runs``), so that importing one use
case does not import the others' dependencies.
"""
