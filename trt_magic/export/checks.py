"""After the export: ``onnx.checker``, shape inference, the graph's interface, and the parity of
onnxruntime against PyTorch on the sample and on a second sample whose dynamic dims differ.

Imported only when an export runs (imports onnx/numpy inside functions all the same, so the
module's names can be used by tests without them).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..errors import ExportError
from ..onnx_wire import read_varint


@dataclass(frozen=True)
class TensorSig:
    """An ONNX graph input or output: name, element type, shape (symbolic dims as str)."""

    name: str
    dtype: str
    shape: tuple[int | str, ...]

    def __str__(self) -> str:
        return f"{self.name}: {self.dtype}[{', '.join(map(str, self.shape))}]"


@dataclass(frozen=True)
class Parity:
    """One output compared on one sample."""

    sample: str  # e.g. "sample" or "second sample (batch=2)"
    output: str
    max_abs: float | None
    max_rel: float | None
    ok: bool
    note: str = ""

    def __str__(self) -> str:
        if self.max_abs is None:
            return f"{self.sample} / {self.output}: FAIL ({self.note})"
        verdict = "ok" if self.ok else "FAIL"
        return f"{self.sample} / {self.output}: max abs {self.max_abs:.3g}, max rel {self.max_rel:.3g} {verdict}"


def load_graph(path: Path):
    """The ModelProto of ``path``; external weights stay on disk."""
    import onnx

    return onnx.load(str(path), load_external_data=False)


def save_graph(model, path: Path) -> None:
    """Write ``model`` back (external data references are kept as they are)."""
    import onnx

    onnx.save_model(model, str(path))


def load_checked(path: Path, check: bool, model=None) -> tuple[object, list[str]]:
    """Load the graph (unless given), run the checker and shape inference when ``check``.

    Returns the model (shape-inferred when that worked) and warnings.
    """
    import onnx

    warnings: list[str] = []
    model = load_graph(path) if model is None else model
    if not check:
        return model, warnings
    try:
        onnx.checker.check_model(str(path))  # by path: works past 2 GB with external data
    except onnx.checker.ValidationError as exc:
        warnings.append(f"onnx.checker: {str(exc).strip().splitlines()[0]}")
    try:
        model = onnx.shape_inference.infer_shapes(model)
    except Exception as exc:  # noqa: BLE001 - inference is a nicety; the graph stays usable
        warnings.append(f"ONNX shape inference failed: {str(exc).splitlines()[0][:200]}")
    return model, warnings


def signature(model) -> tuple[list[TensorSig], list[TensorSig]]:
    """The graph's inputs (initializers excluded) and outputs."""
    inits = {i.name for i in model.graph.initializer}
    inputs = [_sig(v) for v in model.graph.input if v.name not in inits]
    return inputs, [_sig(v) for v in model.graph.output]


def _sig(value) -> TensorSig:
    import onnx

    t = value.type.tensor_type
    dtype = onnx.helper.tensor_dtype_to_np_dtype(t.elem_type).name if t.elem_type else "?"
    dims = tuple(
        d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in t.shape.dim
    )
    return TensorSig(value.name, dtype, dims)


def opset_of(model) -> int:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)


def op_histogram(model) -> dict[str, int]:
    """Operator -> count over the graph and its sub-graphs (If/Loop/Scan bodies); ``domain::Op``
    for operators outside the default domain."""
    counts: Counter[str] = Counter()
    stack = [model.graph]
    while stack:
        graph = stack.pop()
        for node in graph.node:
            key = (
                node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}::{node.op_type}"
            )
            counts[key] += 1
            for attr in node.attribute:
                stack.extend([attr.g] if attr.HasField("g") else [])
                stack.extend(attr.graphs)
    return dict(counts.most_common())


def training_dropouts(model) -> int:
    """Dropout nodes that run in training mode (``F.dropout(x, training=True)``): their
    ``training_mode`` input is a constant True: a Constant node (TorchScript) or a weight
    (dynamo, which also keeps eval-mode Dropout nodes with a False flag)."""
    import onnx

    consts = {}
    for node in model.graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].HasField("t"):
            consts[node.output[0]] = node.attribute[0].t
    consts.update({i.name: i for i in model.graph.initializer})
    count = 0
    for node in _all_nodes(model.graph):
        if node.op_type != "Dropout" or len(node.input) < 3 or not node.input[2]:
            continue
        try:  # a flag that cannot be read is not counted
            count += bool(onnx.numpy_helper.to_array(consts[node.input[2]]).any())
        except Exception:  # noqa: BLE001, S112
            continue
    return count


