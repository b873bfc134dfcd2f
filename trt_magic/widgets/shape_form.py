"""The shape part of the editor: one block per input, min/opt/max boxes per dim.

Static dims show the model's value in disabled boxes; dynamic dims get editable boxes. Dims that
share a symbolic name (two inputs' ``batch``) move together while their "link" box is ticked.
Invalid values get a red border and a message; they never reach the profile (see ``problems``).
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Callable

import ipywidgets as w

from ..spec import ShapeProblem, ShapeProfile, ShapeRange

WHICH = ("min", "opt", "max")
BAD = "2px solid #d62728"


class DimColumn:
    """The three boxes of one input axis."""

    def __init__(self, name: str, axis: int, dim, rng: ShapeRange | None):
        self.name, self.axis, self.dim = name, axis, dim
        static = isinstance(dim, int)
        header = str(dim) if static else (dim or "?")
        self.header = w.HTML(
            f"<b>{html.escape(header)}</b>"
            if not static
            else f"<span style='color:#777'>{header}</span>",
            tooltip=f"{name} axis {axis}: " + ("static" if static else f"dynamic ({header})"),
        )
        values = {which: (getattr(rng, which)[axis] if rng else dim) for which in WHICH}
        self.boxes = {
            which: w.IntText(
                value=values[which] if isinstance(values[which], int) else 1,
                disabled=static,
                layout=w.Layout(width="76px"),
                tooltip=f"{which} {name}[{axis}]",
            )
            for which in WHICH
        }
        for which, box in self.boxes.items():
            box.add_class(f"trt-dim-{which}")
        self.widget = w.VBox([self.header, *self.boxes.values()])

    @property
    def symbol(self) -> str | None:
        return self.dim if isinstance(self.dim, str) else None

    def show(self, problems: list[ShapeProblem]) -> None:
        for which, box in self.boxes.items():
            mine = [p.message for p in problems if p.which == which]
            box.layout.border = BAD if mine else ""
            box.tooltip = "; ".join(mine) if mine else f"{which} {self.name}[{self.axis}]"


class ShapeForm:
    """The min/opt/max editor of every input of a :class:`ShapeProfile`."""

    def __init__(self, profile: ShapeProfile, on_change: Callable[[], None] | None = None):
        self.dims = dict(profile.dims)
        self.dtypes = dict(profile.dtypes)
        self.on_change = on_change
        self._syncing = False
        self.columns: dict[str, list[DimColumn]] = {
            name: [DimColumn(name, a, d, profile.ranges.get(name)) for a, d in enumerate(dims)]
            for name, dims in self.dims.items()
        }
        self.links = {sym: w.Checkbox(value=True, indent=False) for sym in self.shared_symbols()}
        for sym, box in self.links.items():
            box.description = f"move every '{sym}' dim together"
            box.observe(self._changed, "value")
        self.messages = {name: w.HTML() for name in self.dims}
        for cols in self.columns.values():
            for col in cols:
                for which, box in col.boxes.items():
                    box.observe(self._on_box(col, which), "value")
        title = w.HTML(
            "<b>Shape profile</b> <span style='color:#777'>min / opt / max of each dynamic dim"
            " (grey: static, fixed by the model)</span>"
        )
        self.widget = w.VBox([title, *self._input_blocks(), *self.links.values()])
        self.show_problems()

    def shared_symbols(self) -> list[str]:
        counts = Counter(d for dims in self.dims.values() for d in dims if isinstance(d, str))
        return [sym for sym, n in counts.items() if n > 1]

    def _input_blocks(self) -> list[w.Widget]:
        blocks = []
        for name, cols in self.columns.items():
            dtype = self.dtypes.get(name, "")
            title = w.HTML(f"<b>{html.escape(name)}</b> <code>{html.escape(dtype)}</code>")
            labels = w.VBox([w.HTML("&nbsp;"), *(w.HTML(f"<i>{x}</i>") for x in WHICH)])
            labels.layout.width = "36px"
            grid = w.HBox([labels, *(c.widget for c in cols)]) if cols else w.HTML("(scalar)")
            blocks.append(w.VBox([title, grid, self.messages[name]]))
        return blocks

    def _on_box(self, col: DimColumn, which: str):
        def changed(change):
            if self._syncing:
                return
            sym = col.symbol
            if sym and sym in self.links and self.links[sym].value:
                self._syncing = True
                try:
                    for other in self.linked(sym):
                        other.boxes[which].value = change["new"]
                finally:
                    self._syncing = False
            self._changed()

        return changed

    def linked(self, symbol: str) -> list[DimColumn]:
        return [c for cols in self.columns.values() for c in cols if c.symbol == symbol]

    def _changed(self, change=None) -> None:
        self.show_problems()
        if self.on_change:
            self.on_change()

    def box(self, name: str, axis: int, which: str) -> w.IntText:
        """The box of ``which`` (min/opt/max) of input ``name`` axis ``axis``."""
        return self.columns[name][axis].boxes[which]

    def current(self) -> ShapeProfile:
        """The profile as the boxes show it (possibly invalid)."""
        profile = ShapeProfile(dims=dict(self.dims), dtypes=dict(self.dtypes))
        for name, cols in self.columns.items():
            if any(not isinstance(c.dim, int) for c in cols) or self._static_edited(cols):
                profile.ranges[name] = ShapeRange(
                    *(tuple(c.boxes[x].value for c in cols) for x in WHICH)
                )
        return profile

    @staticmethod
    def _static_edited(cols: list[DimColumn]) -> bool:
        return any(c.boxes[x].value != c.dim for c in cols if isinstance(c.dim, int) for x in WHICH)

    def problems(self) -> list[ShapeProblem]:
        return self.current().validate()

    def show_problems(self) -> list[ShapeProblem]:
        problems = self.problems()
        for name, cols in self.columns.items():
            mine = [p for p in problems if p.input == name]
            for col in cols:
                col.show([p for p in mine if p.axis == col.axis])
            self.messages[name].value = "".join(
                f"<div style='color:#d62728'>⚠ {html.escape(p.message)}</div>" for p in mine
            )
        return problems

    def load(self, profile: ShapeProfile) -> None:
        """Put ``profile``'s ranges in the boxes (inputs the model lacks are ignored)."""
        self._syncing = True
        try:
            for name, rng in profile.ranges.items():
                for col in self.columns.get(name, []):
                    for which in WHICH:
                        shape = getattr(rng, which)
                        if col.axis < len(shape):
                            col.boxes[which].value = shape[col.axis]
        finally:
            self._syncing = False
        self._changed()
