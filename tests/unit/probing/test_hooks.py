from __future__ import annotations

import types

import numpy as np
import pytest

from bridgex_chain.errors import InvalidOption, UnsupportedModel
from bridgex_chain.probing.hooks import (
    ActivationRecorder,
    StopForward,
    act_fn_modules,
    architecture_of,
    decoder_of,
    supported_model_types,
)

torch = pytest.importorskip("torch")

PROMPTS = ['Swahili:"maji"→English:', "a", "hyvää huomenta, mitä kuuluu", "早上好"]


def _batch(tokenizer, prompts=PROMPTS):
    return tokenizer(prompts, return_tensors="pt", padding=True)


def _full_acts(model, batch):
    """Capture the raw act_fn outputs of every layer with an independent hook."""
    store: dict[int, object] = {}
    handles = [
        m.register_forward_hook(lambda _m, _i, out, k=k: store.__setitem__(k, out.detach()))
        for k, m in enumerate(act_fn_modules(model))
    ]
    try:
        with torch.no_grad():
            model(**batch)
    finally:
        for h in handles:
            h.remove()
    return store


def _n_hooks(model) -> int:
    return sum(len(m._forward_hooks) for m in act_fn_modules(model))


def test_supported_types_cover_llama_family():
    assert set(supported_model_types()) >= {
        "llama",
        "mistral",
        "qwen2",
        "gemma",
        "gemma2",
        "gemma3",
        "gemma3_text",
    }


def test_unknown_architecture_lists_supported():
    fake = types.SimpleNamespace(config=types.SimpleNamespace(model_type="gpt2"))
    with pytest.raises(UnsupportedModel) as err:
        ActivationRecorder(fake)
    assert "gpt2" in str(err.value)
    assert "mistral" in str(err.value) and "gemma3_text" in str(err.value)


@pytest.mark.parametrize("arch", ["gemma", "gemma2"])
def test_other_gemma_generations(make_tiny_lm, arch):
    model, tok, _ = make_tiny_lm(arch)
    assert architecture_of(model) == arch
    with ActivationRecorder(model) as rec, torch.no_grad():
        model(**_batch(tok))
    assert rec.calls == {0: 1, 1: 1, 2: 1}


def test_decoder_is_the_base_model(tiny_lm):
    model, _, _ = tiny_lm
    assert decoder_of(model) is model.model
    assert decoder_of(model.model) is model.model  # a bare decoder is accepted too
    assert len(act_fn_modules(model)) == model.config.num_hidden_layers


def test_hooks_fire_once_per_layer_per_forward(tiny_lm):
    model, tok, _ = tiny_lm
    batch = _batch(tok)
    with ActivationRecorder(model) as rec, torch.no_grad():
        rec.attention_mask = batch["attention_mask"]
        model(**batch)
        assert rec.calls == {0: 1, 1: 1, 2: 1}
        model(**batch)
        assert rec.calls == {0: 2, 1: 2, 2: 2}
    assert rec.prompt_means()[0].shape == (64, 2 * len(PROMPTS))


@pytest.mark.parametrize("side", ["left", "right"])
def test_means_and_counts_match_direct_computation(make_tiny_lm, side):
    model, tok, _ = make_tiny_lm("qwen2", padding_side=side)
    batch = _batch(tok)
    mask = batch["attention_mask"].bool()
    assert not mask.all()  # the batch really is padded
    full = _full_acts(model, batch)
    with ActivationRecorder(model, count_positive=True) as rec, torch.no_grad():
        rec.attention_mask = batch["attention_mask"]
        model(**batch)
    means, counts, tokens = rec.prompt_means(), rec.positive_counts(), rec.token_counts()
    for layer, acts in full.items():
        for p in range(len(PROMPTS)):
            expected = acts[p][mask[p]].mean(dim=0).numpy()
            np.testing.assert_allclose(means[layer][:, p], expected, rtol=1e-5, atol=1e-6)
        expected_counts = sum((acts[p][mask[p]] > 0).sum(dim=0).numpy() for p in range(4))
        np.testing.assert_array_equal(counts[layer], expected_counts)
        assert tokens[layer] == int(mask.sum())


