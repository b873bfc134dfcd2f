"""What a run may touch, without Docker: the container paths of inputs (file by file, external
data beside the model) and outputs (one fresh folder), the refusals before anything starts, and
the folder's life (open, grant, settle, close, what a dead kernel left)."""

from __future__ import annotations

import os
import re
import socket
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from conftest import missing

from trt_magic.errors import RunnerError
from trt_magic.runners.files import PREFIX, owner_tag
from trt_magic.runners.staging import Stage, _safe

OUT = "/trt_magic/out"
HOST = socket.gethostname()


def stage(tmp_path: Path, *args: str, container: bool = True) -> Stage:
    return Stage(list(args), lambda p: tmp_path / p, tmp_path / "cache", container=container)


def onnx_with_external(path: Path, locations: list[str]) -> Path:
    """An ONNX model (written by onnx) whose initializers name ``locations`` as external data."""
    from onnx import TensorProto, helper

    inits = []
    for i, loc in enumerate(locations):
        t = helper.make_tensor(f"w{i}", TensorProto.FLOAT, [1], [1.0])
        t.ClearField("float_data")
        t.data_location = TensorProto.EXTERNAL
        for key, value in (("location", loc), ("offset", "0"), ("length", "4")):
            entry = t.external_data.add()
            entry.key, entry.value = key, value
        inits.append(t)
    graph = helper.make_graph(
        [], "g", [], [helper.make_tensor_value_info("w0", TensorProto.FLOAT, [1])], inits
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(helper.make_model(graph).SerializeToString())
    return path


def dead_pid() -> int:
    """The pid of a process that has exited."""
    proc = subprocess.Popen([sys.executable, "-c", ""])
    proc.wait()
    return proc.pid


def refused(st: Stage) -> RunnerError:
    with pytest.raises(RunnerError) as info:
        st.check()
    return info.value


# ----- names and paths (planning writes nothing) -----


def test_container_file_names_are_safe_for_trtexec():
    assert _safe("my model,v2:final.onnx") == "my_model_v2_final.onnx"
    assert _safe("a+b-c_d.9.plan") == "a+b-c_d.9.plan"
    assert _safe("$(rm -rf x).onnx") == "rm_-rf_x_.onnx"
    assert _safe("__x y__") == "x_y"
    assert _safe("Xx.onnx") == "Xx.onnx"
    assert _safe(",,:") == "file"


def test_inputs_are_mounted_file_by_file_and_outputs_in_one_folder(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "my model.onnx").write_bytes(b"not a model")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x.bin").write_bytes(b"\0" * 8)
    st = stage(tmp_path, "--onnx=m/my model.onnx", "--loadInputs=x:d/x.bin",
               "--exportProfile=p/prof.json", "--saveEngine=e/model.plan",
               "--iterations=3")  # fmt: skip
    assert st.plan.args == [
        "--onnx=/trt_magic/in0/my_model.onnx",
        "--loadInputs=x:/trt_magic/in1/x.bin",
        f"--exportProfile={OUT}/prof.json",
        f"--saveEngine={OUT}/model.plan",
        "--iterations=3",
    ]
    assert st.inputs == [
        (tmp_path / "m" / "my model.onnx", "/trt_magic/in0/my_model.onnx"),
        (tmp_path / "d" / "x.bin", "/trt_magic/in1/x.bin"),
    ]
    assert st.outputs == {
        f"{OUT}/prof.json": tmp_path / "p" / "prof.json",
        f"{OUT}/model.plan": tmp_path / "e" / "model.plan",
    }
    # the folder sits beside the engine (first output of kind engine), named after its owner
    assert st.first_output == tmp_path / "e" / "model.plan"
    assert st.folder.parent == tmp_path / "e"
    assert re.fullmatch(re.escape(f"{PREFIX}{owner_tag()}-") + "[0-9a-f]{12}-run", st.folder.name)
    assert st.log == st.folder / "trtexec.log"
    engine, profile = st.plan.refs[3], st.plan.refs[2]
    assert st.container_path(engine) == f"{OUT}/model.plan"
    assert st.staged(engine) == st.folder / "out" / "model.plan"
    assert st.staged(profile) == st.folder / "out" / "prof.json"
    assert st.docker_args() == [
        "-v", f"{tmp_path}/m/my model.onnx:/trt_magic/in0/my_model.onnx:ro",
        "-v", f"{tmp_path}/d/x.bin:/trt_magic/in1/x.bin:ro",
        "-v", f"{tmp_path}/e:{OUT}",
    ]  # fmt: skip
    assert not st.folder.exists() and not (tmp_path / "cache").exists()


def test_without_an_engine_the_first_output_holds_the_folder(tmp_path):
    st = stage(tmp_path, "--exportTimes=t/times.json", "--exportProfile=p/prof.json")
    assert st.first_output == tmp_path / "t" / "times.json"
    assert st.folder.parent == tmp_path / "t"
    none = stage(tmp_path, "--onnx=m.onnx", "--iterations=1")
    assert none.first_output is None and none.outputs == {}
    assert none.folder.parent == tmp_path / "cache" / "staging"
    assert none.docker_args() == ["-v", f"{tmp_path}/m.onnx:/trt_magic/in0/m.onnx:ro"]


def test_container_paths_by_default_and_a_cache_alone_holds_the_folder(tmp_path):
    st = Stage(["--onnx=m.onnx", "--timingCacheFile=c/t.cache"], lambda p: tmp_path / p, tmp_path)
    assert st.plan.args == ["--onnx=/trt_magic/in0/m.onnx", f"--timingCacheFile={OUT}/t.cache"]
    assert st.first_output == tmp_path / "c" / "t.cache"
    assert st.folder.parent == tmp_path / "c"


def test_same_names_get_distinct_container_paths(tmp_path):
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
    (tmp_path / "a" / "x y.bin").write_bytes(b"1")
    (tmp_path / "a" / "x_y.bin").write_bytes(b"2")
    (tmp_path / "b" / "x y.bin").write_bytes(b"3")
    (tmp_path / "a" / "link.bin").symlink_to(tmp_path / "a" / "x y.bin")
    st = stage(tmp_path, "--loadInputs=i:a/x y.bin,j:a/x_y.bin,k:b/x y.bin,l:a/link.bin",
               "--exportProfile=a/o.json", "--exportLayerInfo=b/o.json",
               "--exportTimes=c/o.json", "--tempdir=t1", "--tempdir=t2")  # fmt: skip
    assert st.plan.args[0] == (
        "--loadInputs=i:/trt_magic/in0/x_y.bin,j:/trt_magic/in0/1-x_y.bin,"
        "k:/trt_magic/in1/x_y.bin,l:/trt_magic/in0/x_y.bin"  # the link is the same file
    )
    assert len(st.inputs) == 3
    assert list(st.outputs) == [
        f"{OUT}/o.json", f"{OUT}/1-o.json", f"{OUT}/2-o.json", f"{OUT}/tempdir", f"{OUT}/4-tempdir",
    ]  # fmt: skip
    assert st.plan.args[1:] == [
        f"--exportProfile={OUT}/o.json", f"--exportLayerInfo={OUT}/1-o.json",
        f"--exportTimes={OUT}/2-o.json", f"--tempdir={OUT}/tempdir", f"--tempdir={OUT}/4-tempdir",
    ]  # fmt: skip


def test_an_input_name_taken_twice_over_gets_the_next_free_one(tmp_path):
    (tmp_path / "a").mkdir()
    for name in ("2-x_y.bin", "x_y.bin", "x y.bin", "x=y.bin"):
        (tmp_path / "a" / name).write_bytes(name.encode())
    st = stage(tmp_path, "--loadInputs=i:a/2-x_y.bin,j:a/x_y.bin,k:a/x y.bin,l:a/x=y.bin")
    assert [c for _, c in st.inputs] == [
        "/trt_magic/in0/2-x_y.bin", "/trt_magic/in0/x_y.bin", "/trt_magic/in0/3-x_y.bin",
        "/trt_magic/in0/4-x_y.bin",
    ]  # fmt: skip


def test_a_name_taken_after_a_prefixed_one_is_prefixed_again(tmp_path):
    st = stage(tmp_path, "--exportProfile=a/o.json", "--exportTimes=b/2-o.json",
               "--exportLayerInfo=c/o.json")  # fmt: skip
    assert list(st.outputs) == [f"{OUT}/o.json", f"{OUT}/2-o.json", f"{OUT}/2-2-o.json"]
    assert st.outputs[f"{OUT}/2-2-o.json"] == tmp_path / "c" / "o.json"


def test_local_runs_use_host_inputs_and_the_staged_folder(tmp_path):
    (tmp_path / "m.onnx").write_bytes(b"x")
    st = stage(tmp_path, "--onnx=m.onnx", "--saveEngine=e.plan", "--tempdir=tmp",
               container=False)  # fmt: skip
    out = f"{st.folder}/out"
    assert st.plan.args == [f"--onnx={tmp_path}/m.onnx", f"--saveEngine={out}/e.plan",
                            f"--tempdir={out}/tempdir"]  # fmt: skip
    assert st.plan.display_args == st.plan.args
    assert st.inputs == []


def test_external_data_is_exposed_at_its_place_beside_the_model(tmp_path):
    model = onnx_with_external(tmp_path / "m" / "model.onnx",
                               ["weights/w.bin", "w b.bin", "../up.bin", f"{tmp_path}/abs.bin",
                                "gone.bin", "weights/w.bin"])  # fmt: skip
    (tmp_path / "m" / "weights").mkdir()
    (tmp_path / "m" / "weights" / "w.bin").write_bytes(b"\0" * 4)
    (tmp_path / "m" / "w b.bin").write_bytes(b"\0" * 4)
    (tmp_path / "up.bin").write_bytes(b"\0" * 4)
    (tmp_path / "abs.bin").write_bytes(b"\0" * 4)
    st = stage(tmp_path, "--onnx=m/model.onnx", "--saveEngine=m/e.plan")
    assert st.inputs == [
        (model, "/trt_magic/in0/model.onnx"),
        (tmp_path / "m" / "w b.bin", "/trt_magic/in0/w b.bin"),  # trtexec reads it, not argv
        (tmp_path / "m" / "weights" / "w.bin", "/trt_magic/in0/weights/w.bin"),
    ]
    assert st.notes == [
        f"model.onnx: external data {loc!r} is not a file beside the model; not exposed"
        for loc in ["../up.bin", f"{tmp_path}/abs.bin", "gone.bin"]
    ]
    # the same model named by another flag, and as an engine, is not read for external data
    other = stage(tmp_path, "--loadEngine=m/model.onnx")
    assert other.inputs == [(model, "/trt_magic/in0/model.onnx")] and other.notes == []
    assert stage(tmp_path, "--onnx=m/model.onnx", container=False).inputs == []


def test_external_data_already_mounted_is_not_mounted_twice(tmp_path):
    model = onnx_with_external(tmp_path / "model.onnx", ["w.bin", "w b.bin"])
    (tmp_path / "w.bin").write_bytes(b"\0" * 4)
    (tmp_path / "w b.bin").write_bytes(b"\0" * 4)
    st = stage(tmp_path, "--loadInputs=x:w.bin,y:w b.bin", "--onnx=model.onnx")
    assert st.inputs == [
        (tmp_path / "w.bin", "/trt_magic/in0/w.bin"),
        (tmp_path / "w b.bin", "/trt_magic/in0/w_b.bin"),
        (model, "/trt_magic/in0/model.onnx"),
        (tmp_path / "w b.bin", "/trt_magic/in0/w b.bin"),  # also where the model looks for it
    ]
    assert st.plan.args[0] == "--loadInputs=x:/trt_magic/in0/w.bin,y:/trt_magic/in0/w_b.bin"
    later = stage(tmp_path, "--onnx=model.onnx", "--loadInputs=x:w.bin")  # flagged after
    assert later.inputs == [(model, "/trt_magic/in0/model.onnx"),
                            (tmp_path / "w b.bin", "/trt_magic/in0/w b.bin"),
                            (tmp_path / "w.bin", "/trt_magic/in0/w.bin")]  # fmt: skip
    assert later.plan.args[1] == "--loadInputs=x:/trt_magic/in0/w.bin"
    missing = stage(tmp_path, "--onnx=nothere.onnx")  # a missing model: no external data read
    assert missing.inputs == [(tmp_path / "nothere.onnx", "/trt_magic/in0/nothere.onnx")]


def test_external_data_of_a_linked_model_sits_beside_the_model_trtexec_reads(tmp_path):
    model = onnx_with_external(tmp_path / "a" / "model.onnx", ["w.bin"])
    (tmp_path / "a" / "w.bin").write_bytes(b"a")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "model.onnx").symlink_to(model)
    (tmp_path / "b" / "w.bin").write_bytes(b"b")
    st = stage(tmp_path, "--loadEngine=a/model.onnx", "--onnx=b/model.onnx")
    assert st.plan.args == ["--loadEngine=/trt_magic/in0/model.onnx",
                            "--onnx=/trt_magic/in0/model.onnx"]  # fmt: skip
    assert st.inputs == [(model, "/trt_magic/in0/model.onnx"),
                         (tmp_path / "b" / "w.bin", "/trt_magic/in0/w.bin")]  # fmt: skip


