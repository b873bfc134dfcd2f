"""What to build: shape profile, precisions and builder options, as plain data.

These classes know nothing of widgets, ONNX or Docker; they turn into trtexec flags at the edge
(:meth:`BuildSpec.to_args`) and back (:meth:`BuildSpec.from_args`), as Polygraphy's
``ShapeTuple``/``Profile`` turn into TensorRT objects only when a builder needs them.

Every flag written here is spelled as in the real ``trtexec --help`` texts
(tests/data/trtexec/help-trtexec-{8.6.1,10.0.1,10.6.0,10.16.1}.txt).
"""

from __future__ import annotations

import enum
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import PurePath

from .errors import UsageError

#: a model dimension: an int is static, a str is a symbolic name ("batch"), None is dynamic unnamed
Dim = int | str | None

HARDWARE_COMPAT = ("none", "ampere+", "sameComputeCapability")
#: the engine-name tag of each hardware compatibility level (``resnet50_FP16_AMPERE+.plan``)
HARDWARE_TAG = {"none": "NONE", "ampere+": "AMPERE+", "sameComputeCapability": "SAMECC"}


@dataclass(frozen=True)
class ShapeRange:
    """The min, opt and max shape of one input (full shapes, batch dimension included)."""

    min: tuple[int, ...]
    opt: tuple[int, ...]
    max: tuple[int, ...]

    @classmethod
    def fixed(cls, shape: Sequence[int]) -> ShapeRange:
        shape = tuple(int(d) for d in shape)
        return cls(shape, shape, shape)


@dataclass(frozen=True)
class ShapeProblem:
    """One invalid value in a profile: which input, which axis, which box, and why."""

    input: str
    axis: int | None
    which: str  # "min", "opt", "max" or "" (the whole input)
    message: str


@dataclass
class ShapeProfile:
    """The model's declared input dims and the chosen min/opt/max shape of each input.

    ``dims`` keeps the model's order (the order flags are written in). An input whose dims are
    all static needs no range and is left out of the shape flags.
    """

    dims: dict[str, tuple[Dim, ...]] = field(default_factory=dict)
    ranges: dict[str, ShapeRange] = field(default_factory=dict)
    dtypes: dict[str, str] = field(default_factory=dict)

    def dynamic_inputs(self) -> list[str]:
        return [n for n, d in self.dims.items() if any(not isinstance(x, int) for x in d)]

    def validate(self) -> list[ShapeProblem]:
        """Return every problem (empty when the profile can be built)."""
        problems: list[ShapeProblem] = []
        for name in self.dynamic_inputs():
            rng = self.ranges.get(name)
            if rng is None:
                problems.append(ShapeProblem(name, None, "", f"{name}: no min/opt/max shape"))
                continue
            problems += _range_problems(name, self.dims[name], rng)
        for name in self.ranges:
            if name not in self.dims:
                problems.append(
                    ShapeProblem(name, None, "", f"{name}: the model has no such input")
                )
        return problems

    def check(self) -> None:
        """Raise UsageError listing the problems, if any."""
        problems = self.validate()
        if problems:
            raise UsageError(
                "The shape profile is invalid: " + "; ".join(p.message for p in problems),
                hint="every dynamic dim needs 1 <= min <= opt <= max; static dims keep the "
                "model's value",
            )

    def shape_flags(self) -> list[str]:
        """``--minShapes=...``, ``--optShapes=...``, ``--maxShapes=...`` (none if all static)."""
        # inputs with a range, in the model's order; the editor gives ranges to dynamic ones only
        names = [n for n in self.dims if n in self.ranges]
        if not names:
            return []
        flags = []
        for which in ("min", "opt", "max"):
            spec = ",".join(
                f"{_quote_name(n)}:{format_shape(getattr(self.ranges[n], which))}" for n in names
            )
            flags.append(f"--{which}Shapes={spec}")
        return flags


def _range_problems(name: str, dims: tuple[Dim, ...], rng: ShapeRange) -> list[ShapeProblem]:
    problems = []
    for which in ("min", "opt", "max"):
        shape = getattr(rng, which)
        if len(shape) != len(dims):
            problems.append(
                ShapeProblem(
                    name,
                    None,
                    which,
                    f"{name}: {which} shape has {len(shape)} dims, the model {len(dims)}",
                )
            )
    if problems:
        return problems
    for axis, dim in enumerate(dims):
        lo, mid, hi = rng.min[axis], rng.opt[axis], rng.max[axis]
        label = f"{name}[{axis}]" + (f" ({dim})" if isinstance(dim, str) else "")
        if isinstance(dim, int):
            for which, value in (("min", lo), ("opt", mid), ("max", hi)):
                if value != dim:
                    problems.append(
                        ShapeProblem(
                            name, axis, which, f"{label} is static {dim}; {which} {value} differs"
                        )
                    )
            continue
        for which, value in (("min", lo), ("opt", mid), ("max", hi)):
            if value < 1:
                problems.append(ShapeProblem(name, axis, which, f"{label}: {which} must be >= 1"))
        if lo > mid:
            problems.append(ShapeProblem(name, axis, "opt", f"{label}: min {lo} > opt {mid}"))
        if mid > hi:
            problems.append(ShapeProblem(name, axis, "max", f"{label}: opt {mid} > max {hi}"))
    return problems


