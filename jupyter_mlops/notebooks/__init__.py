"""Notebook hygiene on nbformat objects and files: smoke, convert, diff, lint, clean. Needs no store."""
