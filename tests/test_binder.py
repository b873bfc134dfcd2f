"""binder/ builds an environment in which every notebook's imports work.

mybinder.org runs ``pip install -r binder/requirements.txt`` from the repository root. This test
does the same in a fresh virtualenv (no system site-packages), from a copy of the repository, with
one change: the PyTorch CPU index is not reachable here, so its line is dropped and the same pinned
``torch==<version>`` comes from this machine's local wheel folder instead.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CPU_INDEX = "--extra-index-url https://download.pytorch.org/whl/cpu"


def binder_requirements() -> list[str]:
    """The requirement lines of binder/requirements.txt (comments dropped)."""
    lines = (BINDER / "requirements.txt").read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def notebook_imports(path: Path) -> set[tuple[str, str]]:
    """(module, name) pairs imported by a notebook's code cells; name is "" for `import m`."""
    nb = json.loads(path.read_text())
    found: set[tuple[str, str]] = set()
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        if source.lstrip().startswith("%%"):
            source = source.split("\n", 1)[1] if "\n" in source else ""
        # Line magics, shell escapes and `x = %trtexec ...` are IPython syntax, not Python.
        lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
        lines = [ln for ln in lines if "= %" not in ln]
        try:
            tree = ast.parse("\n".join(lines))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update((alias.name, "") for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.update((node.module, alias.name) for alias in node.names)
    return found


def test_requirements_pin_the_cpu_build_of_torch():
    reqs = binder_requirements()
    assert CPU_INDEX in reqs, "Binder must take torch from the PyTorch CPU wheel index"
    torch_pins = [r for r in reqs if r.startswith("torch")]
    assert len(torch_pins) == 1 and torch_pins[0].startswith("torch=="), torch_pins
    assert any(r.startswith(".[") for r in reqs), "the repository itself must be installed"
    assert "graphviz" in (BINDER / "apt.txt").read_text().split()


def test_notebook_imports_are_found():
    """The import scan below sees the notebooks' imports (so the slow test checks something)."""
    assert NOTEBOOKS, "no notebooks in notebooks/"
    imports = set().union(*(notebook_imports(p) for p in NOTEBOOKS))
    top_level = {module.split(".")[0] for module, _ in imports}
    assert {"torch", "trt_magic"} <= top_level, imports


def _copy_repository(dest: Path) -> None:
    """Copy what `pip install .` reads, so the build leaves nothing in the work tree."""
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("trt_magic", "binder"):
        shutil.copytree(ROOT / name, dest / name, ignore=ignore)


@pytest.mark.slow
@pytest.mark.timeout(1800)  # a fresh venv with torch and every extra: minutes on a busy 2-core box
def test_binder_environment_imports_everything_the_notebooks_import(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    _copy_repository(repo)
    reqs = binder_requirements()
    local = [r for r in reqs if r != CPU_INDEX]
    (repo / "binder" / "requirements.txt").write_text("\n".join(local) + "\n")

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(env_dir)
    python = env_dir / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        + ["-r", "binder/requirements.txt"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]

    modules = sorted(set().union(*(notebook_imports(p) for p in NOTEBOOKS)))
    script = (
        "import importlib, sys\n"
        f"for module, name in {modules!r}:\n"
        "    imported = importlib.import_module(module)\n"
        "    if name and not hasattr(imported, name):\n"
        "        importlib.import_module(module + '.' + name)\n"
        "import torch\n"
        "assert torch.version.cuda is None, 'Binder must get the CPU build of torch'\n"
        "import IPython, ipywidgets, netron, onnx, onnxruntime, onnxslim, pandas\n"
        "import jupyter_server_proxy, trt_magic.export, trt_magic.netron\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "shell = InteractiveShell.instance()\n"
        "shell.run_line_magic('load_ext', 'trt_magic')\n"
        "assert 'onnx_export' in shell.magics_manager.magics['cell']\n"
        "print('ok', sys.prefix)\n"
    )
    check = subprocess.run(
        [str(python), "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert check.returncode == 0, check.stdout[-3000:] + check.stderr[-3000:]
    assert f"ok {env_dir}" in check.stdout
