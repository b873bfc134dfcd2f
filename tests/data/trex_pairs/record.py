"""Record TREx 0.2.1's layer pairing of real engine pairs (run once, by hand; not a test).

Run with TREx 0.2.1's own source (NVIDIA/TensorRT @ a3c8598075c3aeae63c6d3ac2eb58f8da6d975f1,
tools/experimental/trt-engine-explorer, ``trex/__init__.py`` ``__version__ = "0.2.1"``) on
PYTHONPATH and pandas 2.2.1 (TREx's pin) + numpy + plotly in a throwaway venv::

    PYTHONPATH=<trex dir> /tmp/trexvenv/bin/python tests/data/trex_pairs/record.py

``compare_engines`` imports notebook-only modules at the top (``trex.notebook`` needs dtale,
``trex.interactive`` ipywidgets); ``match_layers`` uses none of them, so they are stubbed here.
Writes ``pairs.json``: per pair, TREx's ``match_layers`` answer as layer names (None: unmatched);
``sizes.json``: per engine and layer, TREx's ``Layer.total_io_size_bytes`` and ``weights_size``;
``lint.json``: per engine of ``LINTED``, the layers each TREx linter reports.
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

for stub in ("trex.notebook", "trex.interactive"):
    module = types.ModuleType(stub)
    module.display_df = None  # imported by name by trex.plotting; never called here
    sys.modules[stub] = module

import trex  # noqa: E402
from trex.compare_engines import match_layers  # noqa: E402
from trex.engine_plan import EnginePlan  # noqa: E402
from trex.lint import ConvLinter, QDQLinter, ReformatLinter, SliceLinter  # noqa: E402

DATA = Path(__file__).resolve().parent.parent
PAIRS = {
    "A100 fp32 vs fp16": ("trex/A100-fp32/resnet.onnx.engine", "trex/A100-fp16/resnet.onnx.engine"),
    "A100 fp32 vs qat": (
        "trex/A100-fp32/resnet.onnx.engine",
        "trex/A100-qat/resnet-qat.onnx.engine",
    ),
    "A100 fp16 vs qat": (
        "trex/A100-fp16/resnet.onnx.engine",
        "trex/A100-qat/resnet-qat.onnx.engine",
    ),
    "mobilenet qat vs mobilenet_v2_residuals qat": (
        "trex/mobilenet-qat/mobilenet.qat.onnx.engine",
        "trex/mobilenet-v2-residuals-qat/mobilenet_v2_residuals.qat.onnx.engine",
    ),
    "A100 fp16 (TREx) vs RTX 3060 fp16 (fuzzylabs)": (
        "trex/A100-fp16/resnet.onnx.engine",
        "trtexec/fuzzylabs-10.x-resnet18-fp16",
    ),
    "RTX-3090 tf resnet50 fp32 vs fp16": (
        "trtexec/trex-tf-resnet50-rtx3090-fp32",
        "trex/RTX-3090-tf-resnet50/fp16/resnet.onnx.engine",
    ),
    "RTX-3090 tf resnet50 fp16 vs qat": (
        "trex/RTX-3090-tf-resnet50/fp16/resnet.onnx.engine",
        "trex/RTX-3090-tf-resnet50/qat/resnet-qat.onnx.engine",
    ),
}


LINTED = [
    "trex/A100-qat/resnet-qat.onnx.engine",
    "trex/A100-fp16/resnet.onnx.engine",
    "trex/mobilenet-qat/mobilenet.qat.onnx.engine",
    "trex/RTX-3090-tf-resnet50/qat/resnet-qat.onnx.engine",
]


def plan(prefix: str) -> EnginePlan:
    return EnginePlan(str(DATA / f"{prefix}.graph.json"), str(DATA / f"{prefix}.profile.json"))


def main() -> None:
    out = {"trex_version": trex.__version__, "pairs": {}}
    for label, (a, b) in PAIRS.items():
        p1, p2 = plan(a), plan(b)
        record = {"a": a, "b": b}
        for exact in (True, False):
            pairs = match_layers(p1, p2, exact_matching=exact)
            names = [
                [
                    None if i is None else p1.df.loc[i]["Name"],
                    None if j is None else p2.df.loc[j]["Name"],
                ]
                for i, j in pairs
            ]
            record["exact" if exact else "first_io"] = names
        out["pairs"][label] = record
    path = Path(__file__).with_name("pairs.json")
    path.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    sizes = {"trex_version": trex.__version__, "engines": {}}
    for prefix in sorted({p for pair in PAIRS.values() for p in pair}):
        layers = EnginePlan(str(DATA / f"{prefix}.graph.json")).all_layers
        sizes["engines"][prefix] = {
            layer.name: {"io_bytes": float(layer.total_io_size_bytes),
                         "weights_bytes": float(layer.weights_size)}
            for layer in layers
        }  # fmt: skip
    Path(__file__).with_name("sizes.json").write_text(json.dumps(sizes, indent=1) + "\n")
    lint = {"trex_version": trex.__version__, "engines": {}}
    for prefix in LINTED:
        engine = EnginePlan(
            str(DATA / f"{prefix}.graph.json"), str(DATA / f"{prefix}.profile.json")
        )
        conv = ConvLinter(engine)
        found = {"tc": conv.tc_lint(), "mixed_precision": conv.mixed_precision_lint(),
                 "alignment": conv.alignment_lint()}  # fmt: skip
        rec = {rule: sorted(report) for rule, report in found.items()}
        for rule, linter in (
            ("reformat", ReformatLinter),
            ("qdq", QDQLinter),
            ("slice", SliceLinter),
        ):
            frame = linter(engine).lint()
            rec[rule] = sorted(frame["name"]) if len(frame) else []
        lint["engines"][prefix] = rec
    Path(__file__).with_name("lint.json").write_text(json.dumps(lint, indent=1) + "\n")
    print(path)


if __name__ == "__main__":
    main()
