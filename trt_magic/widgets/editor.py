"""ProfileEditor: a form that writes the trtexec flags of a TensorRT engine build.

``ProfileEditor("model/resnet50.onnx")`` (or ``%trt_profile model/resnet50.onnx``) shows one
block per model input (min/opt/max per dynamic dim), the precision toggles and builder options,
a live preview of the ``%trtexec`` and ``docker run`` lines, and a build panel. Then
``%trtexec --onnx=model/resnet50.onnx {editor.flags}`` or ``trtexec([..., *editor.args])``.

The state is saved beside the model (``model/resnet50.onnx.profile.json``) on every valid change
and restored when the editor is created again.
"""

from __future__ import annotations

import html
import json
import os
import shlex
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..checks import check_path
from ..errors import UsageError, require

require("ipywidgets", "widgets", "The profile editor")

import ipywidgets as w  # noqa: E402

from ..config import get_settings  # noqa: E402
from ..spec import BuildSpec  # noqa: E402
from .build_panel import BuildPanel  # noqa: E402
from .model_inputs import default_profile  # noqa: E402
from .options_form import OptionsForm  # noqa: E402
from .preview import docker_line, magic_line, preview_html  # noqa: E402
from .shape_form import ShapeForm  # noqa: E402

STATE_SUFFIX = ".profile.json"
STATE_VERSION = 1


