"""The checks every ONNX rewrite must pass: same interface, same numbers, a safe place to write.

Shared by simplify_onnx, cast_onnx and quantize_onnx.

numpy and onnxruntime are imported inside the functions that use them.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..errors import SimplifyError, require
from .stats import OutputParity, TensorSpec

#: protobuf cannot serialize a message past 2 GiB; such models must use external data
PROTOBUF_LIMIT = 2**31 - 1
#: the value random samples give every symbolic dim: first 1, then a second size
SYMBOLIC_SIZES = (1, 3)


def refuse_too_large(path: Path) -> None:
    """Refuse a file protobuf cannot hold (it cannot be a valid single-file model)."""
    size = path.stat().st_size
    if size > PROTOBUF_LIMIT:
        raise SimplifyError(
            f"{path} is {size / 2**30:.1f} GiB, past protobuf's 2 GiB limit for one ONNX file; "
            "it was not touched",
            hint="export it with external data (weights in a separate file), then pass the "
            "external-data model to trtexec without the clean-up",
        )


def refuse_too_large_with_data(path: Path, files: list[str], total: int) -> None:
    """Refuse a model whose weights, once inline, would not fit in one protobuf."""
    raise SimplifyError(
        f"{path} and its external data ({', '.join(files[:3])}) come to {total / 2**30:.1f} GiB, "
        "past the 2 GiB one ONNX protobuf can hold; the clean-up was refused and nothing was "
        "touched",
        hint="give the model to trtexec as it is (it reads the external data beside the .onnx)",
    )


def stale_data_warning(source: Path, target: Path, files: list[str]) -> str:
    """The warning for external data that the result no longer uses (its weights are inline)."""
    if target != source:
        return f"the weights of {source.name} ({', '.join(files)}) are inline in {target.name}"
    return (
        f"{source.name} now holds its weights inline; {', '.join(files)} beside it is no longer "
        "used by it (left in place: delete it if nothing else needs it)"
    )


def check_writable(out: Path) -> None:
    """Refuse an output that cannot (or must not) be written, before any work is done.

    Mode bits are honoured even for root (who may write anyway): a file or folder the user made
    read-only is a decision, not an obstacle.
    """
    folder = out.parent
    if not folder.is_dir():
        raise SimplifyError(
            f"cannot write {out}: folder {folder} does not exist",
            hint="create the folder or pass another -o/out",
        )
    if out.exists() and (not os.access(out, os.W_OK) or not _mode_writable(out)):
        raise SimplifyError(
            f"cannot write {out}: the file is read-only",
            hint="chmod u+w it, or pass another -o/out",
        )
    if not os.access(folder, os.W_OK | os.X_OK) or not _mode_writable(folder):
        raise SimplifyError(
            f"cannot write {out}: folder {folder} is read-only",
            hint="pass an -o/out in a writable folder",
        )


def _mode_writable(path: Path) -> bool:
    return bool(path.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def interface_changes(
    before: Sequence[TensorSpec], after: Sequence[TensorSpec], kind: str, keep=None
) -> list[str]:
    """What differs between two lists of inputs (or outputs); empty when kept.

    A dim unknown before may become known after (shape inference refined it); a symbolic dim
    must keep its name and a fixed dim its value. With ``keep`` (the input dims' names), an
    output dim whose name is not one of them is the exporter's placeholder (TorchScript's
    ``LayerNormalizationlast_hidden_state_dim_1``, seen on ViT): the clean-up may resolve it to
    a number or another name, an equivalent interface (the parity check compares the values).
    """
    if [t.name for t in before] != [t.name for t in after]:
        return [f"{kind} names {[t.name for t in before]} became {[t.name for t in after]}"]
    problems = []
    for b, a in zip(before, after, strict=True):
        if b.dtype != a.dtype:
            problems.append(f"{kind} {b.name!r} dtype {b.dtype} became {a.dtype}")
        if b.shape is None:
            continue
        if a.shape is None or len(a.shape) != len(b.shape):
            problems.append(f"{kind} {b.name!r} shape {_dims(b.shape)} became {_dims(a.shape)}")
            continue
        for i, (db, da) in enumerate(zip(b.shape, a.shape, strict=True)):
            placeholder = keep is not None and isinstance(db, str) and db not in keep
            if db is not None and db != da and not placeholder:
                problems.append(f"{kind} {b.name!r} dim {i} {db!r} became {da!r}")
    return problems


def _dims(shape) -> str:
    return "?" if shape is None else "[" + ", ".join(repr(d) for d in shape) + "]"


def make_samples(inputs: Sequence[TensorSpec], seed: int = 0) -> dict[str, dict]:
    """Random inputs: every symbolic dim at 1, then at a second size (same name, same value)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    symbolic = any(isinstance(d, str) or d is None for t in inputs for d in (t.shape or ()))
    samples = {}
    for size in SYMBOLIC_SIZES if symbolic else SYMBOLIC_SIZES[:1]:
        feeds = {}
        for t in inputs:
            shape = [size if not isinstance(d, int) else d for d in (t.shape or ())]
            feeds[t.name] = _random(rng, np.dtype(t.dtype), shape)
        label = f"symbolic dims={size}" if symbolic else "static shapes"
        samples[label] = feeds
    return samples


