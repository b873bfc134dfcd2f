"""Pair the layers of two engines: by name, or by signature as TREx 0.2.1 does (stdlib only).

Two engines built from two exports of one network name their layers differently
(``QuantizeLinear_8 + Conv_12`` vs ``QuantizeLinear_7 + Conv_9``), so a name join pairs almost
nothing. TREx (NVIDIA/TensorRT tools/experimental/trt-engine-explorer, ``trex/compare_engines.py``
``match_layers`` @ a3c8598075c3) pairs layers by a *signature*: the layer type plus the dimensions
of every input and output without the first (batch) one, so a batch-32 engine pairs with a
batch-1 one. Its greedy walk, which this module reproduces pair for pair:

1. take the first unpaired layer of engine A; pair it with the first unpaired layer of B with
   the same signature (two-input ``PointWise`` layers also pair with their inputs swapped),
   or leave it unpaired;
2. take the first unpaired layer of B; pair it the same way with A, or leave it unpaired;
3. repeat until one side is used up; the rest stay unpaired.

TREx scans the other engine for every step (cubic in the worst case); here each signature keeps
a queue of unpaired positions, so the walk is linear in the number of layers. Layers TREx leaves
out of its table (``Constant``, ``NoOp``, ``shape_call``, ``signal``, ``wait``) are not matched
by signature; they pair by name when both engines have them.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

#: ``LayerType`` values TREx drops before matching (trex/engine_plan.py, trex/parser.py)
SKIPPED_TYPES = frozenset({"Constant", "NoOp", "shape_call", "signal", "wait"})
_PROFILE = re.compile(r" ?\[profile (\d+)\]")

Pair = tuple[int | None, int | None]


def layer_type(raw: dict) -> str | None:
    """TREx's layer type: ``ParameterType``, else ``LayerType``; a transposed convolution
    (``CaskDeconvolutionV2``) is ``Deconvolution`` (trex/parser.py ``convert_deconv``)."""
    kind = raw.get("ParameterType") or raw.get("LayerType")
    if kind == "Convolution" and raw.get("LayerType") == "CaskDeconvolutionV2":
        return "Deconvolution"
    return kind


def _dims(tensors, first_only: bool) -> tuple:
    tensors = list(tensors or ())[:1] if first_only else (tensors or ())
    return tuple(tuple((t.get("Dimensions") or [])[1:]) for t in tensors)


def signature(raw: dict | str, exact: bool = True) -> tuple | None:
    """The layer's signature (type, input dims, output dims; batch dimension left out).

    ``exact=False`` uses only the first input and output, as TREx's ``exact_matching=False``.
    None for layers that cannot be matched by signature (names-only entries, skipped types).
    """
    if not isinstance(raw, dict) or raw.get("LayerType") in SKIPPED_TYPES:
        return None
    first_only = not exact
    return (layer_type(raw), _dims(raw.get("Inputs"), first_only),
            _dims(raw.get("Outputs"), first_only))  # fmt: skip


def _swap_key(sig: tuple) -> tuple | None:
    """The key under which a two-input PointWise layer also matches (inputs swapped)."""
    kind, inputs, outputs = sig
    if kind == "PointWise" and len(inputs) == 2 and len(outputs) == 1:
        return (inputs[1], inputs[0])
    return None


def _own_swap_key(sig: tuple) -> tuple | None:
    kind, inputs, outputs = sig
    if kind == "PointWise" and len(inputs) == 2 and len(outputs) == 1:
        return (inputs[0], inputs[1])
    return None


class _Side:
    """One engine's unpaired layers: queues by signature, and the first unpaired position."""

    def __init__(self, sigs: Sequence[tuple]) -> None:
        self.sigs = sigs
        self.used = [False] * len(sigs)
        self.head = 0
        self.by_sig: dict[tuple, deque[int]] = {}
        self.by_inputs: dict[tuple, deque[int]] = {}
        for i, sig in enumerate(sigs):
            self.by_sig.setdefault(sig, deque()).append(i)
            own = _own_swap_key(sig)
            if own is not None:
                self.by_inputs.setdefault(own, deque()).append(i)

    def first(self) -> int | None:
        while self.head < len(self.sigs) and self.used[self.head]:
            self.head += 1
        return self.head if self.head < len(self.sigs) else None

    def _peek(self, queue: deque[int] | None) -> int | None:
        while queue and self.used[queue[0]]:
            queue.popleft()
        return queue[0] if queue else None

    def find(self, sig: tuple) -> int | None:
        """The first unpaired position whose signature aligns with ``sig``."""
        hit = self._peek(self.by_sig.get(sig))
        swapped = _swap_key(sig)
        if swapped is not None:
            other = self._peek(self.by_inputs.get(swapped))
            if other is not None and (hit is None or other < hit):
                hit = other
        return hit


def match_signatures(sigs_a: Sequence[tuple], sigs_b: Sequence[tuple]) -> list[Pair]:
    """TREx's greedy walk over two signature lists, in linear time (see the module docstring).

    Returns (i, j) position pairs in TREx's order; (i, None) / (None, j) for unpaired layers.
    """
    a, b = _Side(sigs_a), _Side(sigs_b)
    pairs: list[Pair] = []

    def step(src: _Side, dst: _Side, flip: bool) -> bool:
        i = src.first()
        if i is None or dst.first() is None:
            return False
        j = dst.find(src.sigs[i])
        src.used[i] = True
        if j is not None:
            dst.used[j] = True
        pairs.append((j, i) if flip else (i, j))
        return True

    while step(a, b, False) and step(b, a, True):
        pass
    pairs += [(i, None) for i in range(len(sigs_a)) if not a.used[i]]
    pairs += [(None, j) for j in range(len(sigs_b)) if not b.used[j]]
    return pairs


