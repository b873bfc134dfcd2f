"""Docker hosts over ``ssh://``: the system ``ssh`` client, checked first, with the fix when it fails.

Why the system client and not paramiko (the Docker SDK offers both): ``ssh`` applies the user's
whole ``~/.ssh/config`` (aliases, ``Match`` blocks, ``ProxyJump``, ``IdentityFile``,
``UserKnownHostsFile``, ``ControlMaster``), their agent and known_hosts exactly as ``docker -H
ssh://...`` and a terminal do; paramiko reads a subset of the config (no ``Match``, no per-host
known_hosts) and would answer differently from the command line the user checks with. The SDK
still imports paramiko for its ssh transport, hence the ``docker[ssh]`` requirement.

How: one ``ssh -N -L <private socket>:<the box's Docker socket>`` per box and kernel, and the
SDK on that local socket. The SDK's own ssh transport spawns a new ``ssh`` and a remote
``docker system dial-stdio`` for every connection (about 1 s each here: a 0-s build took 21 s over
ssh against 1.3 s locally); the forward pays the handshake once. The socket lies in a folder only
this user can enter (a forwarded Docker socket is root on the box); the ``ssh`` process dies with
the kernel (``PR_SET_PDEATHSIG`` on Linux, and at exit). A box whose Docker is not on a unix
socket falls back to the SDK's transport. Before all that, one ``ssh ... docker version`` probe with
its messages captured, so an unknown or changed host key, a refused key, a user without Docker
access or an unreachable sshd each becomes a short :class:`~trt_magic.errors.RunnerError` with the
fix, instead of ssh's text on the kernel's stderr and a generic "no Docker engine".
"""

from __future__ import annotations

import shutil
import subprocess
from urllib.parse import urlparse

from ..errors import RunnerError

PROBE_TIMEOUT = 30.0


def ssh_target(url: str) -> tuple[list[str], str]:
    """(``ssh`` options, destination) for an ``ssh://[user@]host[:port]`` URL (no port: config's)."""
    parsed = urlparse(url)
    if parsed.scheme != "ssh" or not parsed.hostname:
        raise RunnerError(f"{url!r} is not an ssh://[user@]host[:port] Docker host.")
    options = ["-o", "BatchMode=yes", "-o", "ConnectTimeout=15"]
    if parsed.username:
        options += ["-l", parsed.username]
    if parsed.port:
        options += ["-p", str(parsed.port)]
    return options, parsed.hostname


def probe(url: str) -> tuple[str, str]:
    """Ask the box's Docker for its version and endpoint over ssh; return them, or raise the fix."""
    if shutil.which("ssh") is None:
        raise RunnerError(
            f"{url} needs the ssh command, and it is not on PATH.",
            hint="install OpenSSH's client (Debian: apt install openssh-client)",
        )
    options, host = ssh_target(url)
    # fixed text only (the remote shell parses it): the server version, then where the CLI talks
    remote = "docker version --format '{{.Server.Version}}' && docker context inspect --format '{{.Endpoints.docker.Host}}'"
    argv = ["ssh", *options, "--", host, remote]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=PROBE_TIMEOUT,
                              stdin=subprocess.DEVNULL)  # fmt: skip
    except subprocess.TimeoutExpired:
        raise RunnerError(
            f"{url} did not answer within {PROBE_TIMEOUT:.0f} s.",
            hint=f"check that `ssh {' '.join(options[4:])} {host} true` works from this machine",
        ) from None
    lines = proc.stdout.split()
    if proc.returncode == 0 and lines:
        return lines[0], (lines[1] if len(lines) > 1 else "unix:///var/run/docker.sock")
    raise explain(url, proc.stderr + proc.stdout)