def test_external_data_whose_place_another_input_took_is_refused(tmp_path):
    onnx_with_external(tmp_path / "model.onnx", ["x_y.bin"])
    (tmp_path / "x_y.bin").write_bytes(b"weights")
    (tmp_path / "x y.bin").write_bytes(b"an input tensor")
    with pytest.raises(RunnerError) as info:
        stage(tmp_path, "--loadInputs=t:x y.bin", "--onnx=model.onnx")
    assert info.value.message == (
        "model.onnx reads external data 'x_y.bin' at /trt_magic/in0/x_y.bin, where trtexec "
        f"would see another input ({tmp_path}/x y.bin)."
    )
    assert info.value.hint == "rename that input file; nothing was started"
    st = stage(tmp_path, "--onnx=model.onnx", "--loadInputs=t:x y.bin")  # the other order
    assert [c for _, c in st.inputs] == [
        "/trt_magic/in0/model.onnx", "/trt_magic/in0/x_y.bin", "/trt_magic/in0/2-x_y.bin",
    ]  # fmt: skip


# ----- refusals before anything starts -----


def test_an_output_that_is_an_input_is_refused(tmp_path):
    (tmp_path / "m.onnx").write_bytes(b"x")
    (tmp_path / "alias.onnx").symlink_to(tmp_path / "m.onnx")
    err = refused(stage(tmp_path, "--onnx=m.onnx", "--exportTimes=alias.onnx"))
    assert err.message == (
        f"--exportTimes={tmp_path}/alias.onnx names an input (--onnx={tmp_path}/m.onnx): "
        "the run would overwrite it."
    )
    assert err.hint == "write the output to a new file name; nothing was started"
    onnx_with_external(tmp_path / "e.onnx", ["w.bin"])
    (tmp_path / "w.bin").write_bytes(b"\0" * 4)
    err = refused(stage(tmp_path, "--onnx=e.onnx", "--saveEngine=w.bin"))
    assert err.message == (
        f"--saveEngine={tmp_path}/w.bin names an input (an external-data file of the model): "
        "the run would overwrite it."
    )
    err = refused(stage(tmp_path, "--onnx=m.onnx", "--timingCacheFile=m.onnx"))
    assert "--timingCacheFile=" in err.message and "names an input" in err.message