def format_shape(shape: Sequence[int]) -> str:
    """``1x3x224x224``; a 0-D shape is ``scalar`` (trtexec 10.16.1 --help)."""
    return "x".join(str(int(d)) for d in shape) if len(shape) else "scalar"


def _quote_name(name: str) -> str:
    # "Input names can be wrapped with escaped single quotes (ex: 'Input:0')" (10.16.1 --help)
    return f"'{name}'" if any(c in name for c in ":,") else name


def parse_shapes(spec: str) -> dict[str, tuple[int, ...]]:
    """Parse ``x:1x3x224x224,'in:0':4x8`` into {name: shape}."""
    shapes: dict[str, tuple[int, ...]] = {}
    for item in _split_shape_spec(spec):
        name, sep, value = item.rpartition(":")
        if not sep or not name:
            raise UsageError(f"shape {item!r} has no 'name:' part", hint="write e.g. x:1x3x224x224")
        name = name.strip("'\\")
        value = value.strip()
        try:
            shape = () if value in ("", "scalar") else tuple(int(v) for v in value.split("x"))
        except ValueError:
            raise UsageError(
                f"shape {item!r} is not NxNxN", hint="write dims as integers joined by x"
            ) from None
        shapes[name] = shape
    return shapes


def _split_shape_spec(spec: str) -> list[str]:
    """Split on commas that are not inside a quoted input name."""
    items, current, quoted = [], "", False
    for char in spec:
        if char == "'":
            quoted = not quoted
        if char == "," and not quoted:
            items.append(current)
            current = ""
        else:
            current += char
    if current:
        items.append(current)
    return [i for i in items if i.strip()]


class Precision(enum.Enum):
    """A precision choice and the trtexec flag that enables it (FP32 is always on)."""

    FP32 = ""
    FP16 = "--fp16"
    BF16 = "--bf16"
    INT8 = "--int8"
    FP8 = "--fp8"
    BEST = "--best"
    STRONGLY_TYPED = "--stronglyTyped"

    @property
    def flag(self) -> str | None:
        return self.value or None

    @property
    def tag(self) -> str:
        """The engine-name tag (``FP16``, ``BEST``, ``TYPED``)."""
        return "TYPED" if self is Precision.STRONGLY_TYPED else self.name

    @classmethod
    def parse(cls, text: str | Precision) -> Precision:
        if isinstance(text, Precision):
            return text
        key = text.strip().lstrip("-").upper().replace(" ", "_")
        aliases = {"STRONGLYTYPED": "STRONGLY_TYPED", "TYPED": "STRONGLY_TYPED", "TF32": "FP32"}
        key = aliases.get(key, key)
        if key not in cls.__members__:
            raise UsageError(
                f"unknown precision {text!r}",
                hint="choose from " + ", ".join(p.name.lower() for p in cls),
            )
        return cls[key]


ALWAYS = "--profilingVerbosity=detailed"


