"""Writing a rewritten model: a temp file beside the target, then one atomic ``os.replace``.

So a failed or interrupted rewrite never leaves a half-written model where the result belongs.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..errors import SimplifyError


def temp_beside(target: Path) -> Path:
    """A fresh temp file in the target's folder, so the final os.replace is atomic."""
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise SimplifyError(
            f"cannot write in {target.parent}: {exc.strerror}",
            hint="pass an -o/out in a writable folder",
        ) from exc
    os.close(fd)
    return Path(name)


def data_beside(onnx: Path) -> Path:
    """``model.onnx`` -> ``model.onnx.data``: where a rewrite keeps external weights."""
    return onnx.with_name(onnx.name + ".data")


def discard(tmp: Path) -> None:
    """Remove a rewrite's temporary model and its data file, if any."""
    tmp.unlink(missing_ok=True)
    data_beside(tmp).unlink(missing_ok=True)


def publish(tmp: Path, target: Path, source: Path) -> None:
    """Give the temp file the mode of what it replaces (or of the source), then move it in.

    A result with external data (``<tmp>.data``, when the source had it) goes in with it as
    ``<target>.data``, both or neither (:func:`trt_magic.export.external.replace_pair`).
    """
    from ..export.external import rename_data, replace_pair

    mode = target.stat().st_mode if target.exists() else source.stat().st_mode | 0o200
    os.chmod(tmp, mode & 0o777)
    data = data_beside(tmp)
    try:
        if data.exists():
            os.chmod(data, mode & 0o777)
            rename_data(tmp, {data.name: data_beside(target).name})
        replace_pair(tmp, data if data.exists() else None, target)
    except OSError as exc:
        raise SimplifyError(
            f"cannot write {target}: {exc.strerror}", hint="pass an -o/out in a writable folder"
        ) from exc
