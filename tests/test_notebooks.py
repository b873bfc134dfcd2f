"""Every notebook runs headless top to bottom, and shows what its lesson promises.

Each notebook is copied into a temporary ``notebooks/`` folder (with ``tests/`` beside it, for the
recorded runs notebook 03 opens) and executed there by nbclient, so its models and engines land in
the temporary folder. The trtexec cells run in the Docker test image (its fake ``trtexec`` replays
real outputs) through the real Docker runner, with no GPU requested; the quickstart also runs with
the replay backend, the form a machine without GPU or Docker (and Binder) gets.

What a lesson promises is checked on the outputs of the cells tagged ``check-*``: a Netron IFrame,
a table with layer names, a comparison with a speed-up column, a diagnosis text, ... A cell tagged
``raises-exception`` must really raise (a lesson that shows an error must show one).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
ARTIFACTS = ROOT / "tests" / ".artifacts" / "notebooks"
CELL_TIMEOUT = 600
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _load_executor():
    """scripts/execute_notebook.py's ``execute`` (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "execute_notebook", ROOT / "scripts" / "execute_notebook.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.execute


def output_text(cell) -> str:
    """Everything a cell showed, as one string: streams, HTML, plain text, error tracebacks."""
    parts: list[str] = []
    for out in cell.get("outputs", []):
        kind = out["output_type"]
        if kind == "stream":
            parts.append(out["text"])
        elif kind in ("display_data", "execute_result"):
            for mime in ("text/html", "text/plain", "text/markdown", "image/svg+xml"):
                if mime in out.get("data", {}):
                    value = out["data"][mime]
                    parts.append(value if isinstance(value, str) else "".join(value))
        elif kind == "error":
            parts.append(out["ename"] + ": " + out["evalue"])
            parts.extend(out["traceback"])
    return ANSI.sub("", "\n".join(parts))


def tagged(nb, tag: str) -> list:
    cells = [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]
    assert cells, f"no cell tagged {tag!r}: the lesson lost a step the test checks"
    return cells


def table_rows(html: str) -> list[list[str]]:
    """Rows of the first HTML table's body, as cell texts (pandas' to_html / Styler layout)."""
    body = re.search(r"<tbody>(.*?)</tbody>", html, re.S)
    assert body, "no table body in the output"
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body.group(1), re.S)
    return [
        [
            re.sub(r"<[^>]+>", "", c).strip()
            for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", r, re.S)
        ]
        for r in rows
    ]


def table_header(html: str) -> str:
    head = re.search(r"<thead>(.*?)</thead>", html, re.S)
    assert head, "no table header in the output"
    return re.sub(r"<[^>]+>", " ", head.group(1))


def run_notebook(name: str, tmp_path: Path, env: dict[str, str]):
    """Execute notebooks/<name> in a scratch copy of the layout; return the executed notebook."""
    work = tmp_path / "notebooks"
    work.mkdir()
    (tmp_path / "tests").symlink_to(ROOT / "tests", target_is_directory=True)
    src = work / name
    src.write_bytes((NOTEBOOKS / name).read_bytes())
    env = {"TRT_MAGIC_CACHE_DIR": str(tmp_path / "cache"), "MPLBACKEND": "agg", **env}
    variant = env.get("TRT_MAGIC_BACKEND", "auto")
    nb = _load_executor()(src, ARTIFACTS / variant, CELL_TIMEOUT, env=env, cwd=work)
    for cell in nb.cells:
        if "raises-exception" in cell.get("metadata", {}).get("tags", []):
            assert any(o["output_type"] == "error" for o in cell.get("outputs", [])), (
                f"cell {cell.get('id')} is tagged raises-exception but did not raise"
            )
    return nb


@pytest.fixture
def docker_env(request) -> dict[str, str]:
    """Kernel environment for the real Docker runner against the local test image."""
    image = request.getfixturevalue("trtexec_image")
    tag = image if isinstance(image, str) else image.tags[0]
    return {"TRT_MAGIC_IMAGE": tag, "TRT_MAGIC_GPUS": "none", "TRT_MAGIC_BACKEND": "docker"}


REPLAY_ENV = {"TRT_MAGIC_BACKEND": "replay"}


