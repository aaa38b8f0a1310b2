from __future__ import annotations

import pytest

from bridgex_chain.errors import InvalidOption
from bridgex_chain.models.hf import HFCore
from bridgex_chain.probing.prompts import (
    ProbePrompt,
    greedy_continuations,
    probe_prompt,
    starts_with_target,
    understood_pairs,
)

torch = pytest.importorskip("torch")

PROMPTS = ['Swahili:"maji"→English:', "a", 'French:"le renard brun saute"→German:', "早上好"]


def test_probe_prompt_exact():
    assert probe_prompt("swh_Latn", "eng_Latn", "maji") == 'Swahili:"maji"→English:'
    p = ProbePrompt(probe_prompt("en", "sw", "fire"), "eng_Latn", "swh_Latn", "fire", ("moto",))
    assert p.text == 'English:"fire"→Swahili:'


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
    with pytest.raises(InvalidOption, match="3 prompts but 1 target lists"):
        understood_pairs(model, tok, prompts, ["w"])


def test_greedy_batched_equals_single(make_tiny_lm):
    model, tok, _ = make_tiny_lm("mistral")
    batched = greedy_continuations(model, tok, PROMPTS, max_new_tokens=4, batch_size=3)
    single = [greedy_continuations(model, tok, [p], max_new_tokens=4)[0] for p in PROMPTS]
    assert batched == single


def test_greedy_continuations_is_the_cores_batched_generation(make_tiny_lm):
    model, tok, _ = make_tiny_lm("qwen2")
    got = greedy_continuations(model, tok, PROMPTS, max_new_tokens=5, batch_size=2, device="cpu")
    assert got == HFCore(model, tok).generate(PROMPTS, max_new_tokens=5)
    assert all(isinstance(text, str) and text for text in got)
    assert greedy_continuations(model, tok, [], max_new_tokens=5) == []
