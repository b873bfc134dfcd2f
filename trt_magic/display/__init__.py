"""Rendering helpers: HTML builders (no IPython) and the live log view (live.py)."""
