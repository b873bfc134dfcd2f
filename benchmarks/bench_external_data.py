"""A model past 2 GB (issue 21): ``export_onnx`` against a bare ``torch.onnx.export``, and the
peak memory of the export as a multiple of the weight size.

The model: eight 8192x8192 Linear layers (2.15 GB of FP32 weights, random init). Each export
runs in a fresh interpreter (so its peak RSS is its own): the bare call is the TorchScript
exporter with the options ``export_onnx`` passes (``_torch.export_options``; past 2 GiB it
writes one file per tensor); ours is ``export_onnx(check=False, simplify="none")``, which also
streams those files into one ``<model>.onnx.data``. Runs alternate; each figure is the fastest.
Peak memory: ``ru_maxrss`` of the child minus its RSS before the model was built, divided by
the weight bytes: 1.0 is the model alone, the target allows one more copy (2.0). Not in RSS:
``export_onnx`` has the exporter write its per-tensor files to ``/dev/shm`` (RAM) when there is
room, i.e. one more copy of the weights in memory until they are streamed into the data file;
the bare export writes them to the page cache of the disk instead.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile

from benchmarks.figure import Figure

CHILD = r"""
import json, resource, sys, time
from pathlib import Path

def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024

import torch
from trt_magic.export import _torch, export_onnx

mode, folder = sys.argv[1], Path(sys.argv[2])
base = rss()
torch.manual_seed(0)
model = torch.nn.Sequential(*[torch.nn.Linear(8192, 8192) for _ in range(8)]).eval()
weights = sum(p.numel() * p.element_size() for p in model.parameters())
args = (torch.randn(1, 8192),)
t0 = time.perf_counter()
if mode == "bare":
    prepared = _torch.Prepared(model, args, {}, ["x"])
    call = _torch.ExportCall("", "torchscript", 17, ["x"], ["output"], {}, external_data=True)
    with torch.no_grad():
        torch.onnx.export(model, args, str(folder / "bare.onnx"),
                          **_torch.export_options(prepared, call))
else:
    export_onnx(model, folder / "ours.onnx", ["x:1x8192"], exporter="torchscript", opset=17,
                check=False, simplify="none")
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
files = sorted(p.name for p in folder.iterdir())
print(json.dumps({"seconds": seconds, "peak": peak, "base": base, "weights": weights,
                  "files": len(files)}))
"""


def _child(mode: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [sys.executable, "-c", CHILD, mode, tmp],
            capture_output=True, text=True, check=True, timeout=900,
        )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(rounds: int = 2) -> list[Figure]:
    runs: dict[str, list[dict]] = {"bare": [], "ours": []}
    for _ in range(rounds):
        for mode in runs:
            runs[mode].append(_child(mode))
    bare = min(runs["bare"], key=lambda r: r["seconds"])
    ours = min(runs["ours"], key=lambda r: r["seconds"])
    gb = ours["weights"] / 1e9

    def extra(r: dict) -> float:
        return max(x["peak"] - x["base"] for x in runs[r]) / ours["weights"]

    return [
        Figure(
            f"{gb:.2f} GB model: export_onnx, checks off (one {gb:.2f} GB .onnx.data; bare "
            f"wrote {bare['files']} files)",
            ours["seconds"],
            bare["seconds"],
            1.10,
            note="vs bare torch.onnx.export",
        ),
        Figure(
            f"{gb:.2f} GB model: export_onnx peak memory above the interpreter, / weight size",
            extra("ours"),
            1.0,
            2.0,
            unit="x",
            note="1.0 = the model alone; + 1.0 in /dev/shm until streamed to the data file",
        ),
        Figure(
            f"{gb:.2f} GB model: bare torch.onnx.export peak memory, / weight size (context)",
            extra("bare"),
            1.0,
            None,
            unit="x",
        ),
    ]
