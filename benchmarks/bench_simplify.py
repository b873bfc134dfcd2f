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

from benchmarks.figure import Figure

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


def _direct_cpu(src: Path, out: Path) -> tuple[float, float]:
    started = time.perf_counter(), time.process_time()
    _direct_onnxslim(src, out)
    return time.perf_counter() - started[0], time.process_time() - started[1]


def _ours_cpu(src: Path, out: Path) -> tuple[float, float]:
    from trt_magic.simplify import simplify_onnx

    started = time.perf_counter()
    result = simplify_onnx(src, out, method="onnxslim", check=False)
    return time.perf_counter() - started, result.cpu_seconds


def _interleaved(src: Path, out: Path, repeat: int = 9) -> tuple[tuple[float, float], ...]:
    """Median (wall, CPU) of both calls run in turn, so other processes' load hits both alike.

    CPU time (this process + the worker's) is the steadier figure on a shared machine.
    """
    _direct_cpu(src, out), _ours_cpu(src, out)  # warm-up: imports, and the worker's start
    base, ours = [], []
    for _ in range(repeat):
        base.append(_direct_cpu(src, out))
        ours.append(_ours_cpu(src, out))
    med = statistics.median
    return (med(b[0] for b in base), med(b[1] for b in base)), (
        med(o[0] for o in ours),
        med(o[1] for o in ours),
    )


def _figures(name: str, src: Path, folder: Path) -> list[Figure]:
    from trt_magic.simplify import simplify_onnx

    out = folder / "out.onnx"
    (direct, direct_cpu), (ours, ours_cpu) = _interleaved(src, out)
    checked = simplify_onnx(src, out, method="onnxslim", check=True)
    b, a = checked.before, checked.after
    figures = [
        Figure(
            f"{name}: simplify_onnx vs onnxslim.slim, CPU",
            ours_cpu,
            direct_cpu,
            1.10,
            note="parity check excluded; both processes",
        ),
        Figure(
            f"{name}: simplify_onnx vs onnxslim.slim, wall",
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