@dataclass
class BuildSpec:
    """Everything one trtexec engine build needs, as data.

    Attributes:
        onnx: the ONNX file (host path, as the user wrote it).
        engine: the ``--saveEngine`` path; None means ``<model>_<PRECISION>_<HWCOMPAT>.plan``
            beside the ONNX file.
        profile: the shape profile (None or all-static: no shape flags).
        precisions: the precisions enabled besides FP32.
        tf32: False writes ``--noTF32``.
        opt_level: ``--builderOptimizationLevel`` (0-5); None keeps trtexec's default (3).
        hardware_compat: "none", "ampere+" or "sameComputeCapability".
        workspace_mib: the workspace memory pool in MiB; None keeps trtexec's default.
        input_formats / output_formats: ``--inputIOFormats`` / ``--outputIOFormats`` specs.
        extra: any other flags, as text (split like a shell would, never run by one).
        layer_info / profile_json: export paths; None means ``<engine>.graph.json`` and
            ``<engine>.profile.json`` (TREx's names, see tests/data/trex/A100-fp16/).
    """

    onnx: str
    engine: str | None = None
    profile: ShapeProfile | None = None
    precisions: tuple[Precision, ...] = ()
    tf32: bool = True
    opt_level: int | None = None
    hardware_compat: str = "none"
    workspace_mib: int | None = None
    input_formats: str = ""
    output_formats: str = ""
    extra: str = ""
    layer_info: str | None = None
    profile_json: str | None = None

    def validate(self) -> list[str]:
        """Return every problem as a message (empty when the spec can be built)."""
        problems = [p.message for p in self.profile.validate()] if self.profile else []
        if self.opt_level is not None and not 0 <= self.opt_level <= 5:
            problems.append(f"builder optimization level {self.opt_level} is not in 0-5")
        if self.hardware_compat not in HARDWARE_COMPAT:
            problems.append(
                f"hardware compatibility {self.hardware_compat!r} is not one of {HARDWARE_COMPAT}"
            )
        if self.workspace_mib is not None and self.workspace_mib <= 0:
            problems.append(f"workspace {self.workspace_mib} MiB must be > 0")
        try:
            self.extra_args()
        except ValueError as exc:
            problems.append(f"other flags: {exc}")
        return problems

    def check(self) -> None:
        """Raise UsageError when :meth:`validate` finds problems."""
        problems = self.validate()
        if problems:
            raise UsageError(
                "The build settings are invalid: " + "; ".join(problems),
                hint="fix the fields named above",
            )

    def precision_tag(self) -> str:
        tags = [p.tag for p in self.precisions if p is not Precision.FP32]
        return "-".join(tags) if tags else "FP32"

    def engine_path(self) -> str:
        """The engine path: given, or ``<model>_<PRECISION>_<HWCOMPAT>.plan`` beside the ONNX."""
        if self.engine:
            return self.engine
        onnx = PurePath(self.onnx)
        tag = HARDWARE_TAG.get(self.hardware_compat, self.hardware_compat.upper())
        return str(onnx.with_name(f"{onnx.stem}_{self.precision_tag()}_{tag}.plan"))

    def layer_info_path(self) -> str:
        return self.layer_info or self.engine_path() + ".graph.json"

    def profile_path(self) -> str:
        return self.profile_json or self.engine_path() + ".profile.json"

    def extra_args(self) -> list[str]:
        return shlex.split(self.extra) if self.extra.strip() else []

    def to_args(self, onnx: bool = True) -> list[str]:
        """The trtexec flags, in a stable order (``onnx=False`` leaves out ``--onnx=``).

        Raises:
            UsageError: the spec is invalid (see :meth:`validate`).
        """
        self.check()
        args = [f"--onnx={self.onnx}"] if onnx else []
        args.append(f"--saveEngine={self.engine_path()}")
        if self.profile:
            args += self.profile.shape_flags()
        args += [p.flag for p in self.precisions if p.flag]
        if not self.tf32:
            args.append("--noTF32")
        if self.opt_level is not None:
            args.append(f"--builderOptimizationLevel={self.opt_level}")
        if self.hardware_compat != "none":
            args.append(f"--hardwareCompatibilityLevel={self.hardware_compat}")
        if self.workspace_mib is not None:
            # no unit suffix: MiB in 8.6.1 ("pool:sizeInMiB") and 10.x ("the default unit is
            # in MiB"); TensorRT itself suggests "--memPoolSize=workspace:16384" in
            # log-10.16.1-build-fp16-dynamic-skipInference-verbose.log
            args.append(f"--memPoolSize=workspace:{self.workspace_mib}")
        if self.input_formats:
            args.append(f"--inputIOFormats={self.input_formats}")
        if self.output_formats:
            args.append(f"--outputIOFormats={self.output_formats}")
        args += [
            ALWAYS,
            f"--exportLayerInfo={self.layer_info_path()}",
            f"--exportProfile={self.profile_path()}",
        ]
        return args + self.extra_args()

    def to_flags(self, onnx: bool = True) -> str:
        """:meth:`to_args` joined into one shell-quoted line."""
        return shlex.join(self.to_args(onnx=onnx))

    def with_precision(self, precision: Precision) -> BuildSpec:
        """A copy building just ``precision`` (its own default engine and export names)."""
        return replace(
            self, precisions=(precision,), engine=None, layer_info=None, profile_json=None
        )

    def to_dict(self) -> dict:
        """Plain JSON-able data (the editor's saved state)."""
        data = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "profile"}
        data["precisions"] = [p.name for p in self.precisions]
        if self.profile is not None:
            data["profile"] = {
                "dims": {n: list(d) for n, d in self.profile.dims.items()},
                "ranges": {
                    n: {"min": list(r.min), "opt": list(r.opt), "max": list(r.max)}
                    for n, r in self.profile.ranges.items()
                },
                "dtypes": dict(self.profile.dtypes),
            }
        return data

    @classmethod
    def from_dict(cls, data: dict) -> BuildSpec:
        """Inverse of :meth:`to_dict` (unknown keys are ignored)."""
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        fields["precisions"] = tuple(Precision.parse(p) for p in data.get("precisions", ()))
        prof = data.get("profile")
        if prof is not None:
            fields["profile"] = ShapeProfile(
                dims={n: tuple(d) for n, d in prof.get("dims", {}).items()},
                ranges={
                    n: ShapeRange(tuple(r["min"]), tuple(r["opt"]), tuple(r["max"]))
                    for n, r in prof.get("ranges", {}).items()
                },
                dtypes=dict(prof.get("dtypes", {})),
            )
        return cls(**fields)

    @classmethod
    def from_args(
        cls,
        args: str | Sequence[str],
        *,
        onnx: str | None = None,
        profile: ShapeProfile | None = None,
    ) -> BuildSpec:
        """Read a trtexec command (flags, a ``trtexec ...`` line or ``%trtexec ...``) back.

        Flags this class has no field for are kept in ``extra``. ``profile`` gives the model's
        declared dims (else dims whose min and max differ are taken as dynamic).
        """
        from .spec_args import read_args

        return read_args(cls, args, onnx=onnx, profile=profile)
