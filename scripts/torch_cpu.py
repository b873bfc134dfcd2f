"""Install a CPU build of PyTorch into this Python (setup.sh runs it with .venv/bin/python).

Usage: python scripts/torch_cpu.py VERSION [--plan]

1. torch VERSION already installed without NVIDIA packages: nothing to do.
2. Ask the configured package indexes (pip's own config: index-url, extra-index-url, find-links)
   what ``torch==VERSION`` resolves to, with ``pip install --dry-run --report``. A build whose
   version says ``+cpu``, or which pulls no ``nvidia-*`` package (macOS, or a CPU mirror), is
   installed from there: PyTorch's CPU index is then never contacted.
3. Otherwise (PyPI on Linux resolves to the CUDA build: gigabytes of cuda/cudnn/nccl wheels):
   ``pip install torch==VERSION --index-url https://download.pytorch.org/whl/cpu``.

It prints which build it installed and from where. ``--plan`` prints what a fresh install would
do (step 1 skipped) and installs nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

CPU_INDEX = "https://download.pytorch.org/whl/cpu"
PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
#: pip warns once per missing page of a local mirror; set-up output stays readable without them
NOISE = ("is ignored: it is neither a file nor a directory",)


def is_cpu_build(version: str, requires: list[str]) -> bool:
    """True for a CPU-only torch: ``+cpu`` in its version, or no ``nvidia-*`` requirement."""
    return "+cpu" in version or not any(r.lower().startswith("nvidia-") for r in requires)


def offered_cpu_build(report: dict) -> str | None:
    """The torch version a pip ``--report`` would install, when it is a CPU build; else None."""
    for item in report["install"]:
        meta = item["metadata"]
        if meta["name"].lower() == "torch":
            ok = is_cpu_build(meta["version"], meta.get("requires_dist") or [])
            return meta["version"] if ok else None
    return None


def installed_cpu_torch(version: str) -> str | None:
    """The installed torch version when it is ``version`` (any local label) and CPU-only."""
    try:
        have = metadata.version("torch")
    except metadata.PackageNotFoundError:
        return None
    same = have.split("+")[0] == version.split("+")[0]
    return have if same and is_cpu_build(have, metadata.requires("torch") or []) else None


def _pip(args: list[str], *, quiet: bool = False) -> subprocess.CompletedProcess:
    done = subprocess.run([*PIP, *args], capture_output=True, text=True)
    for line in [] if quiet else done.stderr.splitlines():
        if not any(n in line for n in NOISE):
            print(line, file=sys.stderr)
    return done


def resolve_offered(version: str) -> str | None:
    """The CPU torch version the configured indexes offer for ``version``, else None."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        done = _pip(
            ["install", "-q", "--dry-run", "--ignore-installed", "--report", str(report),
             f"torch=={version}"],
            quiet=True,  # "not offered here" is an answer, not an error
        )  # fmt: skip
        if done.returncode != 0 or not report.exists():
            return None
        return offered_cpu_build(json.loads(report.read_text()))


def main(argv: list[str]) -> int:
    version, plan = argv[0], "--plan" in argv
    have = None if plan else installed_cpu_torch(version)
    if have:
        print(f"setup: torch {have} (CPU build) already installed")
        return 0
    offered = resolve_offered(version)
    if offered:
        args, where = [f"torch=={offered}"], "the configured package index"
    else:
        args, where = [f"torch=={version}", "--index-url", CPU_INDEX], CPU_INDEX
    if plan:
        print(f"setup: would install {args[0]} (CPU build) from {where}")
        return 0
    if _pip(["install", "-q", *args]).returncode != 0:
        print(f"setup: could not install {args[0]} from {where}", file=sys.stderr)
        return 1
    print(f"setup: installed torch {metadata.version('torch')} (CPU build) from {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
