"""Why isn't INT8 (or FP8) faster? A quantized engine against its FP16 (or FP32) sibling.

The question of NVIDIA/TensorRT #3197, #4554 and NVIDIA/Model-Optimizer#80. The usual answers,
each measured here from the two engines' layer info and profiles: little of the time actually
runs in the quantized precision; Q/DQ nodes left unfused run as kernels of their own; reformat
layers added between precisions; convolutions or GEMMs left in FP32; and paired layers (by
signature, as ``layer_diff`` pairs them) that got slower.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .comparison import LayerDiff
    from .run import Run

QUANTIZED = ("INT8", "FP8", "INT4", "FP4")


def _engine_figures(run: Run) -> dict[str, Any]:
    """Time per inference, share in quantized precisions, reformats and Q/DQ of one engine."""
    layers = run.layers
    lint = run.lint()
    total = float(layers["time_ms"].sum()) if len(layers) else 0.0
    quant = layers["precision"].isin(QUANTIZED)
    reformat = layers["type"].eq("Reformat")
    qdq = lint[lint["rule"] == "qdq_unfused"]
    qdq_names = set(qdq["layer"])
    plain = reformat & ~layers["name"].isin(qdq_names)
    fp32 = lint[lint["rule"] == "compute_in_fp32"]
    return {
        "layers_ms": total,
        "quantized_share": float(layers.loc[quant, "time_ms"].sum()) / total if total else None,
        "reformats": int(plain.sum()),
        "reformat_ms": float(layers.loc[plain, "time_ms"].sum()),
        "qdq_unfused": len(qdq),
        "qdq_ms": float(qdq["time_ms"].sum()),
        "fp32_compute": len(fp32),
        "fp32_compute_ms": float(fp32["time_ms"].sum()),
    }


@dataclass
class QuantizationReport:
    """The quantized engine against its baseline: figures per engine, reasons, slower layers."""

    quantized: str
    baseline: str
    figures: pd.DataFrame  # one column per engine
    reasons: list[str] = field(default_factory=list)
    slower: pd.DataFrame | None = None  # paired layers slower in the quantized engine
    diff: LayerDiff | None = None

    @property
    def speedup(self) -> float | None:
        """Baseline time over quantized time (sum of layer times; > 1 means faster)."""
        q, b = (
            self.figures.loc["layers_ms", self.quantized],
            self.figures.loc["layers_ms", self.baseline],
        )
        return float(b / q) if q else None

    def _repr_html_(self) -> str:
        from ..display.analysis_view import quantization_html

        return quantization_html(self)


def _pct(value: float | None) -> str:
    return "?" if value is None else f"{value:.0%}"


def _reasons(
    q: dict[str, Any], b: dict[str, Any], slower: pd.DataFrame, names: tuple[str, str]
) -> list[str]:
    """Plain sentences, the costliest first."""
    quantized, baseline = names
    missing = [n for n, f in ((quantized, q), (baseline, b)) if not f["layers_ms"]]
    if missing:
        return [f"no per-layer times for {' and '.join(missing)}: build with "
                "--profilingVerbosity=detailed --exportLayerInfo=<file> and time with "
                "--exportProfile=<file> (plus --separateProfileRun before TensorRT 11)"]  # fmt: skip
    total = q["layers_ms"] or 0.0
    found: list[tuple[float, str]] = []
    share = q["quantized_share"]
    if share is not None and share < 0.8:
        rest = (1 - share) * total
        found.append((rest, f"only {_pct(share)} of {quantized}'s layer time runs in a quantized "
                            f"precision; {rest:.3f} ms runs in FP16/FP32 (see run.layers)"))  # fmt: skip
    if q["qdq_unfused"]:
        found.append((q["qdq_ms"], f"{q['qdq_unfused']} Q/DQ nodes did not fuse and run as their "
                                   f"own kernels: {q['qdq_ms']:.3f} ms (run.lint(), rule "
                                   "qdq_unfused)"))  # fmt: skip
    added = q["reformats"] - b["reformats"]
    extra_ms = q["reformat_ms"] - b["reformat_ms"]
    if added > 0 or extra_ms > 0:
        found.append((max(extra_ms, 0.0), f"{q['reformats']} reformat layers in {quantized} "
                      f"against {b['reformats']} in {baseline} ({extra_ms:+.3f} ms)"))  # fmt: skip
    if q["fp32_compute"]:
        found.append((q["fp32_compute_ms"], f"{q['fp32_compute']} convolutions/GEMMs still run in "
                      f"FP32: {q['fp32_compute_ms']:.3f} ms"))  # fmt: skip
    if len(slower):
        lost = float(slower["delta_ms"].sum())
        found.append((lost, f"{len(slower)} layers are slower than their {baseline} partners "
                            f"(+{lost:.3f} ms; .slower)"))  # fmt: skip
    return [text for _, text in sorted(found, key=lambda x: -x[0])]


def why_not_faster(
    quantized: Run, baseline: Run, names: tuple[str, str] = ("quantized", "baseline")
) -> QuantizationReport:
    """Explain where a quantized engine's time goes compared with its FP16/FP32 sibling.

    Args:
        quantized: the INT8/FP8 engine's run (layer info and profile needed for the figures).
        baseline: the FP16 (or FP32) engine's run of the same model.
        names: labels of the two runs in the report.
    """
    import pandas as pd

    from .comparison import layer_diff

    q, b = _engine_figures(quantized), _engine_figures(baseline)
    figures = pd.DataFrame({names[0]: q, names[1]: b})
    diff = layer_diff(baseline, quantized, names[1], names[0])
    t = diff.table
    slower = t[t["change"] == "slower"].sort_values("delta_ms", ascending=False)
    return QuantizationReport(names[0], names[1], figures, _reasons(q, b, slower, names),
                              slower.reset_index(drop=True), diff)  # fmt: skip
