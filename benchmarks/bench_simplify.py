"""The ONNX clean-up: simplify_onnx's own time against onnxslim called directly, and what it saves.

Baseline: ``onnxslim.slim(onnx.load(src))`` then ``onnx.save`` in this process, the least a user
would write. Measured: ``simplify_onnx(src, out, method="onnxslim", check=False)``, which adds
the warm worker process round trip, the interface check and the atomic write (the parity check
is excluded, as the issue asks, and reported on its own). The models are the tests' models
(tests/test_simplify.py), the conv net at ResNet-18's real widths (11.7 M parameters).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

from benchmarks.figure import Figure, median_time

TESTS = Path(__file__).resolve().parent.parent / "tests"


def _export_models(folder: Path) -> dict[str, Path]:
    sys.path.insert(0, str(TESTS))  # the same model definitions the tests use
    import test_simplify as t
    import torch

    torch.manual_seed(0)
    specs = {
        "ResNet-18 (width 64, 224x224)": (
            t.ResNet18Shape(width=64, classes=1000),
            torch.randn(1, 3, 224, 224),
            {"images": {0: "batch"}, "logits": {0: "batch"}},
        ),
        "transformer block": (
            t.TransformerBlock(dim=256, heads=8),
            torch.randn(1, 16, 256),
            {"x": {0: "batch", 1: "seq"}, "y": {0: "batch", 1: "seq"}},
        ),
        "constant sub-graph": (
            t.ConstantSubgraph(),
            torch.randn(2, 16),
            {"x": {0: "batch"}, "y": {0: "batch"}},
        ),
    }
    paths = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, (name, (model, sample, dynamic)) in enumerate(specs.items()):
            paths[name] = t._export(model, sample, folder / f"model{i}.onnx", dynamic)
    return paths


def _direct_onnxslim(src: Path, out: Path) -> None:
    import onnx
    import onnxslim

    onnx.save(onnxslim.slim(onnx.load(src)), out)


def _interleaved(baseline, measured, repeat: int = 9) -> tuple[float, float]:
    """Median times of two calls run in turn, so load from other processes hits both alike."""
    base, ours = [], []
    for fn in (baseline, measured):  # warm-up: imports, and the worker's start
        fn()
    for _ in range(repeat):
        base.append(median_time(baseline, repeat=1, warmup=0))
        ours.append(median_time(measured, repeat=1, warmup=0))
    return statistics.median(base), statistics.median(ours)


def _figures(name: str, src: Path, folder: Path) -> list[Figure]:
    from trt_magic.simplify import simplify_onnx

    out = folder / "out.onnx"
    direct, ours = _interleaved(
        lambda: _direct_onnxslim(src, out),
        lambda: simplify_onnx(src, out, method="onnxslim", check=False),
    )
    checked = simplify_onnx(src, out, method="onnxslim", check=True)
    b, a = checked.before, checked.after
    figures = [
        Figure(
            f"{name}: simplify_onnx vs onnxslim.slim",
            ours,
            direct,
            1.10,
            note="parity check excluded",
        ),
        Figure(f"{name}: parity check (2 samples)", checked.check_seconds, None, None),
        Figure(
            f"{name}: nodes after/before",
            float(a.nodes),
            float(b.nodes),
            None,
            unit="nodes",
            note=f"{b.nodes} -> {a.nodes}",
        ),
        Figure(f"{name}: size after/before", a.size / 1024, b.size / 1024, None, unit="KB"),
    ]
    for other in ("polygraphy", "onnxsim"):
        started = time.perf_counter()
        try:
            r = simplify_onnx(src, out, method=other)
            figures.append(
                Figure(
                    f"{name}: {other} nodes after/before",
                    float(r.after.nodes),
                    float(b.nodes),
                    None,
                    unit="nodes",
                    note=f"{time.perf_counter() - started:.2f} s incl. check",
                )
            )
        except Exception as exc:  # not installed here, or it failed: say so in the table
            figures.append(
                Figure(f"{name}: {other}", f"{type(exc).__name__}: {exc}"[:80], None, None)
            )
    return figures


def run() -> list[Figure]:
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="bench_simplify_") as tmp:
        folder = Path(tmp)
        for name, src in _export_models(folder).items():
            figures += _figures(name, src, folder)
    return figures
