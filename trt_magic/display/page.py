"""Standalone HTML pages (``run.to_html(path)``, ``compare(...).to_html(path)``) to share a report."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .html import esc

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>{title}</title>
<style>body{{margin:24px;font-family:system-ui,sans-serif}}
@media (prefers-color-scheme: dark){{body{{background:#1e1e1e;color:#e6e6e6}}}}</style>
</head><body><h3>{title}</h3>
{body}
</body></html>
"""


def write_page(path: str | Path, body: str, title: str = "trt_magic report") -> Path:
    """Write ``body`` as a standalone page; written to a temp file first, then moved in place."""
    path = Path(path).expanduser()
    if path.suffix.lower() not in (".html", ".htm"):
        path = path.with_name(path.name + ".html")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(PAGE.format(title=esc(title), body=body))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
