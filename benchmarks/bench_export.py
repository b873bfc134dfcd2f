"""Export overhead: ``export_onnx`` against a bare ``torch.onnx.export`` of the same model with
the same exporter and options (what ``export_onnx`` passes, from ``_torch.export_options``).

``check=False`` and ``simplify="none"`` for the target figure (<= 1.05x): what remains is the
model copy, the reference forward, the temporary folder + os.replace, loading the graph for its
interface and the pre-flight. The figure with the checks (onnx.checker, shape inference,
onnxruntime on two sizes) is reported too. Runs alternate so machine noise hits both alike,
and each figure is the fastest of its rounds (the least disturbed on a shared host).
"""

from __future__ import annotations

import copy
import tempfile
import time
from pathlib import Path

from benchmarks.figure import Figure


def _model():
    import torch

    nn = torch.nn

    def block(i, o):
        return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU())

    return nn.Sequential(
        block(3, 16), block(16, 32), nn.MaxPool2d(2), block(32, 64), block(64, 64),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10),
    )  # fmt: skip


def _bare(model, folder: Path, exporter: str, opset: int):
    """A plain ``torch.onnx.export`` of an eval copy with the options export_onnx passes."""
    import torch

    from trt_magic.export import _torch

    work = copy.deepcopy(model).eval()
    args = (torch.randn(1, 3, 32, 32),)
    prepared = _torch.Prepared(work, args, {}, ["images"])
    call = _torch.ExportCall("", exporter, opset, ["images"], ["output"], {"images": {0: "batch"}})
    options = _torch.export_options(prepared, call)
    path = str(folder / "bare.onnx")

    def run():
        with torch.no_grad():
            torch.onnx.export(work, args, path, **options)

    return run


def _ours(model, folder: Path, exporter: str, opset: int, check: bool):
    from trt_magic.export import export_onnx

    def run():
        export_onnx(
            model, folder / f"ours-{check}.onnx", ["images:1x3x32x32"], ["images:0=batch"],
            exporter=exporter, opset=opset, check=check, simplify="none",
        )  # fmt: skip

    return run


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _measure(exporter: str, opset: int, rounds: int) -> list[Figure]:
    model = _model()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bare = _bare(model, folder, exporter, opset)
        plain, checked = (
            _ours(model, folder, exporter, opset, False),
            _ours(model, folder, exporter, opset, True),
        )
        for fn in (bare, plain, checked):
            fn()  # warm up: imports, torch caches
        times: dict[str, list[float]] = {"bare": [], "plain": [], "checked": []}
        for _ in range(rounds):
            times["bare"].append(_timed(bare))
            times["plain"].append(_timed(plain))
            times["checked"].append(_timed(checked))
    # the fastest of the alternating rounds: the least disturbed by other work on the host
    b, p, c = (min(times[k]) for k in ("bare", "plain", "checked"))
    return [
        Figure(f"export_onnx {exporter}, checks off", p, b, 1.05, note="vs bare torch.onnx.export"),
        Figure(f"export_onnx {exporter}, with checks", c, b, None, note="checker + 2-size parity"),
    ]


def run() -> list[Figure]:
    return _measure("torchscript", 17, rounds=11) + _measure("dynamo", 18, rounds=8)
