from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from bridgex_chain.probing.hooks import act_fn_modules
from bridgex_chain.probing.record import (
    count_language_neurons,
    record_prompt_means,
)

torch = pytest.importorskip("torch")

PROMPTS = [
    'Swahili:"maji"→English:',
    "a",
    'French:"le renard brun saute"→German:',
    "早上好",
    "hyvää",
    'Hebrew:"בוקר טוב"→Arabic:',
    "x y",
]


class RecordingCounter:
    def __init__(self) -> None:
        self.counts: dict[tuple[str, int], np.ndarray] = {}
        self.tokens: dict[tuple[str, int], int] = defaultdict(int)

    def update(self, lang, layer, positive_counts, n_tokens):
        key = (lang, layer)
        self.counts[key] = self.counts.get(key, 0) + positive_counts
        self.tokens[key] += n_tokens


def _reference_mean(model, tok, prompt):
    """One prompt, full model forward (with LM head), independent hook: prompt mean."""
    store = {}
    handles = [
        m.register_forward_hook(lambda _m, _i, o, k=k: store.__setitem__(k, o[0].mean(0)))
        for k, m in enumerate(act_fn_modules(model))
    ]
    try:
        with torch.no_grad():
            model(**tok([prompt], return_tensors="pt"))
    finally:
        for h in handles:
            h.remove()
    return {k: v.numpy() for k, v in store.items()}


@pytest.mark.parametrize("side", ["left", "right"])
def test_batched_means_equal_one_at_a_time(make_tiny_lm, tiny_lm, side):
    _, _, arch = tiny_lm
    model, tok, _ = make_tiny_lm(arch, padding_side=side)
    batched = record_prompt_means(model, tok, PROMPTS, batch_size=3)
    single = record_prompt_means(model, tok, PROMPTS, batch_size=1)
    assert set(batched) == set(range(model.config.num_hidden_layers))
    for layer in batched:
        assert batched[layer].shape == (model.config.intermediate_size, len(PROMPTS))
        assert batched[layer].dtype == np.float32
        np.testing.assert_allclose(batched[layer], single[layer], atol=1e-5, rtol=0)
    # and both equal an independent plain forward of the whole model, prompt by prompt
    for p, prompt in enumerate(PROMPTS):
        ref = _reference_mean(model, tok, prompt)
        for layer, vec in ref.items():
            np.testing.assert_allclose(batched[layer][:, p], vec, atol=1e-5, rtol=0)


def test_order_restored_and_progress(tiny_lm):
    model, tok, _ = tiny_lm
    seen: list[tuple[int, int]] = []
    fwd = record_prompt_means(
        model, tok, PROMPTS, batch_size=2, layers=[1], on_progress=lambda d, t: seen.append((d, t))
    )
    rev = record_prompt_means(model, tok, PROMPTS[::-1], batch_size=2, layers=[1])
    np.testing.assert_allclose(fwd[1], rev[1][:, ::-1], atol=1e-5)
    done = [d for d, _ in seen]
    assert all(t == 7 for _, t in seen) and done[-1] == 7
    assert all(0 < b - a <= 2 for a, b in zip([0, *done], done, strict=False))
    assert set(fwd) == {1}
    # without prefix grouping, batches are plain length-sorted chunks
    seen.clear()
    record_prompt_means(
        model,
        tok,
        PROMPTS,
        batch_size=2,
        layers=[1],
        share_prefix=False,
        on_progress=lambda d, t: seen.append((d, t)),
    )
    assert seen == [(2, 7), (4, 7), (6, 7), (7, 7)]


def test_batches_group_by_first_two_tokens():
    from bridgex_chain.probing.record import _batches

    enc = [[1, 5, 9, 9], [1, 6, 9], [1, 5, 9], [1, 5, 2, 2, 2], [1, 6], [1, 5]]
    assert _batches(enc, 2, by_prefix=True) == [[5, 2], [0, 3], [4, 1]]
    assert _batches(enc, 3, by_prefix=True) == [[5, 2], [0, 3], [4, 1]]  # 4 → 2 + 2
    assert _batches(enc, 4, by_prefix=False) == [[4, 5, 1], [2, 0, 3]]  # 6 → 3 + 3


def test_neuron_subset_and_dtype(tiny_lm):
    model, tok, _ = tiny_lm
    full = record_prompt_means(model, tok, PROMPTS, batch_size=4, dtype=np.float64)
    cols = {0: np.array([5, 1]), 2: np.array([63])}
    sub = record_prompt_means(model, tok, PROMPTS, batch_size=4, neurons=cols, dtype=np.float64)
    assert set(sub) == {0, 2}
    for layer, idx in cols.items():
        assert sub[layer].dtype == np.float64
        np.testing.assert_allclose(sub[layer], full[layer][idx], atol=1e-6)


def test_empty_prompts_and_bad_batch(tiny_lm):
    model, tok, _ = tiny_lm
    assert record_prompt_means(model, tok, [], layers=[0], neurons={0: [1, 2]})[0].shape == (2, 0)
    with pytest.raises(ValueError):
        record_prompt_means(model, tok, PROMPTS, batch_size=0)


