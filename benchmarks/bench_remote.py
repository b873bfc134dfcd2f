"""``trtexec()`` over ``ssh://`` on loopback against the same run on the local socket.

The ssh host is scripts/remote_up.sh's sshd (user ``tester`` of the docker group, alias
``trt-magic-gpu-box``) in front of this machine's own Docker engine, so the difference is the
ssh path alone: the first call's probe and forward, then copies through the archive API instead
of bind mounts. The build is the test image's fake trtexec (0 s). Figures: a warm call over ssh
vs the local socket (ratio, and the per-call overhead in seconds), the first call of a kernel
(probe + forward), and a verified engine-cache hit over ssh (target <= 0.3 s).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.figure import Figure

HOST = "ssh://trt-magic-gpu-box"


def run() -> list[Figure]:
    tests = Path(__file__).resolve().parent.parent / "tests"
    sys.path.insert(0, str(tests))
    import docker
    from docker_image import build_test_image

    import trt_magic.runners.docker as docker_runner
    from trt_magic.config import get_settings
    from trt_magic.runners import trtexec

    image = build_test_image(docker.from_env())
    settings = get_settings()
    with tempfile.TemporaryDirectory(prefix="bench_remote-") as tmp:
        tmp = Path(tmp)
        settings.cache_dir, settings.gpus, settings.backend = str(tmp / "cache"), "none", "docker"
        (tmp / "model.onnx").write_bytes(os.urandom(64 << 10))
        onnx = tmp / "model.onnx"

        def build(host, name, cache=False):
            args = [f"--onnx={onnx}", f"--saveEngine={tmp / name / 'e.plan'}"]
            started = time.perf_counter()
            r = trtexec(args, image=image, docker_host=host, display=False, cache=cache)
            if r.status != "passed":
                raise RuntimeError(f"build on {host} failed: {r.status}")
            return time.perf_counter() - started, r

        docker_runner._clients.pop(HOST, None)
        first, _ = build(HOST, "first")
        local = min(build(None, f"l{i}")[0] for i in range(3))
        over_ssh = min(build(HOST, f"s{i}")[0] for i in range(3))
        build(HOST, "cached", cache=True)
        hit, run = build(HOST, "cached", cache=True)
        if not run.cached:
            raise RuntimeError("the second cached build was not a cache hit")
    return [
        Figure("trtexec() over ssh:// (warm) vs the local socket", over_ssh, local, None,
               note=f"per-call overhead {over_ssh - local:.2f} s (copies instead of bind mounts); best of 3"),
        Figure("first trtexec() of a kernel over ssh:// (probe + forward)", first, local, None,
               note="one ssh probe and one ssh -N -L forward per host and kernel"),
        Figure("engine-cache hit over ssh://", hit, 0.3, 1.0, note="target <= 0.3 s"),
    ]  # fmt: skip
