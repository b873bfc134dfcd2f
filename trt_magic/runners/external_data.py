"""The external-data files an ONNX model names: the runner mounts (or copies) them read-only
beside the model, and the engine cache hashes them. The walk itself is trt_magic.onnx_wire.
"""

from __future__ import annotations

from pathlib import Path

from ..onnx_wire import external_locations


def external_data_files(onnx: Path) -> list[str]:
    """The ``location`` of every external tensor of the model at ``onnx`` (sorted, unique;
    ``[]`` when it is not a model: trtexec then says what is wrong with it)."""
    return sorted(external_locations(Path(onnx)))
