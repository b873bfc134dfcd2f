"""A sweep's result: the table of variants, its Pareto front, and the live view while it runs.

The Pareto front is over GPU compute latency, accuracy (max abs error vs ONNX Runtime, when
checked) and engine size, all minimized. The table is a pandas DataFrame (sort it with
``result.sort(by)``; the HTML view sorts by a click on a column header).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .scheduler import Row, Slot
from .variants import AXES, pareto_front

#: the table's objective columns, all minimized, for the Pareto front
OBJECTIVES = ("latency_ms", "max_abs_error", "engine_mib")


def row_record(row: Row) -> dict[str, Any]:
    """One row of the sweep table (plain values; NaN-free: missing figures are None)."""
    summary: dict[str, Any] = {}
    if row.run is not None and row.status in ("passed", "failed"):
        try:
            summary = dict(row.run.summary)
        except Exception:  # a run whose files cannot be read still gets a row
            summary = {}
    acc = row.accuracy
    duration = None
    if row.started is not None and row.finished is not None:
        duration = row.finished - row.started
    return {
        "variant": row.variant.label,
        **row.variant.axis_values(),
        "status": row.status,
        "slot": row.slot.label if row.slot else None,
        "latency_ms": summary.get("gpu_compute_median_ms", summary.get("latency_median_ms")),
        "throughput_qps": summary.get("throughput_qps"),
        "engine_mib": summary.get("engine_size_mib") or _engine_mib(row),
        "max_abs_error": acc.max_abs_error if acc is not None else None,
        "accurate": acc.passed if acc is not None else None,
        "build_s": summary.get("build_time_s"),
        "wall_s": duration,
        "cached": bool(getattr(row.run, "cached", False)),
        # a replayed row's figures were recorded elsewhere: shown, never ranked as measured
        "source": summary.get("source")
        or ("recorded" if getattr(row.run, "recorded", None) else None),
        "phase": row.phase,
        "route": " | ".join(row.route) or None,
        "error": row.error or None,
        "placement": row.placement,
    }


def _engine_mib(row: Row) -> float | None:
    files = getattr(row.run, "files", None) or {}
    engine = files.get("engine")
    if engine is not None and Path(engine).is_file():
        return Path(engine).stat().st_size / 2**20
    return None


@dataclass
class SweepResult:
    """Every variant of a sweep, finished or not: table, Pareto front, runs, comparison."""

    onnx: str
    search: str
    slots: list[Slot]
    rows: list[Row] = field(default_factory=list)
    outdir: str = ""
    executor: str = ""  # where the variants ran (the executor's one-line description)

    @property
    def table(self):
        """One row per variant (pandas DataFrame), with a ``pareto`` column."""
        import pandas as pd

        records = [row_record(r) for r in self.rows]
        ok = [r["status"] == "passed" and not _recorded(r) for r in records]
        points = [[r[k] for k in OBJECTIVES] if good else [None] * 3 for r, good in zip(records, ok, strict=True)]  # fmt: skip
        for r, on_front in zip(records, pareto_front(points), strict=True):
            r["pareto"] = on_front
        return pd.DataFrame(records)

    @property
    def pareto(self):
        """The variants no other variant beats on latency, accuracy and size at once."""
        table = self.table
        return table[table["pareto"]] if len(table) else table

    def sort(self, by: str | list[str] = "latency_ms", ascending: bool = True):
        """The table sorted by one or more columns (missing values last)."""
        return self.table.sort_values(by, ascending=ascending, na_position="last")

    @property
    def runs(self) -> dict[str, Any]:
        """Variant label -> Run, for every variant whose build finished."""
        return {r.variant.label: r.run for r in self.rows if r.run is not None}

    @property
    def comparison(self):
        """``trt_magic.compare`` of every passed run (speed-up column, layer diffs)."""
        from ..results import compare

        passed = [r for r in self.rows if r.status == "passed" and r.run is not None]
        return compare(*(r.run for r in passed), names=[r.variant.label for r in passed])

    def best(self, by: str = "latency_ms") -> Row | None:
        """The passed variant with the lowest ``by``."""
        table = self.table
        if not len(table):
            return None
        measured = ~table["source"].fillna("").str.startswith("recorded")
        done = table[(table["status"] == "passed") & table[by].notna() & measured]
        if not len(done):
            return None
        return self.rows[int(done[by].astype(float).idxmin())]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.rows:
            out[r.status] = out.get(r.status, 0) + 1
        return out

    def to_html(self, path: str | Path) -> Path:
        """Write the table as a standalone HTML page (sortable); return its path."""
        path = Path(path)
        page = (
            "<!doctype html><html><head><meta charset='utf-8'>"
            f"<title>sweep {html.escape(Path(self.onnx).name)}</title></head><body>"
            f"{render_html(self)}</body></html>"
        )
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(page, encoding="utf-8")
        tmp.replace(path)  # never a half-written page
        return path

    def __repr__(self) -> str:
        counts = ", ".join(f"{n} {s}" for s, n in self.counts().items())
        return (
            f"<SweepResult {self.onnx} search={self.search}: {len(self.rows)} variants ({counts})>"
        )

    def _repr_html_(self) -> str:
        return render_html(self)


_COLUMNS = (
    "variant",
    *AXES,
    "status",
    "slot",
    *OBJECTIVES,
    "accurate",
    "wall_s",
    "cached",
    "source",
    "placement",
    "error",
)
_STATUS_COLOR = {
    "passed": "#1a7f37",
    "failed": "#cf222e",
    "running": "#0969da",
    "cancelled": "#6e7781",
}
# a click on a header sorts the rows by that column (numbers numerically, empty cells last);
# one handler on the <thead>, nothing runs until a click
_SORT_JS = (
    "var h=event.target.closest('th');if(!h)return;var t=this.closest('table'),"
    "i=[...h.parentNode.children].indexOf(h),b=t.tBodies[0],"
    "d=h.dataset.dir=h.dataset.dir==='a'?'d':'a',r=[...b.rows],"
    "k=x=>{var s=x.cells[i].dataset.v,n=parseFloat(s);return s===''?null:isNaN(n)?s:n};"
    "r.sort((p,q)=>{var a=k(p),c=k(q);if(a===null)return 1;if(c===null)return -1;"
    "return (a>c?1:a<c?-1:0)*(d==='a'?1:-1)});r.forEach(x=>b.appendChild(x));"
)


def render_html(result: SweepResult) -> str:
    """Progress bar plus the variant table (Pareto rows in bold; a header click sorts)."""
    table = result.table
    total, slots = len(result.rows), len(result.slots)
    done = sum(1 for r in result.rows if r.status in ("passed", "failed", "cancelled"))
    counts = ", ".join(f"{n} {s}" for s, n in result.counts().items())
    head = (
        f"<div class='trt-magic-sweep'><b>sweep</b> {html.escape(Path(result.onnx).name)} "
        f"(search={result.search}, {slots} slot{'s' * (slots != 1)}): {done}/{total} done "
        f"({counts}) <progress value='{done}' max='{max(total, 1)}'></progress>"
    )
    cols = [c for c in _COLUMNS if c in table.columns and table[c].notna().any()]
    ths = "".join(f"<th style='cursor:pointer'>{html.escape(c)}</th>" for c in cols)
    thead = f'<thead onclick="{_SORT_JS}" title="click a column to sort"><tr>{ths}</tr></thead>'
    body = []
    for _, rec in table.iterrows():
        style = "font-weight:bold" if rec.get("pareto") else ""
        tds = "".join(_cell(c, rec[c]) for c in cols)
        body.append(f"<tr style='{style}'>{tds}</tr>")
    note = "<div><small>bold: Pareto front (latency, max abs error, engine size)</small></div>"
    recorded = sum(1 for _, rec in table.iterrows() if _recorded(rec))
    if recorded:
        note += (f"<div style='color:#8a5300'><b>{recorded} recorded row{'s' * (recorded != 1)}</b> "
                 "(replay backend): figures recorded on another GPU for another model, not "
                 "measured; they are on no Pareto front and never the best.</div>")  # fmt: skip
    return head + f"<table>{thead}<tbody>{''.join(body)}</tbody></table>{note}</div>"


def _recorded(record) -> bool:
    return str(record.get("source") or "").startswith("recorded")


def _cell(col: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "<td data-v=''></td>"
    if isinstance(value, float):
        text = f"{value:.4g}"
    else:
        text = str(value)
    color = _STATUS_COLOR.get(text, "") if col == "status" else ""
    attr = f" style='color:{color}'" if color else ""
    return f"<td data-v='{html.escape(str(value), quote=True)}'{attr}>{html.escape(text)}</td>"


class SweepView:
    """The one live display of a sweep: a notebook output updated in place, else printed lines.

    ``refresh`` is called from the thread that shows the sweep (never from workers), so output
    lands in the right cell; it redraws only when something changed.
    """

    def __init__(self, result: SweepResult, mode: str | None = None):
        from ..display.live import in_notebook

        self.result = result
        self.mode = mode or ("notebook" if in_notebook() else "print")
        self._handle = None
        self._seen: dict[int, str] = {}

    def start(self) -> None:
        if self.mode == "notebook":  # the first display shows the rows as they are now
            self._seen = {id(r): r.status for r in list(self.result.rows)}
            from IPython.display import HTML, display

            self._handle = display(HTML(render_html(self.result)), display_id=True)
        elif self.mode == "print":  # each finished row is printed once by refresh()
            n, s = len(self.result.rows), len(self.result.slots)
            print(f"sweep {Path(self.result.onnx).name}: {n} variants on {s} slot{'s' * (s != 1)}")

    def refresh(self) -> None:
        states = {id(r): r.status for r in list(self.result.rows)}
        if states == self._seen:
            return
        if self.mode == "print":
            for r in list(self.result.rows):
                if (
                    r.status in ("passed", "failed", "cancelled")
                    and self._seen.get(id(r)) != r.status
                ):
                    where = f" on {r.slot.label}" if r.slot else ""
                    if getattr(r.run, "recorded", None) is not None:
                        where += " (recorded, not measured)"
                    print(
                        f"  [{r.status}] {r.variant.label}{where}"
                        + (f": {r.error}" if r.error else "")
                    )
        elif self._handle is not None:
            from IPython.display import HTML

            self._handle.update(HTML(render_html(self.result)))
        self._seen = states

    def finish(self) -> None:
        self.refresh()
        if self.mode == "print":
            counts = ", ".join(f"{n} {s}" for s, n in self.result.counts().items())
            print(f"sweep done: {counts}")
