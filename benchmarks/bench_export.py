"""Export overhead: ``export_onnx`` against a bare ``torch.onnx.export`` of the same model with
the same exporter and options (what ``export_onnx`` passes, from ``_torch.export_options``).

``check=False`` and ``simplify="none"`` for the target figure (<= 1.05x, on a ResNet-18): what
remains is the model copy, the temporary folder + os.replace, loading the graph for its interface
and the pre-flight. A 4-block convnet whose export takes a few tens of ms shows that fixed cost
in milliseconds (reported only: there it is a visible fraction). The figure with the checks (onnx.checker, shape inference,
onnxruntime on two sizes) is reported too. Runs alternate so machine noise hits both alike,
and each figure is the fastest of its rounds (the least disturbed on a shared host).
"""

from __future__ import annotations

import copy
import tempfile
import time
from pathlib import Path

from benchmarks.figure import Figure


def _resnet18():
    """A ResNet-18 (torchvision's layout, built here: torchvision is not a dependency)."""
    import torch

    nn = torch.nn

    class Basic(nn.Module):
        def __init__(self, i, o, stride):
            super().__init__()
            self.conv1, self.bn1 = nn.Conv2d(i, o, 3, stride, 1, bias=False), nn.BatchNorm2d(o)
            self.conv2, self.bn2 = nn.Conv2d(o, o, 3, 1, 1, bias=False), nn.BatchNorm2d(o)
            self.down = None
            if stride != 1 or i != o:
                self.down = nn.Sequential(nn.Conv2d(i, o, 1, stride, bias=False), nn.BatchNorm2d(o))

        def forward(self, x):
            y = torch.relu(self.bn1(self.conv1(x)))
            y = self.bn2(self.conv2(y))
            return torch.relu(y + (x if self.down is None else self.down(x)))

    layers = [
        nn.Conv2d(3, 64, 7, 2, 3, bias=False),
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.MaxPool2d(3, 2, 1),
    ]
    for i, o, stride in [(64, 64, 1), (64, 128, 2), (128, 256, 2), (256, 512, 2)]:
        layers += [Basic(i, o, stride), Basic(o, o, 1)]
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 1000)]
    return nn.Sequential(*layers)


def _tiny():
    """Four conv blocks: an export of a few tens of ms, where the fixed cost shows."""
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
    args = (torch.randn(1, 3, 64, 64),)
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
            model, folder / f"ours-{check}.onnx", ["images:1x3x64x64"], ["images:0=batch"],
            exporter=exporter, opset=opset, check=check, simplify="none",
        )  # fmt: skip

    return run


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _measure(make, label: str, exporter: str, opset: int, rounds: int, target) -> list[Figure]:
    model = make()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bare = _bare(model, folder, exporter, opset)
        plain = _ours(model, folder, exporter, opset, False)
        checked = _ours(model, folder, exporter, opset, True)
        for fn in (bare, plain, checked):
            fn()  # warm up: imports, torch caches
        times: dict[str, list[float]] = {"bare": [], "plain": [], "checked": []}
        for _ in range(rounds):
            times["bare"].append(_timed(bare))
            times["plain"].append(_timed(plain))
            times["checked"].append(_timed(checked))
    # the fastest of the alternating rounds: the least disturbed by other work on the host
    b, p, c = (min(times[k]) for k in ("bare", "plain", "checked"))
    name = f"export_onnx {label} {exporter}"
    return [
        Figure(f"{name}, checks off", p, b, target, note="vs bare torch.onnx.export"),
        Figure(f"{name}, with checks", c, b, None, note="checker + 2-size parity"),
        Figure(f"{name}, fixed cost", (p - b) * 1000, None, None, unit="ms", note="checks off"),
    ]


def run() -> list[Figure]:
    return (
        _measure(_resnet18, "resnet18", "torchscript", 17, rounds=7, target=1.05)
        + _measure(_resnet18, "resnet18", "dynamo", 18, rounds=5, target=1.05)
        + _measure(_tiny, "4-block convnet", "torchscript", 17, rounds=11, target=None)
    )