class ProfileEditor:
    """Shape profile, precisions and builder options for one ONNX model, as trtexec flags.

    Args:
        source: an ONNX path or an ``ExportResult`` (its sample shapes give the defaults).
        image: the TensorRT image to target (default: the ``image`` setting); its TensorRT
            version decides which precisions are enabled.
        trt_version: target this TensorRT version instead of the image's.
        gpus: the GPU request of builds (default: the ``gpus`` setting).
        restore: load the saved state beside the model, if any.
        spec: start from this BuildSpec (``from_flags`` uses it) instead of the saved state.
        runner: the function builds call (default ``trt_magic.runners.trtexec``).
    """

    def __init__(
        self,
        source: Any,
        *,
        image: str | None = None,
        trt_version: str | None = None,
        gpus: str | None = None,
        restore: bool = True,
        spec: BuildSpec | None = None,
        runner=None,
    ):
        settings = get_settings()
        self.source_path, model = default_profile(_resolve(source, settings))
        self.onnx = str(getattr(source, "path", source))
        self.gpus = gpus or settings.gpus
        self.state_path = Path(str(self.source_path) + STATE_SUFFIX)
        self.notes: list[str] = []
        self._ready = False
        self.shapes = ShapeForm(model, on_change=self.refresh)
        self.options = OptionsForm(image or settings.image, trt_version, on_change=self.refresh)
        self._spec = BuildSpec(self.onnx, profile=model)
        # an explicit spec wins over the saved state, an explicit image over the saved image
        saved = spec or (self._read_state(keep_image=image is not None) if restore else None)
        if saved is not None:
            self.load(saved)
        self.preview = w.HTML()
        self.preview.add_class("trt-preview")
        self.panel = BuildPanel(self, runner=runner)
        self.widget = self._layout()
        self._ready = True
        self.refresh()

    def _layout(self) -> w.VBox:
        notes = "".join(
            f"<div style='color:#b26b00'>note: {html.escape(n)}</div>" for n in self.notes
        )
        self.notes_view = w.HTML(notes)
        title = (
            f"<h3 style='margin:4px 0'>TensorRT build of <code>{html.escape(self.onnx)}</code></h3>"
        )
        box = w.VBox(
            [
                w.HTML(title),
                self.notes_view,
                self.shapes.widget,
                self.options.widget,
                self.preview,
                self.panel.widget,
            ]
        )
        box.add_class("trt-profile-editor")
        return box

    # -- the flags ---------------------------------------------------------------------------
    def current(self) -> BuildSpec:
        """The spec exactly as the form shows it (may be invalid)."""
        spec = BuildSpec(self.onnx, profile=self.shapes.current())
        return self.options.apply(spec)

    @property
    def problems(self) -> list[str]:
        """What is wrong with the form now (empty when the flags follow it)."""
        return self.current().validate()

    @property
    def spec(self) -> BuildSpec:
        """The last valid spec: invalid form states never reach it."""
        return self._spec

    @property
    def args(self) -> list[str]:
        """The trtexec flags without ``--onnx=`` (``trtexec(["--onnx=m.onnx", *editor.args])``)."""
        return self._spec.to_args(onnx=False)

    @property
    def flags(self) -> str:
        """:attr:`args` as one line (``%trtexec --onnx=m.onnx {editor.flags}``)."""
        return shlex.join(self.args)

    @property
    def command_args(self) -> list[str]:
        """All trtexec flags, ``--onnx=`` included."""
        return self._spec.to_args()

    def command_for(self, spec: BuildSpec) -> list[str]:
        return ["trtexec", *spec.to_args()]

    @property
    def magic_line(self) -> str:
        return magic_line(self.command_args)

    @property
    def docker_line(self) -> str:
        return docker_line(self.command_args, self.options.image.value.strip(), self.gpus)

    def refresh(self) -> None:
        """Take the form's state if valid, save it, and redraw the preview."""
        if not self._ready:
            return
        spec = self.current()
        problems = spec.validate()
        if not problems:
            self._spec = spec
            self.save()
        self.preview.value = preview_html(self.magic_line, self.docker_line, problems)

    # -- state -------------------------------------------------------------------------------
    def load(self, spec: BuildSpec) -> None:
        """Show ``spec`` in the form (shapes of inputs the model lacks are noted and dropped)."""
        if spec.profile is not None:
            unknown = sorted(set(spec.profile.ranges) - set(self.shapes.dims))
            if unknown:
                self.notes.append(f"the model has no input {', '.join(unknown)}; ignored")
            self.shapes.load(spec.profile)
        dropped = [p.name for p in spec.precisions if self.options.precision[p].disabled]
        if dropped:
            self.notes.append(f"not available in this TensorRT version: {', '.join(dropped)}")
        self.options.load(spec)

    def to_state(self) -> dict:
        return {
            "version": STATE_VERSION,
            "image": self.options.image.value,
            "spec": self._spec.to_dict(),
        }

    def save(self) -> Path | None:
        """Write the state beside the model (atomically); None when the folder is read-only."""
        text = json.dumps(self.to_state(), indent=1)
        try:
            fd, tmp = tempfile.mkstemp(
                dir=self.state_path.parent, prefix=".tmp-", suffix=STATE_SUFFIX
            )
        except OSError:  # a read-only folder: the form still works, it is just not kept
            return None
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp, self.state_path)
        except OSError:
            Path(tmp).unlink(missing_ok=True)
            return None
        return self.state_path

    def _read_state(self, keep_image: bool = False) -> BuildSpec | None:
        try:
            data = json.loads(self.state_path.read_text(encoding="utf-8"))
            if data.get("image") and not keep_image:
                self.options.image.value = data["image"]
            return BuildSpec.from_dict(data["spec"])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self.notes.append(f"could not restore {self.state_path.name} ({exc}); defaults used")
            return None

    # -- construction from a command ---------------------------------------------------------
    @classmethod
    def from_flags(
        cls, flags: str | Sequence[str], onnx: Any = None, **kwargs: Any
    ) -> ProfileEditor:
        """An editor showing an existing trtexec command (``--onnx=`` or ``onnx=`` names the
        model; flags the form has no field for land in "other flags"). A ``%trtexec`` line's
        own ``--image`` and ``--gpus`` become the editor's."""
        if isinstance(flags, str) and flags.lstrip().startswith("%trtexec"):
            flags, magic_options = _split_magic_line(flags)
            for key, value in magic_options.items():
                kwargs.setdefault(key, value)
        spec = BuildSpec.from_args(
            flags, onnx=None if onnx is None else str(getattr(onnx, "path", onnx))
        )
        return cls(onnx if onnx is not None else spec.onnx, spec=spec, **kwargs)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        return f"ProfileEditor({self.onnx!r}): trtexec --onnx={self.onnx} {self.flags}"


def _resolve(source: Any, settings) -> Any:
    """Resolve a relative ONNX path against the ``workdir`` setting (ExportResults as they are)."""
    if isinstance(source, (str, os.PathLike)):
        return settings.resolve_path(check_path("source", source))
    if getattr(source, "path", None) is None:
        raise UsageError(
            f"ProfileEditor needs an ONNX path or an ExportResult, not {type(source).__name__}.",
            hint="ProfileEditor('model.onnx') or ProfileEditor(export_onnx(...))",
        )
    return source


def _split_magic_line(line: str) -> tuple[list[str], dict[str, str]]:
    """Split a ``%trtexec`` line into trtexec flags and the magic's own image/gpus options."""
    from ..magics.trtexec import trtexec as magic

    text = line.lstrip().removeprefix("%trtexec").replace("\\\n", " ")
    options, flags = magic.parser.parse_known_args(shlex.split(text))
    return flags, {k: v for k, v in (("image", options.image), ("gpus", options.gpus)) if v}
