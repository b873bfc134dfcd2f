"""The views' costs: a Netron view against a bare ``python -c 'import netron'`` start, reuse
against a start, and the engine graph against ``dot`` alone on the same source.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.figure import Figure, median_time

DATA = Path(__file__).parent.parent / "tests" / "data"
RESNET50 = DATA / "trtexec" / "trex-tf-resnet50-rtx3090-fp32.graph.json"
PROFILE = DATA / "trtexec" / "trex-tf-resnet50-rtx3090-fp32.profile.json"


def _netron_figures(folder: Path) -> list[Figure]:
    from trt_magic import netron as views

    model = folder / "model.onnx"
    model.write_bytes(b"x" * 1000)

    def start() -> None:
        views.netron_stop()
        views.netron_view(model)

    bare = median_time(
        lambda: subprocess.run([sys.executable, "-c", "import netron"], check=True), repeat=7
    )
    started = median_time(start, repeat=7)
    reused = median_time(lambda: views.netron_view(model), repeat=21)
    views.netron_stop()
    return [
        Figure(
            "netron_view: new server until it serves",
            started,
            bare,
            2.0,
            note="vs python -c 'import netron'",
        ),
        Figure("netron_view: same file again (reused)", reused, started, 0.05, note="vs a start"),
    ]


def _graph_figures(folder: Path) -> list[Figure]:
    import trt_magic.display.engine_graph as eg

    view = eg.engine_graph(RESNET50, PROFILE)
    source = view.dot_source()
    dot_only = median_time(
        lambda: subprocess.run(["dot", "-Tsvg"], input=source.encode(), capture_output=True),
        repeat=5,
    )
    whole = median_time(lambda: eg.engine_graph(RESNET50, PROFILE)._repr_html_(), repeat=5)
    big = _scaled(folder / "big.json", copies=40)
    started = time.perf_counter()
    html = eg.engine_graph(big)._repr_html_()
    big_s = time.perf_counter() - started
    return [
        Figure(
            "engine_graph ResNet-50 (103 layers) to HTML", whole, dot_only, 1.5, note="vs dot alone"
        ),
        Figure(
            "engine_graph 4120 layers: inline HTML size",
            len(html) / 1e6,
            eg.MAX_INLINE_BYTES / 1e6,
            1.05,
            unit="MB",
            note=f"vs the cap; drawn in {big_s:.1f} s",
        ),
    ]


def _scaled(path: Path, copies: int) -> Path:
    """ResNet-50's layers repeated in a chain (as tests/test_engine_graph.py does)."""
    base = json.loads(RESNET50.read_text())["Layers"]
    first, last = base[0]["Inputs"][0]["Name"], base[-1]["Outputs"][0]["Name"]
    layers = []
    for k in range(copies):

        def rename(t, k=k):
            if t["Name"] == first and k:
                return {**t, "Name": f"{last}#{k - 1}"}
            return {**t, "Name": f"{t['Name']}#{k}"}

        layers += [
            {
                **layer,
                "Name": f"{layer['Name']}#{k}",
                "Inputs": [rename(t) for t in layer["Inputs"]],
                "Outputs": [rename(t) for t in layer["Outputs"]],
            }
            for layer in base
        ]
    path.write_text(json.dumps({"Layers": layers, "Bindings": []}))
    return path


def run() -> list[Figure]:
    with tempfile.TemporaryDirectory() as folder:
        return _netron_figures(Path(folder)) + _graph_figures(Path(folder))
