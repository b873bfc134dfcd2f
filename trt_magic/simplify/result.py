"""What a clean-up did: graph figures before/after, parity per output, and each method tried.

Plain data (no onnx import) so a result can be built from what the worker process reports, shown
as text (``repr``) or as a compact HTML table (``_repr_html_``) in a notebook.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

from ..rewrite.stats import GraphStats, OutputParity, TensorSpec

__all__ = ["Attempt", "GraphStats", "OutputParity", "SimplifyResult", "TensorSpec"]


@dataclass(frozen=True)
class Attempt:
    """One method tried: outcome is ok, missing, crashed, timeout, failed, interface or parity."""

    method: str
    outcome: str
    message: str = ""
    seconds: float = 0.0

    def __str__(self) -> str:
        text = f"{self.method}: {self.outcome}"
        return text + (f" ({self.message})" if self.message else "")


@dataclass
class SimplifyResult:
    """The outcome of :func:`trt_magic.simplify_onnx`.

    ``path`` is the simplified file (``source`` is never touched unless ``path == source``);
    ``method`` the method whose output was kept; ``attempts`` every method tried, in order, so
    a fallback is visible; ``parity`` is empty when ``check=False``.
    """

    source: Path
    path: Path
    method: str
    requested: str
    before: GraphStats
    after: GraphStats
    parity: list[OutputParity] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    seconds: float = 0.0  # wall time of the whole call
    method_seconds: float = 0.0  # load + method + save in the worker
    check_seconds: float = 0.0
    cpu_seconds: float = 0.0  # CPU time: this process, plus the worker for the kept method
    warnings: list[str] = field(default_factory=list)

    @property
    def fell_back(self) -> bool:
        """True when an earlier method failed and a later one was used."""
        return any(a.outcome not in ("ok", "missing") for a in self.attempts[:-1])

    @property
    def checked(self) -> bool:
        return bool(self.parity)

    @property
    def vanished_ops(self) -> dict[str, int]:
        """Operators present before and absent after, with their count before."""
        return {op: n for op, n in sorted(self.before.ops.items()) if op not in self.after.ops}

    def op_changes(self) -> list[tuple[str, int, int]]:
        """(op, before, after) for every operator whose count changed, biggest change first."""
        ops = set(self.before.ops) | set(self.after.ops)
        rows = [(op, self.before.ops.get(op, 0), self.after.ops.get(op, 0)) for op in ops]
        rows = [r for r in rows if r[1] != r[2]]
        return sorted(rows, key=lambda r: (-(abs(r[1] - r[2])), r[0]))

    def max_error(self) -> tuple[float, float] | None:
        """Largest (abs, rel) error over every output and sample, or None when not checked."""
        if not self.parity:
            return None
        return max(p.max_abs for p in self.parity), max(p.max_rel for p in self.parity)

    def _how(self) -> str:
        failed = [str(a) for a in self.attempts[:-1] if a.outcome != "missing"]
        text = f"{self.method} ({'auto' if self.requested == 'auto' else 'requested'})"
        return text + (f"; fell back after {'; '.join(failed)}" if failed else "")

    def summary(self) -> str:
        """One line for tables: ``onnxslim: 120 -> 98 nodes, 11.7 MB -> 11.6 MB, max abs err 1e-06``."""
        b, a = self.before, self.after
        err = self.max_error()
        check = "not checked" if err is None else f"max abs err {err[0]:.2g}"
        return (
            f"{self.method}: {b.nodes} -> {a.nodes} nodes, {_bytes(b.size)} -> {_bytes(a.size)}, "
            f"{check} ({self.seconds:.1f} s)"
        )

    def __repr__(self) -> str:
        b, a = self.before, self.after
        err = self.max_error()
        verdict = "not checked" if err is None else f"max abs err {err[0]:.2g}"
        lines = [
            f"SimplifyResult({self.method}: {b.nodes} -> {a.nodes} nodes, {verdict}, "
            f"{str(self.path)!r})",
            f"  how:          {self._how()}",
            f"  nodes:        {b.nodes} -> {a.nodes}",
            f"  size:         {_bytes(b.size)} -> {_bytes(a.size)}",
            f"  initializers: {b.initializers} -> {a.initializers}",
            f"  time:         {self.seconds:.2f} s (method {self.method_seconds:.2f} s,"
            f" check {self.check_seconds:.2f} s)",
        ]
        if self.vanished_ops:
            lines.append(
                "  vanished ops: " + ", ".join(f"{k} x{v}" for k, v in self.vanished_ops.items())
            )
        err = self.max_error()
        lines.append(
            "  parity:       not checked"
            if err is None
            else f"  parity:       max abs {err[0]:.3g}, max rel {err[1]:.3g} over "
            f"{len({p.sample for p in self.parity})} sample(s)"
        )
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        b, a = self.before, self.after
        e = html.escape
        rows = [
            ("file", f"<code>{e(str(self.path))}</code>"),
            ("method", e(self._how())),
            ("nodes", f"{b.nodes} &rarr; {a.nodes}"),
            ("size", f"{_bytes(b.size)} &rarr; {_bytes(a.size)}"),
            ("initializers", f"{b.initializers} &rarr; {a.initializers}"),
            ("time", f"{self.seconds:.2f} s (method {self.method_seconds:.2f} s)"),
        ]
        head = "".join(
            f"<tr><th style='text-align:left'>{k}</th><td>{v}</td></tr>" for k, v in rows
        )
        ops = "".join(
            f"<tr><td>{e(op)}</td><td>{n0}</td><td>{n1}</td>"
            f"<td>{'vanished' if n1 == 0 else f'{n1 - n0:+d}'}</td></tr>"
            for op, n0, n1 in self.op_changes()
        )
        ops_table = (
            f"<table><tr><th>op</th><th>before</th><th>after</th><th>change</th></tr>{ops}</table>"
            if ops
            else "<p>operator histogram unchanged</p>"
        )
        par = "".join(
            f"<tr><td>{e(p.sample)}</td><td>{e(p.output)}</td><td>{p.max_abs:.3g}</td>"
            f"<td>{p.max_rel:.3g}</td><td>{'ok' if p.ok else 'MISMATCH'}</td></tr>"
            for p in self.parity
        )
        par_table = (
            "<table><tr><th>sample</th><th>output</th><th>max abs</th><th>max rel</th>"
            f"<th></th></tr>{par}</table>"
            if par
            else "<p>parity not checked</p>"
        )
        warn = "".join(f"<p>&#9888; {e(w)}</p>" for w in self.warnings)
        return (
            "<div class='trt-magic-simplify'><b>ONNX clean-up</b>"
            f"<table>{head}</table>{ops_table}{par_table}{warn}</div>"
        )


def _bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"
