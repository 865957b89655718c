"""What a run captures: content hashes, cell analysis, executed code, environment, git state, redaction.

Plain Python: imports nothing from store/, tracking/, IPython or Jupyter; capture never raises into a user's cell.
"""
