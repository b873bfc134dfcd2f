"""Which backend runs trtexec here: chosen from what the host has, before anything is pulled.

The Docker backend is worth its multi-GB image only when the Docker host can give containers a GPU
(``docker info``: the ``nvidia`` runtime, or CDI devices ``nvidia.com/gpu=...``), or when the user
asked for none (``gpus="none"``). Otherwise a ``trtexec`` on PATH, otherwise nothing runs for real:
:func:`resolve_backend` then raises a :class:`~trt_magic.errors.GpuRuntimeError` that says what is
missing and how to replay a recording instead. :func:`choose_backend` (the notebooks' question)
falls back to replay and says why.
"""

from __future__ import annotations

import os

from ..config import BACKENDS, ENV_VARS, get_settings
from ..errors import GpuRuntimeError

__all__ = ["choose_backend", "resolve_backend", "require_gpu", "docker_gpu_support"]

TOOLKIT_HINT = (
    "install the NVIDIA Container Toolkit on the Docker host and restart dockerd "
    "(https://docs.nvidia.com/datacenter/cloud-native/container-toolkit/latest/install-guide.html)"
)
REPLAY_HINT = (
    "or replay a recorded real run (nothing is built): %trtexec --backend replay ... "
    "or %config TrtMagic.backend = 'replay'"
)


def docker_gpu_support(info: dict) -> str | None:
    """How a Docker host (its ``docker info`` dict) gives containers a GPU, or None when it cannot."""
    if "nvidia" in (info.get("Runtimes") or {}):
        return "the NVIDIA runtime"
    cdi = [
        d.get("ID", "")
        for d in info.get("DiscoveredDevices") or []
        if d.get("Source") == "cdi" and d.get("ID", "").startswith("nvidia.com/gpu")
    ]
    if cdi:
        return "CDI devices " + ", ".join(cdi[:4]) + (" ..." if len(cdi) > 4 else "")
    return None


def _docker_info(docker_host: str | None) -> tuple[dict | None, str]:
    """(``docker info`` of the host, "") or (None, why there is no answer). Never pulls anything."""
    try:
        from .sdk import sdk

        docker = sdk()  # a Ctrl-C during the first import leaves nothing half-imported
    except ImportError:
        return None, "the docker SDK is not installed (pip install 'trt_magic[docker]')"
    if (docker_host or os.environ.get("DOCKER_HOST", "")).startswith("ssh://"):
        # over ssh: the probed, reused client (ssh.py); its RunnerError (a refused key, an
        # unknown host key...) names the fix, which beats "no Docker engine answers"
        from .docker import client_for

        return client_for(docker_host).info(), ""
    try:
        if docker_host:
            client = docker.DockerClient(base_url=docker_host, version="auto", timeout=5)
        else:
            client = docker.from_env(version="auto", timeout=5)  # a dead DOCKER_HOST must not hang
        try:
            return client.info(), ""
        finally:
            client.close()
    except Exception as exc:  # no daemon, refused, bad URL: all mean "no Docker here"
        return None, f"no Docker engine answers ({type(exc).__name__})"


def _survey(gpus: str, docker_host: str | None) -> tuple[str | None, str, list[str]]:
    """(backend that can run for real or None, why, what is missing)."""
    missing = []
    info, why_not = _docker_info(docker_host)
    if info is not None:
        how = docker_gpu_support(info)
        if how:
            return "docker", f"the Docker host has {how}", []
        if gpus == "none":
            return "docker", "no GPU asked for (gpus='none'): the Docker host needs none", []
        missing.append("the Docker host has no NVIDIA runtime (nor CDI GPU devices)")
    else:
        missing.append(why_not)
    from .local import find_trtexec

    exe = find_trtexec()
    if exe:
        return "local", f"trtexec found at {exe}", missing
    missing.append("no trtexec on PATH")
    return None, "", missing


def choose_backend(
    image: str | None = None, *, gpus: str | None = None, docker_host: str | None = None
) -> tuple[str, str]:
    """Pick the backend that can run trtexec for real here, else replay; say why.

    ``TRT_MAGIC_BACKEND``, when set, wins: a lab or CI has chosen for everyone.

    Returns:
        ("docker" | "local" | "replay", a sentence saying why).
    """
    chosen = os.environ.get(ENV_VARS["backend"], "").strip()
    if chosen in BACKENDS and chosen != "auto":  # a teaching lab or CI decided for everyone
        return chosen, f"chosen by the {ENV_VARS['backend']} environment variable"
    settings = get_settings()
    backend, why, missing = _survey(gpus or settings.gpus, docker_host)
    if backend == "docker":
        return backend, f"{why}: trtexec runs in {image or settings.image}"
    if backend == "local":
        return backend, why
    return "replay", "; ".join(missing) + ": replaying recorded real runs (marked as recorded)"


def resolve_backend(gpus: str, docker_host: str | None = None) -> tuple[str, str]:
    """The backend ``trtexec(backend="auto")`` uses: docker or local, never a silent replay.

    Raises:
        GpuRuntimeError: neither can run trtexec for real here (said before any pull).
    """
    backend, why, missing = _survey(gpus, docker_host)
    if backend is not None:
        return backend, why
    raise GpuRuntimeError(
        "nothing here can run trtexec: " + "; ".join(missing) + ". Nothing was pulled or started.",
        hint=f"{TOOLKIT_HINT};\nor put trtexec on PATH (--backend local);\n{REPLAY_HINT}",
    )


def require_gpu(client, gpus: str, image: str) -> None:
    """Before a pull: refuse a GPU run on a Docker host that cannot give one (nothing pulled).

    Raises:
        GpuRuntimeError: ``gpus`` asks for a GPU and the host has no NVIDIA runtime / CDI GPU.
    """
    if gpus == "none":
        return
    try:
        client.images.get(image)
        return  # no pull: a start without a GPU runtime fails with the daemon's own words
    except Exception:
        pass
    try:
        info = client.info()
    except Exception:  # the run itself will report an unreachable engine, with its own hint
        return
    if docker_gpu_support(info) is None:
        raise GpuRuntimeError(
            f"the Docker host cannot give the container a GPU (--gpus {gpus}): it has no NVIDIA "
            f"runtime. Nothing was pulled ({image}) or started.",
            hint=f"{TOOLKIT_HINT};\nor run trtexec on PATH with --backend local, or (no GPU "
            "needed) --gpus none;\n" + REPLAY_HINT,
            detail=f"docker info: Runtimes {sorted(info.get('Runtimes') or {})}, "
            "no CDI nvidia.com/gpu devices",
        )
