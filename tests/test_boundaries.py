"""Import boundaries: trt_magic and every public module import with the heavy extras absent.

A subprocess hides torch, onnx, onnxruntime, pandas, docker, ipywidgets, netron and matplotlib
(an import hook raises ImportError for them), as on a base install without extras.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import trt_magic

HEAVY = [
    "torch",
    "onnx",
    "onnxruntime",
    "onnxslim",
    "onnxscript",
    "pandas",
    "numpy",
    "docker",
    "ipywidgets",
    "netron",
    "matplotlib",
    "polygraphy",
    "onnxsim",
    "modelopt",
]

BLOCKER = textwrap.dedent(
    f"""
    import importlib.abc, sys, json
    HEAVY = {HEAVY!r}
    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split('.')[0] in HEAVY:
                raise ImportError(f'{{name}} is hidden by test_boundaries')
    sys.meta_path.insert(0, Block())
    """
)


def _run(code: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", BLOCKER + textwrap.dedent(code)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_public_modules_import_without_extras():
    modules = sorted(set(trt_magic._API.values()))
    result = _run(
        f"""
        import importlib
        failed = {{}}
        for m in {modules!r}:
            try:
                importlib.import_module(m)
            except Exception as exc:
                failed[m] = f'{{type(exc).__name__}}: {{exc}}'
        print(json.dumps(failed))
        """
    )
    assert result == {}, f"modules that need an extra just to import: {result}"


def test_load_ext_without_extras():
    result = _run(
        """
        from IPython.testing.globalipapp import start_ipython
        ip = start_ipython()
        ip.run_line_magic('load_ext', 'trt_magic')
        print(json.dumps(sorted(ip.magics_manager.magics['line'])))
        """
    )
    assert "trtexec" in result


def test_missing_extra_names_the_extra():
    from trt_magic.errors import MissingDependency, require

    try:
        require("definitely_not_installed_pkg", "export", "ONNX export")
    except MissingDependency as exc:
        assert "pip install 'trt_magic[export]'" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("require() did not raise")
