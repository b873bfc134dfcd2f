#!/usr/bin/env python3
"""The batch script of a trt_magic Slurm job: start trtexec on the node, no shell in between.

sbatch copies this file into the job and runs it with the node's ``python3`` (standard library
only: the node needs no trt_magic). Its arguments say how trtexec runs there, then ``--``, then
trtexec's own arguments (host paths on the shared filesystem)::

    slurm_job.py --mode MODE [--trtexec PATH] [--module NAME]... [--container IMAGE]
                 [--ro PATH]... [--rw DIR]... -- TRTEXEC_ARGS...

Modes: ``pyxis`` (``srun --container-image`` through NVIDIA's pyxis plugin; the image given as
an enroot URI, ``nvcr.io#nvidia/tensorrt:25.01-py3``), ``local`` (a trtexec on the node: a path,
or a name on PATH after ``module load``), ``docker`` (the node's Docker, with the GPUs Slurm gave
the job) and ``auto`` (local when the node has the trtexec, else docker when an image is given).
Inputs are mounted read-only and only the output folders writable in the container modes.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys

MODES = ("auto", "local", "pyxis", "docker")
MODULE_NAME = re.compile(r"^[A-Za-z0-9._/+-]+$")
#: loads environment modules, then runs the command given as its arguments (never interpolated)
MODULE_LOADER = 'for m in $TRT_MAGIC_MODULES; do module load "$m" || exit 97; done; exec "$@"'


def enroot_uri(image: str) -> str:
    """``nvcr.io/nvidia/tensorrt:25.01-py3`` -> ``nvcr.io#nvidia/tensorrt:25.01-py3`` (pyxis)."""
    if "#" in image or image.startswith(("/", "./")):
        return image  # already an enroot URI, or a squashfs file
    first, _, rest = image.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return f"{first}#{rest}"
    return image


def node_command(
    mode: str,
    args: list[str],
    *,
    trtexec: str = "trtexec",
    modules: list[str] | None = None,
    container: str = "",
    ro: list[str] | None = None,
    rw: list[str] | None = None,
    env: dict[str, str] | None = None,
    which=shutil.which,
) -> list[str]:
    """The argv that runs trtexec with ``args`` on this node in ``mode`` (see the docstring)."""
    env = dict(os.environ) if env is None else env
    ro, rw, modules = ro or [], rw or [], modules or []
    if mode == "auto":
        if modules or which(trtexec) or not container:
            mode = "local"
        else:
            mode = "docker"
    if mode == "local":
        if modules:
            bad = [m for m in modules if not MODULE_NAME.match(m)]
            if bad:
                raise ValueError(f"module name(s) {bad} have characters a module name cannot have")
            return ["bash", "-lc", MODULE_LOADER, "trt_magic-job", trtexec, *args]
        return [trtexec, *args]
    if not container:
        raise ValueError(f"mode {mode} needs a container image")
    if mode == "pyxis":
        mounts = [f"{p}:{p}:ro" for p in ro] + [f"{d}:{d}" for d in rw]
        cmd = ["srun", "--ntasks=1", f"--container-image={enroot_uri(container)}"]
        if mounts:
            cmd.append("--container-mounts=" + ",".join(mounts))
        cmd += ["--no-container-mount-home", f"--container-workdir={os.getcwd()}"]
        return [*cmd, trtexec, *args]
    if mode == "docker":
        gpus = env.get("CUDA_VISIBLE_DEVICES") or env.get("SLURM_JOB_GPUS") or ""
        cmd = [
            "docker",
            "run",
            "--rm",
            "--init",
            f"--name=trt_magic-slurm-{env.get('SLURM_JOB_ID', 'x')}",
        ]
        if gpus:
            cmd.append(f"--gpus=device={gpus}")
        cmd += ["--user", f"{os.getuid()}:{os.getgid()}", f"--workdir={os.getcwd()}"]
        for p in ro:
            cmd += ["--mount", f"type=bind,source={p},target={p},readonly"]
        for d in rw:
            cmd += ["--mount", f"type=bind,source={d},target={d}"]
        return [*cmd, container, trtexec, *args]
    raise ValueError(f"mode {mode!r} is not one of {', '.join(MODES)}")


def parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    if "--" not in argv:
        raise SystemExit("trt_magic slurm job: no '--' before trtexec's arguments")
    cut = argv.index("--")
    p = argparse.ArgumentParser(prog="trt_magic-slurm-job")
    p.add_argument("--mode", choices=MODES, default="auto")
    p.add_argument("--trtexec", default="trtexec")
    p.add_argument("--module", action="append", default=[])
    p.add_argument("--container", default="")
    p.add_argument("--ro", action="append", default=[])
    p.add_argument("--rw", action="append", default=[])
    return p.parse_args(argv[:cut]), argv[cut + 1 :]


def main(argv: list[str] | None = None) -> None:
    ns, args = parse(sys.argv[1:] if argv is None else argv)
    try:
        cmd = node_command(ns.mode, args, trtexec=ns.trtexec, modules=ns.module,
                           container=ns.container, ro=ns.ro, rw=ns.rw)  # fmt: skip
    except ValueError as exc:
        print(f"trt_magic slurm job: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(126) from None
    if ns.module:
        os.environ["TRT_MAGIC_MODULES"] = " ".join(ns.module)
    sys.stdout.flush()
    try:
        os.execvp(cmd[0], cmd)
    except OSError as exc:
        print(f"trt_magic slurm job: cannot run {cmd[0]} on {os.uname().nodename}: {exc}",
              file=sys.stderr, flush=True)  # fmt: skip
        raise SystemExit(127) from None


if __name__ == "__main__":
    main()
