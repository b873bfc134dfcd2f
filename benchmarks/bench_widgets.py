"""The profile editor: what one edit costs, and what opening the form costs.

Model: 8 inputs of 4 dims each (batch shared by all, one more dynamic dim per input), made with
onnx.helper. Baselines measured in the same run:
- one edit (a linked batch max typed: 8 boxes follow, validation, flags, preview, state saved)
  against setting the value of a plain ``IntText`` with no observers, the floor of any
  ipywidgets form; reported in milliseconds too (a form should answer well under 50 ms).
- opening the editor against ``onnx.load`` of the same file plus creating the same number of
  plain ``IntText`` boxes (what any such form must do).
Times are CPU seconds of this process (medians), so other jobs on the machine do not count.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.figure import Figure

INPUTS, DIMS = 8, 4


def cpu_time(fn: Callable[[], object], repeat: int = 7, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        started = time.process_time()
        fn()
        times.append(time.process_time() - started)
    return statistics.median(times)


def make_model(path: Path) -> Path:
    import onnx
    from onnx import TensorProto, helper

    inputs, outputs, nodes = [], [], []
    for i in range(INPUTS):
        dims = ["batch", f"len{i}", 16, 16][:DIMS]
        inputs.append(helper.make_tensor_value_info(f"in{i}", TensorProto.FLOAT, dims))
        outputs.append(helper.make_tensor_value_info(f"out{i}", TensorProto.FLOAT, dims))
        nodes.append(helper.make_node("Identity", [f"in{i}"], [f"out{i}"]))
    graph = helper.make_graph(nodes, "bench", inputs, outputs)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def run() -> list[Figure]:
    import ipywidgets as w
    import onnx

    from trt_magic.widgets import ProfileEditor

    with tempfile.TemporaryDirectory(prefix="bench_widgets_") as tmp:
        model = make_model(Path(tmp) / "many.onnx")
        editor = ProfileEditor(str(model), image="nvcr.io/nvidia/tensorrt:23.04-py3")
        box = editor.shapes.box("in0", 0, "max")
        values = iter(range(9, 10**6))

        def one_edit():
            box.value = next(values)

        plain = w.IntText()

        def plain_edit():
            plain.value = next(values)

        edit = cpu_time(one_edit, repeat=21)
        floor = cpu_time(plain_edit, repeat=21)
        assert f"in7:{box.value}x" in editor.flags  # the linked dims followed

        def open_editor():
            ProfileEditor(str(model), image="nvcr.io/nvidia/tensorrt:23.04-py3", restore=False)

        def open_floor():
            onnx.load(str(model))
            [w.IntText() for _ in range(INPUTS * DIMS * 3)]

        opened = cpu_time(open_editor, repeat=5)
        opened_floor = cpu_time(open_floor, repeat=5)
    shape = f"{INPUTS} inputs x {DIMS} dims"
    return [
        Figure(
            "one edit of a linked batch max (8 boxes follow)",
            edit,
            floor,
            None,
            note=f"{shape}; baseline: one plain IntText set; {edit * 1e3:.1f} ms per edit",
        ),
        Figure(
            "open the editor",
            opened,
            opened_floor,
            None,
            note=f"{shape}; baseline: onnx.load + {INPUTS * DIMS * 3} plain IntText",
        ),
    ]
