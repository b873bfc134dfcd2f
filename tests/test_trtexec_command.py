"""argv splitting and host -> container path mapping (pure)."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

import pytest

from trt_magic.commandline.command import (
    docker_run_command,
    flag_value,
    format_command,
    plan_paths,
    split_args,
)
from trt_magic.errors import UsageError


def test_split_pasted_command():
    line = "trtexec --onnx=model/r50.onnx \\\n  --saveEngine='my model.plan' --fp16"
    assert split_args(line) == ["--onnx=model/r50.onnx", "--saveEngine=my model.plan", "--fp16"]
    assert split_args(["/usr/src/tensorrt/bin/trtexec", "--fp16"]) == ["--fp16"]


def test_shell_text_stays_text():
    # quotes are removed as a shell would, but nothing is substituted or run
    assert split_args("--onnx='$(touch /tmp/x)'") == ["--onnx=$(touch /tmp/x)"]


@pytest.mark.parametrize("bad", ["--onnx='open", "model.onnx", "--fp16 x"])
def test_bad_input_is_a_usage_error(bad):
    with pytest.raises(UsageError) as err:
        split_args(bad)
    assert err.value.hint


def test_flag_value_last_wins():
    assert flag_value(["--onnx=a", "--onnx=b"], "--onnx") == "b"
    assert flag_value(["--fp16"], "--fp16") == ""
    assert flag_value(["--fp16"], "--onnx") is None


def _plan(args, tmp_path, **kw):
    return plan_paths(args, lambda p: tmp_path / p, **kw)


def test_inputs_read_only_outputs_writable(tmp_path):
    plan = _plan(
        ["--onnx=m/model.onnx", "--saveEngine=out/e.plan", "--exportProfile=out/p.json", "--fp16"],
        tmp_path,
    )
    mounts = {(m.host, m.read_only) for m in plan.mounts}
    assert mounts == {(tmp_path / "m", True), (tmp_path / "out", False)}
    assert plan.args[0] == "--onnx=/trt_magic/in0/model.onnx"
    assert plan.args[1].startswith("--saveEngine=/trt_magic/out1/.e.plan.partial-")
    assert plan.display_args[1] == "--saveEngine=/trt_magic/out1/e.plan"
    assert plan.args[3] == "--fp16"
    files = plan.files()
    assert files["engine"] == tmp_path / "out/e.plan" and files["onnx"] == tmp_path / "m/model.onnx"
    assert [r.flag for r in plan.missing_inputs()] == ["--onnx"]


def test_same_folder_in_and_out_gets_two_mounts(tmp_path):
    plan = _plan(["--onnx=model.onnx", "--saveEngine=model.plan"], tmp_path, temp_engines=False)
    assert {(m.container, m.read_only) for m in plan.mounts} == {
        (PurePosixPath("/trt_magic/in0"), True),
        (PurePosixPath("/trt_magic/out1"), False),
    }
    assert plan.args == [
        "--onnx=/trt_magic/in0/model.onnx",
        "--saveEngine=/trt_magic/out1/model.plan",
    ]


def test_spec_values_map_each_file(tmp_path):
    plan = _plan(
        ["--loadInputs='in:0':a/x.bin,y:b/y.bin", "--safetyPlugins=p/lib.so[ns::a,ns::b]"],
        tmp_path,
    )
    assert plan.args[0] == "--loadInputs='in:0':/trt_magic/in0/x.bin,y:/trt_magic/in1/y.bin"
    assert plan.args[1] == "--safetyPlugins=/trt_magic/in2/lib.so[ns::a,ns::b]"


def test_local_plan_keeps_host_paths(tmp_path):
    plan = _plan(["--onnx=m.onnx", "--saveEngine=e.plan"], tmp_path, root=None, temp_engines=False)
    assert plan.args == [f"--onnx={tmp_path / 'm.onnx'}", f"--saveEngine={tmp_path / 'e.plan'}"]
    assert plan.mounts == []


def test_docker_command_reproduces_the_run(tmp_path):
    plan = _plan(["--onnx=m.onnx", "--saveEngine=o/e.plan"], tmp_path)
    cmd = docker_run_command("img:1", plan, gpus="2", user="1000:1000")
    text = format_command(cmd)
    assert text.startswith("docker run --rm")
    assert "--gpus '\"device=2\"'" in text  # as the recipe writes it
    assert f"-v {tmp_path}:/trt_magic/in0:ro" in text
    assert cmd[-3:] == [
        "trtexec",
        "--onnx=/trt_magic/in0/m.onnx",
        "--saveEngine=/trt_magic/out1/e.plan",
    ]
    assert "--gpus" not in docker_run_command("img:1", plan, gpus="none", user=None)
    assert Path(cmd[cmd.index("-v") + 1].split(":")[0]) == tmp_path


def test_usage_errors_say_what_to_do():
    with pytest.raises(UsageError) as err:
        split_args("--onnx='open")
    assert err.value.message == "cannot split the trtexec flags: No closing quotation"
    assert err.value.hint == "close the quote you opened"
    with pytest.raises(UsageError) as err:
        split_args("trtexec model.onnx")
    assert err.value.message == "'model.onnx' is not a trtexec flag."
    assert err.value.hint == "trtexec takes --name=value (with '='), e.g. --onnx=model.onnx"
    assert split_args(["-trtexec", "--fp16"][1:]) == ["--fp16"]


def test_docker_command_every_option(tmp_path):
    plan = _plan(["--onnx=m.onnx", "--saveEngine=o/e.plan"], tmp_path)
    cmd = docker_run_command("img:1", plan, gpus="all", user="1000:1000", docker_host="ssh://gpu")
    assert cmd == [
        "docker", "-H", "ssh://gpu", "run", "--rm", "--network", "none", "--gpus", "all",
        "--user", "1000:1000",
        "-v", f"{tmp_path}:/trt_magic/in0:ro", "-v", f"{tmp_path / 'o'}:/trt_magic/out1",
        "img:1", "trtexec", "--onnx=/trt_magic/in0/m.onnx", "--saveEngine=/trt_magic/out1/e.plan",
    ]  # fmt: skip
    plain = docker_run_command("img:1", plan, gpus="", user=None)
    assert plain[:5] == ["docker", "run", "--rm", "--network", "none"] and "--user" not in plain


def test_pasted_command_with_windows_line_ends_and_path_objects():
    line = "trtexec --onnx=model/r50.onnx \\\r\n  --fp16 \\\n  --saveEngine=r50.plan"
    assert split_args(line) == ["--onnx=model/r50.onnx", "--fp16", "--saveEngine=r50.plan"]
    assert split_args([Path("/opt/tensorrt/bin/trtexec"), "--fp16"]) == ["--fp16"]
    assert split_args([]) == [] and split_args("") == []
    assert split_args(["--saveEngine=out/trtexec", "--fp16"]) == [
        "--saveEngine=out/trtexec",
        "--fp16",
    ]
    with pytest.raises(UsageError, match="'trtexec.exe' is not a trtexec flag"):
        split_args(["trtexec.exe", "--fp16"])
    with pytest.raises(UsageError, match="'trtexec' is not a trtexec flag"):
        split_args("trtexec trtexec --fp16")  # only the first word is the program


def test_flag_value_of_an_empty_value_and_of_repeated_flags():
    assert flag_value(["--onnx=", "--fp16"], "--onnx") == ""
    assert flag_value(["--onnx=a.onnx", "--onnx"], "--onnx") == ""  # the last one, bare
    assert flag_value(["--shapes=x:1x3", "--onnx=a=b.onnx"], "--onnx") == "a=b.onnx"
    assert flag_value([], "--onnx") is None


def test_every_direction_lands_in_its_list(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m/model.onnx").write_bytes(b"")
    plan = _plan(
        ["--onnx=m/model.onnx", "--loadInputs=x:m/x.bin", "--timingCacheFile=c/t.cache",
         "--saveEngine=o/e.plan", "--exportTimes=o/t.json", "--tempdir=tmp", "--verbose"],
        tmp_path,
        temp_engines=False,
    )  # fmt: skip
    assert [r.flag for r in plan.inputs] == ["--onnx", "--loadInputs"]
    assert [r.flag for r in plan.outputs] == ["--timingCacheFile", "--saveEngine", "--exportTimes"]
    assert [r.flag for r in plan.missing_inputs()] == ["--loadInputs"]  # model.onnx exists
    assert plan.files() == {
        "onnx": tmp_path / "m/model.onnx",
        "timing_cache": tmp_path / "c/t.cache",
        "engine": tmp_path / "o/e.plan",
        "times": tmp_path / "o/t.json",
    }  # untracked kinds (--loadInputs, --tempdir) are not Run.files entries
    assert [(m.host, str(m.container), m.read_only) for m in plan.mounts] == [
        (tmp_path / "m", "/trt_magic/in0", True),  # both inputs share one read-only mount
        (tmp_path / "c", "/trt_magic/out1", False),
        (tmp_path / "o", "/trt_magic/out2", False),
        (tmp_path / "tmp", "/trt_magic/out3", False),  # a folder flag mounts the folder itself
    ]
    assert plan.args == [
        "--onnx=/trt_magic/in0/model.onnx", "--loadInputs=x:/trt_magic/in0/x.bin",
        "--timingCacheFile=/trt_magic/out1/t.cache", "--saveEngine=/trt_magic/out2/e.plan",
        "--exportTimes=/trt_magic/out2/t.json", "--tempdir=/trt_magic/out3", "--verbose",
    ]  # fmt: skip
    assert plan.display_args == plan.args
    tempdir = plan.refs[-1]
    assert (tempdir.host, tempdir.container, tempdir.direction) == (tmp_path / "tmp", "/trt_magic/out3", "dir")  # fmt: skip


def test_later_flag_wins_in_files(tmp_path):
    plan = _plan(["--loadEngine=a.plan", "--saveEngine=b.plan"], tmp_path, temp_engines=False)
    assert plan.files() == {"engine": tmp_path / "b.plan"}


def test_flags_without_a_path_pass_through(tmp_path):
    args = ["--onnx=", "--saveEngine", "--shapes=x:1x3x224x224", "--fp16"]
    plan = _plan(args, tmp_path)
    assert plan.args == args and plan.display_args == args
    assert plan.mounts == [] and plan.refs == []


def test_host_paths_are_made_absolute_and_normal(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plan = plan_paths(["--onnx=a/../m.onnx", "--exportProfile=./o/p.json"], Path, root=None)
    assert plan.args == [f"--onnx={tmp_path / 'm.onnx'}", f"--exportProfile={tmp_path / 'o/p.json'}"]  # fmt: skip
    assert [r.host for r in plan.refs] == [tmp_path / "m.onnx", tmp_path / "o/p.json"]
    docker = plan_paths(["--onnx=a/../m.onnx"], Path)
    assert docker.mounts[0].host == tmp_path and docker.args == ["--onnx=/trt_magic/in0/m.onnx"]


def test_engine_goes_to_a_hidden_partial_name_in_its_folder(tmp_path):
    plan = _plan(["--onnx=m.onnx", "--saveEngine=o/e.plan"], tmp_path)
    onnx, engine = plan.refs
    assert onnx.temp_host is None and plan.args[0] == "--onnx=/trt_magic/in0/m.onnx"
    assert engine.host == tmp_path / "o/e.plan" and engine.temp_host.parent == tmp_path / "o"
    assert re.fullmatch(r"\.e\.plan\.partial-[0-9a-f]{8}", engine.temp_host.name)
    assert engine.container == f"/trt_magic/out1/{engine.temp_host.name}"
    assert plan.args[1] == f"--saveEngine={engine.container}"
    assert plan.display_args == ["--onnx=/trt_magic/in0/m.onnx", "--saveEngine=/trt_magic/out1/e.plan"]  # fmt: skip
    again = _plan(["--saveEngine=o/e.plan"], tmp_path)
    assert again.refs[0].temp_host != engine.temp_host  # two runs never share a partial file
    local = _plan(["--saveEngine=e.plan"], tmp_path, root=None)
    assert local.args == [f"--saveEngine={local.refs[0].temp_host}"]
    assert local.display_args == [f"--saveEngine={tmp_path / 'e.plan'}"]


def test_place_stages_each_file_instead_of_mounting(tmp_path):
    seen = []

    def place(ref, raw):
        assert ref.container == ""  # not placed yet: place() decides it
        seen.append((ref.flag, ref.host, ref.direction, ref.kind, raw))
        return f"/stage/{len(seen)}-{ref.host.name}"

    plan = _plan(
        ["--onnx=m/model.onnx", "--loadInputs=a:i/a.bin,b:i/b.bin", "--saveEngine=e.plan",
         "--safetyPlugins=p/lib.so[ns::a]", "--fp16"],
        tmp_path, place=place,
    )  # fmt: skip
    assert seen == [
        ("--onnx", tmp_path / "m/model.onnx", "input", "onnx", "m/model.onnx"),
        ("--loadInputs", tmp_path / "i/a.bin", "input", None, "i/a.bin"),
        ("--loadInputs", tmp_path / "i/b.bin", "input", None, "i/b.bin"),
        ("--saveEngine", tmp_path / "e.plan", "output", "engine", "e.plan"),
        ("--safetyPlugins", tmp_path / "p/lib.so", "input", None, "p/lib.so"),
    ]
    assert plan.args == plan.display_args == [
        "--onnx=/stage/1-model.onnx", "--loadInputs=a:/stage/2-a.bin,b:/stage/3-b.bin",
        "--saveEngine=/stage/4-e.plan", "--safetyPlugins=/stage/5-lib.so[ns::a]", "--fp16",
    ]  # fmt: skip
    assert plan.mounts == [] and [r.container for r in plan.refs][:2] == ["/stage/1-model.onnx", "/stage/2-a.bin"]  # fmt: skip
    assert all(r.temp_host is None for r in plan.refs)  # staging renames nothing


def test_plugin_library_is_split_at_the_first_bracket_as_trtexec_does(tmp_path):
    # trtexec: libraryName = option.substr(0, option.find('[')) (parseSafetyPluginArgument,
    # NVIDIA/TensorRT samples/common/safeCommon.h)
    (tmp_path / "p").mkdir()
    (tmp_path / "p/lib.so").write_bytes(b"")
    plan = _plan(
        ["--safetyPlugins=p/lib.so[ns::a,b]", "--safetyPlugins=q/lib[1].so[ns::c]"], tmp_path
    )
    assert [r.host for r in plan.refs] == [tmp_path / "p/lib.so", tmp_path / "q/lib"]
    assert plan.args == [
        "--safetyPlugins=/trt_magic/in0/lib.so[ns::a,b]",
        "--safetyPlugins=/trt_magic/in1/lib[1].so[ns::c]",
    ]
    assert [r.host for r in plan.missing_inputs()] == [tmp_path / "q/lib"]


def test_debug_tensors_are_outputs_each_mapped(tmp_path):
    plan = _plan(["--saveDebugTensors=t1:d/t1.bin,t2:e/t2.bin"], tmp_path)
    assert (
        plan.args
        == plan.display_args
        == ["--saveDebugTensors=t1:/trt_magic/out0/t1.bin,t2:/trt_magic/out1/t2.bin"]
    )
    assert [(m.host, m.read_only) for m in plan.mounts] == [(tmp_path / "d", False), (tmp_path / "e", False)]  # fmt: skip
    assert [r.host for r in plan.outputs] == [tmp_path / "d/t1.bin", tmp_path / "e/t2.bin"]


def test_docker_command_device_list_and_quoting(tmp_path):
    plan = _plan(["--onnx=my model.onnx"], tmp_path)
    cmd = docker_run_command("img:1", plan, gpus="0,1", user=None)
    assert cmd == ["docker", "run", "--rm", "--network", "none", "--gpus", '"device=0,1"',
                   "-v", f"{tmp_path}:/trt_magic/in0:ro",
                   "img:1", "trtexec", "--onnx=/trt_magic/in0/my model.onnx"]  # fmt: skip
    assert format_command(cmd).endswith(" img:1 trtexec '--onnx=/trt_magic/in0/my model.onnx'")
    assert docker_run_command("img:1", plan, gpus="none", user=None, docker_host="")[:2] == ["docker", "run"]  # fmt: skip
