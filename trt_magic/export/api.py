"""``export_onnx``: a PyTorch model to a checked ONNX file that TensorRT will accept.

The steps: choose exporter and opset for the configured TensorRT (``plan``); copy the model to
the CPU in eval mode and build its inputs (``_torch.prepare``); export into a temporary folder
beside the target, in a child process when it must be stoppable or pinned (``isolate``); check
the file and its parity against PyTorch (``checks``); move it into place; simplify; pre-flight.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import time
from pathlib import Path

from ..config import get_settings
from ..errors import ExportError, TrtMagicError, UsageError, require
from . import checks, external, hints, isolate, parity, plan
from .preflight import preflight
from .result import ExportResult
from .spec import dim_ranges, normalize_axes, parse_dynamic, parse_inputs


def export_onnx(
    model,
    path: str | os.PathLike,
    inputs=None,
    dynamic=None,
    *,
    sample=None,
    opset: int | None = None,
    exporter: str = "auto",
    output_names=None,
    submodule: str | None = None,
    check: bool = True,
    rtol: float = 1e-3,
    atol: float = 1e-4,
    timeout: float | None = None,
    simplify: str = "auto",
    allow_frozen: bool = False,
    external_data: bool | None = None,
) -> ExportResult:
    """Export ``model`` to ONNX at ``path``, check it, and say whether TensorRT will take it.

    Args:
        model: a ``torch.nn.Module``; it is not modified (a CPU copy in eval mode is exported).
        path: the .onnx file (relative to the ``workdir`` setting); written atomically.
        inputs: ``["images:1x3x224x224", "tokens:1x128:int64"]`` in forward's order, or a dict.
        dynamic: ``["images:0=batch", "ids:1=seq[1:512]"]`` or ``{"images": {0: "batch"}}``;
            a dim may be ``("seq", 1, 512)`` or a ``torch.export.Dim`` (a bounded range).
        sample: instead of ``inputs``: a tensor, tuple or dict of tensors.
        opset, exporter: default: what the configured image's TensorRT reads (``auto``).
        output_names: names for the flattened outputs ("a,b" or a list).
        submodule: export ``model.<submodule>`` alone, its inputs captured on the whole model.
        check: run onnx.checker, shape inference and onnxruntime parity (two sizes if dynamic).
        rtol, atol: the parity tolerance.
        timeout: seconds before the export is stopped (it then runs in a child process).
        simplify: ``auto``, ``onnxslim``, ``polygraphy``, ``onnxsim`` or ``none``.
        allow_frozen: accept a TorchScript trace that turned a tensor into a Python value (an
            ``if`` on a tensor): the file then keeps the sample's branch. Off: an error.
        external_data: store the weights in ``<name>.onnx.data`` beside the model (one file,
            written with it); default (None): when they pass what one ONNX file holds (2 GB).

    Raises:
        UsageError: bad arguments; ExportError: the export or a check failed (with a hint).
    """
    started = time.perf_counter()
    settings = get_settings()
    target = settings.resolve_path(path)
    _check_target(target)  # before any model work: a bad path fails in milliseconds
    require("torch", "export", "ONNX export")
    from . import _torch

    choice = plan.choose(exporter, opset or settings.opset or None, settings.image)
    prepared = _torch.prepare(model, parse_inputs(inputs), sample, submodule)
    ranges: dict = {}
    dyn = _dynamic_for(prepared, parse_dynamic(dynamic, ranges))
    # the reference forward feeds the parity check; without it, output names come from the
    # export's own forward (a hook) and are set afterwards: no second forward pass
    need_reference = check or any(n not in prepared.input_names for n in dyn)
    reference = _torch.reference(prepared) if need_reference else None
    names = _output_names(output_names, reference)
    dyn = _dynamic_outputs(dyn, prepared, names or [], choice)
    call = _torch.ExportCall("", choice.exporter, choice.opset, prepared.input_names, names, dyn)
    call.external_data = external.decide(
        _torch.needs_external_data(_torch.weight_bytes(prepared.model)), external_data
    )
    if call.external_data:  # before the export: <name>.data must be ours to write
        external.check_free(target)
    call.ranges = ranges
    ctx = _Context(
        target, choice, prepared, call, [*prepared.notes, *choice.notes], list(choice.warnings)
    )
    ctx.timings["prepare"] = time.perf_counter() - started
    ctx.allow_frozen, ctx.image = allow_frozen, settings.image
    expected = dict(zip(names, (t for _, t in reference), strict=True)) if reference else {}
    result = _export_any(ctx, exporter == "auto", opset, (expected, check, rtol, atol, timeout))
    _simplify_and_preflight(result, ctx, simplify, timeout)
    result.timings["total"] = time.perf_counter() - started
    return result


class _Context:
    """What the steps after ``prepare`` share."""

    def __init__(self, target: Path, choice, prepared, call, notes, warnings):
        self.target, self.choice, self.prepared, self.call = target, choice, prepared, call
        self.notes, self.warnings = notes, warnings
        self.timings: dict[str, float] = {}
        self.samples: dict[str, tuple[dict, dict]] = {}
        self.allow_frozen, self.image, self.log = False, "", ""
        self.size_branches: list[str] = []
        self.tried_torchscript = False


def _dynamic_for(prepared, dyn: dict) -> dict:
    ranks = {n: t.dim() for n, t in prepared.tensors.items()}
    ranks.update({n: len(s) for n, s in prepared.outer.items() if n not in ranks})
    normalize_axes(dyn, ranks)
    for name in [n for n in dyn if n in prepared.outer and n not in prepared.input_names]:
        _carry_over(prepared, dyn, name)
    return dyn


def _carry_over(prepared, dyn: dict, name: str) -> None:
    """``-d`` on the whole model's input -> the submodule's inputs with that size on that axis.

    With ``--submodule`` the user describes the model they have (``-d images:0=batch``); the
    batch reaches the submodule's inputs on the same axis with the same size.
    """
    for axis, dim in dyn.pop(name).items():
        size = prepared.outer[name][axis]
        hits = [n for n, t in prepared.tensors.items() if t.dim() > axis and t.shape[axis] == size]
        for n in hits:
            dyn.setdefault(n, {}).setdefault(axis, dim)
        prepared.notes.append(
            f"-d {name}:{axis}={dim} carried over to the submodule's "
            + (
                f"input(s) {', '.join(hits)} (size {size} on axis {axis})"
                if hits
                else "inputs: none matched"
            )
        )


def _output_names(given, reference) -> list[str] | None:
    """The given names (checked against the outputs when known), else the flattened ones."""
    names = [n.strip() for n in given.split(",")] if isinstance(given, str) else given
    if reference is None:
        return list(names) if names else None
    default = [n for n, _ in reference]
    if not names:
        return default
    if len(names) != len(default):
        raise UsageError(
            f"{len(names)} output names for {len(default)} outputs ({', '.join(default)})",
            hint="give one name per output tensor, in the order forward returns them",
        )
    return names


def _dynamic_outputs(dyn: dict, prepared, names: list[str], choice) -> dict:
    """Refuse unknown names; output axes go to the TorchScript exporter only."""
    known = set(prepared.input_names) | set(names)
    for name in dyn:
        if name not in known:
            import difflib

            close = difflib.get_close_matches(name, sorted(known), n=2)
            raise UsageError(
                f"-d {name}: no input or output is called {name!r}",
                hint=(f"did you mean {' or '.join(close)}? " if close else "")
                + f"inputs: {', '.join(prepared.input_names)}; outputs: {', '.join(names)}",
            )
    outs = [n for n in dyn if n in names and n not in prepared.input_names]
    if outs and choice.exporter == "dynamo":
        choice.notes.append(
            f"-d {', '.join(outs)}: the dynamo exporter derives output dims from the inputs"
        )
        return {n: d for n, d in dyn.items() if n not in outs}
    return dyn


def _export_any(ctx: _Context, auto: bool, opset, checked: tuple) -> ExportResult:
    """Export with the chosen exporter; with ``auto``, when its file is wrong or unusable (a
    frozen branch, parity, an opset the TensorRT cannot read) or it failed without a specific
    diagnosis, try the other exporter. Both failing: the more useful error, naming the other."""
    notes, warnings = list(ctx.notes), list(ctx.warnings)
    try:
        return _export_checked(ctx, *checked)
    except ExportError as first:
        if not auto or not getattr(first, "other_exporter", False):
            raise
        tried = ctx.call.exporter
        other = "dynamo" if tried == "torchscript" else "torchscript"
        alt = plan.choose(other, opset, ctx.image)
        ctx.choice, ctx.call.exporter, ctx.call.opset = alt, other, alt.opset
        ctx.tried_torchscript = tried == "torchscript"
        ctx.notes = [*notes, *alt.notes, f"auto: {tried} failed ({_first_line(first)}); "
                     f"tried {other}"]  # fmt: skip
        ctx.warnings = [*warnings, *alt.warnings]
        try:
            return _export_checked(ctx, *checked)
        except ExportError as second:
            wrong_file = getattr(first, "wrong_file", False)
            keep, dropped, name = (second, first, tried) if wrong_file else (first, second, other)
            keep.hint = f"{keep.hint or ''} (auto also tried {name}: {_first_line(dropped)})"
            raise keep from second


def _first_line(error: ExportError) -> str:
    return error.message.strip().splitlines()[0][:200]


def _export_checked(
    ctx: _Context, expected: dict, check: bool, rtol, atol, timeout
) -> ExportResult:
    """Export into a temporary folder beside the target, check, then move into place."""
    tmpdir = _temp_dir(ctx.target)
    scratch = None
    if ctx.call.external_data and ctx.call.exporter == "torchscript":  # one file per weight
        scratch = external.scratch_dir(_torch_weight_bytes(ctx))
    try:
        ctx.call.path = str((scratch or tmpdir) / ctx.target.name)
        info = _run_export(ctx, timeout)
        traced = info.get("output_names") or []
        _frozen(ctx, info.get("frozen") or [])
        t0 = time.perf_counter()
        if external.consolidate(Path(ctx.call.path), ctx.call.external_data, into=tmpdir):
            ctx.notes.append(
                f"the weights are stored as ONNX external data in {ctx.target.name}.data"
            )
        ctx.call.path = str(tmpdir / ctx.target.name)
        path = Path(ctx.call.path)
        model = _renamed_graph(ctx, path, traced)
        _check_cap(ctx, checks.opset_of(model))
        model, warns = checks.load_checked(path, check, None if check else model)
        ctx.warnings += warns
        histogram = checks.op_histogram(model)
        inputs, outputs = checks.signature(model)
        _check_dims_dynamic(ctx, inputs)
        try:
            rows = parity.run(ctx, expected, model, check, rtol, atol)
        except ExportError as exc:  # a frozen size branch is the likely cause: auto retries
            exc.other_exporter = exc.wrong_file = bool(ctx.size_branches)
            raise
        ctx.timings["check"] = time.perf_counter() - t0
        published = external.publish(tmpdir, ctx.target)
        ctx.notes += published.notes
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    return ExportResult(
        path=ctx.target, size=published.size, exporter=ctx.call.exporter,
        opset=checks.opset_of(model), inputs=inputs, outputs=outputs, op_histogram=histogram,
        parity=rows, sample_shapes={n: tuple(t.shape) for n, t in ctx.prepared.tensors.items()},
        timings=ctx.timings, warnings=ctx.warnings, notes=ctx.notes,
        trt_version=ctx.choice.trt_version, external_data=published.data is not None,
        data_file=published.data, data_size=published.data_size,
        dim_ranges=dim_ranges(ctx.call.ranges), log=ctx.log,
    )  # fmt: skip


def _torch_weight_bytes(ctx: _Context) -> int:
    from . import _torch

    return _torch.weight_bytes(ctx.prepared.model)


def _check_target(target: Path) -> None:
    """Refuse a folder, a read-only file, or a folder that cannot be created."""
    if target.is_dir():
        raise hints.unwritable(target, "it is a folder; give a file name like model.onnx")
    if target.exists() and not target.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        raise hints.unwritable(target, "the file is read-only")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise hints.unwritable(target, exc.strerror or str(exc)) from None
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise hints.unwritable(target, f"no write permission in {target.parent}")


def _renamed_graph(ctx: _Context, path: Path, traced: list[str]):
    """The graph without weights (all the interface and pre-flight need), named as asked.

    Renaming is tried on that light copy first; only when something changed is the whole file
    loaded, renamed the same way and saved (the dynamo exporter's ``s77`` dims, typically).
    """

    def rename(model) -> bool:
        changed = bool(ctx.call.output_names is None and traced)
        changed = changed and checks.rename_outputs(model, traced)
        if ctx.call.exporter == "dynamo" and checks.rename_dims(model, ctx.call.dynamic):
            changed = True
        return changed

    graph = checks.load_graph_only(path)
    if rename(graph):
        full = checks.load_graph(path)
        rename(full)
        checks.save_graph(full, path)
    return graph


def _temp_dir(target: Path) -> Path:
    """A private folder beside ``target`` (same file system, so os.replace is atomic)."""
    _check_target(target)
    try:
        return Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    except OSError as exc:
        raise hints.unwritable(target, exc.strerror or str(exc)) from None


def _frozen(ctx: _Context, places: list[str]) -> None:
    """Trace places that froze a value: an error (unless allowed); size-only ones a warning,
    since the second-size parity checks them (and ``auto`` retries when it fails)."""
    values = [p for p in places if not hints.size_only(p)]
    sizes = [p for p in places if hints.size_only(p)]
    ctx.size_branches = sizes
    if values and not ctx.allow_frozen:
        raise hints.frozen_branch(values, ctx.call.exporter)
    if values:
        ctx.warnings.append(hints.frozen_branch(values, ctx.call.exporter).message)
    if sizes:
        ctx.notes.append(
            f"the trace fixed {len(sizes)} size branch(es) (e.g. {hints.short_place(sizes[0])}): "
            "the second-size parity checks them"
        )


def _check_cap(ctx: _Context, opset: int) -> None:
    """A file above the target TensorRT's opset cap is never a success."""
    cap = ctx.choice.cap
    if opset > cap and opset > ctx.call.opset:  # the exporter wrote above what it was asked
        image = plan.image_for_opset(opset, ctx.image)
        raise hints.above_cap(
            opset, cap, ctx.choice.trt_version, ctx.call.exporter, image,
            torchscript_ok=not ctx.tried_torchscript,
        )  # fmt: skip


def _run_export(ctx: _Context, timeout: float | None) -> dict:
    """Run the export (stoppable/pinned when needed); return what ``_torch.torch_export`` saw."""
    from . import _torch

    pin = isolate.pinning_plan()
    if pin:
        node, cpus = pin
        total = len(isolate.numa_nodes())
        ctx.notes.append(
            f"pinned the export to NUMA node {node} (CPUs {_ranges(cpus)}) of {total} nodes"
        )
    context = {"exporter": ctx.call.exporter, "opset": ctx.call.opset, "cap": ctx.choice.cap,
               "trt_version": ctx.choice.trt_version}  # fmt: skip
    t0 = time.perf_counter()
    try:
        info = isolate.run_isolated(
            lambda: _torch.torch_export(ctx.prepared, ctx.call),
            timeout=timeout, cpus=pin[1] if pin else None, child_setup=_torch.child_setup,
        )  # fmt: skip
    except isolate.ChildTimedOut:
        raise hints.timed_out(timeout, f"NUMA node {pin[0]}" if pin else None) from None
    except isolate.ChildFailed as exc:
        raise _diagnosed(exc.record, context) from exc
    except TrtMagicError:
        raise
    except Exception as exc:
        raise _diagnosed(isolate.ErrorRecord.from_exception(exc), context) from exc
    ctx.timings["export"] = time.perf_counter() - t0
    for dim, (low, high) in (info.get("bounded") or {}).items():
        ctx.call.ranges[dim] = (low, high)
        ctx.notes.append(
            f"dim {dim} bounded to [{low or ''}:{high or ''}] as the model requires (torch.export "
            f"suggested it); write -d NAME:AXIS={dim}[{low or ''}:{high or ''}] to say so yourself"
        )
    for text in info["warnings"]:
        if not hints.tracer_warning(text):  # frozen branches are reported by place instead
            ctx.warnings.append(text.strip().splitlines()[0][:300])
    ctx.warnings[:] = list(dict.fromkeys(ctx.warnings))
    ctx.log = info.get("log", "")
    return info


def _diagnosed(record: isolate.ErrorRecord, context: dict) -> ExportError:
    error = hints.diagnose(record.text + "\n" + record.traceback, context)
    error.detail = record.text
    return error


def _check_dims_dynamic(ctx: _Context, inputs) -> None:
    by_name = {s.name: s for s in inputs}
    for name, axes in ctx.call.dynamic.items():
        sig = by_name.get(name)
        for axis, dim in axes.items():
            if sig is not None and axis < len(sig.shape) and isinstance(sig.shape[axis], int):
                raise hints.dim_not_dynamic(name, axis, dim)


def _size_on_disk(target: Path) -> int:
    data = target.parent / external.data_name(target)
    return target.stat().st_size + (data.stat().st_size if data.is_file() else 0)


def _ranges(cpus: list[int]) -> str:
    """``[0, 1, 2, 3, 8]`` -> ``"0-3,8"`` (the sysfs cpulist style)."""
    out, start = [], cpus[0]
    for prev, cur in zip(cpus, [*cpus[1:], None], strict=True):
        if cur is None or cur != prev + 1:
            out.append(f"{start}-{prev}" if prev != start else f"{start}")
            start = cur
    return ",".join(out)


def _simplify_and_preflight(result: ExportResult, ctx: _Context, method: str, timeout) -> None:
    """Simplify in place (keeping the original on any failure), then pre-flight the final graph."""
    if method and method != "none":
        t0 = time.perf_counter()
        result.simplify = _simplify(result, ctx, method, timeout)
        result.timings["simplify"] = time.perf_counter() - t0
        if result.simplify is not None:
            model, _ = checks.load_checked(result.path, check=False)
            result.op_histogram = checks.op_histogram(model)
            result.size = _size_on_disk(result.path)
    graph = checks.load_graph_only(result.path)  # node inputs and initializer names only
    result.preflight = preflight(result.op_histogram, ctx.choice.trt_version, result.opset, graph)


def _simplify(result: ExportResult, ctx: _Context, method: str, timeout):
    try:
        from ..simplify import simplify_onnx
    except ImportError as exc:
        result.warnings.append(f"not simplified: trt_magic.simplify is unavailable ({exc})")
        return None
    samples = [feeds for feeds, _ in ctx.samples.values()] or None
    try:
        return simplify_onnx(
            result.path, out=result.path, method=method, samples=samples, timeout=timeout
        )
    except TrtMagicError as exc:  # MissingDependency, SimplifyError: the export stands as it is
        hint = f" ({exc.hint})" if exc.hint else ""
        result.warnings.append(f"not simplified: {exc.message}{hint}")
    except Exception as exc:  # noqa: BLE001 - a clean-up bug must not lose a good export
        result.warnings.append(f"not simplified: {type(exc).__name__}: {exc}")
    return None