def _name(raw: dict | str) -> str:
    """The layer's name without its ``[profile N]`` suffix: one profile pairs with another."""
    name = raw if isinstance(raw, str) else str(raw.get("Name", ""))
    return _PROFILE.sub("", name) if "[profile " in name else name


def match_names(names_a: Sequence[str], names_b: Sequence[str]) -> list[Pair]:
    """Pair by (name, occurrence), in A's order, then B's unpaired layers."""
    where: dict[tuple[str, int], int] = {}
    seen: dict[str, int] = {}
    for j, name in enumerate(names_b):
        k = seen.get(name, 0)
        seen[name] = k + 1
        where[(name, k)] = j
    seen = {}
    pairs: list[Pair] = []
    for i, name in enumerate(names_a):
        k = seen.get(name, 0)
        seen[name] = k + 1
        pairs.append((i, where.pop((name, k), None)))
    pairs += [(None, j) for j in sorted(where.values())]
    return pairs


def _by_signature(raw_a: Sequence, raw_b: Sequence, exact: bool) -> tuple[list[Pair], list[bool]]:
    """Signature pairs over the matchable layers; the others pair by name among themselves.
    Also returns, per layer of A, whether it is matchable (has a signature)."""
    sig_a = [signature(r, exact) for r in raw_a]
    sig_b = [signature(r, exact) for r in raw_b]
    keep_a = [i for i, s in enumerate(sig_a) if s is not None]
    keep_b = [j for j, s in enumerate(sig_b) if s is not None]
    pairs = [
        (None if i is None else keep_a[i], None if j is None else keep_b[j])
        for i, j in match_signatures([sig_a[i] for i in keep_a], [sig_b[j] for j in keep_b])
    ]
    rest_a = [i for i, s in enumerate(sig_a) if s is None]
    rest_b = [j for j, s in enumerate(sig_b) if s is None]
    for i, j in match_names([_name(raw_a[i]) for i in rest_a], [_name(raw_b[j]) for j in rest_b]):
        pairs.append((None if i is None else rest_a[i], None if j is None else rest_b[j]))
    return pairs, [s is not None for s in sig_a]


@dataclass
class Matching:
    """How two engines' layers were paired: ``pairs`` of positions, ``method`` and why."""

    pairs: list[Pair]
    method: str  # "name" | "signature"
    note: str

    @property
    def paired(self) -> int:
        return sum(1 for i, j in self.pairs if i is not None and j is not None)


def _paired(pairs: list[Pair], matchable: list[bool]) -> int:
    """Pairs of layers TREx would compare (skipped types do not count)."""
    return sum(1 for i, j in pairs if i is not None and j is not None and matchable[i])


def match_layers(
    raw_a: Sequence, raw_b: Sequence, match: str = "auto", exact: bool = True
) -> Matching:
    """Pair two engines' ``--exportLayerInfo`` layers.

    Args:
        raw_a, raw_b: the ``Layers`` entries of each engine (dicts, or names-only strings).
        match: "name", "signature" (TREx's rule), or "auto": names when they pair at least as
            many layers as signatures do, else signatures.
        exact: signatures over every input and output (TREx's ``exact_matching=True``), or over
            the first input and output only.
    """
    from ..errors import UsageError
    from .exports import no_gc

    if match not in ("auto", "name", "signature"):
        raise UsageError(f"match={match!r} is not a way to pair layers",
                         hint='use match="auto", "name" or "signature"')  # fmt: skip
    with no_gc():  # many small tuples, no cycles (see exports.no_gc)
        return _match(raw_a, raw_b, match, exact)


def _match(raw_a: Sequence, raw_b: Sequence, match: str, exact: bool) -> Matching:
    from ..errors import UsageError

    by_name = match_names([_name(r) for r in raw_a], [_name(r) for r in raw_b])
    detailed = any(isinstance(r, dict) and len(r) > 1 for r in raw_a) and any(
        isinstance(r, dict) and len(r) > 1 for r in raw_b
    )
    if match == "name" or not detailed:
        why = "as asked" if match == "name" else (
            "no per-layer details to build signatures from (build with "
            "--profilingVerbosity=detailed and --exportLayerInfo)")  # fmt: skip
        if match == "signature" and not detailed:
            raise UsageError("layers cannot be paired by signature: " + why.split(" (")[0],
                             hint="rebuild both engines with --profilingVerbosity=detailed "
                                  "--exportLayerInfo=<file>, or use match=\"name\"")  # fmt: skip
        return Matching(by_name, "name", f"layers paired by name ({why})")
    by_sig, matchable = _by_signature(raw_a, raw_b, exact)
    n_name, n_sig = _paired(by_name, matchable), _paired(by_sig, matchable)
    counts = f"names pair {n_name} layers, signatures {n_sig}"
    if match == "signature":
        return Matching(by_sig, "signature", f"layers paired by signature as asked ({counts})")
    if n_name >= n_sig:
        return Matching(by_name, "name", f"layers paired by name ({counts})")
    return Matching(by_sig, "signature",
                    f"layer names differ, so layers were paired by signature: type and "
                    f"shapes ({counts})")  # fmt: skip


def shape_profile_of(name: str) -> int:
    """The optimization profile a layer or binding belongs to: ``... [profile 2]`` -> 2, else 0
    (TensorRT names the layers of profiles after the first with that suffix; trex/parser.py)."""
    m = _PROFILE.search(name)
    return int(m.group(1)) if m else 0
