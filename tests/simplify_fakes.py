"""Deliberately broken clean-up methods, registered by tests/test_simplify.py.

They live in their own small module because the simplify worker process imports a method by
name (``simplify_fakes:rename_input``), and this keeps that import free of torch.
"""

from __future__ import annotations

import os
import time


def rename_input(model):
    """Keeps the numbers, renames the first input (and its uses): an interface break."""
    old = model.graph.input[0].name
    model.graph.input[0].name = "renamed_input"
    for node in model.graph.node:
        node.input[:] = ["renamed_input" if i == old else i for i in node.input]
    return model


def rename_batch_dim(model):
    """Turns the symbolic dim ``batch`` of every input into ``N``."""
    for value in model.graph.input:
        for dim in value.type.tensor_type.shape.dim:
            if dim.dim_param == "batch":
                dim.dim_param = "N"
    return model


def double_weights(model):
    """A valid graph that computes something else: every float initializer doubled."""
    from onnx import numpy_helper

    for i, tensor in enumerate(model.graph.initializer):
        array = numpy_helper.to_array(tensor)
        if array.dtype.kind == "f":
            model.graph.initializer[i].CopyFrom(numpy_helper.from_array(array * 2, tensor.name))
    return model


def hang(model):
    """Never returns (until killed)."""
    time.sleep(3600)
    return model


def crash(model):
    """Kills its process, as a segfault in C++ would."""
    os._exit(3)


def raise_error(model):
    raise RuntimeError("this method always fails")


def return_nothing(model):
    return None
