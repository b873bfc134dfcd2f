"""The external-data files an ONNX model names, read without onnx (a protobuf wire walk).

An ONNX tensor stored outside the model keeps ``external_data`` entries; the one with key
``location`` is a path relative to the model's folder (https://onnx.ai/onnx/repo-docs/
ExternalData.html). The locations are read by walking the protobuf wire format
(https://protobuf.dev/programming-guides/encoding/) of the memory-mapped model: onnx is not
imported and no weight is parsed. The walk visits every message that can hold a tensor: graph
initializers and sparse initializers, node attributes (tensors, graphs, sparse tensors),
subgraphs, training info and functions. One walker for everyone who needs the list: the runner's
read-only mounts and copies, the engine-cache key, moving or removing a model, the rewrite worker
and the Netron view's server.
"""

from __future__ import annotations

import mmap
from collections.abc import Iterator
from pathlib import Path

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


def external_locations(model: Path) -> frozenset[str]:
    """The ``location`` of every external tensor of ``model`` (empty if it is not ONNX)."""
    try:
        with open(model, "rb") as handle:
            if handle.seek(0, 2) == 0:
                return frozenset()
            # offsets into the map, never memoryviews: a broken file must not leave exported
            # pointers that keep the map from closing
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as buf:
                return frozenset(_locations(buf, 0, len(buf), _MODEL, 0))
    except (OSError, ValueError, IndexError):  # unreadable, or not a protobuf: no extra files
        return frozenset()


def _locations(buf, start: int, end: int, fields: dict[int, str], depth: int) -> Iterator[str]:
    if depth > _MAX_DEPTH:
        raise ValueError("messages nested too deep")
    for number, lo, hi in _fields(buf, start, end):
        kind = fields.get(number)
        if kind is None:
            continue
        if kind == "tensor":
            location = _tensor_location(buf, lo, hi)
            if location:
                yield location
        else:
            yield from _locations(buf, lo, hi, _KINDS[kind], depth + 1)


def _tensor_location(buf, start: int, end: int) -> str | None:
    for number, lo, hi in _fields(buf, start, end):
        if number != _TENSOR_EXTERNAL_DATA:
            continue
        pair = {n: bytes(buf[a:b]) for n, a, b in _fields(buf, lo, hi)}
        if pair.get(_ENTRY_KEY, b"") == b"location":
            return pair.get(_ENTRY_VALUE, b"").decode("utf-8", "replace")
    return None


def read_varint(buf, pos: int) -> tuple[int, int]:
    """A protobuf varint at ``pos``: (value, position after it); too long is a ValueError."""
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


def _fields(buf, start: int, end: int) -> Iterator[tuple[int, int, int]]:
    """(field number, start, end) of each length-delimited field of a message; others skipped."""
    pos = start
    while pos < end:
        key, pos = read_varint(buf, pos)
        wire = key & 7
        if wire == 0:
            _, pos = read_varint(buf, pos)
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == 2:
            size, pos = read_varint(buf, pos)
            if pos + size > end:
                raise ValueError("truncated field")
            yield key >> 3, pos, pos + size
            pos += size
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
    if pos != end:
        raise ValueError("truncated message")