def parity(
    path: Path,
    samples: dict[str, tuple[dict, dict]],
    rtol: float,
    atol: float,
) -> list[Parity]:
    """Run onnxruntime on each sample and compare with PyTorch's outputs.

    ``samples``: label -> (feeds {input name: array}, expected {output name: array}).
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 4  # fatal only: a failing run is reported in its parity row
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - ORT's own classes; the graph itself is invalid
        raise _unloadable(exc) from exc
    wanted = [i.name for i in session.get_inputs()]
    rows: list[Parity] = []
    for label, (feeds, expected) in samples.items():
        try:
            got = session.run(None, {k: v for k, v in feeds.items() if k in wanted})
        except Exception as exc:  # noqa: BLE001 - an ORT failure is a parity failure
            note = f"onnxruntime failed: {str(exc).strip().splitlines()[0][:240]}"
            rows += [Parity(label, name, None, None, False, note) for name in expected]
            continue
        if len(got) != len(expected):
            note = f"ONNX gives {len(got)} outputs, PyTorch {len(expected)} ({', '.join(expected)})"
            rows.append(Parity(label, "outputs", None, None, False, note))
            continue
        for (name, ref), out in zip(expected.items(), got, strict=True):
            rows.append(compare(label, name, ref, out, rtol, atol))
    return rows


def _unloadable(exc: Exception) -> ExportError:
    """Explain an exported file that onnxruntime refuses to load (nothing is written)."""
    whole = str(exc).strip()
    first = whole.splitlines()[0][:600] if whole else type(exc).__name__
    hint = "export with --exporter torchscript, or check the operator named above at this opset"
    if re.search(r"attribute|opset|invalid model|num_outputs", whole, re.I):
        # seen: dynamo at opset 17 keeps ReduceMean's opset-18 attribute noop_with_empty_axes
        hint = (
            "the dynamo exporter writes opset 18+ and its conversion down to a lower opset left an "
            "operator from a newer opset; use --exporter torchscript for this opset, or --opset 18 "
            "with a TensorRT image that reads it"
        )
    error = ExportError(
        f"onnxruntime cannot load the exported graph: {first}", hint=hint, detail=whole
    )
    error.other_exporter, error.wrong_file = True, False
    return error


def compare(label: str, name: str, ref, out, rtol: float, atol: float) -> Parity:
    """max |a-b|, max |a-b|/|b| and ``numpy.allclose`` for one output."""
    import numpy as np

    ref, out = np.asarray(ref), np.asarray(out)
    if ref.shape != out.shape:
        return Parity(label, name, None, None, False, f"shape {out.shape} != PyTorch {ref.shape}")
    if ref.size == 0:
        return Parity(label, name, 0.0, 0.0, True)
    a, b = out.astype(np.float64), ref.astype(np.float64)
    diff = np.abs(a - b)
    rel = diff / np.maximum(np.abs(b), np.finfo(np.float32).tiny)
    ok = bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True))
    return Parity(label, name, float(np.nanmax(diff)), float(np.nanmax(rel)), ok)


def rename_dims(model, dynamic: dict[str, dict[int, str]]) -> dict[str, str]:
    """Give the graph's symbolic dims the ``-d`` names (the dynamo exporter writes ``s77``).

    Renames whole tokens inside expressions too (``2*s77`` -> ``2*batch``) across inputs,
    outputs and value_info, in ``model``. Returns the renaming applied (empty: nothing to do).
    """

    graph_inputs = {v.name: v for v in model.graph.input}
    mapping: dict[str, str] = {}
    for name, axes in dynamic.items():
        value = graph_inputs.get(name)
        if value is None:
            continue
        dims = value.type.tensor_type.shape.dim
        for axis, wanted in axes.items():
            have = dims[axis].dim_param if axis < len(dims) else ""
            if have and have != wanted and mapping.setdefault(have, wanted) != wanted:
                return {}  # one exporter symbol for two requested names: leave them as they are
    if not mapping:
        return {}
    token = re.compile(r"\b(" + "|".join(map(re.escape, mapping)) + r")\b")
    for value in [*model.graph.input, *model.graph.output, *model.graph.value_info]:
        for d in value.type.tensor_type.shape.dim:
            if d.dim_param:
                d.dim_param = token.sub(lambda m: mapping[m.group(1)], d.dim_param)
    return mapping


def rename_outputs(model, names: list[str]) -> bool:
    """Name the graph outputs ``names`` (the flattened forward outputs), in order.

    Used when the export ran without output names (no reference forward was needed). Returns
    True when it changed ``model``.
    """
    current = [o.name for o in model.graph.output]
    taken = {i.name for i in model.graph.input} | {i.name for i in model.graph.initializer}
    if current == names or len(current) != len(names) or len(set(names)) != len(names):
        return False
    if taken & set(current):  # an output that is an input or a weight: leave the names alone
        return False
    mapping = dict(zip(current, names, strict=True))
    for node in _all_nodes(model.graph):
        node.output[:] = [mapping.get(o, o) for o in node.output]
        node.input[:] = [mapping.get(i, i) for i in node.input]
    for value in [*model.graph.output, *model.graph.value_info]:
        value.name = mapping.get(value.name, value.name)
    return True


def _all_nodes(graph):
    for node in graph.node:
        yield node
        for attr in node.attribute:
            for sub in ([attr.g] if attr.HasField("g") else []) + list(attr.graphs):
                yield from _all_nodes(sub)


# ---- the graph without its weights ------------------------------------------------------------
# onnx.load parses every initializer's bytes (45 MB for a ResNet-18) although the interface, the
# operator histogram and the pre-flight need none of them. These helpers walk the protobuf wire
# format (https://protobuf.dev/programming-guides/encoding/) of a memory-mapped file and keep
# every field except the initializers' payloads: their name, dims and data type stay. A scalar (no
# dims) keeps its value: a few bytes, and Dropout's training_mode flag is one (dynamo writes it as
# a weight; training_dropouts reads it).

_GRAPH = 7  # ModelProto.graph
_INITIALIZER, _SPARSE_INITIALIZER = 5, 15  # GraphProto fields
_DIMS = 1  # TensorProto.dims
_TENSOR_KEEP = (_DIMS, 2, 8)  # TensorProto.dims, data_type, name


def _fields(buf):
    """(field number, raw bytes of the whole field) for each field of a message."""
    pos, end = 0, len(buf)
    while pos < end:
        start = pos
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
            yield key >> 3, buf[start:pos], buf[pos : pos + size]
            pos += size
            continue
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield key >> 3, buf[start:pos], None


def _message(field: int, body: bytes) -> bytes:
    key, size, out = (field << 3) | 2, len(body), bytearray()
    for value in (key, size):
        while value >= 0x80:
            out.append((value & 0x7F) | 0x80)
            value >>= 7
        out.append(value)
    return bytes(out) + body


def _strip_tensor(body) -> bytes:
    fields = list(_fields(body))
    if all(number != _DIMS for number, _, _ in fields):  # a scalar: kept whole
        return bytes(body)
    kept = []
    for number, head, payload in fields:
        if number in _TENSOR_KEEP:
            kept.append(bytes(head) + (bytes(payload) if payload is not None else b""))
    return b"".join(kept)


def _strip_graph(body) -> bytes:
    kept = []
    for number, head, payload in _fields(body):
        if number in (_INITIALIZER, _SPARSE_INITIALIZER) and payload is not None:
            if number == _INITIALIZER:
                kept.append(_message(number, _strip_tensor(payload)))
            continue
        kept.append(bytes(head) + (bytes(payload) if payload is not None else b""))
    return b"".join(kept)


def load_graph_only(path: Path):
    """The ModelProto of ``path`` without initializer data: interface, nodes, opsets."""
    import mmap

    import onnx

    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        view = memoryview(mm)
        try:
            parts = []
            for number, head, payload in _fields(view):
                if number == _GRAPH and payload is not None:
                    parts.append(_message(_GRAPH, _strip_graph(payload)))
                else:
                    parts.append(bytes(head) + (bytes(payload) if payload is not None else b""))
            head = payload = None  # drop the last slices of the map before it closes
        finally:
            view.release()
    model = onnx.ModelProto()
    model.ParseFromString(b"".join(parts))
    return model
