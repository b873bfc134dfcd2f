"""trt_magic.checks: the argument checks every public function uses where values enter."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from trt_magic import checks
from trt_magic.errors import UsageError


@pytest.mark.parametrize(
    ("value", "kwargs"),
    [(math.nan, {}), (math.inf, {}), (-math.inf, {}), ("3", {}), (True, {}), (None, {}),
     (0, {"positive": True}), (-1.5, {"positive": True}), (2.5, {"integer": True}),
     (1, {"minimum": 2})],
)  # fmt: skip
def test_check_number_refuses(value, kwargs):
    with pytest.raises(UsageError, match="timeout") as info:
        checks.check_number("timeout", value, **kwargs)
    assert len(info.value.message.splitlines()) == 1


@pytest.mark.parametrize(
    ("value", "kwargs"), [(3, {}), (0.5, {"positive": True}), (7, {"integer": True})]
)
def test_check_number_accepts(value, kwargs):
    assert checks.check_number("n", value, **kwargs) == value


def test_check_type_names_the_argument_and_types():
    with pytest.raises(UsageError, match=r"path must be a str or PathLike, not int \(5\)"):
        checks.check_path("path", 5)
    for bad in ("", "   ", "a\x00b"):
        with pytest.raises(UsageError, match="path"):
            checks.check_path("path", bad)
    assert checks.check_path("path", Path("x.onnx")) == Path("x.onnx")


def test_check_choice_suggests():
    with pytest.raises(UsageError, match="backend 'dockr'") as info:
        checks.check_choice("backend", "dockr", ["docker", "local", "replay"])
    assert "docker" in info.value.hint


@pytest.mark.parametrize(
    "image",
    ["nvcr.io/nvidia/tensorrt:24.05-py3", "ubuntu", "localhost:5000/a/b:tag", "reg:5000/x",
     "trt-magic-test:latest", "a@sha256:" + "0" * 64],
)  # fmt: skip
def test_image_names_docker_takes(image):
    assert checks.check_image("image", image) == image


@pytest.mark.parametrize("image", ["Nvcr/x", "a b", "x:", "-x", "x::y", "", "x/"])
def test_image_names_docker_refuses(image):
    with pytest.raises(UsageError, match="not a Docker image name"):
        checks.check_image("image", image)


def test_gpus_problem():
    assert checks.gpus_problem("all") is None and checks.gpus_problem("0,1") is None
    assert "twice" in checks.gpus_problem("1,1")
    assert "not 'all'" in checks.gpus_problem("two")
