"""ONNX clean-up before the build: fold constants, simplify, and show what changed.

``simplify_onnx(path)`` runs a well-kept library (onnxslim, Polygraphy's constant folding, or
onnxsim, each an optional extra) in a worker process, checks that the result keeps the model's
interface and computes the same numbers as the original with onnxruntime, and only then moves it
into place. Modules: ``api`` (the function), ``methods`` (the registry), ``isolation`` (the
worker that a hang or crash can be abandoned with), ``worker`` (the child side), ``checks``
(interface, parity, paths), ``result`` (``SimplifyResult``).
"""

from __future__ import annotations

from .api import simplify_onnx
from .methods import AUTO_ORDER, METHODS, Method, register_method
from .result import Attempt, GraphStats, OutputParity, SimplifyResult, TensorSpec

__all__ = [
    "AUTO_ORDER",
    "METHODS",
    "Attempt",
    "GraphStats",
    "Method",
    "OutputParity",
    "SimplifyResult",
    "TensorSpec",
    "register_method",
    "simplify_onnx",
]
