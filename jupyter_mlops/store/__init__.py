"""Run storage: SQLAlchemy Core over SQLite (default) or PostgreSQL, plus content-addressed blobs.

Imports nothing from IPython, Jupyter, tornado or pandas.
"""
