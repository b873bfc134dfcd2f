"""A sweep of 8 variants on the local Slurm cluster's 4 GPU slots against the 8 builds one by one.

The cluster is scripts/slurm_up.sh's (gpu:h100:2, gpu:l4:2 on one node); the jobs ask for any GPU
(``--gres=gpu:1``), so Slurm runs 4 at a time. Every build is the test image's fake trtexec
(tests/docker_image.py, real recorded outputs) taking a fixed 5 s (``fixed5`` in the model's
name); the baseline runs the same 8 builds with the local backend one after another. A second
figure is the executor's own cost per job: a 0-s build through Slurm against the same build run
locally (submit, queue, start, log polling, state query).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.figure import Figure

BUILD_SECONDS = 5  # real builds take minutes; the per-job overhead is its own figure below


def _trtexec(tmp: Path) -> str:
    tests = Path(__file__).resolve().parent.parent / "tests"
    sys.path.insert(0, str(tests))
    from docker_image import FILES, TRTEXEC

    store = tmp / "data"
    store.mkdir()
    for target, source in FILES.items():
        shutil.copyfile(tests / "data" / source, store / Path(target).name)
    exe = tmp / "bin" / "trtexec"
    exe.parent.mkdir()
    exe.write_text(TRTEXEC.replace("/data/", f"{store}/"))
    exe.chmod(0o755)
    return str(exe)


def run() -> list[Figure]:
    from trt_magic.config import get_settings
    from trt_magic.runners import trtexec
    from trt_magic.sweeps import SlurmExecutor, sweep
    from trt_magic.sweeps.cluster import ClusterRunner
    from trt_magic.sweeps.variants import Axes, full_variants

    if shutil.which("sbatch") is None:
        raise RuntimeError("no Slurm here: run scripts/slurm_up.sh (as root) first")
    settings = get_settings()
    with tempfile.TemporaryDirectory(prefix="bench_slurm-", dir="/tmp") as tmp:
        tmp = Path(tmp)
        settings.cache_dir = str(tmp / "cache")
        exe = _trtexec(tmp)
        os.environ["PATH"] = f"{Path(exe).parent}{os.pathsep}{os.environ['PATH']}"
        onnx = tmp / f"model-fixed{BUILD_SECONDS}.onnx"
        onnx.write_bytes(os.urandom(4096))
        axes = dict(precisions=["fp32", "fp16"], opt_levels=[0, 1, 2, 3])

        started = time.perf_counter()
        for v in full_variants(Axes.build(**axes)):
            args = v.build_args(str(onnx), str(tmp / "one-by-one" / v.label))
            run = trtexec(args, backend="local", cache=False, display=False)
            if not run.ok:
                raise RuntimeError(f"baseline build {v.label} failed: {run.status}")
        one_by_one = time.perf_counter() - started

        executor = SlurmExecutor(trtexec=exe, poll=0.1)
        started = time.perf_counter()
        result = sweep(onnx, **axes, executor=executor, cache=False, display=False,
                       outdir=tmp / "sweep")  # fmt: skip
        swept = time.perf_counter() - started
        if {r.status for r in result.rows} != {"passed"} or len(result.rows) != 8:
            raise RuntimeError(f"the Slurm sweep did not pass: {result.counts()}")

        quick = tmp / "model-quick.onnx"
        quick.write_bytes(os.urandom(4096))
        args = [f"--onnx={quick}", f"--saveEngine={tmp / 'q' / 'e.plan'}"]
        local = _best(lambda: trtexec(args, backend="local", cache=False, display=False))
        runner = ClusterRunner(executor.engine, None, poll=0.1)
        slurm = _best(lambda: trtexec(args, runner=runner, cache=False, display=False))
    return [
        Figure("Slurm sweep of 8 variants on 4 GPU slots", swept, one_by_one, 0.35,
               note=f"vs the 8 builds one by one (local backend); each build {BUILD_SECONDS} s"),
        Figure("Slurm executor overhead per job (submit to result)", slurm - local, None, None,
               note=f"a 0-s build: {slurm:.2f} s through Slurm, {local:.2f} s locally; best of 3"),
    ]  # fmt: skip


def _best(call, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run = call()
        times.append(time.perf_counter() - started)
        if not run.ok:
            raise RuntimeError(f"build failed: {run.status}")
    return min(times)