def explain(url: str, text: str) -> RunnerError:
    """The fix for what ssh (or the box's docker) said (texts of OpenSSH 9.2 and Docker 20.10)."""
    options, host = ssh_target(url)
    parsed = urlparse(url)
    port = parsed.port
    target = f"[{host}]:{port}" if port else host
    by_hand = "ssh " + " ".join([*options[4:], host])
    last = next((ln for ln in reversed(text.strip().splitlines()) if ln.strip()), "ssh failed")
    if "IDENTIFICATION HAS CHANGED" in text or "has changed and you have requested strict" in text:
        return RunnerError(
            f"the host key of {target} has changed since you last connected: refused.",
            hint=f"if the box was reinstalled (ask its admin), forget the old key with "
            f"`ssh-keygen -R '{target}'`, then check the new fingerprint with `{by_hand}`",
            detail=text,
        )
    if "Host key verification failed" in text or "host key is known" in text:
        return RunnerError(
            f"{target} is not in your known_hosts: ssh will not trust it unasked.",
            hint=f"connect once by hand and accept its fingerprint: `{by_hand}` "
            f"(or add it with `ssh-keyscan {'-p ' + str(port) + ' ' if port else ''}{host} >> ~/.ssh/known_hosts`"
            " after checking it)",
            detail=text,
        )
    if "Permission denied (publickey" in text or "Permission denied (" in text:
        return RunnerError(
            f"{target} refused your SSH key{' for ' + parsed.username if parsed.username else ''}.",
            hint=f"install your public key there (`ssh-copy-id {_copy_id_target(parsed, host)}`), "
            "or name the right IdentityFile in ~/.ssh/config; `ssh-add -l` lists your agent's keys",
            detail=text,
        )
    if "docker.sock" in text and "permission denied" in text.lower():
        return RunnerError(
            f"your user on {host} may not use its Docker engine.",
            hint="ask the box's admin to add you to its docker group "
            "(`sudo usermod -aG docker <you>`, then log in again)",
            detail=text,
        )
    if "command not found" in text or "docker: not found" in text:
        return RunnerError(
            f"{host} has no docker command on your PATH there (ssh:// hosts need the Docker CLI).",
            hint="install Docker on the box (with the NVIDIA Container Toolkit for GPUs)",
            detail=text,
        )
    if "Could not resolve hostname" in text:
        return RunnerError(f"the name {host} is not known.", hint="check the name, or add a Host entry to ~/.ssh/config", detail=text)  # fmt: skip
    if "Connection refused" in text or "timed out" in text or "No route to host" in text:
        return RunnerError(
            f"no SSH server answers at {target}: {last}",
            hint="check the host and port (ssh://user@host:port or a ~/.ssh/config alias)",
            detail=text,
        )
    return RunnerError(f"ssh to {target} failed: {last}", hint=f"try `{by_hand} docker info`", detail=text)  # fmt: skip


def _copy_id_target(parsed, host: str) -> str:
    user = f"{parsed.username}@" if parsed.username else ""
    return (f"-p {parsed.port} " if parsed.port else "") + user + host


class Forward:
    """``ssh -N -L`` from a private local socket to the box's Docker socket (see the docstring)."""

    def __init__(self, url: str, remote_socket: str, wait: float = 20.0):
        import atexit
        import tempfile
        import time
        from pathlib import Path

        self.url = url
        self.folder = Path(tempfile.mkdtemp(prefix="trt_magic-ssh-"))  # mode 700
        self.socket = self.folder / "docker.sock"
        options, host = ssh_target(url)
        argv = ["ssh", *options, "-N", "-o", "ExitOnForwardFailure=yes",
                "-o", "ServerAliveInterval=15", "-o", "StreamLocalBindUnlink=yes",
                "-L", f"{self.socket}:{remote_socket}", "--", host]  # fmt: skip
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, preexec_fn=_die_with_parent)  # fmt: skip
        atexit.register(self.close)
        deadline = time.monotonic() + wait
        while not self.socket.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                err = b""
                if self.proc.poll() is not None:
                    err = self.proc.stderr.read()
                self.close()
                raise explain(url, err.decode(errors="replace") or "the ssh forward did not start")
            time.sleep(0.02)

    @property
    def base_url(self) -> str:
        return f"unix://{self.socket}"

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        import shutil as _shutil

        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        _shutil.rmtree(self.folder, ignore_errors=True)


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """The forward ends with the kernel, even one killed with -9 (Linux)."""
    import ctypes
    import signal

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


_forwards: dict[str, Forward] = {}


def docker_client(url: str, timeout: float = 60):
    """A Docker SDK client for the box at ``url``: probed, then over a forwarded socket."""
    import docker

    _version, endpoint = probe(url)
    if endpoint.startswith("unix://"):
        forward = _forwards.get(url)
        if forward is None or not forward.alive():
            forward = _forwards[url] = Forward(url, endpoint.removeprefix("unix://"))
        try:
            return docker.DockerClient(base_url=forward.base_url, version="auto", timeout=timeout)
        except docker.errors.DockerException:  # the box's sshd forwards nothing (hardened)
            _forwards.pop(url).close()
    # a box that forwards nothing, or whose Docker is not on a unix socket: the SDK's own
    # transport (one ssh + `docker system dial-stdio` per connection: slower, but works)
    parsed = urlparse(url)
    client = docker.DockerClient(base_url=url, version="1.24", timeout=timeout, use_ssh_client=True)
    if parsed.port is None:  # the SDK made it host:22; ssh must read the alias's own Port
        adapter = client.api._custom_adapter
        adapter.ssh_host = (f"{parsed.username}@" if parsed.username else "") + parsed.hostname
        adapter.pools.clear()
    client.api._version = client.api._retrieve_server_version()
    return client
