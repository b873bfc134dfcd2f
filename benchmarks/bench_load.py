"""The extension's load cost: ``ipython -c '%load_ext trt_magic'`` against a bare IPython start.

Starts alternate between the two commands so machine noise hits both alike; the added cost is
the difference of the medians.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from benchmarks.figure import Figure

ROUNDS = 15


def _ipython(code: str) -> float:
    cmd = [sys.executable, "-m", "IPython", "--quick", "--no-banner", "-c", code]
    started = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - started


INPROC = (
    "import time; t = time.perf_counter(); get_ipython().run_line_magic('load_ext', 'trt_magic'); "
    "print(time.perf_counter() - t)"
)


def _in_process() -> float:
    """Seconds %load_ext itself takes, timed inside the IPython process (free of start noise)."""
    cmd = [sys.executable, "-m", "IPython", "--quick", "--no-banner", "-c", INPROC]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def run() -> list[Figure]:
    _ipython("pass")  # warm the file cache
    bare, loaded = [], []
    for _ in range(ROUNDS):
        bare.append(_ipython("pass"))
        loaded.append(_ipython("%load_ext trt_magic"))
    b, m = statistics.median(bare), statistics.median(loaded)
    inproc = statistics.median(_in_process() for _ in range(5))
    return [
        Figure("IPython start with %load_ext", m, b, None, note="vs a bare start"),
        Figure(
            "time added by %load_ext", (m - b) * 1000, 50.0, 1.0, unit="ms", note="target <= 50 ms"
        ),
        Figure(
            "%load_ext timed in-process",
            inproc * 1000,
            50.0,
            1.0,
            unit="ms",
            note="target <= 50 ms",
        ),
    ]
