"""trtexec() on the Docker backend against a plain docker SDK run of the same image and flags.

Baseline: ``client.containers.run(IMAGE, ["trtexec", ...], remove=True)`` with the same bind
mounts, the way a user scripts it by hand. Measured: ``trtexec(...)`` with the cache off (the
extra work: image check, leftover cleanup, path mapping, log streaming to disk, renaming the
engine). Then a cache hit, against the 0.2 s target. Image: the test image of
tests/docker_image.py (the fake trtexec prints a real 580-line log and writes the engine).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.figure import Figure

ROOT = Path(__file__).parent.parent


def _interleaved(fns: dict, repeat: int) -> dict[str, float]:
    """Median wall time of each function, calls interleaved so drift hits all alike."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    for fn in fns.values():
        fn()  # warm-up
    for _ in range(repeat):
        for name, fn in fns.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in times.items()}


def run() -> list[Figure]:
    import docker

    sys.path.insert(0, str(ROOT / "tests"))
    from docker_image import build_test_image

    from trt_magic import config
    from trt_magic.runners import trtexec

    client = docker.from_env(version="auto")
    image = build_test_image(client)
    work = Path(tempfile.mkdtemp(prefix="bench_runner-"))
    (work / "model.onnx").write_bytes(os.urandom(200_000))
    config.use_settings(config.Settings(cache_dir=str(work / "cache"), workdir=str(work)))
    flags = ["--onnx=model.onnx", "--saveEngine=out/model.plan"]
    (work / "out").mkdir()

    def plain():
        client.containers.run(
            image,
            ["trtexec", "--onnx=/w/model.onnx", "--saveEngine=/o/model.plan"],
            remove=True,
            network_mode="none",
            volumes={
                str(work): {"bind": "/w", "mode": "ro"},
                str(work / "out"): {"bind": "/o", "mode": "rw"},
            },
        )

    def ours():
        trtexec(flags, image=image, gpus="none", display=False, cache=False)

    medians = _interleaved({"plain": plain, "ours": ours}, repeat=9)
    trtexec(flags, image=image, gpus="none", display=False)  # fills the cache
    hits = []
    for _ in range(9):
        t = time.perf_counter()
        hit = trtexec(flags, image=image, gpus="none", display=False)
        hits.append(time.perf_counter() - t)
        assert hit.cached
    config.use_settings(None)
    return [
        Figure(
            "trtexec() docker run vs plain containers.run",
            medians["ours"],
            medians["plain"],
            1.10,
            note="same image, flags and mounts; median of 9",
        ),
        Figure(
            "cache hit vs 0.2 s target",
            statistics.median(hits),
            0.2,
            1.0,
            note="engine copied back from the cache",
        ),
    ]
