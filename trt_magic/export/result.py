"""``ExportResult``: what an export produced, with a plain repr and a compact HTML view."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .checks import Parity, TensorSig
from .preflight import Finding


@dataclass
class ExportResult:
    """The ONNX file an export wrote and what is known about it."""

    path: Path
    size: int
    exporter: str
    opset: int
    inputs: list[TensorSig]
    outputs: list[TensorSig]
    op_histogram: dict[str, int]
    parity: list[Parity] = field(default_factory=list)
    preflight: list[Finding] = field(default_factory=list)
    sample_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    simplify: Any = None  # a trt_magic.simplify.SimplifyResult, or None
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # the choices made, and why
    trt_version: str | None = None
    external_data: bool = False
    data_file: Path | None = None  # <name>.onnx.data beside the model, when it has one
    data_size: int = 0
    #: dynamic dim name -> (min, max) it may take (None: unbounded); the profile editor's range
    dim_ranges: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)
    #: what the exporter printed and logged (progress lines, W-lines), kept off the cell
    log: str = field(default="", repr=False)

    @property
    def ok(self) -> bool:
        """Parity held on every sample (True when it was not checked)."""
        return all(p.ok for p in self.parity)

    @property
    def export_time(self) -> float:
        return self.timings.get("export", 0.0)

    @property
    def nodes(self) -> int:
        return sum(self.op_histogram.values())

    def __repr__(self) -> str:
        lines = [
            f"ExportResult({self.path}, {_size(self.size)}, {self.exporter}, opset {self.opset}, "
            f"{self.nodes} nodes{self._data_text()})",
            "  inputs:  " + "; ".join(map(str, self.inputs)),
            "  outputs: " + "; ".join(map(str, self.outputs)),
            "  ops:     " + ", ".join(f"{k} {v}" for k, v in list(self.op_histogram.items())[:12]),
        ]
        lines += [f"  parity:  {p}" for p in self.parity]
        lines += [f"  preflight: {f}" for f in self.preflight]
        if self.simplify is not None:
            lines.append(f"  simplify: {_one_line(self.simplify)}")
        lines += [f"  note: {n}" for n in self.notes]
        lines += [f"  warning: {w}" for w in self.warnings]
        lines.append("  time: " + ", ".join(f"{k} {v:.2f} s" for k, v in self.timings.items()))
        return "\n".join(lines)

    def _data_text(self) -> str:
        if self.data_file is None:
            return ", external data" if self.external_data else ""
        return f", external data {self.data_file.name} {_size(self.data_size)}"

    def _repr_html_(self) -> str:
        e = html.escape
        status = "parity ok" if self.ok else "PARITY FAILED"
        color = "#1a7f37" if self.ok else "#cf222e"
        rows = [
            ("file", f"<code>{e(str(self.path))}</code> ({_size(self.size)}"
             f"{e(self._data_text())})"),
            ("exporter", f"{e(self.exporter)}, opset {self.opset}"
             + (f", for TensorRT {e(self.trt_version)}" if self.trt_version else "")),
            ("inputs", "<br>".join(e(str(s)) for s in self.inputs)),
            ("outputs", "<br>".join(e(str(s)) for s in self.outputs)),
            ("operators", f"{self.nodes} nodes: " + e(", ".join(
                f"{k} {v}" for k, v in list(self.op_histogram.items())[:10]))
             + (" …" if len(self.op_histogram) > 10 else "")),
            ("parity", "<br>".join(e(str(p)) for p in self.parity) or "not checked"),
        ]  # fmt: skip
        if self.preflight:
            rows.append(("pre-flight", "<br>".join(e(str(f)) for f in self.preflight[:8])))
        if self.simplify is not None:
            rows.append(("simplify", e(_one_line(self.simplify))))
        for label, items in (("notes", self.notes), ("warnings", self.warnings)):
            if items:
                rows.append((label, "<br>".join(e(i) for i in items)))
        rows.append(("time", e(", ".join(f"{k} {v:.2f} s" for k, v in self.timings.items()))))
        body = "".join(
            f"<tr><th style='text-align:left;vertical-align:top'>{k}</th>"
            f"<td style='text-align:left'>{v}</td></tr>"
            for k, v in rows
        )
        head = f"<b>ONNX export</b> <span style='color:{color}'>{status}</span>"
        return f"<div class='trt-magic-export'>{head}<table>{body}</table></div>"


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def _one_line(obj) -> str:
    summary = getattr(obj, "summary", None)  # SimplifyResult.summary(): not its repr
    if callable(summary):
        return str(summary())
    text = repr(obj).strip().splitlines()
    return text[0] if text else ""
