"""The exception tree, and how errors reach the user.

::

    Exception
     ├── TrtMagicError            user-fixable: short message + hint, no traceback wall
     │    ├── ConfigError         a setting or environment variable has a bad value
     │    ├── UsageError          bad arguments to a magic or API call
     │    ├── ExportError         torch.onnx.export failed (carries a diagnosis)
     │    ├── SimplifyError       ONNX clean-up failed or broke the model
     │    ├── RunnerError         Docker / local trtexec could not be started or run
     │    │    ├── ImageError     the TensorRT image is missing and could not be pulled
     │    │    ├── GpuRuntimeError the daemon has no NVIDIA runtime
     │    │    └── RunTimeout     trtexec ran past --timeout
     │    ├── ResultError         a results file could not be read
     │    └── MissingDependency   an optional extra is not installed
     └── TrtMagicBug              a bug in trt_magic itself: full traceback
    UserWarning
     └── ResultWarning            a results file held impossible figures, read as missing

A ``TrtMagicError`` defines ``_render_traceback_`` so IPython shows only its own few lines (the
cell still fails); the original error text is kept in ``.detail`` and the full traceback in
``.__cause__`` for whoever wants it (``%tb`` shows it).
"""

from __future__ import annotations


class TrtMagicError(Exception):
    """An error the user can fix: what went wrong, and the fix to try."""

    def __init__(self, message: str, hint: str | None = None, detail: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.detail = detail

    def __str__(self) -> str:
        text = self.message
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def _render_traceback_(self) -> list[str]:
        lines = [f"\x1b[1;31m{type(self).__name__}\x1b[0m: {self.message}"]
        if self.hint:
            lines += ["", *(f"  \x1b[1mhint:\x1b[0m {h}" for h in self.hint.splitlines())]
        if self.detail:
            tail = self.detail.strip().splitlines()[-12:]
            lines += ["", "  original error (last lines):", *(f"    {t}" for t in tail)]
        if self.__cause__ is not None:
            lines += ["", "  (the full traceback: run %tb)"]
        return lines


class ConfigError(TrtMagicError):
    """A setting or environment variable has a value trt_magic cannot use."""


class UsageError(TrtMagicError):
    """Bad arguments to a magic or an API call."""


class ExportError(TrtMagicError):
    """``torch.onnx.export`` (or a check after it) failed."""


class SimplifyError(TrtMagicError):
    """The ONNX clean-up failed or would have changed the model."""


class RunnerError(TrtMagicError):
    """trtexec could not be started or run by the chosen backend."""


class ImageError(RunnerError):
    """The TensorRT image is missing and could not be pulled."""


class GpuRuntimeError(RunnerError):
    """The Docker daemon cannot give the container a GPU."""


class RunTimeout(RunnerError):
    """trtexec ran past its timeout and was stopped."""


class ResultError(TrtMagicError):
    """A trtexec log or JSON export could not be read."""


class MissingDependency(TrtMagicError):
    """An optional extra is needed for this feature and is not installed."""

    def __init__(self, module: str, extra: str, feature: str):
        super().__init__(
            f"{feature} needs the Python package {module!r}, which is not installed.",
            hint=f"pip install 'trt_magic[{extra}]'",
        )
        self.module = module
        self.extra = extra


class ResultWarning(UserWarning):
    """A trtexec log or export held figures that cannot be (negative or non-finite times,
    infinite throughput...): they were read as missing values."""


class TrtMagicBug(Exception):
    """A bug in trt_magic itself; shown with its full traceback. Please report it."""


def require(module: str, extra: str, feature: str):
    """Import an optional dependency, or raise MissingDependency naming the extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependency(module.split(".")[0], extra, feature) from exc
