from collections.abc import Callable
from typing import Any

import pytest

from bridgex_chain.eval.lm import HFEvalLM, _loops, cut_at_stop

# Longer than the tiny Gemma-3's sliding window (16 tokens): the cache must survive
# sliding-window layers dropping old entries.
PREFIX = (
    "Classify each text into one of these labels: sports, travel.\n\n"
    "French: Le match de football était passionnant.\nLabel: sports\n\n"
    "French: Nous avons pris le train pour Paris.\nLabel: travel\n\n"
)
QUERIES = ["Swahili: mpira\nFrench: football\nLabel:", "Swahili: safari\nFrench: voyage\nLabel:"]
LABELS = [" sports", " travel", " science/technology"]


def test_cached_prefix_scoring_equals_full_rescoring(tiny_lm: tuple[Any, Any, str]) -> None:
    model, tokenizer, _arch = tiny_lm
    cached = HFEvalLM(model, tokenizer, key="tiny")
    full = HFEvalLM(model, tokenizer, key="tiny", reuse_prefix=False)
    assert len(tokenizer(PREFIX)["input_ids"]) > 16
    for query in QUERIES:  # the second query reuses the first one's prefix cache
        got = cached.logprobs(PREFIX, query, LABELS)
        want = full.logprobs(PREFIX, query, LABELS)
        assert got == pytest.approx(want, abs=1e-4)
    # scoring again gives the same numbers: the stored prefix cache was not mutated
    assert cached.logprobs(PREFIX, QUERIES[0], LABELS) == pytest.approx(
        full.logprobs(PREFIX, QUERIES[0], LABELS), abs=1e-4
    )


def test_full_rescoring_matches_a_hand_made_forward_pass(
    make_tiny_lm: Callable[..., tuple[Any, Any, str]],
) -> None:
    import torch

    model, tokenizer, _ = make_tiny_lm("llama")
    lm = HFEvalLM(model, tokenizer, key="tiny")
    ids = [tokenizer.bos_token_id]
    for piece in ("Topic: ", "x\nLabel:", " travel"):
        ids += tokenizer(piece, add_special_tokens=False)["input_ids"]
    n_label = len(tokenizer(" travel", add_special_tokens=False)["input_ids"])
    with torch.no_grad():
        logp = torch.log_softmax(model(torch.tensor([ids])).logits[0], dim=-1)
    want = sum(
        float(logp[len(ids) - n_label - 1 + j, ids[len(ids) - n_label + j]]) for j in range(n_label)
    )
    assert lm.logprobs("Topic: ", "x\nLabel:", [" travel"])[0] == pytest.approx(want, abs=1e-4)


def test_empty_query_scores_directly_after_the_prefix(
    make_tiny_lm: Callable[..., tuple[Any, Any, str]],
) -> None:
    model, tokenizer, _ = make_tiny_lm("gemma3_text")
    cached = HFEvalLM(model, tokenizer, key="tiny")
    full = HFEvalLM(model, tokenizer, key="tiny", reuse_prefix=False)
    got = cached.logprobs(PREFIX + QUERIES[0], "", LABELS)
    assert got == pytest.approx(full.logprobs(PREFIX + QUERIES[0], "", LABELS), abs=1e-4)


def test_empty_continuation_is_rejected(make_tiny_lm: Callable[..., tuple[Any, Any, str]]) -> None:
    model, tokenizer, _ = make_tiny_lm("llama")
    with pytest.raises(ValueError, match="at least one token"):
        HFEvalLM(model, tokenizer, key="tiny").logprobs("a", "b", [""])


def test_batched_generation_equals_one_at_a_time(
    make_tiny_lm: Callable[..., tuple[Any, Any, str]],
) -> None:
    model, tokenizer, _ = make_tiny_lm("llama")
    prompts = ["Swahili: maji\nEnglish:", "Swahili: habari ya asubuhi rafiki\nEnglish:", "a"]
    batched = HFEvalLM(model, tokenizer, key="tiny", batch_size=3, repeat_span=None)
    single = HFEvalLM(model, tokenizer, key="tiny", batch_size=1, repeat_span=None)
    got = batched.generate(prompts, max_new_tokens=6, stop=[])
    assert got == single.generate(prompts, max_new_tokens=6, stop=[])
    assert all(isinstance(text, str) and text for text in got)


def test_generation_is_cut_at_stop_strings(
    make_tiny_lm: Callable[..., tuple[Any, Any, str]],
) -> None:
    model, tokenizer, _ = make_tiny_lm("qwen2")
    lm = HFEvalLM(model, tokenizer, key="tiny", repeat_span=None)
    free = lm.generate(["the quick brown"], max_new_tokens=12, stop=[])[0]
    assert len(free) >= 2
    stop = free[1]  # a character the model is known to produce
    cut = lm.generate(["the quick brown"], max_new_tokens=12, stop=[stop])[0]
    assert cut == free[: free.index(stop)]


def test_loop_detection_and_cutting() -> None:
    assert _loops([5, 6, 7, 8, 5, 6, 7, 8], 4)
    assert not _loops([5, 6, 7, 8, 5, 6, 7, 9], 4)
    assert not _loops([1, 1, 1], 2)  # shorter than two spans
    assert not _loops([1, 1, 1, 1], None)
    assert cut_at_stop("abc\ndef", ["\n", "b"]) == "a"
    assert cut_at_stop("abc", []) == "abc"
