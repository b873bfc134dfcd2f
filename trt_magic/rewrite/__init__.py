"""ONNX rewrites before the build, one mechanism for all: ``simplify_onnx`` (trt_magic.simplify),
``cast_onnx`` (FP16/BF16, ModelOpt AutoCast) and ``quantize_onnx`` (INT8/FP8, ModelOpt ONNX PTQ).

Each runs its library in the warm worker process (``isolation``, ``worker``), checks that the
result keeps the model's interface (``step``, ``checks``), shows the operator histogram before and
after (``stats``), and writes atomically (``files``).
"""

from __future__ import annotations

from .api import cast_onnx, quantize_onnx
from .calibration import Calibration, read_calibration
from .preview import PreviewRow
from .result import RewriteResult

__all__ = [
    "Calibration",
    "PreviewRow",
    "RewriteResult",
    "cast_onnx",
    "quantize_onnx",
    "read_calibration",
]