def test_no_hooks_left_and_training_mode_restored(make_tiny_lm):
    model, tok, _ = make_tiny_lm("llama", num_hidden_layers=2)
    model.train()
    record_prompt_means(model, tok, PROMPTS, batch_size=2)
    assert model.training
    assert all(not m._forward_hooks for m in act_fn_modules(model))


@pytest.mark.parametrize("side", ["left", "right"])
def test_count_language_neurons_streams_and_ignores_padding(make_tiny_lm, side):
    model, tok, _ = make_tiny_lm("gemma3_text", padding_side=side)
    texts = {"swh_Latn": PROMPTS[:4], "fin_Latn": PROMPTS[4:]}
    consumed: list[str] = []

    def lazy(items):
        for item in items:
            consumed.append(item)
            yield item

    batched = RecordingCounter()
    totals = count_language_neurons(
        model, tok, {k: lazy(v) for k, v in texts.items()}, batched, batch_size=3
    )
    assert consumed == PROMPTS
    single = RecordingCounter()
    count_language_neurons(model, tok, texts, single, batch_size=1)
    n_layers = model.config.num_hidden_layers
    assert set(batched.counts) == {(lang, k) for lang in texts for k in range(n_layers)}
    for key, counts in single.counts.items():
        np.testing.assert_array_equal(batched.counts[key], counts)
        assert batched.tokens[key] == single.tokens[key]
    expected = {lang: sum(len(tok(t)["input_ids"]) for t in v) for lang, v in texts.items()}
    assert totals == expected
    assert batched.tokens[("swh_Latn", 0)] == expected["swh_Latn"]


def test_count_language_neurons_limits(tiny_lm):
    model, tok, _ = tiny_lm
    counter = RecordingCounter()
    totals = count_language_neurons(
        model,
        tok,
        {"eng_Latn": ["a b c d e f g h"] * 10},
        counter,
        batch_size=2,
        max_tokens_per_text=4,
        max_tokens_per_lang=7,
        layers=[0],
    )
    assert totals == {"eng_Latn": 8}  # two texts of 4 tokens, then the limit stops reading
    assert counter.tokens[("eng_Latn", 0)] == 8
    assert set(counter.counts) == {("eng_Latn", 0)}


TEMPLATED = [f'Swahili:"{w}"→English:' for w in ("maji", "moto", "a", "nyumba ya", "x")] + [
    f'French:"{w}"→German:' for w in ("eau", "feu", "maison")
]


@pytest.mark.parametrize("side", ["left", "right"])
def test_shared_prefix_matches_plain_batching(make_tiny_lm, tiny_lm, side):
    _, _, arch = tiny_lm
    model, tok, _ = make_tiny_lm(arch, padding_side=side)
    plain = record_prompt_means(model, tok, TEMPLATED, batch_size=4, share_prefix=False)
    shared = record_prompt_means(model, tok, TEMPLATED, batch_size=4)
    single = record_prompt_means(model, tok, TEMPLATED, batch_size=1)
    for layer in plain:
        np.testing.assert_allclose(shared[layer], plain[layer], atol=1e-5, rtol=0)
        np.testing.assert_allclose(shared[layer], single[layer], atol=1e-5, rtol=0)
    # a truncated pass (stops after layer 1) and a neuron subset work with the prefix cache too
    sub = record_prompt_means(model, tok, TEMPLATED, batch_size=8, neurons={1: [0, 9]})
    np.testing.assert_allclose(sub[1], plain[1][[0, 9]], atol=1e-5, rtol=0)


def test_common_prefix_len():
    from bridgex_chain.probing.record import _common_prefix_len

    assert _common_prefix_len([[1, 2, 3, 4], [1, 2, 3, 5], [1, 2, 9]]) == 2
    assert _common_prefix_len([[1, 2, 3], [1, 2, 3, 4]]) == 2  # one token always left
    assert _common_prefix_len([[7, 1], [8, 1]]) == 0


def test_empty_column_layers_are_skipped(tiny_lm):
    model, tok, _ = tiny_lm
    empty = np.zeros(0, dtype=np.int64)
    out = record_prompt_means(model, tok, PROMPTS, neurons=[np.array([4]), empty, empty])
    full = record_prompt_means(model, tok, PROMPTS, layers=[0])
    assert [out[k].shape for k in range(3)] == [(1, 7), (0, 7), (0, 7)]
    np.testing.assert_allclose(out[0], full[0][[4]], atol=1e-6)
    none = record_prompt_means(model, tok, PROMPTS, neurons={2: empty})
    assert none[2].shape == (0, 7)


def test_feeds_the_real_language_neuron_counter(tiny_lm):
    from bridgex_chain.probing.neurons import LanguageNeuronCounter

    model, tok, _ = tiny_lm
    cfg = model.config
    counter = LanguageNeuronCounter(cfg.num_hidden_layers, cfg.intermediate_size)
    totals = count_language_neurons(model, tok, {"sw": PROMPTS[:3], "fi": PROMPTS[3:]}, counter)
    assert counter.languages == ("sw", "fi")
    over_zero, tokens = counter.counts("sw")
    assert tokens.tolist() == [totals["sw"]] * cfg.num_hidden_layers
    assert (over_zero <= tokens[:, None]).all() and over_zero.sum() > 0
    prob = counter.probabilities("fi")
    assert prob.shape == (cfg.num_hidden_layers, cfg.intermediate_size)
    assert 0 < prob.mean() < 1
