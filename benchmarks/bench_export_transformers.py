"""Export overhead on transformers text models: ``export_onnx`` against a bare
``torch.onnx.export`` (dynamo, opset 18, keyword inputs, the same static shapes) of the same
small-config models (random weights, no hub): BERT, DistilBERT, CLIP's text tower.

Checks off: the target is <= 1.10x. Checks on (checker, shape inference, onnxruntime parity):
reported, and the parity check's own time against the export's (target: under 1x). Rounds
alternate so machine noise hits both alike; each figure is the fastest of its rounds.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks.figure import Figure


def _models():
    import torch
    import transformers as tf

    torch.manual_seed(0)
    text = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                intermediate_size=128, vocab_size=1000, max_position_embeddings=128)  # fmt: skip
    return {
        "bert": tf.BertModel(tf.BertConfig(**text)).eval(),
        "distilbert": tf.DistilBertModel(
            tf.DistilBertConfig(
                dim=64,
                n_layers=2,
                n_heads=4,
                hidden_dim=128,
                vocab_size=1000,
                max_position_embeddings=128,
            )  # fmt: skip
        ).eval(),
        "clip_text": tf.CLIPTextModel(
            tf.CLIPTextConfig(
                hidden_size=64,
                intermediate_size=128,
                num_hidden_layers=2,
                num_attention_heads=4,
                vocab_size=1000,
                max_position_embeddings=128,
            )  # fmt: skip
        ).eval(),
    }


def _feeds():
    import torch

    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 1000, (2, 32), generator=g)
    return {"input_ids": ids, "attention_mask": torch.ones(2, 32, dtype=torch.long)}


def _bare(model, feeds, folder: Path):
    import torch

    def run():
        with torch.no_grad():
            torch.onnx.export(model, (), str(folder / "bare.onnx"), kwargs=feeds, dynamo=True,
                              opset_version=18, verbose=False)  # fmt: skip

    return run


def _ours(model, feeds, folder: Path, check: bool, seen: list):
    from trt_magic.export import export_onnx

    def run():
        r = export_onnx(model, folder / f"ours-{check}.onnx", sample=feeds, exporter="dynamo",
                        opset=18, check=check, simplify="none")  # fmt: skip
        seen.append(r.timings)

    return run


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def _measure(name: str, model, rounds: int) -> list[Figure]:
    import contextlib
    import io

    feeds = _feeds()
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
        folder, seen = Path(tmp), []
        bare = _bare(model, feeds, folder)
        plain = _ours(model, feeds, folder, False, [])
        checked = _ours(model, feeds, folder, True, seen)
        for fn in (bare, plain, checked):
            fn()  # warm up
        times: dict[str, list[float]] = {"bare": [], "plain": [], "checked": []}
        for _ in range(rounds):
            times["bare"].append(_timed(bare))
            times["plain"].append(_timed(plain))
            times["checked"].append(_timed(checked))
    b, p, c = (min(times[k]) for k in ("bare", "plain", "checked"))
    check = min(t["check"] for t in seen)
    export = min(t["export"] for t in seen)
    label = f"export_onnx {name} dynamo"
    return [
        Figure(f"{label}, checks off", p, b, 1.10, note="vs bare torch.onnx.export"),
        Figure(f"{label}, with checks", c, b, None, note="checker + parity"),
        Figure(f"{label}, parity check", check, export, 1.0, note="vs the export itself"),
    ]


def run() -> list[Figure]:
    figures = []
    for name, model in _models().items():
        figures += _measure(name, model, rounds=6)
    return figures
