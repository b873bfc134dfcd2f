"""What a sweep builds: variants over our axes, and the search modes that pick them.

The search modes follow trtexec's own build-route tuner in TensorRT 11 (NVIDIA/TensorRT
samples/trtexec/README.md, "Example 7: Global performance tuner", ``--tuningSearch``), applied to
trt_magic's axes (precision, shape profile, optimization level, image, build route) instead of
TensorRT's internal knobs; the first value of each axis is its baseline:

- ``full``: the cartesian product of every axis.
- ``fast``: the baseline, plus variations that change one axis at a time.
- ``mixed``: ``fast`` first; then the full product over only the axis values that improved on
  the baseline (and, when accuracy is checked, stayed accurate), other axes at their baseline.

Pure data: no Docker, no pandas.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import PurePath
from typing import Any

from ..errors import UsageError
from ..spec import Precision, ShapeProfile

SEARCHES = ("full", "fast", "mixed")
#: the variant axes, in the order labels and tables show them
AXES = ("precision", "profile", "opt_level", "image", "route")


@dataclass(frozen=True)
class Profile:
    """A shape profile as trtexec flags, with a short name for tables."""

    name: str
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Variant:
    """One engine build of a sweep.

    Attributes:
        precision: a :class:`~trt_magic.spec.Precision` name ("fp32", "fp16", "best", ...).
        profile: the shape profile (None: the model's static shapes).
        opt_level: ``--builderOptimizationLevel`` (None: trtexec's default).
        image: the container image (None: the sweep's default image).
        route: a ``--tuneBuildRoutes`` expression for images whose trtexec has the flag.
        slot: (host, gpu) the variant must run on; None lets any free slot take it.
    """

    precision: str = "fp32"
    profile: Profile | None = None
    opt_level: int | None = None
    image: str | None = None
    route: str | None = None
    slot: tuple[str | None, str] | None = None

    def axis_values(self) -> dict[str, Any]:
        return {
            "precision": self.precision,
            "profile": self.profile.name if self.profile else None,
            "opt_level": self.opt_level,
            "image": self.image,
            "route": self.route,
        }

    @property
    def label(self) -> str:
        """A file-safe name, unique within a sweep (``fp16-p1-O5``)."""
        parts = [self.precision]
        if self.profile:
            parts.append(self.profile.name)
        if self.opt_level is not None:
            parts.append(f"O{self.opt_level}")
        if self.image:
            parts.append(self.image.rsplit("/", 1)[-1])
        if self.route:
            parts.append("route-" + _slug(self.route)[:40])
        if self.slot is not None:
            parts.append(f"{_slug(self.slot[0] or 'default')}-gpu{self.slot[1]}")
        return "_".join(_slug(p) for p in parts)

    def build_args(self, onnx: str, outdir: str) -> list[str]:
        """The trtexec flags that build this variant into ``outdir`` (host paths).

        The engine is ``<model>_<label>.plan``, so the file says what it is.
        """
        flag = Precision.parse(self.precision).flag
        engine = f"{outdir}/{PurePath(onnx).stem}_{self.label}.plan"
        args = [f"--onnx={onnx}", f"--saveEngine={engine}"]
        args += list(self.profile.flags) if self.profile else []
        args += [flag] if flag else []
        if self.opt_level is not None:
            args.append(f"--builderOptimizationLevel={self.opt_level}")
        if self.route:
            args.append(f"--tuneBuildRoutes={self.route}")
        return args + [
            "--profilingVerbosity=detailed",
            f"--exportLayerInfo={engine}.graph.json",  # TREx's names (tests/data/trex/)
            f"--exportProfile={engine}.profile.json",
        ]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.+-]+", "-", str(text)).strip("-") or "x"


def as_profile(value: Any, index: int) -> Profile | None:
    """Accept None, a :class:`ShapeProfile`, trtexec flags text, or a ``--shapes``-style spec."""
    if value is None or isinstance(value, Profile):
        return value
    if isinstance(value, ShapeProfile):
        return Profile(f"p{index}", tuple(value.shape_flags()))
    if isinstance(value, str) and value.strip():
        tokens = value.split()
        if all(t.startswith("--") for t in tokens):
            return Profile(f"p{index}", tuple(tokens))
        # a bare spec "x:8x3x224x224": a fixed shape (min = opt = max)
        return Profile(
            f"p{index}", tuple(f"--{k}Shapes={value.strip()}" for k in ("min", "opt", "max"))
        )
    raise UsageError(
        f"profile {value!r} is not a ShapeProfile, flags or a shape spec.",
        hint="e.g. profiles=['x:1x3x224x224', '--minShapes=x:1x3x224x224 --optShapes=... ']",
    )


@dataclass
class Axes:
    """The values of each axis; the first value of an axis is its baseline."""

    values: dict[str, list[Any]] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        precisions: Sequence[str | Precision] = ("fp32",),
        profiles: Sequence[Any] = (None,),
        opt_levels: Sequence[int | None] = (None,),
        images: Sequence[str | None] = (None,),
        routes: Sequence[str | None] = (None,),
    ) -> Axes:
        values = {
            "precision": [Precision.parse(p).name.lower() for p in precisions],
            "profile": [as_profile(p, i) for i, p in enumerate(profiles)],
            "opt_level": list(opt_levels),
            "image": list(images),
            "route": list(routes),
        }
        for axis, vals in values.items():
            if not vals:
                raise UsageError(f"the {axis} axis is empty.", hint=f"give at least one {axis}")
            keys = [v.name if isinstance(v, Profile) else v for v in vals]
            if len(set(keys)) != len(keys):
                raise UsageError(f"the {axis} axis repeats a value: {keys}.", hint="drop repeats")
        for level in values["opt_level"]:
            if level is not None and not 0 <= int(level) <= 5:
                raise UsageError(f"optimization level {level} is not in 0-5.", hint="use 0..5")
        return cls(values)

    def baseline(self) -> dict[str, Any]:
        return {axis: vals[0] for axis, vals in self.values.items()}


def _variant(choice: Mapping[str, Any]) -> Variant:
    return Variant(**{k: choice[k] for k in AXES})


def full_variants(axes: Axes) -> list[Variant]:
    """Every combination of the axes' values."""
    names = list(axes.values)
    return [
        _variant(dict(zip(names, combo, strict=True)))
        for combo in itertools.product(*(axes.values[n] for n in names))
    ]


def fast_variants(axes: Axes) -> list[Variant]:
    """The baseline, then each other value of each axis with the rest at baseline."""
    base = axes.baseline()
    out = [_variant(base)]
    for axis, vals in axes.values.items():
        out += [_variant({**base, axis: v}) for v in vals[1:]]
    return out


def mixed_second_phase(
    axes: Axes, scores: Mapping[Variant, float | None], done: Iterable[Variant]
) -> list[Variant]:
    """The variants ``mixed`` adds after its ``fast`` phase.

    ``scores`` maps each fast-phase variant to its latency (None or nan: failed, or not
    accurate enough, so it counts as no improvement). Axes whose one-off values beat the
    baseline are then swept in full, each with the baseline and its improving values.
    """
    base = axes.baseline()
    base_score = scores.get(_variant(base))
    if base_score is None or math.isnan(base_score):
        return []
    keep: dict[str, list[Any]] = {axis: [vals[0]] for axis, vals in axes.values.items()}
    for axis, vals in axes.values.items():
        for v in vals[1:]:
            score = scores.get(_variant({**base, axis: v}))
            if score is not None and not math.isnan(score) and score < base_score:
                keep[axis].append(v)
    seen = set(done)
    return [v for v in full_variants(Axes(keep)) if v not in seen]


def expand(axes: Axes, search: str) -> list[Variant]:
    """The variants to start with for ``search`` (``mixed`` starts with ``fast``)."""
    if search not in SEARCHES:
        raise UsageError(f"search={search!r} is not one of {SEARCHES}.", hint="search='full'")
    return full_variants(axes) if search == "full" else fast_variants(axes)


def pin_to_slots(variants: Sequence[Variant], slots: Sequence[tuple[str | None, str]]):
    """Each variant once per slot (to compare GPUs or hosts as an axis)."""
    return [replace(v, slot=s) for v in variants for s in slots]


def pareto_front(points: Sequence[Sequence[float | None]]) -> list[bool]:
    """Which points no other point dominates (every objective minimized).

    A None or nan objective is left out of the comparison between two points (an accuracy
    that was not measured neither helps nor hurts); a point with every objective missing is
    never on the front.
    """

    def known(p):
        return [x is not None and not (isinstance(x, float) and math.isnan(x)) for x in p]

    flags = []
    for i, p in enumerate(points):
        kp = known(p)
        if not any(kp):
            flags.append(False)
            continue
        dominated = False
        for j, q in enumerate(points):
            if i == j:
                continue
            kq = known(q)
            both = [k for k in range(len(p)) if kp[k] and kq[k]]
            if both and all(q[k] <= p[k] for k in both) and any(q[k] < p[k] for k in both):
                dominated = True
                break
        flags.append(not dominated)
    return flags
