"""Single source of the package version (hatch reads it; the sidebar handshake compares against it)."""

__version__ = "0.1.0"
