"""The extension's load cost: ``ipython -c '%load_ext trt_magic'`` against a bare IPython start."""

from __future__ import annotations

import subprocess
import sys

from benchmarks.figure import Figure, median_time


def _ipython(code: str) -> None:
    cmd = [sys.executable, "-m", "IPython", "--quick", "--no-banner", "-c", code]
    subprocess.run(cmd, check=True, capture_output=True)


def run() -> list[Figure]:
    bare = median_time(lambda: _ipython("pass"), repeat=9)
    loaded = median_time(lambda: _ipython("%load_ext trt_magic"), repeat=9)
    extra_ms = (loaded - bare) * 1000
    return [
        Figure("IPython start with %load_ext", loaded, bare, None, note="vs a bare start"),
        Figure("time added by %load_ext", extra_ms, 50.0, 1.0, unit="ms", note="target <= 50 ms"),
    ]
