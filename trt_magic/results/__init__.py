"""Parse trtexec logs and JSON exports into tables, charts and comparisons."""

from __future__ import annotations

from .run import Recorded, Run

__all__ = ["Recorded", "Run"]
