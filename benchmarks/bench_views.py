"""The views' costs: a Netron view (served by a thread of the kernel, until its page answers)
against a bare ``python -c 'import netron'`` start, a reused view against 5 ms, and the engine
graph against ``dot`` alone on the same source.
"""

from __future__ import annotations

import json
import statistics
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
    import urllib.request

    from trt_magic import netron as views
    from trt_magic.netron.views import _views

    model = folder / "model.onnx"
    model.write_bytes(b"x" * 1000)

    def page(view) -> None:
        # the URL as the kernel hands it out, token included: the page must answer
        with urllib.request.urlopen(view.url, timeout=10) as answer:
            answer.read()

    def start() -> float:
        views.netron_stop()  # not timed: stopping waits for the server's poll loop
        began = time.perf_counter()
        page(views.netron_view(model))
        return time.perf_counter() - began

    bare = median_time(
        lambda: subprocess.run([sys.executable, "-c", "import netron"], check=True), repeat=7
    )
    cold_code = (
        "import sys, urllib.request, trt_magic; v = trt_magic.netron_view(sys.argv[1]); "
        "urllib.request.urlopen(v.url, timeout=10).read()"
    )
    cold = median_time(
        lambda: subprocess.run([sys.executable, "-c", cold_code, str(model)], check=True),
        repeat=7,
    )
    start()  # warm-up
    started = statistics.median(start() for _ in range(7))
    reused = median_time(lambda: views.netron_view(model), repeat=21)
    assert len(_views) == 1  # reuse really reused
    views.netron_stop()
    return [
        Figure(
            "netron_view in a fresh interpreter until its page answers",
            cold,
            bare,
            None,  # context: the view itself is the warm figure below (no process any more)
            note="vs python -c 'import netron'; includes python, import trt_magic and netron",
        ),
        Figure(
            "netron_view: new server until its page answers (kernel warm)",
            started,
            bare,
            2.0,
            note="vs python -c 'import netron'",
        ),
        Figure("netron_view: same file again (reused)", reused, 0.005, 1.0, note="target <= 5 ms"),
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
