"""The TensorRT pre-flight: which operators of the graph the target TensorRT cannot parse, or
parses only with restrictions, from the ONNX-TensorRT operator tables (``trt_magic.tensorrt``).

Stdlib only: it reads an operator histogram, not the graph.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import tensorrt


@dataclass(frozen=True)
class Finding:
    """One pre-flight finding."""

    op: str
    count: int
    level: str  # "unsupported" | "restricted" | "unknown" | "custom" | "opset"
    message: str

    def __str__(self) -> str:
        return f"[{self.level}] {self.message}"


def preflight(histogram: dict[str, int], trt_version: str | None, opset: int) -> list[Finding]:
    """Findings for ``histogram`` (operator -> count) against ``trt_version``'s table and cap."""
    table = tensorrt.operator_table_for(trt_version)
    support = tensorrt.operator_support(trt_version)
    label = f"TensorRT {trt_version}" if trt_version else f"TensorRT (unknown; {table})"
    findings: list[Finding] = []
    cap = tensorrt.max_opset(trt_version)
    if opset > cap:
        findings.append(
            Finding("", 0, "opset", f"the graph is opset {opset}; {label} parses up to {cap}")
        )
    for op, count in sorted(histogram.items()):
        findings.extend(_finding(op, count, support.get(op), label, table))
    return findings


def _finding(op: str, count: int, row, label: str, table: str) -> list[Finding]:
    times = f"{op} (x{count})"
    if "::" in op:
        return [Finding(op, count, "custom", f"{times}: custom domain; needs a TensorRT plugin")]
    if row is None:
        return [Finding(op, count, "unknown", f"{times} is not in the {label} operator table")]
    if not row.supported:
        return [Finding(op, count, "unsupported", f"{times}: not supported by {label}")]
    if row.restrictions:
        return [Finding(op, count, "restricted", f"{times}: {row.restrictions}")]
    return []
