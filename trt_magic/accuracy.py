"""Is the engine still right? Compare a TensorRT engine's outputs with ONNX Runtime's.

The inputs are made inside the engine's shape profile (random, or the user's tensors); ONNX
Runtime runs the ONNX model on the host as the reference; the engine runs through trtexec
(``--loadInputs``, ``--exportOutput``) with the same backend, image, Docker host and GPUs as the
run that built it. Each output gets max abs/rel error, the share of elements out of tolerance
(``|engine - ref| > atol + rtol * |ref|``, the ``l0`` loss of trtexec's own accuracy check), a
verdict, and optionally an error histogram. FP16 overflow is explained when the reference holds
values past FP16's range.

numpy, onnx and onnxruntime are imported inside the functions that use them.
"""

from __future__ import annotations

import html
import json
import math
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ResultError, UsageError, require
from .spec import format_shape, parse_shapes

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from .results.run import Run

#: largest finite FP16 value; anything past it becomes +-inf in an FP16 tensor
FP16_MAX = 65504.0

#: edges of the error histogram (absolute error), decades from 1e-7 to 1e+1
HIST_EDGES = (0.0, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, math.inf)

# sampleReporting.cpp exportJSONOutput writes each value with a plain `os << value`; C++ streams
# print non-finite floats as inf / -inf / nan / -nan, which JSON does not allow. The values of one
# tensor are on one line that starts with `, "values" : [` (same writer), so only those lines are
# rewritten.
_VALUES_LINE = re.compile(r'^\s*,?\s*"values"\s*:\s*\[')
_NONFINITE = re.compile(r"(?<![\w.])(-?)(inf|nan)(?![\w.])", re.IGNORECASE)


@dataclass
class TensorSpec:
    """One model input: name, numpy dtype name, and shape (symbolic dims as str)."""

    name: str
    dtype: str
    shape: list[int | str]

    @property
    def dynamic(self) -> bool:
        return any(not isinstance(d, int) or d < 0 for d in self.shape)


@dataclass
class OutputAccuracy:
    """How one output of the engine compares with the reference."""

    name: str
    shape: tuple[int, ...]
    max_abs_error: float
    max_rel_error: float
    out_of_tolerance: float  # share of elements, 0..1
    mismatched: int  # number of elements out of tolerance
    passed: bool
    reference_max_abs: float
    fp16_overflow: int = 0  # reference elements with |x| > 65504
    histogram: list[tuple[str, int]] | None = None
    note: str = ""


@dataclass
class AccuracyReport:
    """Per-output comparison of an engine against ONNX Runtime; ``passed`` if every output is."""

    outputs: list[OutputAccuracy]
    rtol: float
    atol: float
    inputs: dict[str, tuple[int, ...]] = field(default_factory=dict)
    engine: str = ""
    onnx: str = ""
    run: Run | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.outputs) and all(o.passed for o in self.outputs)

    @property
    def max_abs_error(self) -> float:
        return max((o.max_abs_error for o in self.outputs), default=math.nan)

    @property
    def table(self):
        """The per-output figures as a pandas DataFrame."""
        import pandas as pd

        rows = [
            {
                "output": o.name,
                "shape": "x".join(map(str, o.shape)),
                "max abs error": o.max_abs_error,
                "max rel error": o.max_rel_error,
                "out of tolerance %": 100.0 * o.out_of_tolerance,
                "passed": o.passed,
            }
            for o in self.outputs
        ]
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        verdict = "PASSED" if self.passed else "FAILED"
        lines = [f"accuracy {verdict} (rtol={self.rtol:g}, atol={self.atol:g})"]
        for o in self.outputs:
            lines.append(
                f"  {o.name}: max abs {o.max_abs_error:.3g}, max rel {o.max_rel_error:.3g}, "
                f"{100 * o.out_of_tolerance:.2f}% out of tolerance -> {'ok' if o.passed else 'FAIL'}"
            )
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return render_report_html(self)


