"""The parity samples and their check: onnxruntime against PyTorch on the sample and, when axes
are dynamic, on a second sample of another size; the output structure must match at both.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ExportError
from . import checks, hints


def run(ctx, expected: dict, model, check: bool, rtol, atol) -> list:
    """Refuse random ops, build the samples (kept on ``ctx.samples``), compare, raise on FAIL."""
    histogram = checks.op_histogram(model)
    dropouts = checks.training_dropouts(model)
    if any(op in hints.RANDOM_OPS for op in histogram) or dropouts:
        error = hints.random_ops(histogram, dropouts)
        if check:
            raise error
        ctx.warnings.append(error.message)
    if not check:
        return []
    ctx.samples = samples(ctx, expected)
    rows = checks.parity(Path(ctx.call.path), ctx.samples, rtol, atol)
    failed = [str(r) for r in rows if not r.ok]
    if failed:
        first = next(iter(ctx.samples))
        raise hints.parity_failed(failed, dynamic=all(r.ok for r in rows if r.sample == first))
    return rows


def _label(prefix: str, dims: dict) -> str:
    sizes = ", ".join(f"{d}={v}" for d, v in dims.items())
    return f"{prefix} ({sizes})" if sizes else prefix


def samples(ctx, expected: dict) -> dict[str, tuple[dict, dict]]:
    """The sample, and when axes are dynamic a second one with those dims resized (inside any
    range the dim has); each labelled with its sizes."""
    from . import _torch

    prepared = ctx.prepared
    inputs_dyn = {n: d for n, d in ctx.call.dynamic.items() if n in prepared.tensors and d}
    first = {d: prepared.tensors[n].shape[a] for n, ax in inputs_dyn.items() for a, d in ax.items()}
    feeds = {n: t.numpy() for n, t in prepared.tensors.items()}
    out = {_label("sample", first): (feeds, {k: v.numpy() for k, v in expected.items()})}
    if not inputs_dyn:
        return out
    ranges = _bounds(ctx.call.ranges)
    grown = _torch.resized(prepared, inputs_dyn, _grow(inputs_dyn, ranges))
    if all(grown[n].shape == prepared.tensors[n].shape for n in inputs_dyn):
        return out  # every range is a single size
    args, kwargs = _torch.split(prepared, grown)
    try:
        got = _torch.flatten_outputs(_torch.run_model(prepared.model, args, kwargs))
    except ExportError as exc:
        ctx.warnings.append(
            f"second-size parity skipped: PyTorch itself fails there ({exc.message})"
        )
        return out
    dims = {d: grown[n].shape[a] for n, ax in inputs_dyn.items() for a, d in ax.items()}
    label = _label("second sample", dims)
    names = [n for n, _ in got]
    if len(got) != len(expected):
        raise hints.structure_changed(label, len(expected), names, list(expected))
    out[label] = (
        {n: t.numpy() for n, t in grown.items()},
        {n: t.numpy() for n, (_, t) in zip(expected, got, strict=True)},
    )
    return out


def _bounds(ranges: dict) -> dict:
    from .spec import dim_ranges

    return dim_ranges(ranges)


def _grow(inputs_dyn: dict, ranges: dict):
    def grow(axis: int, size: int, name: str | None = None) -> int:
        want = size + 1 if axis == 0 else size * 2
        low, high = ranges.get(name, (None, None)) if name else (None, None)
        if high is not None and want > high:
            want = high if high != size else max(low or 1, size - 1)
        return max(want, low or 1)

    return grow
