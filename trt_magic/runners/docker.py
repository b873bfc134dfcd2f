"""The Docker backend: trtexec in the TensorRT container, through the Docker SDK (Engine API 1.41).

The container sees what runners/staging.py exposes: each input file bind-mounted read-only and the
run's fresh folder at ``/trt_magic/out``; on a remote daemon (``DOCKER_HOST`` tcp:// or ssh://)
the same layout goes in and comes out through the archive calls (``transfer="copy"``).
The container runs as the notebook user's uid:gid, is labelled ``trt_magic=1`` (leftovers of dead
kernels are removed on the next run), and is removed however the run ends.
"""

from __future__ import annotations

import io
import os
import socket
import tarfile
import time
import uuid
from pathlib import PurePosixPath

from ..commandline.command import format_command
from ..errors import GpuRuntimeError, ImageError, RunnerError
from ..results.run import Run
from .base import Job, abort, new_run, pump, settle_run, shielded, summarize
from .files import pid_alive, write_atomic
from .sdk import lost_daemon, lost_errors, sdk
from .staging import OUT
from .watchdog import Watchdog

LABEL = "trt_magic"
OWNER_LABEL = "trt_magic.owner"
NO_GPU_RUNTIME = 'could not select device driver ""'
_clients: dict[str, object] = {}


def client_for(docker_host: str | None = None):
    """A Docker client for ``docker_host`` (None: DOCKER_HOST or the local socket), reused."""
    docker = sdk()

    key = docker_host or os.environ.get("DOCKER_HOST", "")
    client = _clients.get(key)
    if client is None:
        # ssh:// goes through the ssh command, so the user's ~/.ssh/config and agent apply
        ssh = host_url(docker_host).startswith("ssh://")
        if ssh:  # probed first: a refused key or unknown host key gets its fix (ssh.py)
            from .ssh import docker_client

            client = docker_client(host_url(docker_host))
            _clients[key] = client
            return client
        try:
            if docker_host:
                client = docker.DockerClient(
                    base_url=docker_host, version="auto", use_ssh_client=ssh
                )
            else:
                client = docker.from_env(version="auto", use_ssh_client=ssh)
        except docker.errors.DockerException as exc:
            where = docker_host or os.environ.get("DOCKER_HOST") or "the local socket"
            raise RunnerError(
                f"no Docker engine answers at {where}.",
                hint="start Docker (or set DOCKER_HOST), or use --backend local / --backend replay",
                detail=str(exc),
            ) from exc
        _clients[key] = client
    return client


def host_url(docker_host: str | None) -> str:
    """The Docker URL as the user names it (``docker -H``): argument, DOCKER_HOST, or the socket."""
    return docker_host or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def is_local(url: str) -> bool:
    """True when bind mounts reach our files (a unix socket or named pipe, not tcp:// or ssh://)."""
    return url.startswith(("unix://", "npipe://"))


def gpu_requests(gpus: str) -> list:
    """``--gpus`` as DeviceRequests: "all", "none", "2" (device=2), "0,1"."""
    DeviceRequest = sdk().types.DeviceRequest  # noqa: N806 - the SDK's class

    gpus = (gpus or "all").replace(" ", "")
    if gpus == "none":
        return []
    if gpus == "all":
        return [DeviceRequest(count=-1, capabilities=[["gpu"]])]
    return [DeviceRequest(device_ids=gpus.split(","), capabilities=[["gpu"]])]


def clean_leftovers(client) -> int:
    """Remove our containers whose kernel is gone; return how many.

    Same machine: a container whose owner process is dead. Another machine (a shared remote
    host): only containers that ended, never one another kernel may still be starting.
    """
    me = socket.gethostname()
    removed = 0
    # the low-level list: no per-container inspect racing with other kernels' removals
    for c in client.api.containers(all=True, filters={"label": f"{LABEL}=1"}):
        host, _, pid = (c.get("Labels") or {}).get(OWNER_LABEL, ":").partition(":")
        if host == me:
            stale = pid.isdigit() and not pid_alive(int(pid))
        else:
            stale = c.get("State") in ("exited", "dead")
        if stale:
            try:
                client.api.remove_container(c["Id"], force=True)
                removed += 1
            except Exception:  # already gone: someone else cleaned it
                pass
    return removed


def ensure_image(client, image: str, note) -> str:
    """Return the image id, pulling the image (with progress) when it is missing."""
    docker = sdk()

    try:
        return client.images.get(image).id
    except docker.errors.ImageNotFound:
        pass
    except docker.errors.APIError as exc:  # e.g. "invalid reference format"
        raise ImageError(
            f"the Docker host refuses the image name {image!r}.",
            hint="e.g. nvcr.io/nvidia/tensorrt:24.05-py3 (lowercase, optional :tag)",
            detail=str(exc),
        ) from None
    from .pull import pull

    return pull(client, image, note)


def _notebook_user() -> str | None:
    """uid:gid of the kernel, so files the container writes are the user's (None on Windows)."""
    if not hasattr(os, "getuid"):
        return None
    return f"{os.getuid()}:{os.getgid()}"


