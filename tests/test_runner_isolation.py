"""Isolation and integrity of runs (issue 14): the container sees only the inputs the flags name
(read-only, file by file) and one fresh folder; a run lists only what it produced."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

import pytest
from conftest import tmp_settings

from trt_magic import config
from trt_magic.errors import RunnerError, UsageError
from trt_magic.runners import trtexec

ROOT = Path(__file__).parent.parent


@pytest.fixture(autouse=True)
def settings(tmp_path, monkeypatch):
    yield from tmp_settings(tmp_path, monkeypatch)


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
        ({"transfer": "ftp"}, "transfer"),
        ({"args": ["--onnx=model.onnx", 3]}, "each flag in args"),
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
        "--exportProfile=models/model.profile.json --timingCacheFile=models/t.cache --tempdir=/",
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
    with pytest.raises(UsageError, match="this run failed"):
        check_accuracy(again, tmp_path / "good.onnx")
    again.status = "passed"  # even a run mislabelled: no engine listed, nothing to check
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


@pytest.mark.docker
def test_a_cache_hit_reports_this_command_and_a_bad_entry_is_rebuilt(
    tmp_path, trtexec_image, no_container_left, capsys
):
    import time as _time

    onnx = _onnx(tmp_path)
    first = trtexec("--onnx=model.onnx --saveEngine=a.plan", image=trtexec_image, gpus="none",
                    display=False)  # fmt: skip
    assert not first.cached
    hit = trtexec("--onnx=model.onnx --saveEngine=b.plan", image=trtexec_image, gpus="none",
                  display=False)  # fmt: skip
    assert hit.cached and hit.status == "passed"
    assert hit.command == ["--onnx=model.onnx", "--saveEngine=b.plan"]  # what was just run
    built = _time.strftime("%Y-%m-%d %H:%M", _time.localtime(first.started))
    assert any(n.startswith(f"cached: built {built}") for n in hit.notes), hit.notes
    assert (tmp_path / "b.plan").read_bytes() == onnx.read_bytes()
    (entry,) = [p for p in (tmp_path / "cache/runs").iterdir() if not p.name.startswith(".")]
    engine = next(p for p in entry.iterdir() if p.name.isdigit())
    engine.write_bytes(engine.read_bytes()[:100])  # truncated behind our back
    capsys.readouterr()
    again = trtexec("--onnx=model.onnx --saveEngine=c.plan", image=trtexec_image, gpus="none")
    assert not again.cached and again.status == "passed"
    assert "damaged" in capsys.readouterr().out  # said, then rebuilt
    assert (tmp_path / "c.plan").read_bytes() == onnx.read_bytes()
    assert trtexec("--onnx=model.onnx --saveEngine=d.plan", image=trtexec_image, gpus="none",
                   display=False).cached  # fmt: skip


def _as_user(uid: int, gid: int, groups: list[int], work) -> dict:
    """Run ``work()`` in a forked child that dropped root for ``uid:gid`` + ``groups``."""
    import json

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: become the user, run, report, exit without pytest's clean-up
        code = 0
        try:
            os.close(read)
            import trt_magic.runners.docker as docker_runner

            docker_runner._clients.clear()  # the parent's connections are not ours
            os.setgroups(groups)
            os.setgid(gid)
            os.setuid(uid)
            result = work()
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            result, code = {"crash": f"{type(exc).__name__}: {exc}"}, 1
        os.write(write, json.dumps(result).encode())
        os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as fh:
        data = fh.read()
    os.waitpid(pid, 0)
    return json.loads(data)


@pytest.mark.docker
def test_a_non_root_user_works_in_a_group_shared_folder(trtexec_image, docker_client):
    import grp
    import pwd
    import shutil
    import subprocess
    import tempfile

    from conftest import missing

    if os.geteuid() != 0:
        missing("creating a test user needs root")
    name = f"trtm{uuid.uuid4().hex[:6]}"
    base = Path(tempfile.mkdtemp(prefix="trt_magic-users-"))
    try:
        subprocess.run(["groupadd", f"{name}g"], check=True)
        subprocess.run(["useradd", "-M", "-N", "-s", "/usr/sbin/nologin", name], check=True)
        user, group = pwd.getpwnam(name), grp.getgrnam(f"{name}g")
        base.chmod(0o755)
        shared = base / "shared"
        shared.mkdir()
        os.chown(shared, 0, group.gr_gid)
        shared.chmod(0o2770)  # the group's folder: setgid, no access for others
        onnx = shared / "model.onnx"
        onnx.write_bytes(os.urandom(4000))
        os.chown(onnx, 0, group.gr_gid)
        onnx.chmod(0o640)  # readable only through the supplementary group
        closed = base / "closed"
        closed.mkdir(mode=0o755)  # root's: the user may not write here
        sticky = base / "sticky"
        sticky.mkdir()
        sticky.chmod(0o1777)  # like /tmp: anyone writes, only owners replace
        (sticky / "taken.plan").write_bytes(b"root's")
        cache = base / "cache"
        cache.mkdir()
        os.chown(cache, user.pw_uid, user.pw_gid)

        def work() -> dict:
            config.use_settings(config.Settings(cache_dir=str(cache), workdir=str(shared)))
            run = trtexec("--onnx=model.onnx --saveEngine=out/e.plan", image=trtexec_image,
                          gpus="none", display=False)  # fmt: skip
            try:
                trtexec(f"--onnx=model.onnx --saveEngine={closed}/e.plan", image=trtexec_image,
                        gpus="none", display=False)  # fmt: skip
                refused = ""
            except RunnerError as exc:
                refused = str(exc)
            try:
                trtexec(f"--onnx=model.onnx --saveEngine={sticky}/taken.plan", image=trtexec_image,
                        gpus="none", display=False)  # fmt: skip
                sticky_refused = ""
            except RunnerError as exc:
                sticky_refused = str(exc)
            return {"status": run.status, "errors": run.errors, "refused": refused,
                    "sticky": sticky_refused}  # fmt: skip

        docker_gid = grp.getgrnam("docker").gr_gid
        result = _as_user(user.pw_uid, user.pw_gid, [group.gr_gid, docker_gid], work)
        assert result["status"] == "passed", result  # the container kept the group
        engine = shared / "out/e.plan"
        assert engine.read_bytes() == onnx.read_bytes()
        assert engine.stat().st_uid == user.pw_uid
        assert "you cannot write into" in result["refused"]
        assert "belongs to another user" in result["sticky"]
        assert (sticky / "taken.plan").read_bytes() == b"root's"
        assert list(closed.iterdir()) == []
        assert not list(shared.rglob(".trt_magic-part-*"))
    finally:
        subprocess.run(["userdel", name], check=False)
        subprocess.run(["groupdel", f"{name}g"], check=False)
        shutil.rmtree(base, ignore_errors=True)
