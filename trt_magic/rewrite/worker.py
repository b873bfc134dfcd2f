"""The worker process: ``python -m trt_magic.rewrite.worker``, one request per stdin line.

Only ever run as that child process (so importing onnx at the top is fine here). A request is
JSON ``{"target": "module:function", "source": path, "dest": path, "limit": bytes, "preload":
[modules], "options": {...}, "takes": "model" | "paths"}``; the worker loads the model (external
data inline, refused past ``limit``), describes it, imports the function, says ``{"status":
"running"}``, runs it (``fn(model, **options)`` returns the new model; ``fn(source, dest,
**options)`` loads the file itself and returns a dict of facts, with the new model under
``"model"`` or having written ``dest``), describes and saves the result,
and answers one more JSON line on the protocol pipe. Anything the libraries print goes to stderr (the parent's log file), never into
the protocol: fd 1 is re-pointed to stderr at start, so C++ prints (onnxsim) cannot corrupt it.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

import onnx
from onnx import helper
from onnx.external_data_helper import load_external_data_for_model

from trt_magic.export.checks import load_graph_only
from trt_magic.runners.external_data import external_data_files as external_files


def describe(model: onnx.ModelProto) -> dict:
    """Node count, op histogram (sub-graphs included), initializers and the interface."""
    ops: Counter[str] = Counter()

    def walk(graph: onnx.GraphProto) -> None:
        for node in graph.node:
            ops[node.op_type] += 1
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.GRAPH:
                    walk(attr.g)
                for g in attr.graphs:
                    walk(g)

    walk(model.graph)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    return {
        "nodes": sum(ops.values()),
        "ops": dict(ops),
        "initializers": len(model.graph.initializer),
        "inputs": [_spec(v) for v in _real_inputs(model.graph)],
        "outputs": [_spec(v) for v in model.graph.output],
        "opset": opset,
    }


def _real_inputs(graph: onnx.GraphProto):
    """Graph inputs that are not initializers (old exporters list weights as inputs too)."""
    weights = {t.name for t in graph.initializer}
    return [v for v in graph.input if v.name not in weights]


def _spec(value: onnx.ValueInfoProto) -> dict:
    tensor = value.type.tensor_type
    try:
        dtype = str(helper.tensor_dtype_to_np_dtype(tensor.elem_type))
    except (KeyError, ValueError, TypeError):
        dtype = onnx.TensorProto.DataType.Name(tensor.elem_type).lower()
    shape = None
    if tensor.HasField("shape"):
        shape = [
            d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
            for d in tensor.shape.dim
        ]
    return {"name": value.name, "dtype": dtype, "shape": shape}


def external_data_files(model: onnx.ModelProto) -> list[str]:
    """The external data files the model's tensors point to (empty: all inline).

    The dynamo exporter writes ``model.onnx.data`` even for small models, so this is common.
    """
    tensors = list(model.graph.initializer)
    tensors += [a.t for n in model.graph.node for a in n.attribute if a.HasField("t")]
    files = set()
    for t in tensors:
        if t.data_location == onnx.TensorProto.EXTERNAL:
            files |= {e.value for e in t.external_data if e.key == "location"}
    return sorted(files)


def load_model(source: str, limit: int) -> tuple[onnx.ModelProto | None, dict]:
    """Load the model with its external data inline, unless the whole passes ``limit`` bytes."""
    model = onnx.load(source, load_external_data=False)
    external = external_data_files(model)
    if not external:
        return model, {}
    base = os.path.dirname(os.path.abspath(source))
    total = os.path.getsize(source) + sum(os.path.getsize(os.path.join(base, f)) for f in external)
    facts = {"files": external, "bytes": total}
    if total > limit:
        return None, facts
    load_external_data_for_model(model, base)  # inline now: the result is one file
    return model, facts


def save(model: onnx.ModelProto, dest: str, external: dict) -> None:
    """Save ``model``; one from an external-data source keeps its weights in ``<dest>.data``.

    The caller renames that file with the model (``trt_magic.rewrite.files.publish``).
    """
    if not external:
        onnx.save_model(model, dest)
        return
    onnx.save_model(
        model, dest, save_as_external_data=True, all_tensors_to_one_file=True,
        location=os.path.basename(dest) + ".data", size_threshold=1024,
    )  # fmt: skip


def handle(request: dict, started_method=lambda: None) -> dict:
    """Run one method on one file; the answer carries the figures before and after.

    ``started_method()`` is called once the model is loaded and the method imported: the
    parent's timeout counts from there, so a slow interpreter start or import is not a hang.
    """
    started, cpu_started = time.perf_counter(), time.process_time()
    paths = request.get("takes") == "paths"  # the library loads and writes files itself
    model, external, written = None, {}, False
    if paths:  # so only the graph is read here (no weights), for the figures
        files = external_files(Path(request["source"]))
        external = {"files": files} if files else {}
        before = describe(load_graph_only(Path(request["source"])))
    else:
        model, external = load_model(request["source"], request["limit"])
        if model is None:
            return {"status": "too_large", **external}
        before = describe(model)
    for required in request.get("preload", []):  # the method's library, before the clock starts
        importlib.import_module(required)
    module, _, name = request["target"].partition(":")
    fn = importlib.import_module(module)
    for part in name.split("."):
        fn = getattr(fn, part)
    options = request.get("options") or {}
    started_method()
    method_started = time.perf_counter()
    extra = {}
    if paths:
        extra = dict(fn(request["source"], request["dest"], **options) or {})
        result = extra.pop("model", None)  # a ModelProto to save here; else dest is written
        if result is None:
            dest = Path(request["dest"])
            if external and not external_files(dest):  # its weights follow the source's layout
                save(onnx.load(dest), request["dest"], external)
            result, written = load_graph_only(dest), True
    else:
        result = fn(model, **options)
        if not isinstance(result, onnx.ModelProto):
            raise TypeError(f"the method returned {type(result).__name__}, not an onnx.ModelProto")
    after = describe(result)
    if not written:
        save(result, request["dest"], external)
    method_seconds = time.perf_counter() - method_started
    return {
        "status": "ok",
        "extra": extra,
        "external": {"kept": external["files"]} if external else {},
        "before": before,
        "after": after,
        "method_seconds": method_seconds,
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu_started,
    }


def main() -> int:
    # Ctrl-C in the notebook reaches the whole process group; the parent decides (it kills us)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # every later print, Python or C, lands in the log
    for line in sys.stdin:
        request = json.loads(line)

        def running() -> None:
            protocol.write(json.dumps({"status": "running"}) + "\n")

        try:
            answer = handle(request, running)
        except BaseException as exc:  # report, then keep serving
            traceback.print_exc()
            answer = {
                "status": "error",
                "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(),
            }
        sys.stdout.flush()
        protocol.write(json.dumps(answer) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
