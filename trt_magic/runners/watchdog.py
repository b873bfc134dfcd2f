"""A build outlives no kernel: a tiny supervisor process removes its container (or kills the local
trtexec's process group, ``pgid:<n>``) when the kernel dies.

Before creating a container the Docker runner starts :data:`SCRIPT` in its own session
(``start_new_session``: Ctrl-C in a terminal does not reach it) with a pipe on its stdin whose only
writer is the kernel. The script blocks reading it. A finished run writes ``done`` and closes it:
the script exits. Any other end of the pipe (the kernel killed with -9, crashed, or a run that
failed half-way) is EOF without ``done``: the script removes the container by name (retrying a
few seconds, as a create may still be in flight) and the run's staging folder. It imports only
the Docker SDK (never trt_magic), so it works whatever ``sys.path`` the kernel had.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = r"""
import os, shutil, sys, time
url, name, folder, prefix = sys.argv[1:5]
data = b""
try:
    data = sys.stdin.buffer.read()
except BaseException:
    pass
if data.strip().endswith(b"done"):
    sys.exit(0)
if url.startswith("pgid:"):  # the local backend: trtexec's own process group
    import signal
    try:
        os.killpg(int(url[5:]), signal.SIGKILL)
    except (OSError, ValueError):
        pass
if os.path.basename(folder).startswith(prefix):
    shutil.rmtree(folder, ignore_errors=True)
if url.startswith("pgid:"):
    sys.exit(0)
try:
    import docker
    ssh = url.startswith("ssh://")
    client = docker.DockerClient(base_url=url, timeout=10, version="1.24" if ssh else None,
                                 use_ssh_client=ssh)
    if ssh:  # as trt_magic.runners.ssh: without a port the SDK says host:22, not the alias's Port
        from urllib.parse import urlparse
        parsed = urlparse(url)
        if parsed.port is None:
            adapter = client.api._custom_adapter
            adapter.ssh_host = (parsed.username + "@" if parsed.username else "") + parsed.hostname
            adapter.pools.clear()
except Exception:
    sys.exit(1)
start = time.monotonic()
while time.monotonic() - start < 10:
    try:
        client.api.remove_container(name, force=True)
        break
    except docker.errors.NotFound:
        if time.monotonic() - start > 3:
            break
    except Exception:
        pass
    time.sleep(0.3)
"""


class Watchdog:
    """The supervisor of one container (see module docstring)."""

    def __init__(self, url: str, name: str, folder: Path | None):
        from .files import PREFIX

        self.proc: subprocess.Popen | None = None
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", SCRIPT, url, name, str(folder or ""), PREFIX],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                close_fds=True,
                env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
            )
        except OSError:  # no process to spare: the next run's leftover sweep still applies
            self.proc = None

    def release(self, clean: bool) -> None:
        """End supervision: ``clean`` (the container is gone) or let it clean up now."""
        if self.proc is None or self.proc.stdin is None:
            return
        try:
            if clean:
                self.proc.stdin.write(b"done\n")
            self.proc.stdin.close()
        except OSError:
            pass
