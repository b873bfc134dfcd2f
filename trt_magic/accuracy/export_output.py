"""Read trtexec's ``--exportOutput`` JSON file (layout: tests/data/SOURCES.md, "--exportOutput")."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ResultError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

# tensor are on one line that starts with `, "values" : [` (same writer), so only those lines are
# rewritten.
_VALUES_LINE = re.compile(r'^\s*,?\s*"values"\s*:\s*\[')
_NONFINITE = re.compile(r"(?<![\w.])(-?)(inf|nan)(?![\w.])", re.IGNORECASE)


def read_export_output(path: str | Path) -> dict[str, np.ndarray]:
    """Read a ``--exportOutput`` JSON file: output name -> array shaped by its "dimensions".

    The layout is the one ``exportJSONOutput`` in NVIDIA/TensorRT samples/common/
    sampleReporting.cpp writes (see tests/data/SOURCES.md): a list of
    ``{"name": str, "dimensions": "AxBxC", "values": [...]}``, dimensions joined with ``x`` by
    ``operator<<(Dims)`` in sampleOptions.h ("" for a 0-D tensor).

    Raises:
        ResultError: the file is missing or not in that layout.
    """
    import numpy as np

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ResultError(
            f"trtexec wrote no --exportOutput file at {path}.",
            hint="check the run's log: trtexec may have failed before inference",
        ) from exc
    try:
        entries = json.loads(_json_nonfinite(text))
        outputs = {}
        for entry in entries:
            dims = str(entry["dimensions"]).strip()
            shape = tuple(int(d) for d in dims.split("x")) if dims else ()
            outputs[str(entry["name"])] = np.asarray(entry["values"], dtype=np.float64).reshape(
                shape
            )
    except (ValueError, KeyError, TypeError) as exc:
        raise ResultError(
            f"{path} is not a trtexec --exportOutput file ({type(exc).__name__}: {exc}).",
            hint="it should be a JSON list of {name, dimensions, values}",
            detail=text[:2000],
        ) from exc
    return outputs


def _json_nonfinite(text: str) -> str:
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if _VALUES_LINE.match(line):
            lines[i] = _NONFINITE.sub(_nonfinite_token, line)
    return "".join(lines)


def _nonfinite_token(m: re.Match) -> str:
    if m.group(2).lower() == "nan":
        return "NaN"
    return "-Infinity" if m.group(1) else "Infinity"
