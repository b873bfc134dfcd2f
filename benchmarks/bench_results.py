"""Loading an engine's profile + layer info into ``Run.layers``, at 10,000 and 100,000 layers.

The engines are made by scaling a real 10.x export (tests/data/scaled.py). Baselines measured in
the same run: plain ``json.load`` of the same two files (the floor any loader pays), and a
TREx-style loader written after TREx's approach (``trex/parser.py``, ``layer.py``,
``activations.py``: a DataFrame of the raw layer dicts, one Layer/Activation object per layer and
tensor, the profile merged in with pandas). Times are CPU seconds of this process (medians, user
+ system), so other jobs on a shared machine do not inflate them; the 100k/10k ratio is also given
for user time alone, since the kernel's cost of handing out ~1.5 GB of fresh pages grows faster
than linearly on a busy machine. Plain ``json.load`` is the stdlib's; the loader uses orjson when
the ``fast`` extra is installed. Targets: 10,000 layers in at most 0.5 s; 100,000 at
most 10x the 10,000 figure (linear); ahead of the TREx-style loader; the HTML view under 300 KB.
"""

from __future__ import annotations

import gc
import json
import re
import resource
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from benchmarks.figure import Figure

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from data.scaled import scale_export  # noqa: E402


def _cpu() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


def cpu_times(fn: Callable[[], object], repeat: int = 5, warmup: int = 1) -> tuple[float, float]:
    """Median CPU seconds of this process for ``fn()``: (user + system, user only).

    Other jobs on a shared machine do not count. System time is mostly the kernel handing out
    fresh pages for the parsed JSON, which is why the user-only figure is reported beside it.
    """
    for _ in range(warmup):
        fn()
    total, user = [], []
    for _ in range(repeat):
        gc.collect()
        u0, s0 = _cpu()
        fn()
        u1, s1 = _cpu()
        total.append((u1 - u0) + (s1 - s0))
        user.append(u1 - u0)
    return statistics.median(total), statistics.median(user)


def cpu_time(fn: Callable[[], object], repeat: int = 5, warmup: int = 1) -> float:
    return cpu_times(fn, repeat, warmup)[0]


def _trex_style_layers(prefix: Path):
    """A TREx-like loader: raw dicts -> DataFrame, per-layer objects for precision, pandas merge."""
    import pandas as pd

    with open(f"{prefix}.graph.json") as fh:
        raw_layers = json.load(fh)["Layers"]
    with open(f"{prefix}.profile.json") as fh:
        perf = [rec for rec in json.load(fh) if len(rec) in (4, 5)]
    names: dict[str, int] = {}
    for layer in raw_layers:  # disambiguate_layer_names
        name = layer["Name"]
        if name in names:
            names[name] += 1
            layer["Name"] = f"{name}_{names[name]}"
        else:
            names[name] = 1

    def precision(layer: dict) -> str | None:  # Layer.__init__ -> Activation(inputs[0])
        inputs = layer.get("Inputs") or []
        if not inputs:
            return None
        fmt = inputs[0]["Format/Datatype"]
        return next(
            (
                t
                for t in re.findall(r"[A-Za-z0-9]+", fmt)
                if t in ("FP32", "FP16", "Half", "Float", "Int8")
            ),
            None,
        )

    df = pd.DataFrame(raw_layers)
    df["precision"] = [precision(layer) for layer in raw_layers]
    perf_df = pd.DataFrame(perf).rename(columns={"name": "Name"})
    return df.merge(perf_df, on="Name", how="left")


def _json_floor(prefix: Path) -> None:
    with open(f"{prefix}.graph.json", "rb") as fh:
        json.load(fh)
    with open(f"{prefix}.profile.json", "rb") as fh:
        json.load(fh)


def _ours(prefix: Path):
    from trt_magic.results import load_run

    return load_run(prefix).layers


def run() -> list[Figure]:
    import pandas  # noqa: F401  - imported once, outside the timed code

    figures = []
    with tempfile.TemporaryDirectory() as tmp:
        p10 = scale_export(10_000, Path(tmp), "e10k")
        ours10, user10 = cpu_times(lambda: _ours(p10), repeat=5)
        floor10 = cpu_time(lambda: _json_floor(p10), repeat=5)
        trex10 = cpu_time(lambda: _trex_style_layers(p10), repeat=3)
        from trt_magic.results import load_run

        html_kb = len(load_run(p10)._repr_html_().encode()) / 1024
        figures += [
            Figure("10k layers -> Run.layers", ours10, 0.5, 1.0, note="target <= 0.5 s"),
            Figure("10k layers: ours vs json.load of the same files", ours10, floor10, None),
            Figure("10k layers: ours vs TREx-style pandas loader", ours10, trex10, 1.0),
            Figure(
                "10k-layer _repr_html_ size", html_kb, 300.0, 1.0, unit="KB", note="target < 300 KB"
            ),
        ]
        p100 = scale_export(100_000, Path(tmp), "e100k")
        ours100, user100 = cpu_times(lambda: _ours(p100), repeat=3, warmup=0)
        floor100 = cpu_time(lambda: _json_floor(p100), repeat=3, warmup=0)
    return [
        *figures,
        Figure("json.load alone, 100k vs 10k", floor100, floor10, None, note="context: the floor"),
        Figure("100k layers vs 10k layers", ours100, ours10, 10.0, note="linear: <= 10x"),
        Figure("100k vs 10k, user CPU only", user100, user10, 10.0, note="no kernel page faults"),
    ]
