"""``--gpus`` as Docker DeviceRequests, as ``docker run --gpus`` means them."""

from __future__ import annotations

import pytest

from trt_magic.errors import UsageError


@pytest.fixture
def gpu_requests():
    import docker  # noqa: F401 - the suite needs it (test extra)

    from trt_magic.runners.docker import gpu_requests

    return gpu_requests


def test_all_none_index_list(gpu_requests):
    (all_,) = gpu_requests("all")
    assert all_["Count"] == -1 and all_["Capabilities"] == [["gpu"]]
    assert gpu_requests("none") == []
    (two,) = gpu_requests("2")  # the recipe's --gpus '"device=2"'
    assert two["DeviceIDs"] == ["2"] and not two.get("Count")
    (pair,) = gpu_requests("0, 1")
    assert pair["DeviceIDs"] == ["0", "1"]


@pytest.mark.parametrize("bad", ["gpu0", "all,1", "-1", "device=x"])
def test_bad_gpus_is_a_usage_error(bad):
    from trt_magic.runners import trtexec

    with pytest.raises(UsageError) as err:
        trtexec("--onnx=m.onnx", gpus=bad, backend="replay", display=False)
    assert "--gpus 2" in err.value.hint


def test_docker_run_spelling_is_accepted():
    from trt_magic.runners import trtexec

    run = trtexec("--onnx=m.onnx", gpus='"device=0,1"', backend="replay", display=False)
    assert run.gpus == "0,1"
