"""The torch side of the export: the model copy, sample inputs, and ``torch.onnx.export``.

Imported only when an export runs, so it imports torch at the top.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import io
import logging
import warnings
from dataclasses import dataclass, field

import torch

from . import hints
from .spec import InputSpec
from .tracing import Flat, attention_fast_paths_off, capture, dynamic_shapes

#: ONNX's protobuf limit is 2 GiB for the whole file; keep room for the graph itself
EXTERNAL_DATA_THRESHOLD = 2**31 - 2**26


@dataclass
class Prepared:
    """What gets exported: the CPU eval-mode copy, its inputs and their ONNX names."""

    model: torch.nn.Module
    args: tuple
    kwargs: dict
    input_names: list[str]
    notes: list[str] = field(default_factory=list)
    #: with --submodule: the whole model's input name -> sample shape (for -d carry-over)
    outer: dict[str, tuple[int, ...]] = field(default_factory=dict)

    @property
    def tensors(self) -> dict[str, torch.Tensor]:
        """ONNX input name -> sample tensor, in graph order."""
        values = list(self.args) + list(self.kwargs.values())
        return dict(zip(self.input_names, values, strict=True))


def prepare(model, inputs: list[InputSpec], sample, submodule: str | None) -> Prepared:
    """Copy ``model`` to the CPU in eval mode and build its sample inputs (the user's is untouched)."""
    if not isinstance(model, torch.nn.Module):
        raise hints.not_a_module(model)
    try:
        work = cpu_copy(model).eval()
    except Exception as exc:
        raise hints.not_copyable(model, exc) from exc
    args, kwargs = _sample_from(inputs, sample, work)
    notes, outer = [], {}
    if submodule:
        # one name per tensor either way: -i makes one tensor per spec, _names one per tensor
        outer_names = [s.name for s in inputs] if inputs else _names(work, args, kwargs)
        tensors = [*args, *kwargs.values()]
        outer = {n: tuple(t.shape) for n, t in zip(outer_names, tensors, strict=True)}
        work, args, kwargs = _capture_submodule(work, submodule, args, kwargs)
        shapes = ", ".join(str(tuple(t.shape)) for t in [*args, *kwargs.values()])
        notes.append(f"captured the inputs of {submodule!r} with a forward hook: {shapes}")
    _check_signature(work, args, kwargs)
    names = [s.name for s in inputs] if inputs and not submodule else _names(work, args, kwargs)
    if len(names) != len(args) + len(kwargs):
        raise hints.input_count(work, len(args) + len(kwargs), names)
    return Prepared(work, args, kwargs, names, notes, outer)


def cpu_copy(model: torch.nn.Module) -> torch.nn.Module:
    """A deep copy of the module tree on the CPU whose CPU weights are shared, not cloned.

    The export only reads weights, and eval mode stops BatchNorm from updating its statistics,
    so sharing is safe and saves a second copy of a large model's weights (and the time to make
    it). Weights on another device get a CPU copy, so the user's model keeps its device.
    """
    memo: dict[int, object] = {}
    moved = False
    for t in [*model.parameters(), *model.buffers()]:
        if t.device.type == "cpu":
            memo[id(t)] = t
            continue
        moved = True
        cpu = t.detach().cpu()
        memo[id(t)] = (
            torch.nn.Parameter(cpu, t.requires_grad) if isinstance(t, torch.nn.Parameter) else cpu
        )
    work = copy.deepcopy(model, memo)
    return work.cpu() if moved else work


def _sample_from(inputs: list[InputSpec], sample, model=None) -> tuple[tuple, dict]:
    if inputs:
        return tuple(_make_tensor(s, _id_range(model)) for s in inputs), {}
    if sample is None:
        raise hints.no_sample()
    if isinstance(sample, torch.Tensor):
        return (sample.detach().cpu(),), {}
    if isinstance(sample, dict):
        return (), {k: _to_cpu(v) for k, v in sample.items()}
    if isinstance(sample, (tuple, list)):
        return tuple(_to_cpu(v) for v in sample), {}
    raise hints.bad_sample(sample)


def _to_cpu(value):
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    raise hints.bad_sample(value)  # a dict here: forward takes a dict (the hint: a wrapper)


def _make_tensor(spec: InputSpec, ids: int = 2) -> torch.Tensor:
    """A sample for ``spec``: masks are ones (no padding: random 0/1 masks make positions that
    every implementation may fill differently), token type / segment ids zeros, other integers
    inside ``[0, ids)`` (the model's first embedding table), floats standard normal."""
    dtype = getattr(torch, spec.dtype)
    gen = torch.Generator().manual_seed(0)
    name = spec.name.lower()
    if dtype.is_floating_point:
        return torch.randn(spec.shape, generator=gen).to(dtype)
    if "mask" in name:
        return torch.ones(spec.shape, dtype=dtype)
    if dtype == torch.bool:
        return torch.rand(spec.shape, generator=gen) > 0.5
    if "type" in name or "segment" in name:
        return torch.zeros(spec.shape, dtype=dtype)
    return torch.randint(0, ids, spec.shape, generator=gen, dtype=dtype)


def _id_range(model) -> int:
    """Token ids stay below the first embedding table's size (the vocabulary in text models)."""
    for m in model.modules() if model is not None else ():
        if isinstance(m, torch.nn.Embedding):
            return max(1, min(m.num_embeddings, 1000))
    return 2


def _capture_submodule(model, path: str, args, kwargs):
    try:
        sub = model.get_submodule(path)
    except AttributeError as exc:
        raise hints.no_submodule(model, path) from exc
    seen: list = []

    def hook(_module, a, kw):
        if not seen:
            seen.append((a, kw))

    handle = sub.register_forward_pre_hook(hook, with_kwargs=True)
    try:
        with torch.no_grad():
            run_model(model, args, kwargs)
    finally:
        handle.remove()
    if not seen:
        raise hints.submodule_not_called(path)
    a, kw = seen[0]
    tensors = [v for v in [*a, *kw.values()] if not isinstance(v, torch.Tensor)]
    if tensors:
        raise hints.submodule_non_tensor(path, tensors)
    return sub, tuple(t.detach().clone() for t in a), {k: v.detach().clone() for k, v in kw.items()}


def _forward_params(model) -> list[inspect.Parameter]:
    try:
        params = inspect.signature(model.forward).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def _check_signature(model, args, kwargs) -> None:
    try:
        sig = inspect.signature(model.forward)
    except (TypeError, ValueError):
        return
    try:
        sig.bind(*args, **kwargs)
    except TypeError as exc:
        raise hints.signature_mismatch(model, sig, args, kwargs, exc) from None


def _names(model, args, kwargs) -> list[str]:
    params = [p.name for p in _forward_params(model)]
    positional = params[: len(args)] if len(params) >= len(args) else []
    positional += [f"input_{i}" for i in range(len(positional), len(args))]
    return positional + list(kwargs)


def reference(prepared: Prepared) -> list[tuple[str, torch.Tensor]]:
    """PyTorch's outputs on the sample, flattened and named."""
    return flatten_outputs(run_model(prepared.model, prepared.args, prepared.kwargs))


def run_model(model, args, kwargs):
    """Forward under no_grad; a failure here is the user's model failing on the sample."""
    with torch.no_grad():
        try:
            return model(*args, **kwargs)
        except Exception as exc:
            raise hints.forward_failed(exc, args, kwargs) from exc


def flatten_outputs(out, prefix: str = "output") -> list[tuple[str, torch.Tensor]]:
    """Name every output tensor the way the exporters flatten them (dict keys, tuple order)."""
    if isinstance(out, torch.Tensor):
        return [(prefix, out)]
    if isinstance(out, dict):
        items = list(out.items())
        named = prefix == "output"
        return [
            pair
            for k, v in items
            for pair in flatten_outputs(v, str(k) if named else f"{prefix}_{k}")
        ]
    if isinstance(out, (tuple, list)):
        return [p for i, v in enumerate(out) for p in flatten_outputs(v, f"{prefix}_{i}")]
    return []  # None and Python numbers do not become graph outputs


def weight_bytes(model) -> int:
    """Bytes of parameters and buffers (what the ONNX file would carry as initializers)."""
    seen, total = set(), 0
    for t in [*model.parameters(), *model.buffers()]:
        if id(t) not in seen:
            seen.add(id(t))
            total += t.numel() * t.element_size()
    return total


def needs_external_data(nbytes: int) -> bool:
    """Whether the weights pass what one ONNX protobuf can hold (2 GiB)."""
    return nbytes >= EXTERNAL_DATA_THRESHOLD


def resized(
    prepared: Prepared, dynamic: dict[str, dict[int, str]], grow
) -> dict[str, torch.Tensor]:
    """The sample with every dynamic dim resized to ``grow(axis, size, dim)`` (one size per dim).

    Values are repeated from the original along that axis, so token ids and masks stay valid.
    """
    sizes: dict[str, int] = {}
    out = {}
    for name, t in prepared.tensors.items():
        for axis, dim in sorted(dynamic.get(name, {}).items()):
            new = sizes.setdefault(dim, grow(axis, t.shape[axis], dim))
            index = torch.arange(new) % t.shape[axis]
            t = t.index_select(axis, index)
        out[name] = t
    return out


def split(prepared: Prepared, tensors: dict[str, torch.Tensor]) -> tuple[tuple, dict]:
    """Inverse of :attr:`Prepared.tensors`: back to (args, kwargs)."""
    values = list(tensors.values())
    n = len(prepared.args)
    return tuple(values[:n]), dict(zip(prepared.kwargs, values[n:], strict=True))


@dataclass
class ExportCall:
    """One ``torch.onnx.export`` call: everything but the model and its inputs."""

    path: str
    exporter: str  # "torchscript" | "dynamo"
    opset: int
    input_names: list[str]
    output_names: list[str]
    dynamic: dict[str, dict[int, str]]
    external_data: bool = False
    #: dim name -> (min, max) (None: unbounded) or a torch.export.Dim given by the user
    ranges: dict = field(default_factory=dict)


def torch_export(prepared: Prepared, call: ExportCall, args=None, kwargs=None) -> dict:
    """Run ``torch.onnx.export`` quietly; return its warnings and captured console output."""
    args = prepared.args if args is None else args
    kwargs = prepared.kwargs if kwargs is None else kwargs
    options = export_options(prepared, call)
    log, seen, bounded = io.StringIO(), [], {}
    if call.output_names is None:
        # Filled by the hook during the exporter's own forward, before torch reads it: the
        # TorchScript exporter names outputs after tracing (torchscript_exporter/utils.py
        # _model_to_graph: _create_jit_graph, then _set_input_and_output_names); dynamo's
        # capture below runs before torch.onnx.export. api.py renames if this ever misses.
        options["output_names"] = []

    def names(_module, _args, out):  # the exporter's own forward: the outputs' structure
        if not seen:
            seen.append([n for n, _ in flatten_outputs(out)])
            if options["output_names"] == []:
                options["output_names"].extend(seen[0])

    hook = prepared.model.register_forward_hook(names)
    try:
        with _quiet(log) as caught, torch.no_grad(), attention_fast_paths_off():
            model = Flat(prepared.model, len(args), list(kwargs))
            tensors = (*args, *kwargs.values())
            if call.exporter == "dynamo":
                model = capture(model, tensors, {}, options.pop("dynamic_shapes"), bounded)
            torch.onnx.export(model, tensors, call.path, **options)
    finally:
        hook.remove()
    messages = [str(w.message) for w in caught if not _is_noise(w)]
    return {
        "warnings": list(dict.fromkeys(messages)),
        "log": log.getvalue(),
        "output_names": seen[0] if seen else None,
        "bounded": bounded,
        "frozen": frozen_branches(caught),
    }


def frozen_branches(caught) -> list[str]:
    """``file:line `code``` of each place the TorchScript trace turned a tensor into a Python
    value (a bool for ``if``, a number): the trace keeps the sample's branch or value there."""
    import linecache

    out = []
    for w in caught:
        text = str(w.message)
        if "Converting a tensor to a Python" not in text:
            continue
        code = linecache.getline(w.filename, w.lineno).strip()
        out.append(f"{w.filename}:{w.lineno}" + (f" `{code}`" if code else ""))
    return list(dict.fromkeys(out))


def export_options(prepared: Prepared, call: ExportCall) -> dict:
    """The keyword arguments of ``torch.onnx.export`` for ``call`` (shared with the benchmark)."""
    options = dict(
        input_names=call.input_names,
        output_names=call.output_names,
        opset_version=call.opset,
        verbose=False,
        external_data=call.external_data,
    )
    if call.exporter == "dynamo":
        shapes = dynamic_shapes(prepared, call.dynamic, call.ranges)
        options.update(dynamo=True, dynamic_shapes=shapes)
    else:
        axes = {n: dict(d) for n, d in call.dynamic.items() if d}
        options.update(dynamo=False, dynamic_axes=axes or None)
    return options


#: torch's own deprecation notices are about torch internals, not the user's model
_NOISE_CATEGORIES = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)


