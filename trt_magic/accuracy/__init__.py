"""Is the engine still right? Compare a TensorRT engine's outputs with ONNX Runtime's.

The inputs are made inside the engine's shape profile (random, or the user's tensors); ONNX
Runtime runs the ONNX model on the host as the reference; the engine runs through trtexec
(``--loadInputs``, ``--exportOutput``) with the same backend, image, Docker host and GPUs as the
run that built it. Each output gets max abs/rel error, the share of elements out of tolerance
(``|engine - ref| > atol + rtol * |ref|``, the ``l0`` loss of trtexec's own accuracy check), a
verdict, and optionally an error histogram. FP16 overflow is explained when the reference holds
values past FP16's range.

Modules: inputs.py (inputs inside the profile, ONNX Runtime reference), export_output.py (trtexec's
``--exportOutput`` file), report.py (comparison rules, report, HTML). numpy, onnx and onnxruntime
are imported inside the functions that use them.
"""

from __future__ import annotations

from .check import check_accuracy, input_io_types
from .export_output import read_export_output
from .inputs import (
    TensorSpec,
    check_user_inputs,
    choose_shapes,
    make_inputs,
    onnx_inputs,
    profile_from_args,
    reference_outputs,
)
from .report import (
    FP16_MAX,
    HIST_EDGES,
    AccuracyReport,
    OutputAccuracy,
    build_report,
    compare_output,
    error_histogram,
    render_report_html,
)

__all__ = [
    "FP16_MAX",
    "HIST_EDGES",
    "AccuracyReport",
    "OutputAccuracy",
    "TensorSpec",
    "build_report",
    "check_accuracy",
    "check_user_inputs",
    "choose_shapes",
    "compare_output",
    "error_histogram",
    "input_io_types",
    "make_inputs",
    "onnx_inputs",
    "profile_from_args",
    "read_export_output",
    "reference_outputs",
    "render_report_html",
]