def _start_error(job: Job, exc: Exception) -> RunnerError:
    """Explain why the container did not start (no GPU runtime, no trtexec in the image...)."""
    text = str(exc)
    if NO_GPU_RUNTIME in text or "[[gpu]]" in text:
        return _gpu_error(job.gpus, exc)
    if "executable file not found" in text or "no such file or directory" in text:
        return RunnerError(
            f"the image {job.image} has no trtexec on its PATH.",
            hint="use a TensorRT image such as nvcr.io/nvidia/tensorrt:23.04-py3 (--image ...)",
            detail=text,
        )
    return RunnerError("the container did not start.", detail=text)


def _gpu_error(gpus: str, exc: Exception) -> GpuRuntimeError:
    return GpuRuntimeError(
        f"the Docker host cannot give the container a GPU (--gpus {gpus}): it has no NVIDIA runtime.",
        hint="install the NVIDIA Container Toolkit on the Docker host and restart dockerd, "
        "or run trtexec on PATH with --backend local, or (no GPU needed) --gpus none",
        detail=str(exc),
    )


class DockerRunner:
    """Runs trtexec in a container (see module docstring)."""

    name = "docker"

    def __init__(self, docker_host: str | None = None, user: str | None = None):
        self.client = client_for(docker_host)
        self.docker_host = docker_host
        self.user = user
        self._image_ids: dict[str, str] = {}

    @property
    def host(self) -> str:
        return host_url(self.docker_host)

    def image_id(self, image: str, note=lambda s: None) -> str:
        """The image's id (pulled first when missing); asked once per runner and image."""
        if image not in self._image_ids:
            self._image_ids[image] = ensure_image(self.client, image, note)
        return self._image_ids[image]

    def image_env(self, image: str) -> list[str]:
        """The image's environment (``Config.Env``): NVIDIA's images state TRT_VERSION there."""
        try:
            return list(self.client.images.get(image).attrs.get("Config", {}).get("Env") or [])
        except Exception:  # the version is then learned from trtexec's banner instead
            return []

    def transfer_mode(self, transfer: str | None) -> str:
        if transfer in (None, "auto"):
            return "bind" if is_local(self.host) else "copy"
        if transfer not in ("bind", "copy"):
            raise RunnerError(
                f"transfer={transfer!r} is not 'bind' or 'copy'.", hint="transfer='copy'"
            )
        return transfer

    def run(self, job: Job) -> Run:
        run = new_run(job, "docker")
        run.image, run.host = job.image, self.host
        user = self.user or _notebook_user()
        run.docker_command = self._command(job, user)
        run.image_id = self.image_id(job.image, job.sink.note)
        clean_leftovers(self.client)
        mode = self.transfer_mode(job.transfer)
        if user and hasattr(os, "geteuid") and os.geteuid() == 0 and not user.startswith("0:"):
            job.stage.grant(*(int(x) for x in user.split(":")))  # root kernel, another user
        name = f"trt_magic-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        container, dog = None, None
        try:
            dog = Watchdog(self.host, name, job.stage.folder)  # removes it if this kernel dies
            container = self._create(job, user, mode, name)
            exit_code, stopped = _execute(container, job, user, mode)
        except BaseException as exc:
            abort(job, lambda: _remove(container, self.client, name))
            if dog is not None:
                dog.release(clean=False)
            if isinstance(exc, KeyboardInterrupt):
                job.sink.note(
                    "interrupted: trtexec stopped, container removed, partial files deleted"
                )
            if isinstance(exc, lost_errors()):
                raise lost_daemon(self.host, exc) from None
            raise
        shielded(lambda: _remove(container, self.client, name))
        dog.release(clean=True)
        settle_run(run, job, exit_code, stopped)
        if stopped:
            run.notes.append(_stopped_note(stopped, job))
        if mode == "copy":
            run.notes.append(f"files copied in and out through the Docker API ({self.host})")
        if job.sink.live is not None:
            job.sink.live.finish(summarize(run, job.sink, format_command(run.docker_command)))
        return run

    def _command(self, job: Job, user: str | None) -> list[str]:
        """The ``docker run ...`` that reproduces the run by hand (bind-mount form)."""
        cmd = ["docker", *(["-H", job.docker_host] if job.docker_host else []), "run", "--rm"]
        cmd += ["--network", "none"]
        if job.gpus != "none":
            cmd += ["--gpus", "all" if job.gpus == "all" else f'"device={job.gpus}"']
        if user:
            cmd += ["--user", user, *(x for g in _groups(user) for x in ("--group-add", g))]
        return cmd + [*job.stage.docker_args(), job.image, "trtexec", *job.plan.display_args]

    def _create(self, job: Job, user: str | None, mode: str, name: str):
        Mount = sdk().types.Mount  # noqa: N806 - the SDK's class

        mounts = []
        if mode == "bind":
            mounts = [Mount(c, str(h), type="bind", read_only=True) for h, c in job.stage.inputs]
            mounts.append(Mount(str(OUT), str(job.stage.folder / "out"), type="bind"))
        api = self.client.api
        host_config = api.create_host_config(
            mounts=mounts,
            device_requests=gpu_requests(job.gpus),
            network_mode="none",  # trtexec needs no network; nothing to expose
            group_add=_groups(user) or None,  # the user's supplementary groups (shared folders)
        )
        # the low-level call: containers.create() would inspect the new container once more
        created = api.create_container(
            job.image,
            ["trtexec", *job.plan.args],
            user=user,
            name=name,
            labels={LABEL: "1", OWNER_LABEL: f"{socket.gethostname()}:{os.getpid()}"},
            working_dir=str(OUT),
            host_config=host_config,
            detach=True,
        )
        return self.client.containers.prepare_model({"Id": created["Id"]})


