"""The external-data files an ONNX model names, and where they may be read from.

An ONNX tensor stored outside the model keeps ``external_data`` entries; the one with key
``location`` is a path relative to the model's folder (https://onnx.ai/onnx/repo-docs/
ExternalData.html). Netron fetches each location beside the model's URL, so the view's server
serves exactly those files, and only inside the model's folder.

The locations are read by walking the protobuf wire format
(https://protobuf.dev/programming-guides/encoding/) of the memory-mapped model: onnx is not
imported and no weight is parsed. The walk visits only the messages that can hold tensors.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from ..onnx_wire import external_locations

__all__ = ["external_locations", "resolve_inside"]

_DRIVE = re.compile(r"^[A-Za-z]:")  # C:... names another root on Windows


def resolve_inside(folder: Path, location: str) -> Path | None:
    """The file ``location`` names inside ``folder``, or None if it would leave the folder.

    Refused: absolute paths, drive or UNC names, any ``..`` part, and a path whose real
    location (symbolic links followed) is outside ``folder``.
    """
    if not location or "\x00" in location or "\\" in location or _DRIVE.match(location):
        return None
    parts = PurePosixPath(location)
    if parts.is_absolute() or ".." in parts.parts:
        return None
    root = folder.resolve()
    target = (root / parts).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        return None
    return target
