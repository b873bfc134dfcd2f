"""Settings: traitlets, so ``%config TrtMagic.image = ...`` works, with environment defaults.

Every setting has an environment variable (``TRT_MAGIC_<NAME>``) for CI and teaching labs. The
order is: ``%config`` / attribute assignment, then the environment variable, then the default.
The plain Python API reads :func:`get_settings`, which is the loaded extension's ``TrtMagic``
instance when there is one, else a standalone :class:`Settings`.
"""

from __future__ import annotations

import os
from pathlib import Path

from traitlets import CUnicode, Int, Unicode, default, validate
from traitlets.config import Configurable

from .errors import ConfigError

DEFAULT_IMAGE = "nvcr.io/nvidia/tensorrt:23.04-py3"
BACKENDS = ("auto", "docker", "local", "replay")

#: trait name -> (environment variable, converter). The one place env parsing happens.
ENV_VARS = {
    "image": "TRT_MAGIC_IMAGE",
    "gpus": "TRT_MAGIC_GPUS",
    "backend": "TRT_MAGIC_BACKEND",
    "workdir": "TRT_MAGIC_WORKDIR",
    "cache_dir": "TRT_MAGIC_CACHE_DIR",
    "opset": "TRT_MAGIC_OPSET",
    "netron_url": "TRT_MAGIC_NETRON_URL",
    "log_lines": "TRT_MAGIC_LOG_LINES",
    "cache_size_mb": "TRT_MAGIC_CACHE_SIZE_MB",
}


def _check_image(value: str) -> str:
    from .checks import check_image
    from .errors import UsageError

    try:
        return check_image("image", value)
    except UsageError as exc:
        raise ValueError(f"{value!r} is not a Docker image name") from exc


def _check_gpus(value: str) -> str:
    from .checks import gpus_problem

    problem = gpus_problem(value)
    if problem:
        raise ValueError(problem)
    return value.strip().replace(" ", "")


def _check_backend(value: str) -> str:
    if value not in BACKENDS:
        raise ValueError(f"{value!r} is not one of {', '.join(BACKENDS)}")
    return value


def _check_folder(value: str) -> str:
    if "\x00" in value:
        raise ValueError(f"{value!r} contains a NUL byte")
    if value and Path(value).expanduser().exists() and not Path(value).expanduser().is_dir():
        raise ValueError(f"{value!r} is a file, not a folder")
    return value


def _check_opset(value: int) -> int:
    if value != 0 and not 7 <= value <= 30:
        raise ValueError(f"{value} is outside 7..30 (0: automatic)")
    return value


def _check_netron_url(value: str) -> str:
    if not value:
        return value
    try:
        value.format(port=8080, base_url="/", token="t")
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"{value!r} is not a template with {{port}} ({exc})") from None
    if "{port}" not in value:
        raise ValueError(f"{value!r} has no {{port}}")
    return value


def _check_log_lines(value: int) -> int:
    if value < 0:
        raise ValueError(f"{value} is negative")
    return value


def _check_cache_size(value: int) -> int:
    if value < 0:
        raise ValueError(f"{value} is negative (0: no bound)")
    return value


def _as_is(value):
    return value


#: setting -> (check returning the value to use or raising ValueError, an example for hints)
CHECKS = {
    "image": (_check_image, "nvcr.io/nvidia/tensorrt:24.05-py3"),
    "gpus": (_check_gpus, "all, none, 2 or 0,1"),
    "backend": (_check_backend, "docker, local or replay"),
    "workdir": (_check_folder, "/path/to/folder"),
    "cache_dir": (_check_folder, "~/.cache/trt_magic"),
    "opset": (_check_opset, "17 (0: automatic)"),
    "netron_url": (_check_netron_url, "{base_url}proxy/{port}/"),
    "log_lines": (_check_log_lines, "200"),
    "cache_size_mb": (_check_cache_size, "20480 (0: no bound)"),
}


def env_setting(name: str, fallback: str | int) -> str | int:
    """Read the environment variable of setting ``name``, converted like its fallback and
    checked like a ``%config`` value (a bad value fails when it is read, naming the variable).

    Raises:
        ConfigError: the variable is set to something that does not convert or check.
    """
    var = ENV_VARS[name]
    raw = os.environ.get(var)
    if raw is None or raw.strip() == "":
        return fallback
    raw = raw.strip()
    check, example = CHECKS.get(name, (_as_is, "..."))
    hint = f"unset {var} or set it to e.g. {example}"
    if isinstance(fallback, int):
        try:
            value: str | int = int(raw)
        except ValueError:
            raise ConfigError(f"{var}={raw!r} is not a whole number.", hint=hint) from None
    else:
        value = raw
    try:
        return check(value)
    except ValueError as exc:
        raise ConfigError(f"{var}: {exc}.", hint=hint) from None


def check_setting(name: str, value):
    """Check a value given by ``%config`` or assignment (ConfigError naming the setting)."""
    check, example = CHECKS.get(name, (_as_is, "..."))
    try:
        return check(value)
    except ValueError as exc:
        raise ConfigError(f"{name} {exc}.", hint=f"%config TrtMagic.{name} = {example!r}") from None


