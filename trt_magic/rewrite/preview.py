"""A CPU preview of a rewritten model before any build: ONNX Runtime, rewritten vs FP32.

Per output: the largest and mean absolute error, the largest relative error, and, when the
output looks like logits (``[N, classes]``), how often the top class agrees. numpy and
onnxruntime are imported inside the functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PreviewRow:
    """One output on one set of samples."""

    samples: str  # "held-out calibration (n=8)", "given (n=4)", "random (n=2)"
    output: str
    max_abs: float
    mean_abs: float
    max_rel: float
    top1_agreement: float | None = None  # share of rows whose argmax matches (logits only)
    note: str = ""


def preview(original: Path, rewritten: Path, feeds: dict[str, dict]) -> list[PreviewRow]:
    """Run both models on every feed set ({label: {input: array}}) and compare the outputs."""
    import numpy as np

    from .checks import _session

    reference = _session(original)
    names = [o.name for o in reference.get_outputs()]
    try:
        candidate = _session(rewritten)
    except Exception as exc:  # e.g. BF16 MatMul: onnxruntime's CPU provider has no kernel
        return [_not_runnable(label, n, exc) for label in feeds for n in names]
    rows = []
    for label, feed in feeds.items():
        expected = reference.run(names, feed)
        try:
            got = candidate.run(names, feed)
        except Exception as exc:
            rows += [_not_runnable(label, n, exc) for n in names]
            continue
        for name, e, g in zip(names, expected, got, strict=True):
            rows.append(_row(np, label, name, np.asarray(e), np.asarray(g)))
    return rows


def _not_runnable(label: str, name: str, exc: Exception) -> PreviewRow:
    first = str(exc).strip().splitlines()[0][:200]
    nan = float("nan")
    note = f"not runnable on onnxruntime's CPU provider: {first}"
    return PreviewRow(label, name, nan, nan, nan, None, note)


def _row(np, label: str, name: str, expected, got) -> PreviewRow:
    if expected.shape != got.shape:
        inf = float("inf")
        note = f"shape {list(expected.shape)} became {list(got.shape)}"
        return PreviewRow(label, name, inf, inf, inf, None, note)
    if expected.size == 0 or not np.issubdtype(expected.dtype, np.floating):
        same = float(np.mean(expected == got)) if expected.size else 1.0
        return PreviewRow(label, name, 0.0 if same == 1 else 1.0, 1 - same, 0.0)
    e, g = expected.astype(np.float64), got.astype(np.float64)
    diff = np.abs(e - g)
    top1 = None
    if e.ndim == 2 and e.shape[1] >= 2:  # [N, classes]: looks like logits or scores
        top1 = float(np.mean(np.argmax(e, axis=1) == np.argmax(g, axis=1)))
    return PreviewRow(
        label,
        name,
        max_abs=float(np.max(diff)),
        mean_abs=float(np.mean(diff)),
        max_rel=float(np.max(diff / np.maximum(np.abs(e), 1e-6))),
        top1_agreement=top1,
    )
