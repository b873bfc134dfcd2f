"""scripts/: the CPU build of torch (torch_cpu.py), and quickstart.sh's JupyterLab command."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _torch_cpu():
    spec = importlib.util.spec_from_file_location("torch_cpu", ROOT / "scripts" / "torch_cpu.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "version, requires, cpu",
    [
        ("2.13.0+cpu", ["filelock", "sympy>=1.13.3"], True),
        ("2.13.0", ["filelock", "sympy>=1.13.3"], True),  # macOS from PyPI: no CUDA at all
        ("2.13.0", ["filelock", 'nvidia-cublas-cu12; platform_system == "Linux"'], False),
        ("2.13.0+cu128", ['nvidia-cudnn-cu12; platform_system == "Linux"'], False),
    ],
)
def test_cpu_build_rule(version, requires, cpu):
    assert _torch_cpu().is_cpu_build(version, requires) is cpu


def test_plan_uses_the_cpu_build_the_configured_index_offers():
    """On these machines pip's configured indexes offer torch 2.13.0+cpu: no other host is asked."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "torch_cpu.py"), "2.13.0", "--plan"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "torch==2.13.0+cpu (CPU build) from the configured package index" in done.stdout
    assert "download.pytorch.org" not in done.stdout + done.stderr
    assert "is ignored" not in done.stderr  # the local mirror's noise is filtered


def _fake_checkout(tmp_path: Path) -> Path:
    """scripts/quickstart.sh beside stubs of setup.sh and .venv/bin/{jupyter,python}."""
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "quickstart.sh").write_bytes(
        (ROOT / "scripts" / "quickstart.sh").read_bytes()
    )
    (tmp_path / "scripts" / "setup.sh").write_text("exit 0\n")
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("jupyter", "python"):
        stub = bin_dir / name
        stub.write_text('#!/bin/sh\necho "ran: $0 $*"\n')
        stub.chmod(0o755)
    return tmp_path


@pytest.mark.parametrize("args", [["--lab"], []])
def test_quickstart_lab_command_works_as_root(tmp_path, args):
    repo = _fake_checkout(tmp_path)
    done = subprocess.run(
        ["bash", str(repo / "scripts" / "quickstart.sh"), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lab = [ln for ln in done.stdout.splitlines() if "jupyter lab" in ln]
    assert lab, done.stdout
    assert ("--allow-root" in lab[-1]) == (os.getuid() == 0), lab
