"""The external-data files an ONNX model names (stdlib only: a protobuf wire walk over an mmap).

A tensor stored outside the model has ``data_location = EXTERNAL`` (TensorProto field 14) and a
``location`` entry in ``external_data`` (field 13), a path relative to the model's folder. Tensors
sit in ``graph.initializer`` (GraphProto 5), ``sparse_initializer`` (15: SparseTensorProto values 1,
indices 2), node attributes (NodeProto 5: AttributeProto t 5, g 6, tensors 10, graphs 11,
sparse_tensor 22, sparse_tensors 23) and subgraphs; field numbers read from onnx's own descriptors
(ModelProto.graph is 7, GraphProto.node is 1). A file that is not a valid model gives ``[]``:
trtexec then says what is wrong with it.
"""

from __future__ import annotations

import mmap
from pathlib import Path

_EXTERNAL = 1  # TensorProto.DataLocation.EXTERNAL


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
            raise ValueError("bad varint")


def _fields(buf, start: int, end: int):
    """(field number, wire type, value or (start, end) of a length-delimited body)."""
    pos = start
    while pos < end:
        key, pos = _varint(buf, pos)
        wire = key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            yield key >> 3, 0, value
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == 2:
            size, pos = _varint(buf, pos)
            if pos + size > end:
                raise ValueError("truncated field")
            yield key >> 3, 2, (pos, pos + size)
            pos += size
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
    if pos != end:
        raise ValueError("truncated message")


def _tensor(buf, span, out: set[str]) -> None:
    location, external = None, False
    for num, wire, val in _fields(buf, *span):
        if num == 14 and wire == 0:
            external = val == _EXTERNAL
        elif num == 13 and wire == 2:
            entry = {k: bytes(buf[s:e]) for k, w, (s, e) in _fields(buf, *val) if w == 2}
            if entry.get(1) == b"location" and 2 in entry:
                location = entry[2].decode("utf-8", "replace")
    if external and location:
        out.add(location)


def _sparse(buf, span, out: set[str]) -> None:
    for num, wire, val in _fields(buf, *span):
        if num in (1, 2) and wire == 2:
            _tensor(buf, val, out)


def _graph(buf, span, out: set[str]) -> None:
    for num, wire, val in _fields(buf, *span):
        if wire != 2:
            continue
        if num == 5:
            _tensor(buf, val, out)
        elif num == 15:
            _sparse(buf, val, out)
        elif num == 1:
            for n, w, attr in _fields(buf, *val):
                if n == 5 and w == 2:
                    _attribute(buf, attr, out)


def _attribute(buf, span, out: set[str]) -> None:
    for num, wire, val in _fields(buf, *span):
        if wire != 2:
            continue
        if num in (5, 10):
            _tensor(buf, val, out)
        elif num in (6, 11):
            _graph(buf, val, out)
        elif num in (22, 23):
            _sparse(buf, val, out)


def external_data_files(onnx: Path) -> list[str]:
    """The ``location`` of every external tensor of the model at ``onnx`` (sorted, unique)."""
    out: set[str] = set()
    try:
        with open(onnx, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            for num, wire, val in _fields(buf, 0, len(buf)):
                if num == 7 and wire == 2:
                    _graph(buf, val, out)
    except (ValueError, IndexError, OSError, RecursionError):
        return []  # not a model (or empty): nothing to add
    return sorted(out)
