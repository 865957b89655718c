"""Adapters to other tracking systems (MLflow), used by the ``app.interop`` use cases (ADR-062).

Each adapter speaks the other system's client and hands back plain records; it never writes our store (the use
cases do, through the store contract). The other system's package is imported only inside its adapter, on first
use, so jupyter_mlops works without it and says which extra to install when it is missing.
"""
