"""trt_magic.tensorrt: image -> TensorRT version, opset caps, operator tables (real files)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import missing

from trt_magic import tensorrt as trt

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"  # shared/ beside the clone
DATA = Path(trt.__file__).parent / "data"


@pytest.mark.parametrize(
    "image, version",
    [
        ("nvcr.io/nvidia/tensorrt:23.04-py3", "8.6.1"),
        ("registry.local:5000/nvidia/tensorrt:23.04-py3", "8.6.1"),
        ("nvcr.io/nvidia/tensorrt:24.05-py3", None),  # the tag table does not state it
        ("nvcr.io/nvidia/tensorrt", None),
        ("my-own-image:latest", None),
        ("", None),
    ],
)
def test_tensorrt_version_for_image(image, version):
    assert trt.tensorrt_version_for_image(image) == version


def test_default_image_maps_to_86():
    from trt_magic.config import DEFAULT_IMAGE

    assert trt.tensorrt_version_for_image(DEFAULT_IMAGE) == "8.6.1"
    assert trt.max_opset("8.6.1") == 17


@pytest.mark.parametrize(
    "version, opset",
    [
        ("8.6.1", 17),
        ("8.6", 17),
        ("8.2.4", 13),
        ("8.5.2", 17),
        ("9.3.0", 19),
        ("10.0.1", 20),
        ("10.1.0", 20),
        ("10.6.0", 20),
        ("10.15.1", 24),
        ("10.16.1", 24),
        (None, 17),
        ("junk", 17),
    ],
)
def test_max_opset(version, opset):
    assert trt.max_opset(version) == opset


def test_max_opset_matches_table_headers():
    """The caps are the ones the shipped tables' header lines state."""
    for (major, minor), name in trt.OPERATOR_TABLES.items():
        header = (DATA / "onnx_tensorrt_ops" / name).read_text().splitlines()[4]
        assert f"{trt.max_opset(f'{major}.{minor}')}" in header.lower().split("opset")[-1]


@pytest.mark.parametrize("name", sorted(set(trt.OPERATOR_TABLES.values())))
def test_operator_table_parses_every_row(name):
    text = (DATA / "onnx_tensorrt_ops" / name).read_text()
    rows = [
        line
        for line in text.split("## Operator Support Matrix")[1].splitlines()
        if line.startswith("| ") and not line.startswith("| Operator")
    ]
    ops = trt.parse_operator_table(text, name)
    assert len(ops) == len(rows) > 150
    assert all(o.table == name for o in ops.values())


def test_operator_facts_86():
    ops = trt.operator_support("8.6.1")
    assert ops["Conv"].supported and "FP16" in ops["Conv"].types and not ops["Conv"].restricted
    assert not ops["Bernoulli"].supported
    assert ops["CumSum"].restricted and "initializer" in ops["CumSum"].restrictions
    assert ops["Einsum"].restricted  # a row whose restriction has no closing bar


def test_operator_table_by_version():
    assert trt.operator_table_for("8.6.1") == "operators-8.6.md"
    assert trt.operator_table_for("8.2.4") == "operators-8.6.md"
    assert trt.operator_table_for("10.0.1") == "operators-10.1.md"
    assert trt.operator_table_for("10.6.0") == "operators-10.1.md"
    assert trt.operator_table_for("10.16.1") == "operators-10.15.md"
    assert trt.operator_table_for(None) == "operators-8.6.md"
    # 10.15 added RotaryEmbedding (onnx-tensorrt Changelog, 10.15 GA)
    assert "RotaryEmbedding" in trt.operator_support("10.15")
    assert "RotaryEmbedding" not in trt.operator_support("8.6")
    assert trt.operator_support("10.15")["BlackmanWindow"].supported
    assert not trt.operator_support("8.6")["BlackmanWindow"].supported


def test_shipped_data_is_byte_identical_to_fixtures():
    if not FIXTURES.exists():
        missing(f"shared/fixtures is not beside this checkout ({FIXTURES})")
    assert (DATA / "ngc_tensorrt_tags.csv").read_bytes() == (
        FIXTURES / "ngc_tensorrt_tags.csv"
    ).read_bytes()
    for name in [*set(trt.OPERATOR_TABLES.values()), "SOURCES.md"]:
        shipped = (DATA / "onnx_tensorrt_ops" / name).read_bytes()
        assert shipped == (FIXTURES / "onnx_tensorrt_ops" / name).read_bytes(), name


def test_no_heavy_import():
    import subprocess
    import sys

    code = (
        "import sys, trt_magic.tensorrt as t; t.operator_support('8.6'); print(sorted(sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "torch" not in out.stdout and "pandas" not in out.stdout