def check_quickstart(nb, *, recorded: bool) -> None:
    export = output_text(tagged(nb, "check-export")[0])
    assert "IMAGES" in export and "batch" in export, export[:2000]

    netron = output_text(tagged(nb, "check-netron")[0])
    assert "<iframe" in netron.lower(), netron[:2000]

    for cell in tagged(nb, "check-trtexec"):
        text = output_text(cell)
        assert ("recorded" in text.lower()) == recorded, text[:2000]

    compare = output_text(tagged(nb, "check-compare")[0])
    assert "<table" in compare and re.search(r"speed.?up", compare, re.I), compare[:3000]

    layers_html = output_text(tagged(nb, "check-layers")[0])
    header = table_header(layers_html)
    for column in ("name", "type", "precision", "time_ms"):
        assert re.search(rf"\b{column}\b", header), header
    rows = table_rows(layers_html)
    assert len(rows) == 10 and all(any(len(c) > 3 for c in row) for row in rows), rows

    graph = output_text(tagged(nb, "check-graph")[0])
    assert "<svg" in graph, graph[:2000]


@pytest.mark.slow
@pytest.mark.docker
def test_quickstart_against_the_docker_test_image(tmp_path, docker_env):
    nb = run_notebook("01_quickstart.ipynb", tmp_path, docker_env)
    check_quickstart(nb, recorded=False)


@pytest.mark.slow
def test_quickstart_without_gpu_replays_recorded_runs(tmp_path):
    nb = run_notebook("01_quickstart.ipynb", tmp_path, REPLAY_ENV)
    check_quickstart(nb, recorded=True)
    intro = output_text(tagged(nb, "check-backend")[0])
    assert "replay" in intro and "recorded" in intro, intro
    check_saved_copy(ARTIFACTS / "replay" / "01_quickstart.ipynb")


