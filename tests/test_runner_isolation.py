"""Isolation and integrity of runs (issue 14): the container sees only the inputs the flags name
(read-only, file by file) and one fresh folder; a run lists only what it produced."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

import pytest

from trt_magic import config
from trt_magic.errors import RunnerError, UsageError
from trt_magic.runners import trtexec

ROOT = Path(__file__).parent.parent


@pytest.fixture(autouse=True)
def settings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = config.Settings(cache_dir=str(tmp_path / "cache"), workdir=str(tmp_path))
    config.use_settings(s)
    yield s
    config.use_settings(None)


@pytest.fixture
def never_started(monkeypatch):
    """Fail the test if a container is created or trtexec is run."""
    import trt_magic.runners.invoke as invoke

    def no_runner(*args, **kwargs):
        raise AssertionError("a runner was started for a refused run")

    monkeypatch.setattr(invoke, "_runner", no_runner)


def _onnx(folder: Path, name: str = "model.onnx", size: int = 5000) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(os.urandom(size))
    return path


def _mine() -> str:
    return f"trt_magic.owner={socket.gethostname()}:{os.getpid()}"


@pytest.mark.parametrize(
    "flag", ["--saveEngine", "--exportProfile", "--exportLayerInfo", "--exportTimes"]
)
def test_an_output_naming_an_input_is_refused(tmp_path, never_started, flag):
    onnx = _onnx(tmp_path)
    before = onnx.read_bytes()
    with pytest.raises(RunnerError, match="names an input") as err:
        trtexec(f"--onnx=model.onnx {flag}=./model.onnx", gpus="none", display=False)
    assert "nothing was started" in err.value.hint
    assert onnx.read_bytes() == before


def test_outputs_that_are_folders_or_special_files_are_refused(tmp_path, never_started):
    _onnx(tmp_path)
    (tmp_path / "out").mkdir()
    sock_path = tmp_path / "s.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(sock_path))
    try:
        for value, why in [
            ("/", "names a folder"),
            (".", "names a folder"),
            ("out", "names a folder"),
            ("new/", "names a folder"),
            (str(sock_path), "not a regular file"),
            ("/dev/null", "not a regular file"),
        ]:
            with pytest.raises(RunnerError, match=why):
                trtexec(f"--onnx=model.onnx --saveEngine={value}", gpus="none", display=False)
        with pytest.raises(RunnerError, match="not a regular file"):
            trtexec(f"--onnx=model.onnx --calib={sock_path}", gpus="none", display=False)
        with pytest.raises(RunnerError, match="both write"):
            trtexec(
                "--onnx=model.onnx --exportProfile=x.json --exportLayerInfo=x.json",
                gpus="none",
                display=False,
            )
    finally:
        server.close()
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"args": 5}, "args must be"),
        ({"timeout": float("nan")}, "finite"),
        ({"timeout": "10"}, "timeout must be"),
        ({"timeout": -1}, "greater than 0"),
        ({"gpus": 1.5}, "gpus must be"),
        ({"cache": "yes"}, "cache must be"),
        ({"image": "Not An/Image"}, "not a Docker image name"),
        ({"backend": "dockr"}, "backend"),
        ({"on_line": "print"}, "on_line must be callable"),
    ],
)
def test_wrong_arguments_are_short_usage_errors(tmp_path, never_started, kwargs, match):
    _onnx(tmp_path)
    call = {"args": "--onnx=model.onnx", "display": False, "gpus": "none", **kwargs}
    with pytest.raises(UsageError, match=match):
        trtexec(call.pop("args"), **call)


def test_gpus_zero_means_no_gpu():
    run = trtexec("--onnx=m.onnx", gpus=0, backend="replay", display=False)
    assert run.gpus == "none"


# ----- with Docker -----


@pytest.fixture
def no_container_left(docker_client):
    yield
    left = docker_client.containers.list(all=True, filters={"label": _mine()}, ignore_removed=True)
    assert left == [], f"containers left behind: {[c.name for c in left]}"


def _mounts_while_running(docker_client, args, image, **kw):
    """Run trtexec and return (run, {container path: (rw, host source)}) seen while it ran."""
    seen: dict = {}

    def look(line):
        if not seen:
            (c,) = docker_client.api.containers(all=True, filters={"label": _mine()})
            seen.update({m["Destination"]: (m["RW"], m["Source"]) for m in c["Mounts"]})

    run = trtexec(args, image=image, gpus="none", display=False, on_line=look, cache=False, **kw)
    return run, seen


def _assert_isolated(seen: dict, inputs: dict[str, Path]) -> Path:
    """Inputs read-only file by file, one fresh writable folder, nothing else; return it."""
    rw, out = seen.pop("/trt_magic/out")
    assert rw is True and Path(out).name == "out"
    assert Path(out).parent.name.startswith(".trt_magic-part-")
    assert not Path(out).exists(), "the run's folder was not removed"
    assert {d: s for d, s in seen.items()} == {
        d: (False, str(p.resolve())) for d, p in inputs.items()
    }
    return Path(out)


@pytest.mark.docker
def test_readme_layout_mounts_only_the_inputs_and_a_fresh_folder(
    tmp_path, trtexec_image, docker_client, no_container_left
):
    onnx = _onnx(tmp_path / "models")
    run, seen = _mounts_while_running(
        docker_client,
        "--onnx=models/model.onnx --saveEngine=models/model.plan "
        "--exportProfile=models/model.profile.json --timingCacheFile=models/t.cache",
        trtexec_image,
    )
    assert run.status == "passed"
    _assert_isolated(seen, {"/trt_magic/in0/model.onnx": onnx})
    assert (tmp_path / "models/model.plan").read_bytes() == onnx.read_bytes()
    assert not list((tmp_path / "models").glob(".trt_magic-part-*"))


@pytest.mark.docker
def test_outputs_under_home_root_and_beside_a_socket(
    tmp_path, trtexec_image, docker_client, no_container_left, monkeypatch
):
    onnx = _onnx(tmp_path / "m")
    home = tmp_path / "home"
    home.mkdir()
    (home / "secret").write_text("mode 600")
    (home / "secret").chmod(0o600)
    monkeypatch.setenv("HOME", str(home))
    sock_dir = tmp_path / "run"
    sock_dir.mkdir()
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(sock_dir / "daemon.sock"))
    at_root = Path(f"/trt_magic-test-{uuid.uuid4().hex[:8]}.plan")
    try:
        for target in ["~/x.plan", str(at_root), str(sock_dir / "e.plan")]:
            run, seen = _mounts_while_running(
                docker_client, f"--onnx=m/model.onnx --saveEngine={target}", trtexec_image
            )
            assert run.status == "passed", target
            _assert_isolated(seen, {"/trt_magic/in0/model.onnx": onnx})
            assert Path(os.path.expanduser(target)).read_bytes() == onnx.read_bytes()
    finally:
        server.close()
        at_root.unlink(missing_ok=True)
        Path(str(at_root) + ".log").unlink(missing_ok=True)
    assert not list(Path("/").glob(".trt_magic-part-*"))


@pytest.mark.docker
def test_external_data_files_are_exposed_beside_the_model(
    tmp_path, trtexec_image, docker_client, no_container_left
):
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    w = numpy_helper.from_array(np.ones((64, 64), np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 64])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 64])],
        [w],
    )
    model = helper.make_model(graph)
    folder = tmp_path / "ext"
    (folder / "weights").mkdir(parents=True)
    onnx.save(model, str(folder / "model.onnx"), save_as_external_data=True,
              location="weights/model.bin", size_threshold=0)  # fmt: skip
    (folder / "unrelated.bin").write_bytes(b"not named by the model")
    run, seen = _mounts_while_running(
        docker_client, "--onnx=ext/model.onnx --saveEngine=ext/e.plan", trtexec_image
    )
    assert run.status == "passed"
    _assert_isolated(
        seen,
        {
            "/trt_magic/in0/model.onnx": folder / "model.onnx",
            "/trt_magic/in0/weights/model.bin": folder / "weights/model.bin",
        },
    )


@pytest.mark.docker
def test_a_failed_rebuild_lists_nothing_of_the_earlier_build(
    tmp_path, trtexec_image, no_container_left
):
    from trt_magic.accuracy import check_accuracy

    _onnx(tmp_path, "fail.onnx")
    good = _onnx(tmp_path, "good.onnx")
    outs = "--saveEngine=e.plan --exportProfile=p.json --exportLayerInfo=l.json"
    first = trtexec(f"--onnx=good.onnx {outs}", image=trtexec_image, gpus="none", display=False)
    assert first.status == "passed" and {"engine", "profile", "layer_info"} <= set(first.files)
    good_log = first.files["log"].read_text()
    again = trtexec(f"--onnx=fail.onnx {outs}", image=trtexec_image, gpus="none", display=False)
    assert again.status == "failed"
    assert not {"engine", "profile", "layer_info"} & set(again.files)
    assert again.layers.empty
    assert (tmp_path / "e.plan").read_bytes() == good.read_bytes()  # untouched, not claimed
    assert first.files["log"].read_text() == good_log  # the passing log stays its own
    assert "&&&& FAILED" in again.files["log"].read_text()
    assert again.files["log"] != first.files["log"]
    with pytest.raises(UsageError, match="saved no engine"):
        check_accuracy(again, tmp_path / "good.onnx")
    assert not list(tmp_path.glob(".trt_magic-part-*"))


@pytest.mark.docker
def test_a_timed_out_rebuild_lists_no_engine(tmp_path, trtexec_image, no_container_left):
    _onnx(tmp_path)
    _onnx(tmp_path, "slow.onnx")
    trtexec(
        "--onnx=model.onnx --saveEngine=e.plan", image=trtexec_image, gpus="none", display=False
    )
    run = trtexec(
        "--onnx=slow.onnx --saveEngine=e.plan",
        image=trtexec_image,
        gpus="none",
        display=False,
        timeout=1,
    )
    assert run.status == "timeout" and "engine" not in run.files
    assert not list(tmp_path.glob(".trt_magic-part-*"))


@pytest.mark.docker
def test_the_host_log_write_follows_no_symlink(tmp_path, trtexec_image, no_container_left):
    _onnx(tmp_path)
    victim = tmp_path / "root-only"
    victim.write_text("precious")
    (tmp_path / "e.plan.log").symlink_to(victim)
    run = trtexec("--onnx=model.onnx --saveEngine=e.plan", image=trtexec_image, gpus="none",
                  display=False)  # fmt: skip
    assert run.status == "passed"
    assert victim.read_text() == "precious"
    assert not (tmp_path / "e.plan.log").is_symlink() and "&&&& PASSED" in run.read_log()
