"""The Docker backend against the real engine, with the local test image (tests/docker_image.py)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import tmp_settings

from trt_magic.errors import GpuRuntimeError, ImageError, RunnerError
from trt_magic.runners import trtexec

pytestmark = pytest.mark.docker
ROOT = Path(__file__).parent.parent


@pytest.fixture(autouse=True)
def settings(tmp_path, monkeypatch):
    yield from tmp_settings(tmp_path, monkeypatch)


@pytest.fixture(autouse=True)
def _no_container_left(no_container_left):
    yield


def _onnx(folder: Path, name: str = "model.onnx", size: int = 5000) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(os.urandom(size))
    return path


def test_success_maps_every_path(tmp_path, trtexec_image, data_dir):
    onnx = _onnx(tmp_path / "model")
    lines = []
    run = trtexec(
        "--onnx=model/model.onnx --saveEngine=out/m.plan --exportProfile=out/p.json "
        "--exportLayerInfo=out/l.json --exportTimes=out/t.json",
        image=trtexec_image,
        gpus="none",
        display=False,
        on_line=lines.append,
    )
    assert run.status == "passed" and run.exit_code == 0 and run.backend == "docker"
    # the fake trtexec copies the ONNX it read (container path) to the engine it wrote
    assert (tmp_path / "out/m.plan").read_bytes() == onnx.read_bytes()
    real = data_dir / "trex/A100-fp32/resnet.onnx.engine.profile.json"
    assert run.files["profile"].read_bytes() == real.read_bytes()
    assert run.files["times"].is_file() and run.files["layer_info"].is_file()
    assert run.files["log"] == tmp_path / "out/m.plan.log"
    real_log = (data_dir / "trtexec/log-10.16.1-onnx-default-run.log").read_text()
    assert run.files["log"].read_text() == real_log
    assert lines == real_log.splitlines()
    assert run.image == trtexec_image and run.image_id.startswith("sha256:")
    assert run.gpus == "none" and run.host.startswith("unix://")
    assert (
        run.docker_command[:3] == ["docker", "run", "--rm"] and trtexec_image in run.docker_command
    )
    assert run.started and run.duration_s > 0 and not run.cached
    assert not list((tmp_path / "out").glob(".*partial*"))  # temporary engine renamed


def test_test_image_reads_its_flags(docker_client, trtexec_image, tmp_path):
    """A host path handed to the container unmapped fails: the fake trtexec really reads it."""
    onnx = _onnx(tmp_path)
    out = docker_client.containers.run(
        trtexec_image, ["trtexec", f"--onnx={onnx}"], network_mode="none", detach=True
    )
    try:
        assert out.wait()["StatusCode"] == 2
        assert b"wrong path mapping" in out.logs()
    finally:
        out.remove(force=True)


def test_failure_reports_errors_and_the_command(tmp_path, trtexec_image, capsys):
    _onnx(tmp_path, "fail.onnx")
    run = trtexec("--onnx=fail.onnx --saveEngine=f.plan", image=trtexec_image, gpus="none")
    assert run.status == "failed" and run.exit_code == 1
    assert not (tmp_path / "f.plan").exists() and not list(tmp_path.glob(".f.plan*"))
    shown = capsys.readouterr().out
    assert "trtexec FAILED" in shown and "[E] Engine set up failed" in shown
    assert "reproduce by hand: docker run --rm" in shown
    assert run.files["log"].read_text().rstrip().splitlines()[-1].startswith("&&&& FAILED")


def _slow_job(tmp_path, image, **kw):
    _onnx(tmp_path, "slow.onnx")
    return lambda: trtexec(
        "--onnx=slow.onnx --saveEngine=s.plan", image=image, gpus="none", display=False, **kw
    )


def test_timeout_stops_and_removes(tmp_path, trtexec_image, docker_client):
    mounts = {}

    def look(line):  # while trtexec runs: how are the folders mounted?
        if not mounts:
            mine = f"trt_magic.owner={socket.gethostname()}:{os.getpid()}"
            (c,) = docker_client.api.containers(filters={"label": mine})
            mounts.update({m["Destination"]: m["RW"] for m in c["Mounts"]})

    start = time.monotonic()
    run = _slow_job(tmp_path, trtexec_image, timeout=2, on_line=look)()
    took = time.monotonic() - start
    assert mounts.pop("/trt_magic/out") is True  # the run's own folder
    assert mounts == {"/trt_magic/in0/slow.onnx": False}  # the input, read-only, nothing else
    assert run.status == "timeout" and run.exit_code is None
    assert took < 2 + 2 + 1.5, took  # timeout + 2 s to stop + start-up
    assert not (tmp_path / "s.plan").exists()
    assert not list(tmp_path.glob(".s.plan*")), "partial engine left"
    assert any("timeout" in n for n in run.notes)


def test_keyboard_interrupt_stops_within_2s(tmp_path, trtexec_image, docker_client):
    job = _slow_job(tmp_path, trtexec_image)
    fired = {}

    def interrupt():
        fired["at"] = time.monotonic()
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    timer = threading.Timer(1.5, interrupt)
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        job()
    stopped = time.monotonic() - fired["at"]
    assert stopped < 2.0, stopped
    mine = f"trt_magic.owner={socket.gethostname()}:{os.getpid()}"
    assert (
        docker_client.containers.list(all=True, filters={"label": mine}, ignore_removed=True) == []
    )
    assert not list(tmp_path.glob("*.plan")) and not list(tmp_path.glob(".s.plan*"))


def test_cancel_event(tmp_path, trtexec_image):
    cancel = threading.Event()
    threading.Timer(1.0, cancel.set).start()
    run = _slow_job(tmp_path, trtexec_image, cancel=cancel)()
    assert run.status == "interrupted"
    assert not list(tmp_path.glob("*.plan")) and not list(tmp_path.glob(".s.plan*"))


def test_no_gpu_runtime_is_explained(tmp_path, trtexec_image):
    _onnx(tmp_path)
    with pytest.raises(GpuRuntimeError) as err:
        trtexec(
            "--onnx=model.onnx", image=trtexec_image, gpus="all", backend="docker", display=False
        )
    assert "NVIDIA Container Toolkit" in err.value.hint and "--backend local" in err.value.hint
    assert 'could not select device driver ""' in err.value.detail


def test_missing_image_pull_failure_is_explained(tmp_path):
    _onnx(tmp_path)
    with pytest.raises(ImageError) as err:
        trtexec(
            "--onnx=model.onnx", image="127.0.0.1:9/nvidia/tensorrt:0", gpus="none", display=False
        )
    assert "cannot reach the registry 127.0.0.1:9" in err.value.message  # nothing listens there
    assert "docker load" in err.value.hint and "127.0.0.1:9" in err.value.detail


def test_missing_input_reported_before_any_container(tmp_path, trtexec_image, monkeypatch):
    import trt_magic.runners.docker as docker_runner

    def no_container(*args, **kwargs):
        raise AssertionError("a container was created for a run with a missing input")

    monkeypatch.setattr(docker_runner.DockerRunner, "_create", no_container)
    with pytest.raises(RunnerError, match="input file not found: --onnx="):
        trtexec("--onnx='$(touch /tmp/trt_magic_injected)'", image=trtexec_image, gpus="none")
    assert not Path("/tmp/trt_magic_injected").exists()


def test_shell_text_in_a_file_name_runs_nothing(tmp_path, trtexec_image):
    marker = tmp_path / "injected"  # the container's working folder is tmp_path (the engine's)
    name = "$(touch injected);`touch injected`.onnx"
    _onnx(tmp_path, name)
    run = trtexec(
        ["--onnx=" + name, "--saveEngine=e.plan"], image=trtexec_image, gpus="none", display=False
    )
    assert run.status == "passed" and (tmp_path / "e.plan").is_file()
    assert not marker.exists()


def test_outputs_belong_to_the_notebook_user(tmp_path, trtexec_image, monkeypatch):
    """Run as another uid (as a notebook user is): files written are that user's, not root's."""
    import trt_magic.runners.docker as docker_runner

    tmp_path.chmod(0o755)  # pytest makes it root-only; a notebook folder is readable
    _onnx(tmp_path).chmod(0o644)
    out = tmp_path / "out"
    out.mkdir(mode=0o777)
    out.chmod(0o777)  # a folder the notebook user 4321 may write into
    (tmp_path / "cache").mkdir(mode=0o777)
    monkeypatch.setattr(docker_runner.os, "getuid", lambda: 4321)
    monkeypatch.setattr(docker_runner.os, "getgid", lambda: 4322)
    run = trtexec(
        "--onnx=model.onnx --saveEngine=out/e.plan --exportProfile=out/p.json --timingCacheFile=out/t.cache",
        image=trtexec_image,
        gpus="none",
        display=False,
    )
    assert run.status == "passed"
    assert "--user" in run.docker_command and "4321:4322" in run.docker_command
    for name in ("e.plan", "p.json", "t.cache"):
        st = (out / name).stat()
        assert (st.st_uid, st.st_gid) == (4321, 4322), name


def test_engine_cache_hit_miss_and_no_cache(tmp_path, trtexec_image, settings):
    _onnx(tmp_path)
    args = "--onnx=model.onnx --saveEngine=e.plan --exportProfile=p.json"
    first = trtexec(args, image=trtexec_image, gpus="none", display=False)
    assert not first.cached and first.status == "passed"
    (tmp_path / "e.plan").unlink()
    second = trtexec(args, image=trtexec_image, gpus="none", display=False)
    assert second.cached and second.status == "passed" and second.duration_s < 0.5
    assert (tmp_path / "e.plan").read_bytes() == (tmp_path / "model.onnx").read_bytes()
    assert second.files["log"].read_text() == first.files["log"].read_text()
    assert any("cached" in n for n in second.notes)
    assert not trtexec(args, image=trtexec_image, gpus="none", display=False, cache=False).cached
    # other flags, other bytes: a miss
    assert not trtexec(args + " --fp16", image=trtexec_image, gpus="none", display=False).cached
    _onnx(tmp_path)  # new random bytes
    assert not trtexec(args, image=trtexec_image, gpus="none", display=False).cached
    # failures are not cached
    _onnx(tmp_path, "fail.onnx")
    for _ in range(2):
        assert not trtexec(
            "--onnx=fail.onnx", image=trtexec_image, gpus="none", display=False
        ).cached


CHILD = """
import json, sys
from trt_magic import config
from trt_magic.runners import trtexec
config.use_settings(config.Settings(cache_dir=sys.argv[1], workdir=sys.argv[2]))
run = trtexec(sys.argv[3], image=sys.argv[4], gpus="none", display=False)
print(json.dumps({"cached": run.cached, "status": run.status}))
"""


def _child(tmp_path, image, args) -> subprocess.Popen:
    argv = [sys.executable, "-c", CHILD, str(tmp_path / "cache"), str(tmp_path), args, image]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, cwd=ROOT)


def test_cache_survives_restarts_and_two_kernels_building_at_once(tmp_path, trtexec_image):
    _onnx(tmp_path)
    args = "--onnx=model.onnx --saveEngine=e.plan"
    procs = [_child(tmp_path, trtexec_image, args) for _ in range(2)]
    results = [json.loads(p.communicate(timeout=60)[0].splitlines()[-1]) for p in procs]
    assert sorted(r["cached"] for r in results) == [False, True]  # one built, one waited and hit
    assert all(r["status"] == "passed" for r in results)
    later = json.loads(
        _child(tmp_path, trtexec_image, args).communicate(timeout=60)[0].splitlines()[-1]
    )
    assert later["cached"]  # a new process (a restarted kernel) hits
    assert not list((tmp_path / "cache/runs").glob(".tmp-*"))


def test_timing_cache_is_automatic_unless_given(tmp_path, trtexec_image):
    _onnx(tmp_path)
    run = trtexec("--onnx=model.onnx", image=trtexec_image, gpus="none", display=False)
    auto = run.files["timing_cache"]
    assert auto.parent == tmp_path / "cache/timing" and auto.exists()
    # named after the GPU the log says trtexec selected (the replayed log: an H100)
    assert auto.name.endswith("-NVIDIA_H100_PCIe.cache")
    assert run.command == ["--onnx=model.onnx"]  # the user's flags, as given
    again = trtexec("--onnx=model.onnx --fp16", image=trtexec_image, gpus="none", display=False)
    assert again.files["timing_cache"] == auto  # another build on that GPU reuses it
    assert any(a.endswith("-NVIDIA_H100_PCIe.cache") for a in again.docker_command)
    mine = trtexec(
        "--onnx=model.onnx --timingCacheFile=my.cache",
        image=trtexec_image,
        gpus="none",
        display=False,
        cache=False,
    )
    assert mine.files["timing_cache"] == tmp_path / "my.cache" and (tmp_path / "my.cache").exists()


def test_choose_backend_without_nvidia_runtime(docker_client):
    from trt_magic.runners import choose_backend

    backend, why = choose_backend()
    assert backend in ("local", "replay") and "no NVIDIA runtime" in why


@pytest.mark.slow
def test_huge_verbose_log_stays_capped(tmp_path, trtexec_image, data_dir):
    from trt_magic.display.live import LiveLog

    _onnx(tmp_path, "huge.onnx")
    updates = []

    class Handle:
        def update(self, obj):
            updates.append(repr(obj))

    def fake_display(obj, display_id=False):
        updates.append(repr(obj))
        return Handle()

    shown = {}
    orig_init = LiveLog.__init__

    def notebook_init(self, *a, **kw):
        kw.update(mode="notebook", display_fn=fake_display)
        orig_init(self, *a, **kw)
        shown["live"] = self

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(LiveLog, "__init__", notebook_init)
        run = trtexec("--onnx=huge.onnx --verbose", image=trtexec_image, gpus="none")
    one = (data_dir / "trtexec/log-8.6.1-segformer-build-verbose-workspace-plugin.log").read_text()
    assert run.status == "passed"
    assert run.files["log"].stat().st_size == 10 * len(one.encode())
    live = shown["live"]
    assert live.count == 10 * len(one.splitlines())
    assert len(live.tail) <= 200 and len(updates) < 400
    assert "earlier lines not shown" in updates[-1] and "trtexec PASSED" in updates[-1]


def test_leftovers_of_dead_kernels_are_removed(tmp_path, trtexec_image, docker_client):
    dead = docker_client.containers.create(
        trtexec_image,
        ["sleep", "60"],
        labels={"trt_magic": "1", "trt_magic.owner": f"{socket.gethostname()}:99999999"},
        network_mode="none",
    )
    _onnx(tmp_path)
    trtexec("--onnx=model.onnx", image=trtexec_image, gpus="none", display=False)
    import docker

    with pytest.raises(docker.errors.NotFound):
        dead.reload()


def test_remote_host_copies_files_in_and_out(tmp_path, second_docker):
    client, image = second_docker
    onnx = _onnx(tmp_path / "m")
    run = trtexec(
        "--onnx=m/model.onnx --saveEngine=o/e.plan --exportLayerInfo=o/l.json",
        image=image,
        gpus="none",
        docker_host="tcp://127.0.0.1:23751",
        display=False,
    )
    assert run.status == "passed" and run.host == "tcp://127.0.0.1:23751"
    assert (tmp_path / "o/e.plan").read_bytes() == onnx.read_bytes()
    assert json.loads((tmp_path / "o/l.json").read_text())
    assert run.files["timing_cache"].exists()  # written remotely, copied back
    assert "-H" in run.docker_command
    mine = f"trt_magic.owner={socket.gethostname()}:{os.getpid()}"
    assert client.containers.list(all=True, filters={"label": mine}, ignore_removed=True) == []


def test_image_without_trtexec_is_explained(tmp_path, docker_client):
    import io
    import tarfile

    from docker_image import BUSYBOX

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("bin/busybox")
        info.size, info.mode = BUSYBOX.stat().st_size, 0o755
        tar.addfile(info, io.BytesIO(BUSYBOX.read_bytes()))
    from docker_image import RUN_ID, remove_test_image

    tag = f"trt_magic-test/no-trtexec:run{RUN_ID}"  # this run's own, removed below
    docker_client.api.import_image_from_data(
        buf.getvalue(), repository=tag.split(":")[0], tag=tag.split(":")[1]
    )
    _onnx(tmp_path)
    try:
        with pytest.raises(RunnerError, match="has no trtexec on its PATH") as err:
            trtexec("--onnx=model.onnx", image=tag, gpus="none", display=False)
    finally:
        remove_test_image(docker_client, tag)
    assert "nvcr.io/nvidia/tensorrt" in err.value.hint


def test_pull_shows_progress_and_returns_the_id(monkeypatch):
    """The pull path with the SDK's pull stream (a registry is not reachable here)."""
    import docker

    from trt_magic.runners.docker import ensure_image

    events = [
        {"status": "Pulling from nvidia/tensorrt", "id": "23.04-py3"},
        {
            "status": "Downloading",
            "id": "abc",
            "progress": "[=>   ] 1MB/10MB",
            "progressDetail": {"current": 1000000, "total": 10000000},
        },
        {"status": "Pull complete", "id": "abc"},
    ]

    class Images:
        calls = 0

        def get(self, name):
            Images.calls += 1
            if Images.calls == 1:
                raise docker.errors.ImageNotFound("missing")
            return type("Image", (), {"id": "sha256:feed"})()

    class Api:
        def pull(self, repo, tag, stream, decode):
            assert (repo, tag, stream, decode) == (
                "nvcr.io/nvidia/tensorrt",
                "23.04-py3",
                True,
                True,
            )
            yield from events

    client = type("Client", (), {"images": Images(), "api": Api()})()
    notes = []
    assert ensure_image(client, "nvcr.io/nvidia/tensorrt:23.04-py3", notes.append) == "sha256:feed"
    assert notes[0].startswith("image nvcr.io/nvidia/tensorrt:23.04-py3 is not on this Docker host")
    assert notes[-1].startswith(
        "pulling nvcr.io/nvidia/tensorrt:23.04-py3: 10.0 MB of 10.0 MB (100 %)"
    )


def test_copy_transfer_on_a_local_daemon(tmp_path, trtexec_image):
    onnx = _onnx(tmp_path)
    run = trtexec(
        "--onnx=model.onnx --saveEngine=out/e.plan --exportTimes=out/t.json",
        image=trtexec_image,
        gpus="none",
        transfer="copy",
        display=False,
    )
    assert run.status == "passed" and any("copied in and out" in n for n in run.notes)
    assert (tmp_path / "out/e.plan").read_bytes() == onnx.read_bytes()
    assert run.files["times"].stat().st_size > 0
    assert not list((tmp_path / "out").glob(".*"))  # no temporary file left
