"""The TensorRT pre-flight: which operators of the graph the target TensorRT cannot parse, or
parses only with restrictions, from the ONNX-TensorRT operator tables (``trt_magic.tensorrt``).

Stdlib only: it reads an operator histogram, not the graph.
"""

from __future__ import annotations

import re
from collections.abc import Callable
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


def preflight(
    histogram: dict[str, int], trt_version: str | None, opset: int, model=None
) -> list[Finding]:
    """Findings for ``histogram`` (operator -> count) against ``trt_version``'s table and cap.

    With ``model`` (an ONNX ModelProto; weights not needed), a restriction the graph can be
    checked against ("`axes` must be an initializer") is reported only for the nodes that
    break it; without it, every restricted operator is listed.
    """
    support = tensorrt.operator_support(trt_version)
    unknown = f"TensorRT (unknown; {tensorrt.operator_table_for(None)})"
    label = f"TensorRT {trt_version}" if trt_version else unknown
    findings: list[Finding] = []
    cap = tensorrt.max_opset(trt_version)
    if opset > cap:
        findings.append(
            Finding("", 0, "opset", f"the graph is opset {opset}; {label} parses up to {cap}")
        )
    held = _const_check(model)
    for op, count in sorted(histogram.items()):
        found = _finding(op, count, support.get(op), label)
        if held and found and found[0].level == "restricted":
            broken = _broken(op, support[op].restrictions, held, opset)
            if broken is not None:
                found = [] if broken == 0 else [_restricted(op, broken, support[op].restrictions)]
        findings.extend(found)
    return findings


#: operator input that a "`NAME` must be an initializer / a constant tensor" restriction of the
#: shipped tables names (ONNX operator specs: Slice(data, starts, ends, axes, steps),
#: Squeeze/Unsqueeze(data, axes) from opset 13 (an attribute before), CumSum(x, axis),
#: Pad(data, pads, constant_value, axes))
INPUT_INDEX = {
    ("Slice", "axes"): 3, ("Squeeze", "axes"): 1, ("Unsqueeze", "axes"): 1, ("CumSum", "axis"): 1,
    ("Pad", "axes"): 3,
}  # fmt: skip
_CONST_RULE = re.compile(r"`(\w+)` must be (?:an initializer|a constant)")


def _const_check(model) -> Callable | None:
    """For a graph: (op, input index) -> number of nodes whose input there is not constant."""
    if model is None:
        return None
    graph = model.graph
    constant = {i.name for i in graph.initializer}
    constant |= {o for n in graph.node if n.op_type == "Constant" for o in n.output}

    def count(op: str, index: int) -> int:
        nodes = [n for n in graph.node if n.op_type == op and n.domain in ("", "ai.onnx")]
        return sum(
            1 for n in nodes if len(n.input) > index and n.input[index] and n.input[index]
            not in constant
        )  # fmt: skip

    return count


def _broken(op: str, restriction: str, count: Callable, opset: int) -> int | None:
    """Nodes of ``op`` that break a checkable restriction; None when it cannot be checked."""
    m = _CONST_RULE.search(restriction)
    if not m or (op, m.group(1)) not in INPUT_INDEX:
        return None
    if op in ("Squeeze", "Unsqueeze") and opset < 13:
        return 0  # axes is an attribute: constant by construction
    return count(op, INPUT_INDEX[(op, m.group(1))])


def _restricted(op: str, broken: int, restriction: str) -> Finding:
    return Finding(op, broken, "restricted", f"{op} (x{broken} breaking it): {restriction}")


def _finding(op: str, count: int, row, label: str) -> list[Finding]:
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