def render_report_html(report: AccuracyReport) -> str:
    """The report as one HTML block: verdict, table, notes, histograms (no JavaScript)."""
    esc = html.escape
    color = "#1a7f37" if report.passed else "#cf222e"
    verdict = "PASSED" if report.passed else "FAILED"
    head = (
        f'<div class="trt-magic-accuracy"><b style="color:{color}">accuracy {verdict}</b> '
        f"<span>rtol={report.rtol:g}, atol={report.atol:g}; reference: ONNX Runtime (CPU)</span>"
    )
    cells = "".join(
        f"<tr><td>{esc(o.name)}</td><td>{'x'.join(map(str, o.shape))}</td>"
        f"<td>{o.max_abs_error:.3g}</td><td>{o.max_rel_error:.3g}</td>"
        f"<td>{100 * o.out_of_tolerance:.3f}%</td>"
        f'<td style="color:{"#1a7f37" if o.passed else "#cf222e"}">'
        f"{'pass' if o.passed else 'FAIL'}</td></tr>"
        for o in report.outputs
    )
    table = (
        "<table><thead><tr><th>output</th><th>shape</th><th>max abs error</th>"
        "<th>max rel error</th><th>out of tolerance</th><th></th></tr></thead>"
        f"<tbody>{cells}</tbody></table>"
    )
    notes = [*report.notes, *(f"{o.name}: {o.note}" for o in report.outputs if o.note)]
    notes_html = "".join(f"<li>{esc(n)}</li>" for n in notes)
    hists = "".join(_histogram_html(o) for o in report.outputs if o.histogram)
    tail = f"<ul>{notes_html}</ul>" if notes_html else ""
    return head + table + tail + hists + "</div>"


def _histogram_html(o: OutputAccuracy) -> str:
    total = max(sum(c for _, c in o.histogram or []), 1)
    rows = "".join(
        f"<tr><td>{html.escape(label)}</td><td>{count}</td>"
        f'<td><div style="background:#4c72b0;height:0.8em;width:{200 * count / total:.0f}px">'
        "</div></td></tr>"
        for label, count in o.histogram or []
    )
    return f"<details><summary>{html.escape(o.name)}: abs error histogram</summary><table>{rows}</table></details>"


# ---------------------------------------------------------------------------------------------
# reading trtexec's --exportOutput file


def read_export_output(path: str | Path) -> dict[str, np.ndarray]:
    """Read a ``--exportOutput`` JSON file: output name -> array shaped by its "dimensions".

    The layout is the one ``exportJSONOutput`` in NVIDIA/TensorRT samples/common/
    sampleReporting.cpp writes (see tests/data/SOURCES.md): a list of
    ``{"name": str, "dimensions": "AxBxC", "values": [...]}``, dimensions joined with ``x`` by
    ``operator<<(Dims)`` in sampleOptions.h ("" for a 0-D tensor).

    Raises:
        ResultError: the file is missing or not in that layout.
    """
    import numpy as np

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ResultError(
            f"trtexec wrote no --exportOutput file at {path}.",
            hint="check the run's log: trtexec may have failed before inference",
        ) from exc
    try:
        entries = json.loads(_json_nonfinite(text))
        outputs = {}
        for entry in entries:
            dims = str(entry["dimensions"]).strip()
            shape = tuple(int(d) for d in dims.split("x")) if dims else ()
            outputs[str(entry["name"])] = np.asarray(entry["values"], dtype=np.float64).reshape(
                shape
            )
    except (ValueError, KeyError, TypeError) as exc:
        raise ResultError(
            f"{path} is not a trtexec --exportOutput file ({type(exc).__name__}: {exc}).",
            hint="it should be a JSON list of {name, dimensions, values}",
            detail=text[:2000],
        ) from exc
    return outputs


def _json_nonfinite(text: str) -> str:
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if _VALUES_LINE.match(line):
            lines[i] = _NONFINITE.sub(_nonfinite_token, line)
    return "".join(lines)


def _nonfinite_token(m: re.Match) -> str:
    if m.group(2).lower() == "nan":
        return "NaN"
    return "-Infinity" if m.group(1) else "Infinity"


