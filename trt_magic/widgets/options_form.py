"""The precision toggles and builder options of the editor.

Only the precisions and compatibility levels the target TensorRT version knows are enabled;
a disabled toggle's tooltip says why (see ``versions.py``).
"""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as w

from ..spec import HARDWARE_COMPAT, BuildSpec, Precision
from .versions import compat_levels, precision_reasons, target_version

LABELS = {
    Precision.FP32: "FP32",
    Precision.FP16: "FP16",
    Precision.BF16: "BF16",
    Precision.INT8: "INT8",
    Precision.FP8: "FP8",
    Precision.BEST: "best",
    Precision.STRONGLY_TYPED: "strongly typed",
}
#: -1 stands for "not set" (a Dropdown cannot select the value None)
DEFAULT_LEVEL = -1
OPT_LEVELS = [("default (3)", DEFAULT_LEVEL)] + [(str(i), i) for i in range(6)]


def _text(description: str, placeholder: str = "", width: str = "420px") -> w.Text:
    return w.Text(
        description=description,
        placeholder=placeholder,
        layout=w.Layout(width=width),
        style={"description_width": "130px"},
    )


class OptionsForm:
    """Precision toggles, optimization level, compatibility, workspace, formats, other flags."""

    def __init__(
        self, image: str, trt_version: str | None = None, on_change: Callable | None = None
    ):
        self.on_change = on_change
        self.fixed_version = trt_version
        self.image = _text("image", width="440px")
        self.image.value = image
        self.version_note = w.HTML()
        self.precision = {
            p: w.Checkbox(value=p is Precision.FP32, description=LABELS[p], indent=False)
            for p in Precision
        }
        for box in self.precision.values():
            box.layout.width = "auto"
        self.tf32 = w.Checkbox(
            value=True, description="TF32", indent=False, layout={"width": "auto"}
        )
        self.tf32.tooltip = "unticked writes --noTF32 (FP32 math without TF32 tensor cores)"
        self.opt_level = w.Dropdown(
            options=OPT_LEVELS,
            value=DEFAULT_LEVEL,
            description="optimization",
            style={"description_width": "130px"},
        )
        self.hardware = w.Dropdown(
            options=list(HARDWARE_COMPAT),
            value="none",
            description="hardware compat.",
            style={"description_width": "130px"},
        )
        self.workspace = w.IntText(
            value=0,
            description="workspace MiB",
            style={"description_width": "130px"},
            tooltip="--memPoolSize=workspace:N; 0 keeps trtexec's default",
        )
        self.input_formats = _text(
            "--inputIOFormats", "e.g. fp16:chw (one per input, or one for all)"
        )
        self.output_formats = _text("--outputIOFormats", "e.g. fp16:chw")
        self.engine = _text("engine", "default: <model>_<PRECISION>_<HWCOMPAT>.plan", "520px")
        self.extra = _text("other flags", "e.g. --verbose --timingCacheFile=cache.bin", "520px")
        self.retarget()
        self.widget = w.VBox(
            [
                w.HTML("<b>Build options</b>"),
                w.HBox([self.image, self.version_note]),
                w.HBox([w.HTML("<b>precisions</b>&nbsp;"), *self.precision.values(), self.tf32]),
                w.HBox([self.opt_level, self.hardware, self.workspace]),
                w.HBox([self.input_formats, self.output_formats]),
                self.engine,
                self.extra,
            ]
        )
        for widget in self._inputs():
            widget.observe(self._changed, "value")

    def _inputs(self) -> list[w.Widget]:
        return [
            self.image, *self.precision.values(), self.tf32, self.opt_level, self.hardware, self.workspace,
            self.input_formats, self.output_formats, self.engine, self.extra,
        ]  # fmt: skip

    def _changed(self, change=None) -> None:
        if change is not None and change["owner"] is self.image:
            self.retarget()
        if self.on_change:
            self.on_change()

    @property
    def trt_version(self) -> str | None:
        return target_version(self.image.value.strip(), self.fixed_version)

    def retarget(self, change=None) -> None:
        """Enable the toggles the target version knows; say why the others are off."""
        version, image = self.trt_version, self.image.value.strip()
        self.version_note.value = (
            f"&nbsp;TensorRT <b>{version}</b>"
            if version
            else "&nbsp;<span title='not in the NGC tag table'>TensorRT version unknown: "
            "every option enabled</span>"
        )
        for precision, reason in precision_reasons(version, image).items():
            box = self.precision[precision]
            box.disabled = reason is not None
            if reason is not None:
                box.value = False
            box.tooltip = reason or _precision_tip(precision)
        off = [LABELS[p] for p, box in self.precision.items() if box.disabled]
        if off:
            self.version_note.value += (
                f"&nbsp;<span style='color:#777' title='hover a toggle for why'>"
                f"({', '.join(off)}: newer TensorRT only)</span>"
            )
        levels = compat_levels(version)
        if self.hardware.value not in levels:
            self.hardware.value = "none"
        self.hardware.options = levels
        gone = sorted(set(HARDWARE_COMPAT) - set(levels))
        self.hardware.tooltip = (
            f"{', '.join(gone)}: not in trtexec of TensorRT {version}" if gone else ""
        )

    def ticked(self) -> list[Precision]:
        return [p for p, box in self.precision.items() if box.value and not box.disabled]

    def apply(self, spec: BuildSpec) -> BuildSpec:
        """Write the form's options into ``spec`` (returns it)."""
        spec.precisions = tuple(p for p in self.ticked() if p is not Precision.FP32)
        spec.tf32 = self.tf32.value
        spec.opt_level = None if self.opt_level.value == DEFAULT_LEVEL else self.opt_level.value
        spec.hardware_compat = self.hardware.value
        spec.workspace_mib = self.workspace.value or None
        spec.input_formats = self.input_formats.value.strip()
        spec.output_formats = self.output_formats.value.strip()
        spec.engine = self.engine.value.strip() or None
        spec.extra = self.extra.value
        return spec

    def load(self, spec: BuildSpec) -> None:
        """Show ``spec``'s options in the form."""
        for precision, box in self.precision.items():
            box.value = precision is Precision.FP32 or precision in spec.precisions
        self.tf32.value = spec.tf32
        self.opt_level.value = DEFAULT_LEVEL if spec.opt_level is None else spec.opt_level
        if spec.hardware_compat in self.hardware.options:
            self.hardware.value = spec.hardware_compat
        self.workspace.value = spec.workspace_mib or 0
        self.input_formats.value = spec.input_formats
        self.output_formats.value = spec.output_formats
        self.engine.value = spec.engine or ""
        self.extra.value = spec.extra


def _precision_tip(precision: Precision) -> str:
    if precision is Precision.FP32:
        return "FP32 is always on; for 'Build each precision' this adds an FP32 baseline build"
    return f"adds {precision.flag}"
