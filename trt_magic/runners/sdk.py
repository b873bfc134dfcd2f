"""The Docker SDK, imported safely, and what losing its daemon mid-run means to the user."""

from __future__ import annotations

import sys

from ..errors import RunnerError


def sdk():
    """The ``docker`` SDK module, imported so that a Ctrl-C during its first import (it takes a
    few hundred ms) leaves nothing half-imported behind: the next call imports it afresh."""
    mod = sys.modules.get("docker")
    if mod is not None and hasattr(mod, "DockerClient") and "docker.types" in sys.modules:
        return mod
    _forget("docker")  # what an interrupted import (ours or anyone's) left behind
    before = set(sys.modules)
    try:
        import docker
        import docker.errors
        import docker.types
    except BaseException:
        for name in set(sys.modules) - before:  # requests, urllib3... half-imported with it
            sys.modules.pop(name, None)
        raise
    return docker


def _forget(package: str) -> None:
    for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
        sys.modules.pop(name, None)


def lost_errors() -> tuple[type[BaseException], ...]:
    """What the SDK raises when the daemon goes away under a call."""
    import requests

    docker = sdk()

    return (requests.exceptions.ConnectionError, docker.errors.DockerException)


def lost_daemon(host: str, exc: BaseException) -> RunnerError:
    """A short error for a daemon lost mid-run (a RunnerError passes through)."""
    if isinstance(exc, RunnerError):
        return exc
    return RunnerError(
        f"lost the Docker engine at {host} during the run.",
        hint="check that dockerd is running (docker info) and run again; partial files were removed",
        detail=str(exc),
    )
