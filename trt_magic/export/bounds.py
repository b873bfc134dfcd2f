"""Read the range a dynamic dim must stay in from torch.export's constraint error (stdlib only):
its "Suggested fixes:" and, when it gives none, the failing guards themselves.
"""

from __future__ import annotations

import re

#: torch.export's "Suggested fixes:" lines, e.g. ``seq = Dim('seq', min=2, max=64)`` (a range;
#: a fix such as ``batch = 1`` makes the dim static and is not applied)
_FIX_LINE = re.compile(
    r"^\s*(?P<name>\w+) = Dim\('\w+'(?:, min=(?P<min>\d+))?(?:, max=(?P<max>\d+))?\)\s*$", re.M
)


_GUARD = re.compile(
    r"Not all values of (?P<dim>\w+) = (?P<src>\S+) in the specified range(?: [^\n]*?)? satisfy the "
    r"generated guard (?P<guard>.+?)\.?$",
    re.M,
)
_BOUNDS = (  # (regex over a guard with the dim's source replaced by X, "min" | "max")
    (re.compile(r"(?<![\w)])(\d+) <= X\b"), "min"),
    (re.compile(r"\bX <= (\d+)\b"), "max"),
    (re.compile(r"\bX < (\d+)\b"), "max-1"),
    (re.compile(r"\bmin\((\d+), X\) == X\b|\bX == min\((\d+), X\)"), "max"),
    # nn.MultiheadAttention (torch 2.13): "X != 1" and "(16*X) != 16", i.e. at least 2
    (re.compile(r"\bX != (1)\b|\((\d+)\*X\) != \2\b"), "min2"),
)


def suggested_ranges(text: str) -> dict[str, tuple[int | None, int | None]]:
    """Dim name -> (min, max) a constraint violation asks for; {} when a violated dim cannot
    be saved by a range (it must be static, or the guard is not a bound).

    Read from torch.export's "Suggested fixes:" (``seq = Dim('seq', min=30)``, seen for
    wav2vec2 2.13) and from the guards themselves (BERT's position table gives no fix, only
    ``L['input_ids'].size()[1] == min(64, L['input_ids'].size()[1])``).
    """
    m = re.search(r"Constraints violated \((?P<dims>[^)]*)\)", text)
    if not m:
        return {}
    bounds: dict[str, list] = {d.strip(): [None, None] for d in m.group("dims").split(",")}
    for g in _GUARD.finditer(text):
        if g.group("dim") in bounds:
            _read_guard(g.group("guard").replace(g.group("src"), "X"), bounds[g.group("dim")])
    if "Suggested fixes:" in text:
        for line in text.split("Suggested fixes:", 1)[1].strip().splitlines():
            f = _FIX_LINE.match(line)
            if f and f.group("name") in bounds:
                for i, v in enumerate(f.group("min", "max")):
                    bounds[f.group("name")][i] = int(v) if v else bounds[f.group("name")][i]
    if any(low is None and high is None for low, high in bounds.values()):
        return {}
    return {d: (low, high) for d, (low, high) in bounds.items()}


def _read_guard(guard: str, pair: list) -> None:
    for pattern, kind in _BOUNDS:
        for hit in pattern.finditer(guard):
            value = 2 if kind == "min2" else int(next(v for v in hit.groups() if v))
            if kind.startswith("min"):
                pair[0] = max(pair[0] or 0, value)
            else:
                value -= kind == "max-1"
                pair[1] = value if pair[1] is None else min(pair[1], value)


def spelled(dim: str, bounds: tuple) -> str:
    """``seq[1:64]``: the ``-d`` spelling of a dim with its range."""
    low, high = bounds
    return f"{dim}[{low or 1}:{'' if high is None else high}]"
