"""What a cast or quantization did: the files, the settings, the cost, the figures before and
after, the preview, and the nodes kept in FP32 (plain data, shown as text or HTML)."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

from .preview import PreviewRow
from .stats import GraphStats


@dataclass
class RewriteResult:
    """The outcome of :func:`~trt_magic.cast_onnx` or :func:`~trt_magic.quantize_onnx`.

    ``path`` is the rewritten model beside ``source`` (never touched); ``settings`` the keyword
    arguments it was made with; ``kept_fp32`` the nodes AutoCast kept in FP32 and why;
    ``quantized`` the nodes fed by DequantizeLinear; ``seconds`` the whole call, ``rewrite_seconds``
    the library's part in the worker, ``preview_seconds`` the CPU preview's.
    """

    kind: str  # "cast" or "quantize"
    precision: str  # "fp16", "bf16", "int8", "fp8"
    source: Path
    path: Path
    settings: dict
    before: GraphStats
    after: GraphStats
    preview: list[PreviewRow] = field(default_factory=list)
    kept_fp32: dict[str, str] = field(default_factory=dict)
    quantized: list[str] = field(default_factory=list)
    calibration_samples: int | None = None
    seconds: float = 0.0
    rewrite_seconds: float = 0.0
    preview_seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    reused: bool = False  # a build found this rewrite already made with the same settings
    cpu_seconds: float = 0.0  # CPU time without the preview: this process plus the worker

    def op_changes(self) -> list[tuple[str, int, int]]:
        """(op, before, after) for every operator whose count changed, biggest change first."""
        ops = set(self.before.ops) | set(self.after.ops)
        rows = [(op, self.before.ops.get(op, 0), self.after.ops.get(op, 0)) for op in ops]
        return sorted((r for r in rows if r[1] != r[2]), key=lambda r: (-abs(r[1] - r[2]), r[0]))

    def call(self) -> str:
        """The Python call that makes this file again."""
        fn = "cast_onnx" if self.kind == "cast" else "quantize_onnx"
        data = ", calibration" if self.kind == "quantize" else ""
        extra = "".join(f", {k}={v!r}" for k, v in self.settings.items() if v is not None)
        return f"{fn}({str(self.source)!r}{data}, {self.precision!r}{extra})"

    def summary(self) -> str:
        """One line for a Run's notes: what was rewritten, where, with which settings, cost."""
        how = "reused" if self.reused else f"{self.seconds:.1f} s"
        worst = self.worst()
        err = f", preview max abs err {worst.max_abs:.3g}" if worst else ""
        return f"{self.call()} -> {self.path} ({how}{err})"

    def worst(self) -> PreviewRow | None:
        return max(self.preview, key=lambda r: r.max_abs) if self.preview else None

    def __repr__(self) -> str:
        lines = [f"RewriteResult({self.kind} {self.precision}: {str(self.path)!r})",
                 f"  made by:  {self.call()}",
                 f"  nodes:    {self.before.nodes} -> {self.after.nodes}",
                 f"  time:     {self.seconds:.2f} s (rewrite {self.rewrite_seconds:.2f} s, "
                 f"preview {self.preview_seconds:.2f} s)"]  # fmt: skip
        changes = ", ".join(f"{op} {a}->{b}" for op, a, b in self.op_changes()[:8])
        lines += [f"  ops:      {changes}"] if changes else []
        if self.kind == "quantize":
            lines.append(f"  quantized: {len(self.quantized)} node(s)")
        if self.kept_fp32:
            lines.append(f"  kept FP32: {len(self.kept_fp32)} node(s)")
            lines += [f"    {n}: {why}" for n, why in list(self.kept_fp32.items())[:10]]
        for r in self.preview:
            top = "" if r.top1_agreement is None else f", top-1 agrees {r.top1_agreement:.1%}"
            lines.append(f"  preview {r.output} on {r.samples}: max abs {r.max_abs:.3g}, "
                         f"mean abs {r.mean_abs:.3g}{top}{' ' + r.note if r.note else ''}")  # fmt: skip
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        e = html.escape
        ops = "".join(f"<tr><td>{e(op)}</td><td>{a}</td><td>{b}</td></tr>"
                      for op, a, b in self.op_changes())  # fmt: skip
        kept = "".join(
            f"<tr><td>{e(n)}</td><td>{e(w)}</td></tr>" for n, w in self.kept_fp32.items()
        )
        prev = "".join(
            f"<tr><td>{e(r.samples)}</td><td>{e(r.output)}</td><td>{r.max_abs:.3g}</td>"
            f"<td>{r.mean_abs:.3g}</td><td>"
            f"{'' if r.top1_agreement is None else f'{r.top1_agreement:.1%}'}</td>"
            f"<td>{e(r.note)}</td></tr>"
            for r in self.preview
        )
        warn = "".join(f"<p>&#9888; {e(w)}</p>" for w in self.warnings)
        return (
            f"<div class='trt-magic-rewrite'><b>{e(self.kind)} to {e(self.precision)}</b>"
            f"<p><code>{e(str(self.path))}</code> &larr; <code>{e(self.call())}</code> "
            f"({self.seconds:.2f} s)</p>"
            f"<table><tr><th>op</th><th>before</th><th>after</th></tr>{ops}</table>"
            + (f"<table><tr><th>kept in FP32</th><th>why</th></tr>{kept}</table>" if kept else "")
            + ("<table><tr><th>samples</th><th>output</th><th>max abs</th><th>mean abs</th>"
               f"<th>top-1 agrees</th><th></th></tr>{prev}</table>" if prev else "")
            + f"{warn}</div>"
        )  # fmt: skip
