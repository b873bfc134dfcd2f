"""What the exporters see: the model behind one wrapper (:class:`Flat`), its dynamic shapes as
``torch.export.Dim`` objects with their ranges, and the ``torch.export`` capture that applies a
range the model requires (read from torch's own error) instead of failing or freezing the dim.

Imported only when an export runs, so it imports torch at the top.
"""

from __future__ import annotations

import contextlib
import inspect
from typing import TYPE_CHECKING

import torch

from .bounds import suggested_ranges

if TYPE_CHECKING:
    from ._torch import Prepared


def dynamic_shapes(prepared: Prepared, dynamic: dict[str, dict[int, str]], ranges=None):
    """``-d`` spec -> ``dynamic_shapes`` for ``Flat(model)`` (one entry per input, in order).

    One ``torch.export.Dim`` per name, shared; ``ranges`` (name -> (min, max) or a
    ``torch.export.Dim``) bounds it. None when nothing is dynamic.
    """
    if not any(dynamic.get(n) for n in prepared.input_names):
        return None
    dims: dict[str, object] = {}
    ranges = ranges or {}

    def spec(name):
        axes = dynamic.get(name) or {}
        return {a: dims.setdefault(d, to_dim(d, ranges.get(d))) for a, d in axes.items()} or None

    return tuple(spec(n) for n in prepared.input_names)


def to_dim(name: str, bounds=None):
    """A ``torch.export.Dim`` called ``name``, bounded by ``(min, max)`` (either may be None)
    or given whole as a ``torch.export.Dim``."""
    if bounds is not None and not isinstance(bounds, tuple):
        return bounds
    low, high = bounds or (None, None)
    limits = {k: v for k, v in (("min", low), ("max", high)) if v is not None}
    return torch.export.Dim(name, **limits)


class Flat(torch.nn.Module):
    """The model seen by the exporters: tensors in by position, tensors out, flattened.

    Inputs: one positional parameter per ONNX input (forward's signature says so, which is
    what ``torch.export`` reads); the trailing ones reach the model as keywords, by name, so a
    keyword sample binds by name whatever forward's parameter order (the TorchScript exporter
    would pass them on positionally: transformers 5 then fails with "forward() got multiple
    values for argument 'use_cache'"). Outputs: the tensors :func:`flatten_outputs` names, so
    the graph's outputs are exactly the reference's (a ``ModelOutput`` by key, a cache object
    or ``None`` left out), whichever exporter runs.
    """

    def __init__(self, model: torch.nn.Module, positional: int = 0, keywords=()):
        super().__init__()
        self.model = model
        keywords = list(keywords)
        params = [f"input_{i}" for i in range(positional)] + [
            k if k.isidentifier() else f"input_{positional + i}" for i, k in enumerate(keywords)
        ]

        from ._torch import flatten_outputs  # _torch imports this module

        def forward(*tensors):
            named = dict(zip(keywords, tensors[positional:], strict=True))
            out = self.model(*tensors[:positional], **named)
            return tuple(t for _, t in flatten_outputs(out))

        kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
        forward.__signature__ = inspect.Signature([inspect.Parameter(p, kind) for p in params])
        self.forward = forward
        # the wrapper's mode is the model's: the TorchScript exporter restores the mode of the
        # module it is given, recursively, so a training-mode wrapper would leave the model so
        self.train(model.training)


@contextlib.contextmanager
def attention_fast_paths_off():
    """Keep PyTorch's fused attention kernels (``aten::_transformer_encoder_layer_fwd``, the
    native multi-head attention) out of the traced graph: no exporter translates them.
    The previous setting is restored afterwards."""
    mha = getattr(torch.backends, "mha", None)
    if mha is None or not hasattr(mha, "set_fastpath_enabled"):
        yield
        return
    before = mha.get_fastpath_enabled()
    mha.set_fastpath_enabled(False)
    try:
        yield
    finally:
        mha.set_fastpath_enabled(before)


def capture(model, args, kwargs, shapes, bounded: dict | None = None):
    """``torch.export.export`` as ``torch.onnx.export`` does it, minus its silent fallback.

    torch.onnx (2.13, ``_capture_strategies.TorchExportNonStrictStrategy``) answers a dynamic
    shape constraint violation by applying torch's suggested fix, i.e. it makes the dim static
    without a word. Capturing here lets that error reach the user with the dim and the guard.
    One fix is applied, openly: a dim the model bounds (BERT's sequence by its position table,
    wav2vec2's audio by its first convolution) gets the exact range torch suggests, when the
    user gave that dim no range; ``bounded`` (dim name -> (min, max)) receives it.
    """
    with torch.fx.experimental._config.patch(backed_size_oblivious=True):
        try:
            return torch.export.export(
                model, args, kwargs=kwargs, dynamic_shapes=shapes, strict=False
            )
        except Exception as exc:
            fixes = suggested_ranges(str(exc))
            retry = _with_ranges(shapes, fixes) if fixes and bounded is not None else None
            if retry is None:
                raise
            bounded.update(fixes)
        return torch.export.export(model, args, kwargs=kwargs, dynamic_shapes=retry, strict=False)


def _with_ranges(shapes, fixes: dict):
    """``shapes`` with the named dims replaced by bounded ones; None if a dim was bounded already."""
    seen: dict[str, object] = {}
    for spec in shapes or ():
        for dim in (spec or {}).values():
            seen[dim.__name__] = dim
    if not set(fixes) <= set(seen):
        return None
    if any(getattr(seen[n], "min", 0) > 1 or getattr(seen[n], "max", 0) < 2**62 for n in fixes):
        return None  # the user's own range: say so rather than change it
    new = {n: to_dim(n, fixes[n]) for n in fixes}
    return tuple(
        {a: new.get(d.__name__, d) for a, d in spec.items()} if spec else spec for spec in shapes
    )
