"""``check_accuracy``: run the engine on inputs inside its profile and compare with ONNX Runtime
(the package docstring says how)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..checks import check_path
from ..errors import ResultError, UsageError
from ..results.run import Run
from ..runners.files import write_atomic
from ..spec import format_shape, parse_shapes
from .export_output import read_export_output
from .inputs import (
    check_user_inputs,
    choose_shapes,
    make_inputs,
    onnx_inputs,
    profile_from_args,
    reference_outputs,
)
from .report import AccuracyReport, build_report


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
    made = not workdir  # ours: removed again when the check fails
    workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="trt_magic-accuracy-"))
    try:
        engine_run = _run_engine(
            engine, specs, feed, workdir, run=run, image=image, backend=backend,
            docker_host=docker_host, gpus=gpus, timeout=timeout, display=display, cancel=cancel,
            extra_args=list(extra_args),
        )  # fmt: skip
        out_file = Path(engine_run.files.get("output") or workdir / "outputs.json")
        got = read_export_output(out_file)
    except BaseException:
        if made:
            shutil.rmtree(workdir, ignore_errors=True)
        raise
    return build_report(reference, got, rtol=rtol, atol=atol, histogram=histogram,
                        inputs={k: v.shape for k, v in feed.items()}, engine=str(engine),
                        onnx=str(onnx), run=engine_run)  # fmt: skip


def _engine_of(run_or_engine: Run | str | Path) -> tuple[Run | None, Path]:
    if isinstance(run_or_engine, (str, Path)):
        run, engine = None, Path(check_path("run_or_engine", run_or_engine))
    elif not isinstance(run_or_engine, Run):
        raise UsageError(
            f"check_accuracy needs a Run or an engine path, not {type(run_or_engine).__name__}.",
            hint="check_accuracy(run) with the Run trtexec() returned, or check_accuracy('m.plan', onnx='m.onnx')",
        )
    else:
        run = run_or_engine
        if run.status in ("failed", "timeout", "interrupted"):
            raise UsageError(
                f"this run {run.status}: it built no engine to check.",
                hint="fix the build (see run.errors), then check_accuracy on the run that passed",
            )
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
    from ..runners import trtexec

    workdir.mkdir(parents=True, exist_ok=True)
    types = input_io_types(run.command if run is not None else [], len(specs))
    load = []
    for i, s in enumerate(specs):
        path = workdir / f"input{i}.bin"
        data = feed[s.name] if types[i] is None else feed[s.name].astype(types[i])
        # raw, C order, in the binding's type (what trtexec's README asks for); a new file
        # renamed into place: a symlink planted at the name is replaced, never written through
        write_atomic(path, data.tobytes())
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


#: --inputIOFormats types (grammar in tests/data/trtexec/help-trtexec-10.16.1.txt) -> numpy dtype
IO_TYPES = {"fp32": "float32", "fp16": "float16", "int32": "int32", "int64": "int64",
            "int8": "int8", "uint8": "uint8", "bool": "bool"}  # fmt: skip


def input_io_types(command: Sequence[str], count: int) -> list[str | None]:
    """The numpy dtype of each input binding from ``--inputIOFormats`` (None: the model's).

    "set comma-separated types and formats for all inputs ... or set the type and format once
    for broadcasting" (trtexec --help).
    """
    spec = next((str(a).split("=", 1)[1] for a in command
                 if str(a).startswith("--inputIOFormats=")), "")  # fmt: skip
    if not spec:
        return [None] * count
    types = [item.split(":", 1)[0].strip() for item in spec.split(",")]
    if len(types) == 1:
        types = types * count
    unknown = [t for t in types if t not in IO_TYPES]
    if unknown:
        raise UsageError(
            f"--inputIOFormats type {unknown[0]!r} has no numpy type to write inputs in.",
            hint="check this engine with fp32/fp16/int inputs, or pass a raw file by hand",
        )
    return [IO_TYPES[t] for t in types[:count]] + [None] * (count - len(types))


def _quoted(name: str) -> str:
    # "Input names can be wrapped with single quotes (ex: 'Input:0')" (trtexec 10.16.1 --help)
    return f"'{name}'" if any(c in name for c in ":,") else name