def test_two_outputs_on_one_file_are_refused_but_two_tempdirs_are_not(tmp_path):
    err = refused(stage(tmp_path, "--exportProfile=x.json", "--exportLayerInfo=./x.json"))
    assert err.message == f"--exportLayerInfo and --exportProfile both write {tmp_path}/x.json."
    assert err.hint == "give each output its own file; nothing was started"
    stage(tmp_path, "--tempdir=t", "--tempdir=t").check()
    (tmp_path / "t").mkdir()
    stage(tmp_path, "--tempdir=t").check()  # an existing folder: what --tempdir names
    stage(tmp_path, "--exportProfile=a.json", "--exportTimes=b.json", "--tempdir=t").check()


@pytest.mark.parametrize("raw", ["out/", "", ".", "..", "~", "/", "folder"])
def test_an_output_naming_a_folder_is_refused(tmp_path, raw):
    (tmp_path / "folder").mkdir()
    err = refused(stage(tmp_path, f"--saveDebugTensors=t:{raw}"))
    host = Path(os.path.abspath(tmp_path / raw))
    assert err.message == f"--saveDebugTensors={raw or host} names a folder, not a file."
    assert err.hint == (
        f"give a file name, e.g. --saveDebugTensors={host / 'model.plan'}; nothing was started"
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("raw", ["", ".", "..", "~"])
def test_a_folder_name_is_refused_even_where_no_folder_exists(tmp_path, raw):
    gone = tmp_path / "gone" / "deeper"
    st = Stage([f"--saveDebugTensors=t:{raw}"], lambda p: gone / p, tmp_path / "cache")
    assert refused(st).message == (f"--saveDebugTensors={raw or gone} names a folder, not a file.")


def test_outputs_that_are_not_regular_files_are_refused(tmp_path):
    sock = tmp_path / "s.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(sock))
    try:
        for flag in ("--saveEngine", "--calib"):
            err = refused(stage(tmp_path, f"--{flag[2:]}=s.sock"))
            assert err.message == (
                f"{flag}={sock} exists and is not a regular file (a socket, device or pipe)."
            )
            assert err.hint == "write the output to a new file name; nothing was started"
    finally:
        server.close()
    (tmp_path / "f").write_bytes(b"")
    err = refused(stage(tmp_path, "--saveEngine=f/e.plan"))
    assert err.message == f"cannot look at --saveEngine={tmp_path}/f/e.plan: Not a directory."
    stage(tmp_path, "--saveEngine=f").check()  # an existing regular file may be replaced


def test_inputs_that_are_not_regular_files_are_refused_and_missing_ones_left_to_the_caller(
    tmp_path,
):
    (tmp_path / "d").mkdir()
    err = refused(stage(tmp_path, "--onnx=d"))
    assert err.message == f"--onnx={tmp_path}/d is not a regular file."
    assert err.hint == "name the file itself; nothing was started"
    stage(tmp_path, "--onnx=missing.onnx", "--saveEngine=e.plan").check()


def test_an_output_folder_under_a_file_is_refused(tmp_path):
    (tmp_path / "f").write_bytes(b"")
    st = Stage(["--tempdir=t"], lambda p: tmp_path / p, tmp_path / "f" / "cache")
    err = refused(st)
    assert err.message == f"you cannot write into {tmp_path}/f."
    assert err.hint == (
        "choose a folder you may write (check its owner, group and mode); nothing was started"
    )


# as another user: the permission checks root would pass


def as_me(fn) -> str:
    """``fn``'s error message in this process (as root), or "ok"."""
    try:
        fn()
    except RunnerError as exc:
        return f"{exc.message}\n{exc.hint}"
    return "ok"


def as_nobody(fn) -> str:
    """Run ``fn`` in a child process as uid/gid 65534; its error message, or "ok"."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read)
        try:
            os.setgid(65534)
            os.setuid(65534)
            fn()
            text = "ok"
        except RunnerError as exc:
            text = f"{exc.message}\n{exc.hint}"
        except BaseException as exc:
            text = f"{type(exc).__name__}: {exc}"
        os.write(write, text.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as fh:
        text = fh.read()
    os.waitpid(pid, 0)
    return text


@pytest.fixture
def shared():
    """A world-readable folder another user can reach (pytest's tmp_path is root's, 0700)."""
    if os.geteuid() != 0:
        missing("needs root to act as another user (CI runs as root)")
    folder = Path(tempfile.mkdtemp(prefix="trt-magic-staging-"))
    folder.chmod(0o755)
    yield folder
    import shutil

    shutil.rmtree(folder)


def test_permissions_are_checked_as_the_user_who_runs(shared):
    (shared / "ro").mkdir(mode=0o755)
    (shared / "secret.onnx").write_bytes(b"x")
    (shared / "secret.onnx").chmod(0o600)
    (shared / "open.onnx").write_bytes(b"x")
    (shared / "open.onnx").chmod(0o644)
    cache = shared / "cache"
    cache.mkdir()
    cache.chmod(0o777)

    def check(*args):
        return lambda: Stage(list(args), lambda p: shared / p, cache).check()

    assert as_me(check("--onnx=secret.onnx")) == "ok"  # root reads it
    assert as_nobody(check("--onnx=secret.onnx")) == (
        f"you cannot read --onnx={shared}/secret.onnx.\ncheck its permissions; nothing was started"
    )
    no_write = (
        "choose a folder you may write (check its owner, group and mode); nothing was started"
    )
    assert as_me(check("--onnx=open.onnx", "--saveEngine=ro/new/e.plan")) == "ok"
    assert as_nobody(check("--onnx=open.onnx", "--saveEngine=ro/new/e.plan")) == (
        f"you cannot write into {shared}/ro.\n{no_write}"
    )
    assert as_nobody(check("--onnx=open.onnx", "--iterations=2")) == "ok"
    (cache / "staging").mkdir(mode=0o755)
    assert (
        as_nobody(check("--onnx=open.onnx"))
        == f"you cannot write into {cache}/staging.\n{no_write}"
    )
    (shared / "ro" / "x").mkdir()
    (shared / "ro" / "x").chmod(0o777)
    assert as_nobody(check("--saveEngine=ro/x/e.plan", "--tempdir=ro/t")) == "ok"
    assert as_me(check("--saveEngine=ro/x/e.plan", "--exportProfile=ro/p.json")) == "ok"
    assert as_nobody(check("--saveEngine=ro/x/e.plan", "--exportProfile=ro/p.json")) == (
        f"you cannot write into {shared}/ro.\n{no_write}"
    )
    (shared / "sticky").mkdir()
    (shared / "sticky").chmod(0o1777)
    assert as_nobody(check("--tempdir=sticky/t", "--saveEngine=ro/x/e.plan")) == "ok"


def test_a_file_of_another_user_in_a_sticky_folder_is_not_replaced(shared):
    sticky = shared / "sticky"
    sticky.mkdir()
    sticky.chmod(0o1777)
    (sticky / "root.plan").write_bytes(b"x")
    (sticky / "root.plan").chmod(0o666)
    (sticky / "mine.plan").write_bytes(b"x")
    os.chown(sticky / "mine.plan", 65534, 65534)

    def check(name):
        return lambda: Stage([f"--saveEngine={sticky / name}"], Path, shared / "c").check()

    assert as_nobody(check("root.plan")) == (
        f"--saveEngine={sticky}/root.plan belongs to another user in a sticky folder.\n"
        "write the output to a new file name; nothing was started"
    )
    assert as_nobody(check("mine.plan")) == "ok"
    assert as_nobody(check("new.plan")) == "ok"
    (sticky / "other.plan").write_bytes(b"x")
    os.chown(sticky / "other.plan", 65533, 65533)
    os.chown(sticky, 65533, 65533)
    assert as_me(check("other.plan")) == "ok"  # root may
    assert as_nobody(check("other.plan")).startswith(f"--saveEngine={sticky}/other.plan belongs")
    os.chown(sticky, 65534, 65534)  # the folder's owner may replace any file in it
    assert as_nobody(check("root.plan")) == "ok"
    os.chown(sticky, 0, 0)
    sticky.chmod(0o777)  # not sticky: anyone who may write the folder may replace
    assert as_nobody(check("root.plan")) == "ok"
    Stage([f"--saveEngine={sticky / 'root.plan'}"], Path, shared / "c").check()  # root may


# ----- the folder's life -----


def test_open_makes_a_private_folder_with_the_caches_and_a_record(tmp_path):
    (tmp_path / "cache.bin").write_bytes(b"timing")
    st = stage(tmp_path, "--saveEngine=out/sub/e.plan", "--timingCacheFile=cache.bin",
               "--calib=new.calib", "--tempdir=t")  # fmt: skip
    st.check()
    assert not st.folder.parent.exists()
    st.open()
    assert st.folder.parent == tmp_path / "out" / "sub"
    assert stat.S_IMODE(st.folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((st.folder / "out").stat().st_mode) == 0o700
    timing, calib, tempdir = st.plan.refs[1], st.plan.refs[2], st.plan.refs[3]
    assert st.staged(timing).read_bytes() == b"timing"
    assert not st.staged(calib).exists()
    assert st.staged(tempdir).is_dir()
    assert stat.S_IMODE(st.staged(tempdir).stat().st_mode) == 0o700
    assert sorted(p.name for p in (st.folder / "out").iterdir()) == ["cache.bin", "tempdir"]
    record = tmp_path / "cache" / "active" / st.folder.name
    assert record.read_text() == str(st.folder)
    st.close()
    assert not st.folder.exists() and not record.exists()
    assert (tmp_path / "cache.bin").read_bytes() == b"timing"
    assert list((tmp_path / "out" / "sub").iterdir()) == []


def test_a_cache_that_cannot_hold_records_does_not_stop_the_run(tmp_path):
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "active").write_bytes(b"not a folder")
    st = stage(tmp_path, "--saveEngine=e.plan")
    st.open()  # the record is best effort
    assert (st.folder / "out").is_dir()
    st.close()
    assert not st.folder.exists()
    assert (tmp_path / "cache" / "active").read_bytes() == b"not a folder"


def test_close_before_open_removes_nothing(tmp_path):
    st = stage(tmp_path, "--saveEngine=e.plan")
    st.folder.mkdir(parents=True)  # not this stage's to remove: it never opened
    st.close()
    assert st.folder.is_dir()


def test_settle_moves_what_a_passed_run_wrote_and_the_log(tmp_path):
    (tmp_path / "cache.bin").write_bytes(b"old cache")
    st = stage(tmp_path, "--tempdir=t", "--onnx=m.onnx", "--saveEngine=e.plan",
               "--exportProfile=p.json", "--timingCacheFile=cache.bin",
               "--saveDebugTensors=t:dbg.bin", "--exportTimes=times.json")  # fmt: skip
    st.open()
    engine, profile, timing, debug = st.plan.refs[2:6]
    st.staged(engine).write_bytes(b"engine")
    st.staged(profile).write_bytes(b"[]")
    st.staged(timing).write_bytes(b"new cache")
    st.staged(debug).write_bytes(b"dbg")
    (tmp_path / "elsewhere").write_bytes(b"secret")
    st.staged(st.plan.refs[6]).symlink_to(tmp_path / "elsewhere")  # never followed
    st.log.write_text("&&&& PASSED\n")
    produced = st.settle(True)
    assert produced == {
        "engine": tmp_path / "e.plan",
        "profile": tmp_path / "p.json",
        "timing_cache": tmp_path / "cache.bin",
        "log": tmp_path / "e.plan.log",
    }
    assert (tmp_path / "e.plan").read_bytes() == b"engine"
    assert (tmp_path / "cache.bin").read_bytes() == b"new cache"
    assert (tmp_path / "dbg.bin").read_bytes() == b"dbg"  # moved, but no Run.files kind
    assert not (tmp_path / "times.json").exists()
    assert (tmp_path / "e.plan.log").read_text() == "&&&& PASSED\n"
    assert not st.folder.exists()
    assert list((tmp_path / "cache" / "active").iterdir()) == []


def test_a_failed_run_replaces_nothing_and_its_log_gets_a_fresh_name(tmp_path):
    (tmp_path / "e.plan").write_bytes(b"earlier engine")
    st = stage(tmp_path, "--saveEngine=e.plan", "--exportProfile=p.json")
    st.open()
    st.staged(st.plan.refs[0]).write_bytes(b"half")
    st.log.write_text("&&&& FAILED\n")
    produced = st.settle(False)
    assert list(produced) == ["log"]
    log = produced["log"]
    assert log.parent == tmp_path / "cache" / "logs"
    assert re.fullmatch(r"e\.plan-\d{8}-\d{6}-[0-9a-f]{8}\.log", log.name)
    assert log.read_text() == "&&&& FAILED\n"
    assert (tmp_path / "e.plan").read_bytes() == b"earlier engine"
    assert not (tmp_path / "p.json").exists() and not st.folder.exists()
    assert not (tmp_path / "e.plan.log").exists()


def test_settle_without_a_log_lists_no_log(tmp_path):
    st = stage(tmp_path, "--saveEngine=e.plan")
    st.open()
    assert st.settle(True) == {}
    assert not (tmp_path / "e.plan.log").exists()


def test_log_names(tmp_path):
    passed = stage(tmp_path, "--saveEngine=my engine.plan")
    assert passed.log_destination(True) == tmp_path / "my engine.plan.log"
    name = passed.log_destination(False).name
    assert re.fullmatch(r"my_engine\.plan-\d{8}-\d{6}-[0-9a-f]{8}\.log", name)
    assert passed.log_destination(False) != passed.log_destination(False)
    nothing = stage(tmp_path, "--onnx=m.onnx")
    for ok in (True, False):
        log = nothing.log_destination(ok)
        assert log.parent == tmp_path / "cache" / "logs"
        assert re.fullmatch(r"trtexec-\d{8}-\d{6}-[0-9a-f]{8}\.log", log.name)


def test_grant_gives_the_folder_and_staged_files_to_the_container_user(tmp_path):
    if os.geteuid() != 0:
        missing("needs root to give files away (CI runs as root)")
    (tmp_path / "cache.bin").write_bytes(b"c")
    (tmp_path / "target").write_bytes(b"t")
    st = stage(tmp_path, "--timingCacheFile=cache.bin", "--exportTimes=t.json",
               "--exportProfile=p.json")  # fmt: skip
    st.open()
    st.staged(st.plan.refs[2]).symlink_to(tmp_path / "target")
    st.grant(4321, 4322)
    for path in (st.folder, st.folder / "out", st.staged(st.plan.refs[0])):
        assert (path.stat().st_uid, path.stat().st_gid) == (4321, 4322)
    assert not st.staged(st.plan.refs[1]).exists()
    assert (tmp_path / "target").stat().st_uid == 0
    assert st.staged(st.plan.refs[2]).lstat().st_uid == 0
    st.close()


def test_open_clears_what_dead_kernels_left(tmp_path):
    dead = dead_pid()
    st = stage(tmp_path, "--saveEngine=out/e.plan")
    cache = tmp_path / "cache"
    left = {}
    for where in (tmp_path / "out", cache / "staging", cache / "logs"):
        where.mkdir(parents=True)
        left[where] = where / f"{PREFIX}{HOST}~{dead}-abc-run"
        left[where].mkdir()
    alive = tmp_path / "out" / f"{PREFIX}{owner_tag()}-abc-run"
    alive.mkdir()
    st.open()
    assert [p.exists() for p in left.values()] == [False, False, False]
    assert alive.is_dir()
    st.close()


def test_open_clears_run_folders_registered_by_dead_kernels(tmp_path):
    dead = dead_pid()
    active = tmp_path / "cache" / "active"
    active.mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def registered(name: str, folder: Path | None = None, text: str | None = None) -> Path:
        folder = folder or elsewhere / name
        folder.mkdir(exist_ok=True)
        (active / name).write_text(text if text is not None else f"{folder}\n")
        return folder

    gone = registered(f"{PREFIX}{HOST}~{dead}-a1-run")
    wrong = registered(f"{PREFIX}{HOST}~{dead}-a2-run", elsewhere / "keep")  # names another
    alive = registered(f"{PREFIX}{owner_tag()}-a3-run")
    other_host = registered(f"{PREFIX}{HOST}x~{dead}-a4-run")
    not_ours = registered(f"notours~{dead}-a5-run")
    st = stage(tmp_path, "--saveEngine=e.plan")
    st.open()
    assert not gone.exists() and not (active / gone.name).exists()
    assert wrong.is_dir() and not (active / f"{PREFIX}{HOST}~{dead}-a2-run").exists()
    for kept in (alive, other_host, not_ours):
        assert kept.is_dir() and (active / kept.name).is_file()
    st.close()
    assert sorted(p.name for p in active.iterdir()) == sorted(
        p.name for p in (alive, other_host, not_ours)
    )


def test_an_unreadable_record_is_dropped(tmp_path):
    dead = dead_pid()
    active = tmp_path / "cache" / "active"
    record = active / f"{PREFIX}{HOST}~{dead}-b1-run"
    record.mkdir(parents=True)  # not a file: cannot be read
    (tmp_path / "x").mkdir()
    garbled = active / f"{PREFIX}{HOST}~{dead}-b2-run"
    garbled.write_bytes(b"\xff\xfe" + str(tmp_path / "x").encode())  # not UTF-8
    st = stage(tmp_path, "--saveEngine=e.plan")
    st.open()
    assert not record.exists() and not garbled.exists()
    assert (tmp_path / "x").is_dir()
    st.close()


def test_a_folder_whose_name_is_not_utf8_is_recorded_and_cleared(tmp_path):
    odd = tmp_path / os.fsdecode(b"caf\xe9")  # a Latin-1 name: not UTF-8
    st = stage(tmp_path, f"--saveEngine={odd}/e.plan")
    st.open()
    record = tmp_path / "cache" / "active" / st.folder.name
    assert record.read_bytes() == os.fsencode(st.folder)
    st.close()
    assert not st.folder.exists() and not record.exists()
    dead = dead_pid()
    left = odd / f"{PREFIX}{HOST}~{dead}-c1-run"
    left.mkdir()
    record = tmp_path / "cache" / "active" / left.name
    record.write_bytes(os.fsencode(left) + b"\n")
    other = stage(tmp_path, "--saveEngine=e.plan")
    other.open()
    assert not left.exists() and not record.exists()
    other.close()
