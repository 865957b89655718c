"""The IPython face: what runs inside a kernel and draws in a notebook.

- :mod:`.magics`: ``%track`` (parse the line, call the tracking API or :mod:`jupyter_mlops.app`, display);
- :mod:`.kernel_events`: the adapter that turns IPython's cell events into plain values for
  :class:`~jupyter_mlops.tracking.notebook_session.NotebookSession`;
- :mod:`.widgets`: the ipywidgets compare view (``mlops.compare_widget``).

Like the CLI, the REST server and the pytest plugin, this face imports no other face (import-linter contract).
``%load_ext jupyter_mlops`` reaches it through the package's ``load_ipython_extension``.
"""
