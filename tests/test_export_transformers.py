"""Text, speech and attention models from ``transformers`` (>= 5) and PyTorch, exported with the
default settings (``auto`` exporter, the configured image's opset) and dynamic batch and
sequence, each file then checked on its own with ONNX Runtime at a third size.

Small configs, random weights, nothing from the hub. Measured: all nine go through TorchScript at
opset 17 (their traced size branches hold at the second size, which export_onnx checks).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import transformers as tf

from trt_magic.export import export_onnx

pytestmark = pytest.mark.slow

VOCAB, POSITIONS = 100, 64
TEXT = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
            vocab_size=VOCAB, max_position_embeddings=POSITIONS)  # fmt: skip


def build(family: str) -> torch.nn.Module:
    """A tiny model of ``family`` from its config (random weights)."""
    torch.manual_seed(0)
    if family == "bert":
        return tf.BertModel(tf.BertConfig(**TEXT))
    if family == "roberta":
        return tf.RobertaModel(tf.RobertaConfig(**TEXT))
    if family == "distilbert":
        return tf.DistilBertModel(
            tf.DistilBertConfig(
                dim=32,
                n_layers=2,
                n_heads=2,
                hidden_dim=64,
                vocab_size=VOCAB,
                max_position_embeddings=POSITIONS,
            )  # fmt: skip
        )
    if family == "gpt2":
        config = tf.GPT2Config(n_embd=32, n_layer=2, n_head=2, vocab_size=VOCAB,
                               n_positions=POSITIONS, bos_token_id=0, eos_token_id=0)  # fmt: skip
        return tf.GPT2Model(config)
    if family == "llama":
        return tf.LlamaModel(tf.LlamaConfig(num_key_value_heads=1, **TEXT))
    if family == "bart":
        return tf.BartModel(
            tf.BartConfig(
                d_model=32,
                encoder_layers=1,
                decoder_layers=1,
                encoder_attention_heads=2,
                decoder_attention_heads=2,
                encoder_ffn_dim=64,
                decoder_ffn_dim=64,
                vocab_size=VOCAB,
                max_position_embeddings=POSITIONS,
            )  # fmt: skip
        )
    if family == "t5":
        return tf.T5Model(tf.T5Config(d_model=32, d_kv=16, d_ff=64, num_layers=1,
                                      num_decoder_layers=1, num_heads=2, vocab_size=VOCAB))  # fmt: skip
    if family == "clip_text":
        return tf.CLIPTextModel(
            tf.CLIPTextConfig(
                hidden_size=32,
                intermediate_size=64,
                num_hidden_layers=2,
                num_attention_heads=2,
                vocab_size=VOCAB,
                max_position_embeddings=POSITIONS,
            )  # fmt: skip
        )
    if family == "wav2vec2":
        return tf.Wav2Vec2Model(
            tf.Wav2Vec2Config(
                hidden_size=32,
                num_hidden_layers=2,
                num_attention_heads=2,
                intermediate_size=64,
                conv_dim=(16, 16),
                conv_stride=(5, 2),
                conv_kernel=(10, 3),
                num_conv_pos_embeddings=16,
                num_conv_pos_embedding_groups=2,
            )  # fmt: skip
        )
    raise AssertionError(family)


def sample(family: str, batch: int, length: int) -> dict[str, torch.Tensor]:
    """Keyword inputs: ids inside the vocabulary, masks of ones (audio: raw samples)."""
    g = torch.Generator().manual_seed(batch * 1000 + length)
    if family == "wav2vec2":
        return {"input_values": torch.randn(batch, length * 200, generator=g)}
    ids = torch.randint(0, VOCAB, (batch, length), generator=g)
    feeds = {"input_ids": ids, "attention_mask": torch.ones(batch, length, dtype=torch.long)}
    if family in ("bart", "t5"):
        feeds["decoder_input_ids"] = torch.randint(0, VOCAB, (batch, length), generator=g)
    return feeds


def dynamic(feeds: dict) -> dict:
    return {name: {0: "batch", 1: "seq"} for name in feeds}


def third_size_check(result, model, feeds: dict) -> None:
    """ONNX Runtime on the written file against PyTorch, outputs paired one to one."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
    wanted = {i.name for i in session.get_inputs()}
    got = session.run(None, {k: v.numpy() for k, v in feeds.items() if k in wanted})
    with torch.no_grad():
        out = model(**feeds)
    expected = [v for v in out.values() if isinstance(v, torch.Tensor)]
    assert len(got) == len(expected), (len(got), len(expected))
    for g, e in zip(got, expected, strict=True):
        assert g.shape == tuple(e.shape)
        np.testing.assert_allclose(g, e.numpy(), rtol=1e-3, atol=1e-4)


FAMILIES = ["bert", "roberta", "distilbert", "gpt2", "llama", "bart", "t5", "clip_text",
            "wav2vec2"]  # fmt: skip


@pytest.mark.parametrize("family", FAMILIES)
def test_family_exports_with_default_settings_and_is_right_at_a_third_size(family, tmp_path):
    model = build(family).eval()
    feeds = sample(family, 1, 8)
    target = tmp_path / f"{family}.onnx"
    options = dict(sample=feeds, dynamic=dynamic(feeds), simplify="none")
    result = export_onnx(model, target, **options)
    assert result.opset == 17  # the default image's TensorRT 8.6 reads up to 17
    assert result.ok and [s.name for s in result.inputs] == list(feeds)
    assert all(s.shape[:2] == ("batch", "seq") for s in result.inputs)
    third_size_check(result, model, sample(family, 3, 12))


def test_transformer_encoder_in_eval_mode_exports_with_fast_paths_off(tmp_path):
    layer = torch.nn.TransformerEncoderLayer(16, 2, dim_feedforward=32, batch_first=True)
    encoder = torch.nn.TransformerEncoder(layer, num_layers=2).eval()
    fast_path = torch.backends.mha.get_fastpath_enabled()
    result = export_onnx(
        encoder, tmp_path / "enc.onnx", sample=torch.randn(2, 5, 16),
        dynamic={"src": {0: "batch", 1: "seq"}}, simplify="none",
    )  # fmt: skip
    assert torch.backends.mha.get_fastpath_enabled() == fast_path  # restored
    assert result.ok and "batch" in result.dim_ranges
    import onnxruntime as ort

    x = torch.randn(3, 7, 16)
    session = ort.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"src": x.numpy()})
    with torch.no_grad():
        np.testing.assert_allclose(got, encoder(x).numpy(), rtol=1e-3, atol=1e-4)
