"""%load_ext trt_magic: magics registered, no heavy import, unload/reload work."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ["torch", "onnx", "onnxruntime", "pandas", "docker", "ipywidgets", "netron", "matplotlib"]


def test_load_ext_imports_no_heavy_module():
    code = (
        "import sys, json\n"
        "from IPython.testing.globalipapp import start_ipython\n"
        "ip = start_ipython()\n"
        "before = set(sys.modules)\n"
        "ip.run_line_magic('load_ext', 'trt_magic')\n"
        "print(json.dumps({'new': sorted(set(sys.modules) - before),"
        " 'line': sorted(ip.magics_manager.magics['line']),"
        " 'cell': sorted(ip.magics_manager.magics['cell'])}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    heavy = [m for m in result["new"] if m.split(".")[0] in HEAVY]
    assert heavy == [], f"%load_ext imported heavy modules: {heavy}"
    assert "trt_magic.magics" in result["new"]
    for name in ("trtexec", "trt_profile", "netron", "onnx_simplify"):
        assert name in result["line"]
    assert "onnx_export" in result["cell"]


def test_unload_and_reload(ipython_shell):
    ip = ipython_shell
    assert "trtexec" in ip.magics_manager.magics["line"]
    ip.run_line_magic("unload_ext", "trt_magic")
    assert "trtexec" not in ip.magics_manager.magics["line"]
    assert "onnx_export" not in ip.magics_manager.magics["cell"]
    ip.run_line_magic("load_ext", "trt_magic")
    ip.run_line_magic("reload_ext", "trt_magic")
    assert "trtexec" in ip.magics_manager.magics["line"]
    assert sum(type(c).__name__ == "TrtMagic" for c in ip.configurables) == 1


def test_magic_help_is_real(ipython_shell):
    magic = ipython_shell.find_line_magic("trtexec")
    assert magic.__doc__ and "trtexec" in magic.__doc__
    cell = ipython_shell.find_cell_magic("onnx_export")
    assert cell.__doc__ and "ONNX" in cell.__doc__


def test_public_api_resolves():
    import trt_magic

    assert sorted(trt_magic._API) == sorted(n for n in trt_magic.__all__ if n in trt_magic._API)
    assert len(trt_magic._API) == len(trt_magic.__all__) - 3

    for name in trt_magic.__all__:
        if name.startswith("__"):
            continue
        assert getattr(trt_magic, name) is not None, name


def test_no_submodule_shadows_a_public_name():
    """Importing a submodule sets it as a package attribute; none may share a public API name."""
    import importlib
    import pkgutil

    import trt_magic

    for info in pkgutil.walk_packages(trt_magic.__path__, "trt_magic."):
        if info.name.endswith(".worker"):
            continue
        importlib.import_module(info.name)
    for name in trt_magic._API:
        value = getattr(trt_magic, name)
        assert not isinstance(value, type(trt_magic)), f"trt_magic.{name} is a module"