def check_saved_copy(path: Path) -> None:
    """The executed copy is trusted for this user and holds its widgets' state (for no kernel)."""
    import nbformat
    from nbformat.sign import NotebookNotary

    saved = nbformat.read(path, as_version=4)
    assert NotebookNotary().check_signature(saved), f"{path} is not trusted"
    state = saved.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    views = [
        o["data"]["application/vnd.jupyter.widget-view+json"]["model_id"]
        for c in saved.cells
        for o in c.get("outputs", [])
        if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    assert views and all(v in state for v in views), (views, list(state)[:5])


#: tag of a cell meant to fail -> words its diagnosis must contain
DIAGNOSES = {
    "diagnosis-opset": ["opset", "16"],
    "diagnosis-control-flow": ["control flow"],
    "diagnosis-composite": ["data-dependent"],
}


@pytest.mark.slow
def test_export_failures_show_their_diagnosis_and_fix(tmp_path):
    nb = run_notebook("02_when_export_fails.ipynb", tmp_path, REPLAY_ENV)
    for tag, words in DIAGNOSES.items():
        text = output_text(tagged(nb, tag)[0])
        assert "Traceback (most recent call last)" not in text, text[:3000]
        for word in words:
            assert word.lower() in text.lower(), f"{tag}: {word!r} not in\n{text[:3000]}"
    for cell in tagged(nb, "check-fixed"):
        text = output_text(cell)
        assert not any(o["output_type"] == "error" for o in cell.outputs), text[:3000]
        assert ".onnx" in text, text[:2000]


@pytest.mark.slow
def test_reading_results_opens_the_recorded_runs(tmp_path):
    nb = run_notebook("03_reading_results.ipynb", tmp_path, {})
    layers_html = output_text(tagged(nb, "check-layers")[0])
    assert re.search(r"\bname\b", table_header(layers_html))
    assert len(table_rows(layers_html)) >= 5
    compare = output_text(tagged(nb, "check-compare")[0])
    assert "<table" in compare and re.search(r"speed.?up", compare, re.I), compare[:3000]
    for name in ("FP32", "FP16", "INT8"):
        assert name in compare
    failed = output_text(tagged(nb, "check-failed")[0])
    assert "ok: False" in failed and "Failed to parse onnx file" in failed, failed[:3000]


@pytest.mark.slow
def test_remote_gpu_notebook_runs_without_a_remote_host(tmp_path):
    nb = run_notebook("04_remote_gpu.ipynb", tmp_path, REPLAY_ENV)
    text = output_text(tagged(nb, "check-remote")[0])
    assert "DOCKER_HOST" in text, text[:2000]
    sweep = output_text(tagged(nb, "check-sweep")[0])
    assert "<table" in sweep and "fp16" in sweep, sweep[:3000]


@pytest.mark.slow
@pytest.mark.docker
def test_remote_gpu_notebook_builds_on_a_second_docker_engine(tmp_path, docker_env, second_docker):
    """The 'remote' engine is the second dockerd on loopback TCP (files copied, not mounted)."""
    from conftest import SECOND_DOCKER

    env = {
        **docker_env,
        "TRT_MAGIC_REMOTE": SECOND_DOCKER,
        "TRT_MAGIC_SWEEP_HOSTS": f"unix:///var/run/docker.sock,{SECOND_DOCKER}",
    }
    nb = run_notebook("04_remote_gpu.ipynb", tmp_path, env)
    built = "\n".join(output_text(c) for c in nb.cells if c.cell_type == "code")
    assert f"building on {SECOND_DOCKER}" in built and "trtexec (docker)" in built, built[-3000:]
    assert "[trt_magic] recorded:" not in built, built[-3000:]
    sweep = output_text(tagged(nb, "check-sweep")[0])
    assert "<table" in sweep and "fp16" in sweep, sweep[:3000]
    for host in ("unix:///var/run/docker.sock", SECOND_DOCKER):  # the variants used both engines
        assert f"{host} / GPU" in sweep, sweep[-3000:]


@pytest.mark.slow
@pytest.mark.docker
def test_precision_lesson_on_a_tensorrt_11_image(tmp_path, request):
    image = request.getfixturevalue("trtexec_image_11")  # TRT_VERSION=11.1.0, --fp16 refused
    env = {"TRT_MAGIC_IMAGE": image, "TRT_MAGIC_GPUS": "none", "TRT_MAGIC_BACKEND": "docker"}
    nb = run_notebook("05_precision_on_tensorrt_11.ipynb", tmp_path, env)
    for cell in nb.cells:
        assert not any(o["output_type"] == "error" for o in cell.get("outputs", [])), output_text(
            cell
        )[-3000:]
    assert "TensorRT 11.1.0 from image environment TRT_VERSION" in output_text(
        tagged(nb, "check-fp32")[0]
    )
    fp16 = output_text(tagged(nb, "check-fp16")[0])
    assert "net.fp16.onnx" in fp16 and "--fp16" not in fp16.splitlines()[0], fp16[:2000]
    assert "cast_onnx(" in fp16 and "preview" in fp16.lower()
    assert "top-1" in output_text(tagged(nb, "check-cast")[0]).lower()
    int8 = output_text(tagged(nb, "check-int8")[0])
    assert "held-out calibration (n=16)" in int8 and "quantize int8" in int8.lower(), int8[:2000]
    assert output_text(tagged(nb, "check-int8-build")[0]).startswith("passed")
    mix = output_text(tagged(nb, "check-mix")[0])
    for precision in ("FP32", "FP16", "INT8"):
        assert precision in mix  # somewhere in the table: header, rows
    warning = " ".join(output_text(tagged(nb, "check-warning")[0]).split())  # however it wraps
    assert "PrecisionWarning: ERROR: fp16 was requested but 0 %" in warning, warning[:2000]
    replay = output_text(tagged(nb, "check-replay")[0])
    assert "no real TensorRT 11.1.0 recording" in replay, replay[:2000]


@pytest.mark.slow
@pytest.mark.slurm
def test_remote_gpu_notebook_sweeps_on_the_slurm_cluster(tmp_path, data_dir):
    """The lesson's Slurm cell on the real single-node cluster (scripts/slurm_up.sh), the jobs
    running the test image's trtexec on the node; without GPU types set it shows the sbatch line."""
    import shutil
    import subprocess

    from conftest import missing
    from docker_image import local_trtexec

    if shutil.which("sbatch") is None or subprocess.run(["sinfo"], capture_output=True).returncode:
        missing("no Slurm cluster (bash scripts/slurm_up.sh starts one as root)")
    exe = local_trtexec(tmp_path / "node", data_dir)
    env = {**REPLAY_ENV, "TRT_MAGIC_SLURM_GPU_TYPE": "h100,l4", "TRT_MAGIC_SLURM_TRTEXEC": str(exe)}
    nb = run_notebook("04_remote_gpu.ipynb", tmp_path, env)
    text = output_text(tagged(nb, "check-slurm")[0])
    assert "Slurm partition (default)" in text, text[:3000]
    for gpu in ("h100", "l4"):  # a GPU type per slot, each row built by a Slurm job
        assert f"slurm:default / GPU {gpu}" in text, text[-3000:]
    assert "slurm job" in text and "recorded" not in text.split("Slurm partition")[1], text[-3000:]


@pytest.mark.slow
def test_remote_gpu_notebook_shows_the_sbatch_line_without_slurm(tmp_path):
    nb = run_notebook(
        "04_remote_gpu.ipynb", tmp_path, {**REPLAY_ENV, "PATH": "/usr/local/bin:/bin"}
    )
    text = output_text(tagged(nb, "check-slurm")[0])
    assert (
        "no Slurm here" in text and "sbatch --parsable" in text and "--gres=gpu:a100:1" in text
    ), text