def _random(rng, dtype, shape):
    import numpy as np

    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    if np.issubdtype(dtype, np.integer):
        return rng.integers(0, 8, size=shape).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


def normalize_samples(samples, inputs: Sequence[TensorSpec]) -> dict[str, dict]:
    """Given samples as {label: feeds}: a dict of arrays, a tuple of arrays, or a list of those."""
    import numpy as np

    names = [t.name for t in inputs]

    def feeds(sample) -> dict:
        if isinstance(sample, Mapping):
            return {k: _array(np, v) for k, v in sample.items()}
        values = sample if isinstance(sample, (list, tuple)) else [sample]
        if len(values) != len(names):
            raise SimplifyError(
                f"a sample has {len(values)} arrays but the model has {len(names)} inputs {names}",
                hint="pass samples as {input name: array}",
            )
        return {n: _array(np, v) for n, v in zip(names, values, strict=True)}

    if isinstance(samples, Mapping) or not isinstance(samples, (list, tuple)):
        listed = [samples]
    elif samples and all(isinstance(s, (Mapping, list, tuple)) for s in samples):
        listed = list(samples)
    else:
        listed = [samples]
    return {f"sample {i}": feeds(s) for i, s in enumerate(listed)}


def _array(np, value):
    if hasattr(value, "detach"):  # a torch tensor, without importing torch
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def compare_outputs(
    original: Path, simplified: Path, samples: dict[str, dict], rtol: float, atol: float
) -> tuple[list[OutputParity], list[str]]:
    """onnxruntime on both files for every sample; per-output errors and warnings."""
    import numpy as np

    reference, candidate = _session(original), _session(simplified)
    names = [o.name for o in reference.get_outputs()]
    rows, warnings = [], []
    for label, feeds in samples.items():
        try:
            expected = reference.run(names, feeds)
        except Exception as exc:  # the sample does not fit the original: nothing to compare
            warnings.append(f"parity on {label} skipped: the original fails on it ({exc})"[:300])
            continue
        try:
            got = candidate.run(names, feeds)
        except Exception as exc:
            first = str(exc).strip().splitlines()[0][:200]
            rows += [
                OutputParity(label, n, float("inf"), float("inf"), False, first) for n in names
            ]
            continue
        for name, e, g in zip(names, expected, got, strict=True):
            rows.append(_parity(np, label, name, np.asarray(e), np.asarray(g), rtol, atol))
    return rows, warnings


def _parity(np, label, name, expected, got, rtol, atol) -> OutputParity:
    if expected.shape != got.shape or expected.dtype != got.dtype:
        note = f"{expected.dtype}{list(expected.shape)} became {got.dtype}{list(got.shape)}"
        return OutputParity(label, name, float("inf"), float("inf"), False, note)
    if expected.size == 0:
        return OutputParity(label, name, 0.0, 0.0, True)
    e, g = expected.astype(np.float64), got.astype(np.float64)
    diff = np.abs(e - g)
    diff[np.isnan(e) & np.isnan(g)] = 0.0
    max_abs = float(np.nanmax(np.where(np.isnan(diff), np.inf, diff)))
    max_rel = float(np.max(diff / np.maximum(np.abs(e), 1e-12)))
    ok = bool(np.allclose(g, e, rtol=rtol, atol=atol, equal_nan=True))
    return OutputParity(label, name, max_abs, max_rel, ok)


def _session(path: Path):
    ort = require("onnxruntime", "simplify", "the clean-up's parity check")
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: warnings about unused initializers are noise
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
