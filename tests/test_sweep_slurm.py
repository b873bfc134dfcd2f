"""Sweeps on a real single-node Slurm cluster (scripts/slurm_up.sh: slurmctld, slurmd, munge,
typed GPU GRES gpu:h100:2,gpu:l4:2 on fake device nodes), the jobs running the test image's
trtexec (real recorded outputs) on the node; plus the pure parts (sbatch argv, the node's
command for pyxis and Docker, parsing real scontrol/sinfo/sbatch texts from tests/data/slurm)."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
from conftest import missing
from docker_image import local_trtexec

from trt_magic import config
from trt_magic.errors import ConfigError, RunnerError, UsageError
from trt_magic.sweeps import SlurmExecutor, start_sweep, sweep
from trt_magic.sweeps.cluster import ClusterJob, ClusterRunner
from trt_magic.sweeps.slurm import SlurmEngine, _explain_refusal, cluster_gres, parse_scontrol_job
from trt_magic.sweeps.slurm_job import enroot_uri, node_command

SLURM_DATA = Path(__file__).parent / "data" / "slurm"


def _cluster_up() -> bool:
    if shutil.which("sbatch") is None:
        return False
    try:
        out = subprocess.run(
            ["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return (
        out.returncode == 0 and "idle" in out.stdout or "mix" in out.stdout or "alloc" in out.stdout
    )


@pytest.fixture(scope="module")
def cluster():
    if not _cluster_up():
        missing("no Slurm cluster (bash scripts/slurm_up.sh starts one as root)")
    return cluster_gres()


@pytest.fixture
def node(tmp_path, data_dir, monkeypatch):
    """A trtexec for the node: the test image's fake (real recorded outputs), plus a wrapper that
    records when each build starts and ends and fails builds given --fp16 with a real FAILED log."""
    fake = local_trtexec(tmp_path / "fake", data_dir)
    store, bindir = fake.parent.parent / "data", tmp_path / "bin"
    bindir.mkdir()
    times = tmp_path / "times.txt"
    wrapper = bindir / "trtexec"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'echo "start $(date +%s.%N) $CUDA_VISIBLE_DEVICES" >> {times}\n'
        f'echo "$*" >> {tmp_path / "args.txt"}\n'
        f'case " $* " in *" --fp16 "*) cat {store}/failed.log; echo "end $(date +%s.%N)" >> {times}; exit 1 ;; esac\n'
        f'{fake} "$@"; rc=$?\n'
        f'echo "end $(date +%s.%N)" >> {times}\n'
        "exit $rc\n"
    )
    wrapper.chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    config.use_settings(config.Settings(cache_dir=str(tmp_path / "cache"), workdir=str(work)))
    yield {"trtexec": str(wrapper), "times": times, "work": work, "args": tmp_path / "args.txt"}
    config.use_settings(None)


def _model(folder: Path, name: str) -> Path:
    path = folder / name
    path.write_bytes(os.urandom(3000))
    return path


def _our_jobs(name_part: str) -> list[str]:
    out = subprocess.run(["squeue", "-h", "-o", "%i %j"], capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines() if name_part in line]


def _max_overlap(times: Path) -> int:
    events = []
    for line in times.read_text().splitlines():
        kind, stamp = line.split()[:2]
        events.append((float(stamp), 1 if kind == "start" else -1))
    level = best = 0
    for _, step in sorted(events, key=lambda e: (e[0], e[1])):
        level += step
        best = max(best, level)
    return best


# -- on the real cluster ---------------------------------------------------------------------


@pytest.mark.slurm
def test_sweep_runs_one_job_per_variant_with_its_gpu_type(cluster, node):
    onnx = _model(node["work"], "model_fixed1.onnx")
    executor = SlurmExecutor(
        partition="debug", gpu_type=["h100", "l4"], trtexec=node["trtexec"], poll=0.2
    )
    result = sweep(onnx, precisions=["fp32"], opt_levels=[3, 5], per_slot=True, executor=executor,
                   display=False)  # fmt: skip
    table = result.table
    assert len(table) == 4 and list(table["status"]) == ["passed"] * 4
    assert sorted(table["slot"]) == ["slurm:debug / GPU h100"] * 2 + ["slurm:debug / GPU l4"] * 2
    for row in result.rows:
        assert row.run.backend == "slurm"
        # the GRES Slurm really gave the job, read from scontrol while it ran
        assert f"gpu:{row.slot.gpu}:1" in row.placement, row.placement
        assert Path(row.run.files["engine"]).read_bytes() == onnx.read_bytes()
        assert "TensorRT version" in row.run.files["log"].read_text()
    visible = {
        ln.split()[2] for ln in node["times"].read_text().splitlines() if ln.startswith("start")
    }
    assert visible <= {"0", "1", "2", "3"} and len(visible) >= 2  # Slurm's GPU indices
    assert "Slurm partition debug" in result.executor
    assert not list(node["work"].rglob(".trt_magic-slurm-*"))  # job output files cleaned up


@pytest.mark.slurm
def test_two_h100_slots_run_at_most_two_builds_at_once(cluster, node):
    onnx = _model(node["work"], "model_fixed3.onnx")
    executor = SlurmExecutor(gpu_type="h100", trtexec=node["trtexec"], poll=0.2)
    started = time.monotonic()
    result = sweep(onnx, precisions=["fp32"], opt_levels=[1, 2, 3, 4], executor=executor,
                   cache=False, display=False)  # fmt: skip
    wall = time.monotonic() - started
    assert list(result.table["status"]) == ["passed"] * 4
    assert _max_overlap(node["times"]) == 2  # the cluster kept h100 to its two GPUs, and used both
    assert wall >= 6  # 4 builds of 3 s on 2 GPUs: two rounds


@pytest.mark.slurm
def test_log_streams_while_the_job_runs_and_cancel_leaves_nothing(cluster, node):
    from trt_magic.runners import trtexec

    onnx = _model(node["work"], "model_slow.onnx")
    runner = ClusterRunner(SlurmEngine(partition="debug", trtexec=node["trtexec"]), "l4", poll=0.2)
    lines: list[str] = []
    first = threading.Event()
    cancel = threading.Event()

    def on_line(line: str) -> None:
        lines.append(line)
        first.set()

    box = {}
    thread = threading.Thread(
        target=lambda: box.update(run=trtexec(
            [f"--onnx={onnx}", "--saveEngine=out/slow.plan"], runner=runner, display=False,
            on_line=on_line, cancel=cancel, cache=False)),
    )  # fmt: skip
    thread.start()
    assert first.wait(30), "no log line arrived while the job ran"
    time.sleep(0.5)
    running = _our_jobs("trtexec-slow")
    assert len(running) == 1  # the job is still running: the lines came before its end
    cancel.set()
    thread.join(40)
    assert not thread.is_alive()
    run = box["run"]
    assert run.status == "interrupted" and "engine" not in run.files
    assert (
        len(lines) >= 40
        and lines[0] == (node["work"].parent / "fake/data/default.log").read_text().splitlines()[0]
    )
    assert _our_jobs("trtexec-slow") == []  # scancel'd, and gone from the queue
    out = node["work"] / "out"
    assert [p.name for p in out.iterdir() if not p.name.endswith(".log")] == []  # no partial engine


@pytest.mark.slurm
def test_sweep_cancel_stops_every_job(cluster, node):
    onnx = _model(node["work"], "model_slow.onnx")
    executor = SlurmExecutor(gpu_type="l4", trtexec=node["trtexec"], poll=0.2)
    handle = start_sweep(onnx, precisions=["fp32"], opt_levels=[1, 2, 3], executor=executor)
    deadline = time.monotonic() + 30
    while sum(r.status == "running" for r in handle.result.rows) < 3:
        assert time.monotonic() < deadline, [r.status for r in handle.result.rows]
        time.sleep(0.1)
    while len(_our_jobs("trtexec-model_slow")) < 3:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    handle.cancel()
    result = handle.wait(60)
    assert handle.done
    assert [r.status for r in result.rows] == ["cancelled"] * 3
    assert _our_jobs("trtexec-model_slow") == []
    assert not [p for p in Path(result.outdir).rglob("*.plan*") if not p.name.endswith(".log")]


@pytest.mark.slurm
def test_a_failing_variant_stays_in_its_row_and_a_rerun_resumes_from_the_cache(cluster, node):
    onnx = _model(node["work"], "model_fixed1.onnx")
    executor = SlurmExecutor(gpu_type="l4", trtexec=node["trtexec"], poll=0.2)
    first = sweep(onnx, precisions=["fp32", "fp16"], executor=executor, display=False)
    status = dict(zip(first.table["variant"], first.table["status"], strict=True))
    assert status == {"fp32": "passed", "fp16": "failed"}
    failed = next(r for r in first.rows if r.variant.label == "fp16")
    assert failed.error == "Engine set up failed"  # the last [E] line of the real FAILED log
    builds = node["times"].read_text().count("start")
    again = sweep(onnx, precisions=["fp32", "fp16"], executor=executor, display=False)
    fp32 = next(r for r in again.rows if r.variant.label == "fp32")
    assert fp32.status == "passed" and fp32.cached  # from the engine cache: no job
    assert node["times"].read_text().count("start") == builds + 1  # only the failed one rebuilt


@pytest.mark.slurm
def test_a_failed_rebuild_claims_nothing_and_the_job_writes_only_its_own_folder(cluster, node):
    from trt_magic.runners import trtexec

    onnx = _model(node["work"], "model_fixed1.onnx")
    runner = ClusterRunner(SlurmEngine(partition="debug", trtexec=node["trtexec"]), "l4", poll=0.2)
    args = [f"--onnx={onnx}", "--saveEngine=out/e.plan"]
    first = trtexec(args, runner=runner, display=False, cache=False)
    engine = node["work"] / "out" / "e.plan"
    assert first.status == "passed" and first.files["engine"] == engine
    before = engine.read_bytes()
    again = trtexec([*args, "--fp16"], runner=runner, display=False, cache=False)
    assert again.status == "failed"
    assert "engine" not in again.files  # the earlier build's engine is not this run's
    assert engine.read_bytes() == before  # and it was not touched
    assert str(again.files["log"]) != str(first.files["log"])  # a failed run keeps its own log
    # what trtexec on the node was told to write: a fresh per-run folder beside the engine
    written = [a.split("=", 1)[1] for line in node["args"].read_text().splitlines()
               for a in line.split() if a.startswith("--saveEngine=")]  # fmt: skip
    assert len(written) == 2 and len(set(written)) == 2
    for path in map(Path, written):
        assert path.parent.name == "out" and path.parent.parent.name.startswith(".trt_magic-part-")
        assert path.parent.parent.parent == engine.parent and not path.parent.parent.exists()


@pytest.mark.slurm
def test_unknown_partition_and_gpu_type_fail_before_any_job(cluster, node):
    onnx = _model(node["work"], "model.onnx")
    with pytest.raises(UsageError, match="partition 'nope' does not exist.*debug"):
        sweep(
            onnx, executor=SlurmExecutor(partition="nope", trtexec=node["trtexec"]), display=False
        )
    with pytest.raises(UsageError, match="no GPU of type a100.*h100, l4"):
        sweep(onnx, executor=SlurmExecutor(gpu_type="a100", trtexec=node["trtexec"]), display=False)
    assert not node["times"].exists()


# -- without a cluster -------------------------------------------------------------------------


def test_no_sbatch_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RunnerError, match="sinfo is not on PATH") as info:
        SlurmExecutor(gpu_type="a100").check()
    assert "login node" in info.value.hint


def test_scontrol_texts_parse(tmp_path):
    running = parse_scontrol_job((SLURM_DATA / "scontrol-show-job-d-running.txt").read_text())
    assert (running.state, running.exit_code, running.node, running.gres) == (
        "RUNNING",
        0,
        "vm",
        "gpu:l4:1(IDX:2)",
    )
    assert running.active
    done = parse_scontrol_job((SLURM_DATA / "scontrol-show-job-d-completed.txt").read_text())
    assert (done.state, done.exit_code, done.gres, done.active) == (
        "COMPLETED",
        0,
        "gpu:l4:1",
        False,
    )
    failed = parse_scontrol_job((SLURM_DATA / "scontrol-show-job-d-failed.txt").read_text())
    assert (failed.state, failed.exit_code, failed.reason) == ("FAILED", 3, "NonZeroExitCode")
    cancelled = parse_scontrol_job((SLURM_DATA / "scontrol-show-job-d-cancelled.txt").read_text())
    assert (cancelled.state, cancelled.exit_code, cancelled.gres) == ("CANCELLED", 0, "")


def test_sbatch_refusals_get_their_fix():
    gres = (SLURM_DATA / "sbatch-unknown-gres.txt").read_text()
    err = _explain_refusal(RunnerError(f"sbatch failed: {gres.strip()}"), "debug", "a100")
    assert "gpu:a100:1" in err.hint and "sinfo" in err.hint
    part = (SLURM_DATA / "sbatch-unknown-partition.txt").read_text()
    err = _explain_refusal(RunnerError(f"sbatch failed: {part.strip()}"), "nope", None)
    assert "partition" in err.hint and "Invalid partition name" in err.message


def _job(tmp_path) -> ClusterJob:
    return ClusterJob(
        argv=[f"--onnx={tmp_path}/m.onnx", f"--saveEngine={tmp_path}/out/e.plan"],
        name="trtexec-e", gpu_type="a100", workdir=tmp_path, output=tmp_path / "job.out",
        inputs=[tmp_path / "m.onnx"], outputs=[tmp_path / "out" / "e.plan"],
    )  # fmt: skip


def test_sbatch_argv_is_an_argument_list_with_the_gpu_type(tmp_path):
    engine = SlurmEngine(partition="gpu", trtexec="/opt/trt/bin/trtexec", modules=["TensorRT/10.3"],
                         time_limit="00:30:00", sbatch_args=["--account=lab"])  # fmt: skip
    argv = engine.sbatch_argv(_job(tmp_path))
    assert argv[:2] == ["sbatch", "--parsable"]
    assert "--gres=gpu:a100:1" in argv and "--partition=gpu" in argv and "--time=00:30:00" in argv
    assert "--account=lab" in argv and f"--output={tmp_path}/job.out" in argv
    script = argv.index(next(a for a in argv if a.endswith("slurm_job.py")))
    rest = argv[script + 1 :]
    assert rest[rest.index("--") + 1 :] == _job(tmp_path).argv  # trtexec's args untouched
    assert ["--module", "TensorRT/10.3"] == rest[
        rest.index("--module") : rest.index("--module") + 2
    ]


def test_a_container_on_the_node_may_write_only_the_run_folder(tmp_path):
    import numpy as np
    import onnx as onnx_lib
    from onnx import TensorProto, helper, numpy_helper

    from trt_magic.runners.base import Job, LogSink
    from trt_magic.runners.staging import Stage

    weight = numpy_helper.from_array(np.ones((64, 64), np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64])], [weight],
    )  # fmt: skip
    onnx = tmp_path / "m.onnx"
    onnx_lib.save(helper.make_model(graph), onnx, save_as_external_data=True,
                  location="m.onnx.data", size_threshold=0)  # fmt: skip
    stage = Stage([f"--onnx={onnx}", f"--saveEngine={tmp_path}/e.plan", f"--tempdir={tmp_path}"],
                  lambda p: (tmp_path / p).resolve(), tmp_path / "cache", container=False)  # fmt: skip
    job = Job(["x"], stage.plan, LogSink(stage.log), workdir=tmp_path, stage=stage)
    engine = SlurmEngine(mode="docker", container="nvcr.io/nvidia/tensorrt:24.05-py3")
    cjob = ClusterRunner(engine, "l4")._cluster_job(job)
    args = engine.node_args(cjob)
    rw = [args[i + 1] for i, a in enumerate(args) if a == "--rw"]
    ro = [args[i + 1] for i, a in enumerate(args) if a == "--ro"]
    assert rw == [str(stage.folder / "out")]  # not tmp_path: no existing folder is writable
    assert ro == [str(onnx), str(tmp_path / "m.onnx.data")]  # the model and its weights
    assert f"--saveEngine={stage.folder}/out/e.plan" in args


def test_pyxis_and_docker_node_commands_as_text(tmp_path):
    job = _job(tmp_path)
    pyxis = SlurmEngine(mode="pyxis", container="nvcr.io/nvidia/tensorrt:25.01-py3")
    cmd = pyxis.node_command(job)
    assert cmd[:3] == ["srun", "--ntasks=1", "--container-image=nvcr.io#nvidia/tensorrt:25.01-py3"]
    assert (
        f"--container-mounts={tmp_path}/m.onnx:{tmp_path}/m.onnx:ro,{tmp_path}/out:{tmp_path}/out"
        in cmd
    )
    assert cmd[-3:] == ["trtexec", *job.argv]
    docker = SlurmEngine(mode="docker", container="nvcr.io/nvidia/tensorrt:24.05-py3")
    cmd = docker.node_command(job, env={"CUDA_VISIBLE_DEVICES": "2", "SLURM_JOB_ID": "7"})
    assert cmd[:3] == ["docker", "run", "--rm"] and "--gpus=device=2" in cmd
    assert f"type=bind,source={tmp_path}/m.onnx,target={tmp_path}/m.onnx,readonly" in cmd
    assert cmd[-4:] == ["nvcr.io/nvidia/tensorrt:24.05-py3", "trtexec", *job.argv]


def test_local_mode_with_modules_never_interpolates_arguments():
    evil = ["--onnx=$(touch /tmp/pwned).onnx"]
    cmd = node_command("local", evil, modules=["TensorRT/10.3"], env={})
    assert cmd[:3] == ["bash", "-lc", cmd[2]] and "$(touch" not in cmd[2]
    assert cmd[-1] == evil[0]  # a positional parameter: "$@" never re-parses it
    with pytest.raises(ValueError, match="module name"):
        node_command("local", [], modules=["x; rm -rf /"], env={})


def test_auto_mode_picks_what_the_node_has():
    have = lambda name: "/usr/bin/trtexec"  # noqa: E731
    nothing = lambda name: None  # noqa: E731
    assert node_command("auto", ["--x"], container="img", env={}, which=have)[0] == "trtexec"
    assert node_command("auto", ["--x"], container="img", env={}, which=nothing)[:2] == [
        "docker",
        "run",
    ]
    assert node_command("auto", ["--x"], env={}, which=nothing) == ["trtexec", "--x"]


def test_enroot_uris():
    assert enroot_uri("nvcr.io/nvidia/tensorrt:25.01-py3") == "nvcr.io#nvidia/tensorrt:25.01-py3"
    assert enroot_uri("nvcr.io#nvidia/tensorrt:25.01-py3") == "nvcr.io#nvidia/tensorrt:25.01-py3"
    assert enroot_uri("ubuntu:22.04") == "ubuntu:22.04"
    assert enroot_uri("localhost:5000/trt:1") == "localhost:5000#trt:1"
    assert enroot_uri("/shared/images/trt.sqsh") == "/shared/images/trt.sqsh"


def test_settings_from_environment_and_config(monkeypatch):
    monkeypatch.setenv("TRT_MAGIC_SLURM_PARTITION", "gpu")
    monkeypatch.setenv("TRT_MAGIC_SLURM_GPU_TYPE", "a100,h100")
    monkeypatch.setenv("TRT_MAGIC_SLURM_CONTAINER", "nvcr.io/nvidia/tensorrt:25.01-py3")
    ex = SlurmExecutor()
    assert (ex.partition, ex.gpu_type, ex.container) == (
        "gpu",
        ["a100", "h100"],
        "nvcr.io/nvidia/tensorrt:25.01-py3",
    )
    assert [s.gpu for s in ex.slots()] == ["a100", "h100"]
    assert SlurmExecutor(partition="other").partition == "other"  # an argument beats the env
    monkeypatch.setenv("TRT_MAGIC_SLURM_MODE", "kubernetes")
    with pytest.raises(ConfigError, match="mode.*kubernetes"):
        SlurmExecutor()


def test_executor_and_hosts_are_exclusive(tmp_path):
    onnx = _model(tmp_path, "m.onnx")
    with pytest.raises(UsageError, match="not both"):
        start_sweep(onnx, hosts=["unix:///x"], executor=SlurmExecutor(gpu_type="a100"))
    with pytest.raises(UsageError, match="must be an Executor"):
        start_sweep(onnx, executor="slurm")
