"""Figures of an ONNX file and of a comparison, shared by every rewrite (simplify, cast,
quantize): plain data built from what the worker process reports (no onnx import)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TensorSpec:
    """One graph input or output: name, numpy dtype name, dims (int, symbolic str, or None)."""

    name: str
    dtype: str
    shape: tuple[int | str | None, ...] | None

    @classmethod
    def from_dict(cls, d: dict) -> TensorSpec:
        shape = None if d["shape"] is None else tuple(d["shape"])
        return cls(d["name"], d["dtype"], shape)

    def __str__(self) -> str:
        dims = (
            "?"
            if self.shape is None
            else "x".join("?" if s is None else str(s) for s in self.shape)
        )
        return f"{self.name}: {self.dtype}[{dims}]"


@dataclass(frozen=True)
class GraphStats:
    """Figures of one ONNX file: node count and operator histogram (sub-graphs included)."""

    nodes: int
    ops: dict[str, int]
    initializers: int
    size: int  # bytes on disk
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    opset: int | None = None

    @classmethod
    def from_report(cls, d: dict, size: int) -> GraphStats:
        return cls(
            nodes=d["nodes"],
            ops=dict(d["ops"]),
            initializers=d["initializers"],
            size=size,
            inputs=tuple(TensorSpec.from_dict(t) for t in d["inputs"]),
            outputs=tuple(TensorSpec.from_dict(t) for t in d["outputs"]),
            opset=d.get("opset"),
        )


@dataclass(frozen=True)
class OutputParity:
    """onnxruntime on the original vs the result for one output on one sample."""

    sample: str  # e.g. "batch=1" or "sample 0"
    output: str
    max_abs: float
    max_rel: float
    ok: bool
    note: str = ""
