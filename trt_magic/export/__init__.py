"""ONNX export: ``export_onnx`` and its ``ExportResult``.

The only package of trt_magic that imports torch, and only inside ``_torch`` (imported when an
export runs), so ``import trt_magic.export`` stays light. Modules: ``api`` (export_onnx),
``plan`` (exporter/opset choice), ``spec`` (-i/-d parsing), ``_torch`` (model copy, samples,
torch.onnx.export), ``isolate`` (timeout + NUMA pinning), ``checks`` (checker, parity),
``preflight`` (TensorRT operator tables), ``hints`` (the error catalogue), ``result``.
"""

from __future__ import annotations

from .api import export_onnx
from .result import ExportResult

__all__ = ["ExportResult", "export_onnx"]
