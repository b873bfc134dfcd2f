"""A sweep of 8 variants over 2 Docker daemons against running the same 8 builds one by one.

Both use the test image (tests/docker_image.py), whose fake trtexec takes a fixed 2 s per build
(``fixed2`` in the model's name), so the ratio measures the scheduling, not trtexec. The sweep
uses two GPU slots per daemon (4 slots, ``container_gpus="none"``: this machine has no GPU); the
baseline runs the 8 builds in a row on the default daemon. No engine cache on either side.
Needs both daemons of scripts/docker_up.sh.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from benchmarks.figure import Figure

SECOND_DOCKER = "tcp://127.0.0.1:23751"
BUILD_SECONDS = 2


def _setup(tmp: Path):
    tests = Path(__file__).resolve().parent.parent / "tests"
    sys.path.insert(0, str(tests))
    import docker
    from accuracy_helpers import linear_model
    from docker_image import build_test_image

    image = build_test_image(docker.from_env())
    second = docker.DockerClient(base_url=SECOND_DOCKER)
    if build_test_image(second) != image:
        raise RuntimeError("the two daemons hold different test images")
    return image, linear_model(tmp / f"model-fixed{BUILD_SECONDS}.onnx")


def run() -> list[Figure]:
    from trt_magic.config import get_settings
    from trt_magic.runners import trtexec
    from trt_magic.sweeps import sweep
    from trt_magic.sweeps.variants import Axes, full_variants

    settings = get_settings()
    with tempfile.TemporaryDirectory(prefix="bench_sweep-") as tmp:
        tmp = Path(tmp)
        settings.backend, settings.cache_dir = "docker", str(tmp / "cache")
        image, onnx = _setup(tmp)
        axes = dict(precisions=["fp32", "fp16"], opt_levels=[0, 1, 2, 3], images=[image])

        started = time.perf_counter()
        for v in full_variants(Axes.build(**axes)):
            args = v.build_args(str(onnx), str(tmp / "one-by-one" / v.label))
            run = trtexec(args, image=image, gpus="none", cache=False, display=False)
            if not run.ok:
                raise RuntimeError(f"baseline build {v.label} failed: {run.status}")
        one_by_one = time.perf_counter() - started

        started = time.perf_counter()
        result = sweep(onnx, **axes, hosts=[None, SECOND_DOCKER], gpus=[0, 1],
                       container_gpus="none", cache=False, display=False,
                       outdir=tmp / "sweep")  # fmt: skip
        swept = time.perf_counter() - started
        statuses = {r.status for r in result.rows}
        if statuses != {"passed"} or len(result.rows) != 8:
            raise RuntimeError(f"the sweep did not pass: {result.counts()}")
    return [
        Figure(
            "sweep of 8 variants over 2 daemons (4 slots)",
            swept,
            one_by_one,
            0.6,
            note=f"vs the 8 builds one by one; each build {BUILD_SECONDS} s",
        )
    ]
