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

import mmap
import re
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

# field numbers from onnx/onnx.proto3
_MODEL = {7: "graph", 20: "training", 25: "function"}
_TRAINING = {1: "graph", 2: "graph"}  # TrainingInfoProto.initialization, .algorithm
_FUNCTION = {7: "node"}
_GRAPH = {1: "node", 5: "tensor", 15: "sparse"}  # node, initializer, sparse_initializer
_NODE = {5: "attribute"}
_ATTRIBUTE = {5: "tensor", 6: "graph", 10: "tensor", 11: "graph", 22: "sparse", 23: "sparse"}
_SPARSE = {1: "tensor", 2: "tensor"}  # SparseTensorProto.values, .indices
_TENSOR_EXTERNAL_DATA = 13
_ENTRY_KEY, _ENTRY_VALUE = 1, 2
_KINDS = {
    "graph": _GRAPH,
    "training": _TRAINING,
    "function": _FUNCTION,
    "node": _NODE,
    "attribute": _ATTRIBUTE,
    "sparse": _SPARSE,
}
_MAX_DEPTH = 64
_DRIVE = re.compile(r"^[A-Za-z]:")  # C:... names another root on Windows


def external_locations(model: Path) -> frozenset[str]:
    """The ``location`` of every external tensor of ``model`` (empty if it is not ONNX)."""
    try:
        with open(model, "rb") as handle:
            if handle.seek(0, 2) == 0:
                return frozenset()
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                view = memoryview(mapped)
                try:
                    return frozenset(_locations(view, _MODEL, 0))
                finally:
                    view.release()
    except (OSError, ValueError, IndexError):  # unreadable, or not a protobuf: no extra files
        return frozenset()


def _locations(buf, fields: dict[int, str], depth: int) -> Iterator[str]:
    if depth > _MAX_DEPTH:
        raise ValueError("messages nested too deep")
    for number, payload in _fields(buf):
        kind = fields.get(number)
        if kind is None:
            continue
        if kind == "tensor":
            location = _tensor_location(payload)
            if location:
                yield location
        else:
            yield from _locations(payload, _KINDS[kind], depth + 1)


def _tensor_location(tensor) -> str | None:
    for number, entry in _fields(tensor):
        if number != _TENSOR_EXTERNAL_DATA:
            continue
        pair = dict(_fields(entry))
        if bytes(pair.get(_ENTRY_KEY, b"")) == b"location":
            return bytes(pair.get(_ENTRY_VALUE, b"")).decode("utf-8", "replace")
    return None


def _varint(buf, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _fields(buf) -> Iterator[tuple[int, memoryview]]:
    """(field number, payload) of each length-delimited field of a message; others skipped."""
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = _varint(buf, pos)
        wire = key & 7
        if wire == 0:
            _, pos = _varint(buf, pos)
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == 2:
            size, pos = _varint(buf, pos)
            if pos + size > end:
                raise ValueError("truncated field")
            yield key >> 3, buf[pos : pos + size]
            pos += size
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")


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