def test_positive_counts_ignore_padding(tiny_lm):
    model, tok, _ = tiny_lm
    batch = _batch(tok)
    rec = ActivationRecorder(model, prompt_means=False, count_positive=True)
    with rec, torch.no_grad():
        rec.attention_mask = batch["attention_mask"]
        model(**batch)
    batched = rec.positive_counts()
    singles = ActivationRecorder(model, prompt_means=False, count_positive=True)
    with singles, torch.no_grad():
        for prompt in PROMPTS:
            model(**tok([prompt], return_tensors="pt"))  # no padding, no mask needed
    for layer, counts in singles.positive_counts().items():
        np.testing.assert_array_equal(batched[layer], counts)
    assert rec.token_counts() == singles.token_counts()
    assert rec.prompt_means() == {}


def test_neuron_subset_and_layer_selection(tiny_lm):
    model, tok, _ = tiny_lm
    batch = _batch(tok)
    cols = np.array([7, 3, 60])
    with ActivationRecorder(model) as full, torch.no_grad():
        full.attention_mask = batch["attention_mask"]
        model(**batch)
    with ActivationRecorder(model, layers=[0, 2], neurons={2: cols}, count_positive=True) as sub:
        sub.attention_mask = batch["attention_mask"]
        with torch.no_grad():
            model(**batch)
    got = sub.prompt_means()
    assert set(got) == {0, 2}
    assert got[2].shape == (3, len(PROMPTS))
    np.testing.assert_allclose(got[2], full.prompt_means()[2][cols], rtol=1e-6)
    np.testing.assert_allclose(got[0], full.prompt_means()[0], rtol=1e-6)
    assert sub.positive_counts()[2].shape == (3,)
    # neurons alone selects the layers
    assert ActivationRecorder(model, neurons={1: [0]}).layers == (1,)


def test_invalid_layers_rejected(tiny_lm):
    model, _, _ = tiny_lm
    with pytest.raises(ValueError, match="layers"):
        ActivationRecorder(model, layers=[3])
    with pytest.raises(InvalidOption, match="layers"):
        ActivationRecorder(model, layers=[])


def test_hooks_removed_on_exit_and_on_error(tiny_lm):
    model, tok, _ = tiny_lm
    assert _n_hooks(model) == 0
    with ActivationRecorder(model):
        assert _n_hooks(model) == model.config.num_hidden_layers
    assert _n_hooks(model) == 0
    with pytest.raises(RuntimeError, match="boom"), ActivationRecorder(model, layers=[1]):
        assert _n_hooks(model) == 1
        raise RuntimeError("boom")
    assert _n_hooks(model) == 0
    # an error raised inside a hook (wrong mask shape) also leaves no hooks behind
    with pytest.raises(InvalidOption, match="attention_mask"), ActivationRecorder(model) as rec:
        rec.attention_mask = torch.ones((1, 1), dtype=torch.long)
        with torch.no_grad():
            model(**_batch(tok))
    assert _n_hooks(model) == 0


def test_stop_early_ends_forward_after_last_layer(tiny_lm):
    model, tok, _ = tiny_lm
    rec = ActivationRecorder(model, layers=[0, 1], stop_early=True)
    with rec, pytest.raises(StopForward), torch.no_grad():
        model(**_batch(tok))
    assert rec.calls == {0: 1, 1: 1}
    assert rec.prompt_means()[1].shape == (64, len(PROMPTS))


def test_reset_and_reentry(tiny_lm):
    model, tok, _ = tiny_lm
    rec = ActivationRecorder(model, layers=[0])
    with rec, torch.no_grad():
        model(**_batch(tok))
        with pytest.raises(RuntimeError, match="already active"):
            rec.__enter__()
        rec.reset()
        assert rec.calls == {0: 0}
        assert rec.prompt_means()[0].shape == (0, 0)


def test_per_layer_index_arrays_and_empty_layers(tiny_lm):
    model, tok, _ = tiny_lm
    batch = _batch(tok)
    cols = (np.array([1, 2]), np.zeros(0, dtype=np.int64), np.array([0]))
    rec = ActivationRecorder(model, neurons=cols, count_positive=True)
    assert rec.layers == (0, 1, 2) and rec.active_layers == (0, 2)
    with rec, torch.no_grad():
        rec.attention_mask = batch["attention_mask"]
        model(**batch)
        assert _n_hooks(model) == 2
    means = rec.prompt_means()
    assert [means[k].shape for k in range(3)] == [(2, 4), (0, 4), (1, 4)]
    assert rec.positive_counts()[1].shape == (0,)
    assert rec.token_counts()[1] == rec.token_counts()[0] == int(batch["attention_mask"].sum())
    assert rec.calls == {0: 1, 2: 1}