def _groups(user: str | None) -> list[str]:
    """The kernel's supplementary groups (a group-shared folder stays readable and writable)."""
    if not user or not hasattr(os, "getgroups"):
        return []
    gid = user.split(":")[1] if ":" in user else ""
    return sorted({str(g) for g in os.getgroups()} - {gid})


def _execute(container, job: Job, user: str | None, mode: str) -> tuple[int | None, str | None]:
    """Start the container and follow it to its end: (exit code, why it was stopped or None)."""
    docker = sdk()

    if mode == "copy":
        container.put_archive("/", _input_archive(job, user))
    # attach before start: nothing is missed, and output comes in the chunks trtexec wrote
    # (the logs endpoint replays the json-file log a line at a time: 7x slower on big logs)
    output = container.attach(stdout=True, stderr=True, stream=True, logs=True)
    try:
        container.start()
    except docker.errors.APIError as exc:
        raise _start_error(job, exc) from exc
    stopped = pump(output, job, time.time(), lambda: _remove(container))
    if stopped is not None:
        return None, stopped
    exit_code = container.wait().get("StatusCode")
    if mode == "copy":
        _fetch_outputs(container, job)
    return exit_code, None


def _stopped_note(stopped: str, job: Job) -> str:
    if stopped == "timeout":
        return f"stopped after the {job.timeout:g} s timeout; container removed, partial engine deleted"
    return "stopped on request; container removed, partial engine deleted"


def _remove(container, client=None, name: str | None = None) -> None:
    """Remove the container (by name when its creation was interrupted); gone already is fine."""
    try:
        if container is not None:
            container.remove(force=True)
        elif client is not None and name:
            client.api.remove_container(name, force=True)
    except Exception:  # already gone, or never created
        pass


def _input_archive(job: Job, user: str | None):
    """A tar of the inputs, the caches copied in, and the output folder (owned by ``user``).

    Yielded piece by piece (the request goes out chunked), so a model's multi-GB external-data
    file never sits in memory whole.
    """
    uid, gid = (int(x) for x in (user or "0:0").split(":"))
    out_dir = job.stage.folder / "out"
    files = [*job.stage.inputs, *((p, f"{OUT}/{p.name}") for p in sorted(out_dir.iterdir()))]
    folders = sorted({str(PurePosixPath(c).parent) for _, c in files} | {str(OUT)})
    for folder in folders:
        info = tarfile.TarInfo(folder.lstrip("/"))
        info.type, info.mode, info.uid, info.gid = tarfile.DIRTYPE, 0o755, uid, gid
        info.mtime = int(time.time())
        yield info.tobuf(tarfile.PAX_FORMAT)
    for path, target in files:
        if path.is_dir():
            continue
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            info = tarfile.TarInfo(target.lstrip("/"))
            info.size, info.mode, info.mtime = st.st_size, st.st_mode & 0o7777, int(st.st_mtime)
            info.uid, info.gid = uid, gid
            yield info.tobuf(tarfile.PAX_FORMAT)
            left = st.st_size
            while left:
                chunk = fh.read(min(1 << 20, left))
                if not chunk:
                    raise RunnerError(
                        f"{path} got shorter while it was being sent", hint="run again"
                    )
                left -= len(chunk)
                yield chunk
        if st.st_size % tarfile.BLOCKSIZE:
            yield b"\0" * (tarfile.BLOCKSIZE - st.st_size % tarfile.BLOCKSIZE)
    yield b"\0" * (2 * tarfile.BLOCKSIZE)  # the end-of-archive marker


def _fetch_outputs(container, job: Job) -> None:
    """Copy the files trtexec wrote out of the (stopped) container into the run's folder."""
    docker = sdk()

    for ref in job.plan.outputs:
        try:
            stream, _ = container.get_archive(job.stage.container_path(ref))
        except docker.errors.NotFound:
            continue  # trtexec did not write it (e.g. a failed build)
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            member = next((m for m in tar.getmembers() if m.isfile()), None)
            if member is not None:
                with tar.extractfile(member) as src:
                    write_atomic(job.stage.staged(ref), src.read())
