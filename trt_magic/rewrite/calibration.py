"""Calibration data from notebook objects, matched to the model's inputs and checked.

A tensor or ndarray (one-input models), a dict of them (keyed by input name), or an iterable of
batches (a list, a generator, a torch DataLoader) whose batches are any of those, or tuples whose
first items are the inputs in order (a DataLoader's ``(images, labels)``). Batches are joined
along the first axis. numpy is imported inside the functions.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ..errors import SimplifyError
from .stats import TensorSpec

#: under this many samples a calibration is a guess (trt_magic's threshold, not ModelOpt's)
FEW_SAMPLES = 32


@dataclass
class Calibration:
    """Arrays per input (samples along axis 0) and what was noticed on the way."""

    arrays: dict  # input name -> numpy array
    samples: int
    notes: list[str] = field(default_factory=list)

    def split(self, held_out: float = 0.1) -> tuple[dict, dict | None]:
        """(calibration part, held-out part or None when too few samples to spare any)."""
        spare = int(self.samples * held_out)
        if spare < 1 or self.samples - spare < 1:
            return self.arrays, None
        keep = self.samples - spare
        return (
            {k: v[:keep] for k, v in self.arrays.items()},
            {k: v[keep:] for k, v in self.arrays.items()},
        )


def _array(value):
    import numpy as np

    if hasattr(value, "detach"):  # a torch tensor, without importing torch
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _is_single(value) -> bool:
    return hasattr(value, "detach") or hasattr(value, "__array__") and not isinstance(value, dict)


def _batch(batch, names: list[str]) -> dict:
    """One batch -> {input name: array}."""
    if isinstance(batch, Mapping):
        unknown = [k for k in batch if k not in names]
        if unknown:
            guess = difflib.get_close_matches(unknown[0], names, n=1)
            raise SimplifyError(
                f"calibration data names {unknown} are not inputs of the model {names}",
                hint=f"did you mean {guess[0]!r}?" if guess else f"use the input names {names}",
            )
        missing = [n for n in names if n not in batch]
        if missing:
            raise SimplifyError(
                f"calibration data has no values for input(s) {missing}",
                hint=f"give every input: {names}",
            )
        return {n: _array(batch[n]) for n in names}
    if _is_single(batch):
        if len(names) != 1:
            raise SimplifyError(
                f"one array was given but the model has {len(names)} inputs {names}",
                hint="pass a dict {input name: array}",
            )
        return {names[0]: _array(batch)}
    if isinstance(batch, Sequence) and len(batch) >= len(names):
        # (inputs..., labels...): a DataLoader's batches; the first items are the inputs
        return {n: _array(v) for n, v in zip(names, batch[: len(names)], strict=True)}
    raise SimplifyError(
        f"cannot read calibration data from a {type(batch).__name__}",
        hint="pass a tensor, an ndarray, a dict {input name: array}, or an iterable of those",
    )


def read_calibration(data, inputs: Sequence[TensorSpec], profile=None) -> Calibration:
    """Turn ``data`` into arrays per input, cast to the input's dtype and shape-checked.

    Args:
        data: see the module docstring.
        inputs: the model's inputs (names, dtypes, dims).
        profile: a :class:`~trt_magic.spec.ShapeProfile` whose min/max each sample must fit.

    Raises:
        SimplifyError: names that are not inputs, wrong rank, a static dim that differs, a dim
            outside the profile, or no samples at all.
    """
    import numpy as np

    names = [t.name for t in inputs]
    single = _is_single(data) or isinstance(data, Mapping)
    # a tuple with one array per input is one batch, not len(names) batches
    single |= isinstance(data, tuple) and len(names) > 1 and len(data) == len(names)
    batches = [data] if single else list(data if isinstance(data, Iterable) else [data])
    if not batches:
        raise SimplifyError("the calibration data is empty", hint="give at least one batch")
    parts = [_batch(b, names) for b in batches]
    arrays, notes = {}, []
    for spec in inputs:
        values = [p[spec.name] for p in parts]
        values = [v if v.ndim else v.reshape(1) for v in values]
        try:
            joined = np.concatenate(values, axis=0) if len(values) > 1 else values[0]
        except ValueError as exc:
            raise SimplifyError(
                f"calibration batches for {spec.name!r} do not stack: {exc}",
                hint="every batch needs the same dims after the first",
            ) from None
        arrays[spec.name] = _checked(joined, spec, profile)
    counts = {n: len(a) for n, a in arrays.items()}
    if len(set(counts.values())) > 1:
        raise SimplifyError(
            f"inputs have different sample counts {counts}", hint="give each input N samples"
        )
    samples = next(iter(counts.values()))
    if samples < FEW_SAMPLES:
        notes.append(
            f"only {samples} calibration sample(s): the INT8/FP8 scales follow these few inputs. "
            f"Give at least {FEW_SAMPLES}, better a few hundred representative ones "
            "(a DataLoader over real data works)."
        )
    return Calibration(arrays, samples, notes)


def _checked(array, spec: TensorSpec, profile):
    import numpy as np

    want = np.dtype(spec.dtype)
    if array.dtype != want:
        if not (np.issubdtype(array.dtype, np.number) and np.issubdtype(want, np.number)):
            raise SimplifyError(f"calibration data for {spec.name!r} is {array.dtype}, not {want}")
        array = array.astype(want)
    dims = spec.shape
    if dims is not None and array.ndim != len(dims):
        raise SimplifyError(
            f"calibration data for {spec.name!r} has shape {list(array.shape)}, the input has "
            f"{len(dims)} dims {list(dims)}",
            hint="samples go along the first axis: (N, *input dims after the batch)",
        )
    for axis, dim in enumerate(dims or ()):
        if axis and isinstance(dim, int) and array.shape[axis] != dim:
            raise SimplifyError(
                f"calibration data for {spec.name!r}: dim {axis} is {array.shape[axis]}, the "
                f"model's is {dim}"
            )
    rng = (getattr(profile, "ranges", None) or {}).get(spec.name)
    if rng is not None:
        for axis in range(1, array.ndim):
            lo, hi = rng.min[axis], rng.max[axis]
            if not lo <= array.shape[axis] <= hi:
                raise SimplifyError(
                    f"calibration data for {spec.name!r}: dim {axis} is {array.shape[axis]}, "
                    f"outside the build profile's {lo}..{hi}",
                    hint="calibrate with shapes the engine will run",
                )
    return np.ascontiguousarray(array)
