"""argv splitting and host -> container path mapping (pure)."""

from __future__ import annotations

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