# ---------------------------------------------------------------------------------------------
# inputs


def onnx_inputs(onnx_path: str | Path) -> list[TensorSpec]:
    """The ONNX model's real inputs (initializers excluded), with numpy dtypes."""
    onnx = require("onnx", "export", "The accuracy check")
    from onnx import helper

    model = onnx.load(str(onnx_path), load_external_data=False)
    inits = {i.name for i in model.graph.initializer}
    specs = []
    for vi in model.graph.input:
        if vi.name in inits:
            continue
        tt = vi.type.tensor_type
        dtype = helper.tensor_dtype_to_np_dtype(tt.elem_type).name
        shape: list[int | str] = [
            d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in tt.shape.dim
        ]
        specs.append(TensorSpec(vi.name, dtype, shape))
    return specs


def profile_from_args(args: Sequence[str]) -> dict[str, dict[str, tuple[int, ...]]]:
    """Shape profile flags of a trtexec command: kind (min/opt/max/shapes) -> name -> dims."""
    kinds = {"--minShapes": "min", "--optShapes": "opt", "--maxShapes": "max", "--shapes": "shapes"}
    found: dict[str, dict[str, tuple[int, ...]]] = {}
    for arg in args:
        flag, eq, value = str(arg).partition("=")
        if eq and flag in kinds:
            found.setdefault(kinds[flag], {}).update(parse_shapes(value))
    return found


def choose_shapes(
    specs: Sequence[TensorSpec], profile: Mapping[str, Mapping[str, tuple[int, ...]]]
) -> dict[str, tuple[int, ...]]:
    """Pick one concrete shape per input inside the profile: opt, else --shapes, else static dims.

    Raises:
        UsageError: a dynamic input has no shape in the profile.
    """
    shapes = {}
    for s in specs:
        for kind in ("opt", "shapes", "max", "min"):
            if s.name in profile.get(kind, {}):
                shapes[s.name] = tuple(profile[kind][s.name])
                break
        else:
            if s.dynamic:
                raise UsageError(
                    f"input {s.name!r} has dynamic dims {s.shape} and the run gives no shape for it.",
                    hint="pass inputs={...} with your tensors, or build with "
                    f"--minShapes/--optShapes/--maxShapes for {s.name}",
                )
            shapes[s.name] = tuple(int(d) for d in s.shape)
    return shapes


def make_inputs(
    specs: Sequence[TensorSpec], shapes: Mapping[str, tuple[int, ...]], seed: int = 0
) -> dict[str, np.ndarray]:
    """Random inputs: floats uniform in [-1, 1), integers in [0, 4), bools 50/50."""
    import numpy as np

    rng = np.random.default_rng(seed)
    made = {}
    for s in specs:
        shape, dtype = shapes[s.name], np.dtype(s.dtype)
        if dtype.kind == "f":
            arr = rng.uniform(-1.0, 1.0, size=shape).astype(dtype)
        elif dtype.kind in "iu":
            arr = rng.integers(0, 4, size=shape).astype(dtype)
        elif dtype.kind == "b":
            arr = rng.random(size=shape) < 0.5
        else:
            raise UsageError(
                f"input {s.name!r} has type {dtype}, for which no random data is made.",
                hint="pass inputs={name: array} with your own tensors",
            )
        made[s.name] = np.ascontiguousarray(arr)
    return made


def check_user_inputs(
    specs: Sequence[TensorSpec],
    inputs: Mapping[str, Any],
    profile: Mapping[str, Mapping[str, tuple[int, ...]]],
) -> dict[str, np.ndarray]:
    """Validate the user's tensors: every input given, dtype cast, shape inside min..max."""
    import numpy as np

    names = [s.name for s in specs]
    unknown = sorted(set(inputs) - set(names))
    missing = [n for n in names if n not in inputs]
    if unknown or missing:
        raise UsageError(
            f"inputs do not match the model: missing {missing}, unknown {unknown}.",
            hint=f"the model's inputs are {names}",
        )
    checked = {}
    for s in specs:
        arr = np.ascontiguousarray(np.asarray(_to_numpy(inputs[s.name])).astype(s.dtype))
        lo, hi = profile.get("min", {}).get(s.name), profile.get("max", {}).get(s.name)
        outside = (
            lo is not None
            and hi is not None
            and (
                len(lo) != arr.ndim
                or any(not a <= d <= b for a, d, b in zip(lo, arr.shape, hi, strict=True))
            )
        )
        if outside:
            raise UsageError(
                f"input {s.name!r} has shape {arr.shape}, outside the engine's profile {lo}..{hi}.",
                hint="pass a tensor whose shape lies between --minShapes and --maxShapes",
            )
        checked[s.name] = arr
    return checked