def _is_noise(w: warnings.WarningMessage) -> bool:
    return issubclass(w.category, _NOISE_CATEGORIES) or "torchvision is not installed" in str(
        w.message
    )


@contextlib.contextmanager
def _quiet(log: io.StringIO):
    """Capture warnings, prints and torch's log lines (dynamo prints progress and W-lines).

    torch._logging gives its loggers their own stderr handlers, so they are swapped out for the
    capture handler for the duration, not merely stopped from propagating. The TorchScript
    exporter's C++ log (its "Torch IR graph at exception" dump) writes to the process's stderr,
    past any Python redirect; torch 2.13 turns it on for every export whatever ``verbose`` says
    (``setup_onnx_logging`` tests the function ``_jit_is_onnx_log_enabled``, not its value), so
    that context is replaced by one that keeps it off, and the previous state is restored.
    """
    onnx_log = getattr(torch._C, "_jit_is_onnx_log_enabled", lambda: False)()
    ts_utils = _torchscript_utils()
    original = getattr(ts_utils, "setup_onnx_logging", None)
    if original is not None:
        ts_utils.setup_onnx_logging = _log_off
    torch._C._jit_set_onnx_log_enabled(False)
    handler = logging.StreamHandler(log)
    swapped = []
    for name, lg in list(logging.root.manager.loggerDict.items()):
        if name.startswith("torch") and isinstance(lg, logging.Logger) and lg.handlers:
            swapped.append((lg, lg.handlers[:]))
            lg.handlers[:] = [handler]
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                yield caught
    finally:
        for lg, handlers in swapped:
            lg.handlers[:] = handlers
        if original is not None:
            ts_utils.setup_onnx_logging = original
        torch._C._jit_set_onnx_log_enabled(onnx_log)


@contextlib.contextmanager
def _log_off(verbose: bool = False):
    yield


def _torchscript_utils():
    try:
        from torch.onnx._internal.torchscript_exporter import utils
    except ImportError:  # another torch layout: nothing to patch
        return None
    return utils


def child_setup() -> None:
    """In a forked child: one torch thread (GNU OpenMP's pool does not survive fork)."""
    torch.set_num_threads(1)
