"""The registry of clean-up methods, and the three built in (onnxslim, polygraphy, onnxsim).

A method is a module-level function ``fn(model: onnx.ModelProto) -> onnx.ModelProto``, named in
the registry by its import path (``"module:function"``) because it runs in a worker process
(see ``isolation.py``) that imports it there. Register your own with :func:`register_method`;
the tests register deliberately broken methods this way. Importing this module imports nothing
heavy: the built-in functions import their library when they run.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..errors import MissingDependency, UsageError


@dataclass(frozen=True)
class Method:
    """A clean-up method: ``target`` is ``"module:function"``; ``requires`` top-level modules."""

    name: str
    target: str
    requires: tuple[str, ...] = ()
    extra: str | None = None  # the pip extra that installs it
    description: str = ""

    def missing(self) -> str | None:
        """The first required module that is not installed, or None (finds, never imports)."""
        for module in self.requires:
            try:
                if importlib.util.find_spec(module) is None:
                    return module
            except (ImportError, ValueError):  # a parent package missing, or __spec__ None
                return module
        return None


#: name -> Method. ``auto`` tries the entries of AUTO_ORDER that are installed, in order.
METHODS: dict[str, Method] = {}
AUTO_ORDER = ["onnxslim", "polygraphy", "onnxsim"]


def register_method(
    name: str,
    fn: Callable | str,
    *,
    requires: Sequence[str] = (),
    extra: str | None = None,
    description: str = "",
) -> Method:
    """Add (or replace) a clean-up method; ``fn`` is a module-level function or its import path.

    Raises:
        UsageError: ``fn`` is a lambda or a nested function, which the worker cannot import.
    """
    if callable(fn):
        qualname = getattr(fn, "__qualname__", "")
        if "<" in qualname or not getattr(fn, "__module__", None):
            raise UsageError(
                f"simplify method {name!r} must be a module-level function",
                hint="it runs in a worker process that imports it by name; define it at the "
                "top level of an importable module",
            )
        fn = f"{fn.__module__}:{qualname}"
    method = Method(name, fn, tuple(requires), extra, description)
    METHODS[name] = method
    return method


def resolve_methods(method: str | Sequence[str]) -> tuple[list[Method], list[str]]:
    """The methods to try, in order, and the names skipped because they are not installed.

    ``"auto"``: the installed entries of AUTO_ORDER. A name, a comma-separated list or a
    sequence: exactly those (a missing one raises, so a typo or absent extra is never silent).
    """
    if method == "auto":
        chosen = [METHODS[n] for n in AUTO_ORDER if n in METHODS]
        usable = [m for m in chosen if m.missing() is None]
        if not usable:
            first = chosen[0]
            raise MissingDependency(first.requires[0], first.extra or "simplify", "ONNX clean-up")
        return usable, [m.name for m in chosen if m.missing() is not None]
    names = [n.strip() for n in method.split(",")] if isinstance(method, str) else list(method)
    methods = []
    for n in names:
        if n not in METHODS:
            known = ", ".join(["auto", *METHODS])
            raise UsageError(f"unknown simplify method {n!r}", hint=f"use one of: {known}")
        absent = METHODS[n].missing()
        if absent is not None:
            raise MissingDependency(
                absent, METHODS[n].extra or "simplify", f"simplify method {n!r}"
            )
        methods.append(METHODS[n])
    if not methods:
        raise UsageError("no simplify method given", hint="use method='auto'")
    return methods, []


# ---- the built-in methods (run inside the worker process) -------------------------------------


def run_onnxslim(model):
    """onnxslim: constant folding, dead-node removal, shape-op folding and fusions (pure Python)."""
    import onnxslim

    return onnxslim.slim(model)


def run_polygraphy(model):
    """Polygraphy's ``surgeon sanitize --fold-constants``: folding evaluated by onnxruntime."""
    from polygraphy.backend.onnx import fold_constants

    return fold_constants(model, num_passes=None, do_shape_inference=True, fold_shapes=True)


def run_onnxsim(model):
    """onnxsim: onnx-optimizer passes and constant folding (C++); its own check is ours to do."""
    import onnxsim

    simplified, _ = onnxsim.simplify(model, check_n=0)
    return simplified


register_method(
    "onnxslim",
    run_onnxslim,
    requires=["onnxslim", "onnx"],
    extra="simplify",
    description="onnxslim (pure Python)",
)
register_method(
    "polygraphy",
    run_polygraphy,
    requires=["polygraphy", "onnx_graphsurgeon", "onnxruntime", "onnx"],
    extra="polygraphy",
    description="Polygraphy sanitize --fold-constants (onnxruntime)",
)
register_method(
    "onnxsim",
    run_onnxsim,
    requires=["onnxsim", "onnx"],
    extra="onnxsim",
    description="onnx-simplifier",
)