def _to_numpy(value: Any) -> Any:
    if hasattr(value, "detach"):  # a torch tensor; torch itself is not imported here
        return value.detach().cpu().numpy()
    return value


def reference_outputs(onnx_path: str | Path, inputs: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Run the ONNX model in ONNX Runtime on the CPU: output name -> array."""
    ort = require("onnxruntime", "export", "The accuracy check")
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, dict(inputs)), strict=True))


# ---------------------------------------------------------------------------------------------
# comparing


def compare_output(
    name: str, reference: Any, engine: Any, *, rtol: float, atol: float, histogram: bool = False
) -> OutputAccuracy:
    """Compare one engine output with its reference (numpy ``isclose`` rule, NaN == NaN)."""
    import numpy as np

    ref = np.asarray(reference, dtype=np.float64)
    got = np.asarray(engine, dtype=np.float64)
    if ref.size == got.size and ref.shape != got.shape:
        got = got.reshape(ref.shape)  # e.g. trtexec printed 1x10 for an ONNX [10]
    if ref.shape != got.shape:
        return OutputAccuracy(
            name, tuple(got.shape), math.inf, math.inf, 1.0, int(max(ref.size, got.size)),
            False, _finite_max(ref), note=f"shape {got.shape} differs from the reference {ref.shape}",
        )  # fmt: skip
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(got - ref)
        both_nan = np.isnan(ref) & np.isnan(got)
        same_inf = np.isinf(ref) & (ref == got)
        diff = np.where(both_nan | same_inf, 0.0, diff)
        diff = np.where(np.isnan(diff), np.inf, diff)
        bad = diff > atol + rtol * np.abs(ref)
        nonzero = np.abs(ref) > 0
        rel = diff[nonzero] / np.abs(ref[nonzero])
    overflow = int(np.count_nonzero(np.isfinite(ref) & (np.abs(ref) > FP16_MAX)))
    mismatched = int(np.count_nonzero(bad))
    out = OutputAccuracy(
        name=name,
        shape=tuple(ref.shape),
        max_abs_error=float(diff.max()) if diff.size else 0.0,
        max_rel_error=float(rel.max()) if rel.size else 0.0,
        out_of_tolerance=mismatched / ref.size if ref.size else 0.0,
        mismatched=mismatched,
        passed=mismatched == 0,
        reference_max_abs=_finite_max(ref),
        fp16_overflow=overflow,
        histogram=error_histogram(diff) if histogram else None,
    )
    out.note = _explain(out, ref, got)
    return out


def _finite_max(a) -> float:
    import numpy as np

    finite = np.abs(a[np.isfinite(a)])
    return float(finite.max()) if finite.size else math.nan


def _explain(o: OutputAccuracy, ref, got) -> str:
    import numpy as np

    if o.fp16_overflow:
        new_inf = int(np.count_nonzero(np.isinf(got) & np.isfinite(ref)))
        text = (
            f"{o.fp16_overflow} reference values lie past FP16's range (|x| > {FP16_MAX:g}; "
            f"largest {o.reference_max_abs:.4g}). An FP16 engine cannot hold them"
        )
        if new_inf:
            text += f", and {new_inf} engine values became inf"
        return text + (
            ". Keep the layers that produce them in FP32 (--layerPrecisions / "
            "--precisionConstraints) or rescale the model."
        )
    if not o.passed and np.isinf(got).any() and not np.isinf(ref).any():
        return (
            "the engine produced inf where the reference is finite: an intermediate value "
            "probably overflowed FP16 (|x| > 65504); try FP32 for the layers before this output."
        )
    return ""


def error_histogram(diff) -> list[tuple[str, int]]:
    """Counts of absolute errors per decade (labels like ``1e-05..0.0001``)."""
    import numpy as np

    flat = np.asarray(diff, dtype=np.float64).ravel()
    counts = []
    for lo, hi in zip(HIST_EDGES[:-1], HIST_EDGES[1:], strict=True):
        if lo == 0.0:
            n, label = np.count_nonzero(flat < hi), f"< {hi:g}"
        else:
            n, label = np.count_nonzero((flat >= lo) & (flat < hi)), f"{lo:g}..{hi:g}"
        counts.append((label, int(n)))
    counts[-1] = (f">= {HIST_EDGES[-2]:g}", counts[-1][1] + int(np.count_nonzero(np.isinf(flat))))
    return counts


# ---------------------------------------------------------------------------------------------
# the public entry point


def check_accuracy(
    run_or_engine: Run | str | Path,
    onnx: str | Path | None = None,
    *,
    inputs: Mapping[str, Any] | None = None,
    rtol: float = 1e-3,
    atol: float = 1e-3,
    histogram: bool = False,
    seed: int = 0,
    image: str | None = None,
    backend: str | None = None,
    docker_host: str | None = None,
    gpus: str | None = None,
    shapes: str | None = None,
    timeout: float | None = None,
    workdir: str | Path | None = None,
    display: bool = False,
    cancel: Any = None,
    extra_args: Sequence[str] = (),
) -> AccuracyReport:
    """Check a TensorRT engine's outputs against ONNX Runtime on the same inputs.

    Args:
        run_or_engine: the ``Run`` that built the engine (its backend, image, Docker host, GPUs
            and shape profile are reused), or the path of an engine file.
        onnx: the ONNX model the engine was built from; the reference runs it on the CPU.
            None: the run's ``--onnx`` file.
        inputs: your tensors by input name (numpy or torch); random ones inside the profile
            when omitted (``seed`` picks them).
        rtol, atol: an element fails when ``|engine - ref| > atol + rtol * |ref|``.
        histogram: also count the absolute errors per decade.
        shapes: a trtexec shape spec for the inputs when the run carries no profile.
        image, backend, docker_host, gpus, timeout, display, cancel: passed to the runner;
            taken from the run when it has them.
        extra_args: more trtexec flags for the engine run (e.g. ``--device=1``).

    Returns:
        AccuracyReport: per-output errors and verdicts (``report.passed``).

    Raises:
        UsageError: no engine file, inputs that do not fit the model or its profile.
        ResultError: trtexec wrote no usable ``--exportOutput`` file.
    """
    run, engine = _engine_of(run_or_engine)
    if onnx is None:
        onnx = run.files.get("onnx") if run is not None else None
        if onnx is None:
            raise UsageError(
                "no ONNX model to compare against.", hint="check_accuracy(run, 'model.onnx')"
            )
    onnx = Path(onnx)
    if not onnx.is_file():
        raise UsageError(f"the ONNX model {onnx} does not exist.", hint="pass the .onnx path")
    specs = onnx_inputs(onnx)
    profile = profile_from_args(run.command if run is not None else [])
    if shapes:
        profile.setdefault("shapes", {}).update(parse_shapes(shapes))
    if inputs is not None:
        feed = check_user_inputs(specs, inputs, profile)
    else:
        feed = make_inputs(specs, choose_shapes(specs, profile), seed)
    reference = reference_outputs(onnx, feed)
    workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="trt_magic-accuracy-"))
    engine_run = _run_engine(
        engine, specs, feed, workdir, run=run, image=image, backend=backend,
        docker_host=docker_host, gpus=gpus, timeout=timeout, display=display, cancel=cancel,
        extra_args=list(extra_args),
    )  # fmt: skip
    out_file = Path(engine_run.files.get("output") or workdir / "outputs.json")
    got = read_export_output(out_file)
    return build_report(reference, got, rtol=rtol, atol=atol, histogram=histogram,
                        inputs={k: v.shape for k, v in feed.items()}, engine=str(engine),
                        onnx=str(onnx), run=engine_run)  # fmt: skip


def build_report(
    reference: Mapping[str, Any],
    engine_outputs: Mapping[str, Any],
    *,
    rtol: float,
    atol: float,
    histogram: bool = False,
    **meta: Any,
) -> AccuracyReport:
    """Compare every reference output with the engine's and gather the report."""
    missing = [n for n in reference if n not in engine_outputs]
    outputs = [
        compare_output(
            n, reference[n], engine_outputs[n], rtol=rtol, atol=atol, histogram=histogram
        )
        for n in reference
        if n in engine_outputs
    ]
    report = AccuracyReport(outputs=outputs, rtol=rtol, atol=atol, **meta)
    if missing:
        report.notes.append(f"the engine exported no values for {missing}")
        report.outputs += [
            OutputAccuracy(n, (), math.inf, math.inf, 1.0, 0, False, math.nan, note="missing")
            for n in missing
        ]
    if rtol < 1e-6:
        report.notes.append(
            "trtexec writes --exportOutput values with 6 significant digits, so relative "
            "differences below ~1e-6 are rounding, not the engine"
        )
    return report


def _engine_of(run_or_engine: Run | str | Path) -> tuple[Run | None, Path]:
    if isinstance(run_or_engine, (str, Path)):
        run, engine = None, Path(run_or_engine)
    else:
        run = run_or_engine
        engine = run.files.get("engine")
        if engine is None:
            raise UsageError(
                "this run saved no engine, so there is nothing to check.",
                hint="build with --saveEngine=model.plan, then check_accuracy(run, onnx)",
            )
        engine = Path(engine)
        if run.backend == "replay":
            raise UsageError(
                "a replayed run has no real engine to run: its outputs were recorded elsewhere.",
                hint="check accuracy on a Docker or local run (a machine with an NVIDIA GPU)",
            )
    if not engine.is_file():
        raise UsageError(f"the engine file {engine} does not exist.", hint="build it first")
    return run, engine


def _run_engine(engine, specs, feed, workdir: Path, *, run, extra_args, **options):
    """Write the inputs as raw files and run the engine once with trtexec."""
    from .runners import trtexec

    workdir.mkdir(parents=True, exist_ok=True)
    load = []
    for i, s in enumerate(specs):
        path = workdir / f"input{i}.bin"
        feed[s.name].tofile(path)  # raw, C order: the layout trtexec's README asks for
        load.append(f"{_quoted(s.name)}:{path}")
    args = [
        f"--loadEngine={engine}",
        f"--loadInputs={','.join(load)}",
        f"--exportOutput={workdir / 'outputs.json'}",
        "--iterations=1",
        "--warmUp=0",
        "--duration=0",
    ]
    if any(s.dynamic for s in specs):
        dims = [f"{_quoted(s.name)}:{format_shape(feed[s.name].shape)}" for s in specs]
        args.append(f"--shapes={','.join(dims)}")
    args += extra_args
    for key in ("image", "backend", "gpus"):
        if options.get(key) is None and run is not None:
            options[key] = getattr(run, key)
    if options.get("docker_host") is None and run is not None and run.backend == "docker":
        options["docker_host"] = run.host
    engine_run = trtexec(args, cache=False, **options)
    if not getattr(engine_run, "ok", engine_run.exit_code == 0):
        raise ResultError(
            "trtexec could not run the engine on the accuracy inputs "
            f"({engine_run.status}, exit code {engine_run.exit_code}).",
            hint="see the run's log (report.run.read_log())",
            detail=engine_run.read_log()[-3000:],
        )
    return engine_run


def _quoted(name: str) -> str:
    # "Input names can be wrapped with single quotes (ex: 'Input:0')" (trtexec 10.16.1 --help)
    return f"'{name}'" if any(c in name for c in ":,") else name
