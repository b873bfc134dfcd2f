"""The default backend is chosen from what the host has, before anything is pulled (choice.py).

The Docker tests put a recording TCP proxy between the Docker SDK and the real daemon: every
request trt_magic sends passes through it, so "no pull" is what the daemon really saw.
"""

from __future__ import annotations

import os
import socket
import threading

import pytest

from trt_magic.errors import GpuRuntimeError
from trt_magic.runners.choice import choose_backend, docker_gpu_support, resolve_backend

NO_DOCKER = "tcp://127.0.0.1:9"  # nothing listens there
RUNC = {"runc": {}}
CDI_GPU = [{"Source": "cdi", "ID": "nvidia.com/gpu=0"}]
CDI_OTHER = [{"Source": "cdi", "ID": "vendor.com/fpga=0"}]


@pytest.mark.parametrize(
    "info, expected",
    [
        ({"Runtimes": {"runc": {}, "nvidia": {"path": "nvidia-container-runtime"}}}, "NVIDIA"),
        ({"Runtimes": RUNC, "DiscoveredDevices": CDI_GPU}, "nvidia.com/gpu=0"),
        ({"Runtimes": RUNC, "DiscoveredDevices": CDI_OTHER}, None),
        ({"Runtimes": {"runc": {}}}, None),
        ({}, None),
    ],
)
def test_docker_gpu_support_reads_runtimes_and_cdi_devices(info, expected):
    how = docker_gpu_support(info)
    assert (how is None) if expected is None else (expected in how)


def test_nothing_to_run_on_says_what_is_missing(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", NO_DOCKER)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(GpuRuntimeError) as err:
        resolve_backend("all")
    assert "no Docker engine" in err.value.message and "no trtexec on PATH" in err.value.message
    assert "NVIDIA Container Toolkit" in err.value.hint and "--backend replay" in err.value.hint


def test_api_default_backend_raises_instead_of_replaying_silently(monkeypatch, tmp_path):
    from trt_magic import trtexec

    monkeypatch.setenv("DOCKER_HOST", NO_DOCKER)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("TRT_MAGIC_BACKEND", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model.onnx").write_bytes(b"onnx")
    with pytest.raises(GpuRuntimeError, match="nothing here can run trtexec"):
        trtexec("--onnx=model.onnx", display=False)


class RecordingProxy:
    """A TCP proxy to the Docker daemon that keeps every byte the client sent."""

    def __init__(self, target: str):
        self.target = target
        self.sent = bytearray()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"tcp://127.0.0.1:{self.server.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _connect(self) -> socket.socket:
        if self.target.startswith("tcp://"):
            host, _, port = self.target[6:].rpartition(":")
            return socket.create_connection((host, int(port)))
        upstream = socket.socket(socket.AF_UNIX)
        upstream.connect(self.target.removeprefix("unix://"))
        return upstream

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:  # closed
                return
            upstream = self._connect()
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, record: bool) -> None:
        try:
            while data := src.recv(65536):
                if record:
                    self.sent += data
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def requests(self) -> list[str]:
        """The request lines sent (``POST /v1.41/images/create?... HTTP/1.1``)."""
        lines = bytes(self.sent).split(b"\r\n")
        verbs = (b"GET ", b"POST ", b"DELETE ", b"PUT ", b"HEAD ")
        return [ln.decode("latin-1") for ln in lines if ln.startswith(verbs)]

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def proxy(docker_client):
    """A recording proxy in front of the default Docker daemon (which has no NVIDIA runtime)."""
    if docker_gpu_support(docker_client.info()):
        pytest.fail("this test needs a Docker host WITHOUT an NVIDIA runtime", pytrace=False)
    p = RecordingProxy(os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock")
    yield p
    p.close()


@pytest.mark.docker
@pytest.mark.parametrize("backend_flag", ["", "--backend docker"])
def test_trtexec_magic_on_a_host_without_gpu_runtime_pulls_nothing(
    ipython_shell, proxy, monkeypatch, tmp_path, capsys, backend_flag
):
    monkeypatch.setenv("DOCKER_HOST", proxy.url)
    monkeypatch.setenv("PATH", str(tmp_path))  # no local trtexec either
    monkeypatch.delenv("TRT_MAGIC_BACKEND", raising=False)
    monkeypatch.delenv("TRT_MAGIC_GPUS", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model.onnx").write_bytes(b"onnx")
    image = "nvcr.io/nvidia/tensorrt:23.04-py3"  # not on the test daemons: a pull would start
    result = ipython_shell.run_cell(f"%trtexec {backend_flag} --image {image} --onnx=model.onnx")
    out = capsys.readouterr().out
    assert isinstance(result.error_in_exec, GpuRuntimeError), result.error_in_exec
    assert "NVIDIA Container Toolkit" in out and "replay" in out, out
    assert proxy.requests(), "the proxy saw nothing: the test does not watch the daemon"
    assert not [r for r in proxy.requests() if "/images/create" in r], proxy.requests()


@pytest.mark.docker
def test_auto_runs_in_docker_when_no_gpu_is_asked_for(proxy, monkeypatch, tmp_path, trtexec_image):
    from trt_magic import trtexec

    monkeypatch.setenv("DOCKER_HOST", proxy.url)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("TRT_MAGIC_BACKEND", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "model.onnx").write_bytes(b"onnx")
    backend, why = choose_backend(gpus="none")
    assert backend == "docker" and "gpus='none'" in why
    run = trtexec("--onnx=model.onnx", image=trtexec_image, gpus="none", display=False, cache=False)
    assert run.backend == "docker" and run.status == "passed"