class _Text(Unicode):
    """A string setting whose type error is a short ConfigError naming the setting."""

    def error(self, obj, value, error=None, info=None):
        raise ConfigError(
            f"{self.name} must be a string, not {type(value).__name__} ({value!r}).",
            hint=f"%config TrtMagic.{self.name} = '...'",
        )


class _Whole(Int):
    """A whole-number setting whose type error is a short ConfigError naming the setting."""

    def validate(self, obj, value):
        if isinstance(value, bool):
            self.error(obj, value)
        return super().validate(obj, value)

    def error(self, obj, value, error=None, info=None):
        raise ConfigError(
            f"{self.name} must be a whole number, not {type(value).__name__} ({value!r}).",
            hint=f"%config TrtMagic.{self.name} = 0",
        )


class _GpuText(CUnicode, _Text):
    """``gpus``: 2 is taken as "2" (device 2), like the ``--gpus`` option."""

    def validate(self, obj, value):
        if isinstance(value, bool) or not isinstance(value, str | int):
            self.error(obj, value)
        return super().validate(obj, value)


def _default_cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return str(Path(base) / "trt_magic")


class Settings(Configurable):
    """trt_magic's settings (shown by ``%config TrtMagic``)."""

    image = _Text(
        help="TensorRT container image trtexec runs in (env TRT_MAGIC_IMAGE).",
    ).tag(config=True)
    gpus = _GpuText(
        help="GPUs for the container: 'all', 'none', '2' (= device=2) or '0,1' (env TRT_MAGIC_GPUS).",
    ).tag(config=True)
    backend = _Text(
        help="Where trtexec runs: 'auto' (docker when the Docker host can give a GPU, else a "
        "trtexec on PATH, else an error saying what is missing), 'docker', 'local' (trtexec on "
        "PATH) or 'replay' (recorded runs) (env TRT_MAGIC_BACKEND).",
    ).tag(config=True)
    workdir = _Text(
        help="Folder relative paths are resolved against; '' means the current directory "
        "(env TRT_MAGIC_WORKDIR).",
    ).tag(config=True)
    cache_dir = _Text(
        help="Engine and timing cache folder; survives kernel restarts (env TRT_MAGIC_CACHE_DIR).",
    ).tag(config=True)
    opset = _Whole(
        help="ONNX opset for exports; 0 picks the highest the image's TensorRT accepts "
        "(env TRT_MAGIC_OPSET).",
    ).tag(config=True)
    netron_url = _Text(
        help="URL template for Netron views, with {port} (and {base_url}, {token}); '' detects "
        "JupyterHub/Binder proxies (env TRT_MAGIC_NETRON_URL).",
    ).tag(config=True)
    log_lines = _Whole(
        help="Most log lines shown live in a cell; the full log is always kept on disk "
        "(env TRT_MAGIC_LOG_LINES).",
    ).tag(config=True)

    cache_size_mb = _Whole(
        help="Most MB the engine cache keeps; least recently used entries go first, 0: no bound "
        "(env TRT_MAGIC_CACHE_SIZE_MB).",
    ).tag(config=True)

    @default("image")
    def _image_default(self):
        return env_setting("image", DEFAULT_IMAGE)

    @default("gpus")
    def _gpus_default(self):
        return env_setting("gpus", "all")

    @default("backend")
    def _backend_default(self):
        return env_setting("backend", "auto")

    @default("workdir")
    def _workdir_default(self):
        return env_setting("workdir", "")

    @default("cache_dir")
    def _cache_dir_default(self):
        return env_setting("cache_dir", _default_cache_dir())

    @default("opset")
    def _opset_default(self):
        return env_setting("opset", 0)

    @default("netron_url")
    def _netron_url_default(self):
        return env_setting("netron_url", "")

    @default("log_lines")
    def _log_lines_default(self):
        return env_setting("log_lines", 200)

    @default("cache_size_mb")
    def _cache_size_mb_default(self):
        return env_setting("cache_size_mb", 20480)

    @validate(*ENV_VARS)
    def _check(self, proposal):
        return check_setting(proposal["trait"].name, proposal["value"])

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        for name in ENV_VARS:  # read (and so check) every environment variable now, not later
            getattr(self, name)

    def resolve_path(self, path: str | os.PathLike) -> Path:
        """Resolve ``path`` against ``workdir`` (or the current directory)."""
        p = Path(path).expanduser()
        if p.is_absolute():
            return p
        base = Path(self.workdir).expanduser() if self.workdir else Path.cwd()
        return base / p


_active: Settings | None = None


def get_settings() -> Settings:
    """Return the settings in force: the loaded extension's, or a process-wide default."""
    global _active
    if _active is None:
        _active = Settings()
    return _active


def use_settings(settings: Settings | None) -> None:
    """Make ``settings`` the ones the API reads (the extension calls this on load/unload)."""
    global _active
    _active = settings
