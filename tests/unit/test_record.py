from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from bridgex_chain.probing.hooks import act_fn_modules
from bridgex_chain.probing.record import (
    count_language_neurons,
    greedy_continuations,
    record_prompt_means,
    starts_with_target,
    understood_pairs,
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
    assert seen == [(2, 7), (4, 7), (6, 7), (7, 7)]
    assert set(fwd) == {1}


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


def test_starts_with_target_rules():
    assert starts_with_target(' "Water" is', "water")
    assert starts_with_target("\n«maji»", ["eau", "Maji."])
    assert starts_with_target("水です", "水")
    assert not starts_with_target(" the water", "water")
    assert not starts_with_target("", "water")
    assert not starts_with_target("anything", ["", "..."])


def test_understood_pairs_controllable(make_tiny_lm):
    model, tok, _ = make_tiny_lm("llama", num_hidden_layers=2)
    # Replace the LM head so greedy decoding always emits the token "w".
    w_id = tok.convert_tokens_to_ids("w")
    head = torch.nn.Linear(model.config.hidden_size, model.config.vocab_size, bias=True)
    with torch.no_grad():
        head.weight.zero_()
        head.bias.zero_()
        head.bias[w_id] = 10.0
    model.lm_head = head
    prompts = ['English:"water"→Swahili:', "x", 'English:"wow"→French:']
    outs = greedy_continuations(model, tok, prompts, max_new_tokens=3, batch_size=2)
    assert outs == ["www", "www", "www"]
    keep = understood_pairs(
        model, tok, prompts, [["maji"], "WW", ["eau", "w"]], max_new_tokens=3, batch_size=2
    )
    assert keep == [False, True, True]
    with pytest.raises(ValueError):
        understood_pairs(model, tok, prompts, ["w"])


def test_greedy_batched_equals_single(make_tiny_lm):
    model, tok, _ = make_tiny_lm("mistral")
    batched = greedy_continuations(model, tok, PROMPTS, max_new_tokens=4, batch_size=4)
    single = [greedy_continuations(model, tok, [p], max_new_tokens=4)[0] for p in PROMPTS]
    assert batched == single


def test_empty_column_layers_are_skipped(tiny_lm):
    model, tok, _ = tiny_lm
    empty = np.zeros(0, dtype=np.int64)
    out = record_prompt_means(model, tok, PROMPTS, neurons=[np.array([4]), empty, empty])
    full = record_prompt_means(model, tok, PROMPTS, layers=[0])
    assert [out[k].shape for k in range(3)] == [(1, 7), (0, 7), (0, 7)]
    np.testing.assert_allclose(out[0], full[0][[4]], atol=1e-6)
    none = record_prompt_means(model, tok, PROMPTS, neurons={2: empty})
    assert none[2].shape == (0, 7)
