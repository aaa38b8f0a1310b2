"""Scoring after a shared prefix: one pass for every query and continuation, same numbers."""

from __future__ import annotations

from typing import Any

import pytest

from bridgex_chain.errors import InvalidOption
from bridgex_chain.models import scorer as scorer_module
from bridgex_chain.models.hf import HFCore
from bridgex_chain.models.scorer import PrefixScorer

torch = pytest.importorskip("torch")

# Longer than the tiny Gemma-3's sliding window (16 tokens).
PREFIX = (
    "Classify each text into one of these labels: sports, travel.\n\n"
    "French: Le match de football était passionnant.\nLabel: sports\n\n"
)
QUERIES = ["Text: mpira wa miguu\nLabel:", "Text: N/A\nLabel:", ""]
CONTS = [" sports", " travel", " science/technology", " a", " sports"]


class CountingModel:
    """Wraps a model and records the shape of every forward pass."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.passes: list[tuple[int, int]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        ids = kwargs["input_ids"]
        self.passes.append((int(ids.shape[0]), int(ids.shape[1])))
        return self.model(*args, **kwargs)


def _scorer(model: Any, tokenizer: Any) -> PrefixScorer:
    return PrefixScorer(model, tokenizer, lambda: torch.device("cpu"))


def test_one_pass_scores_every_query_and_continuation(tiny_lm: tuple[Any, Any, str]) -> None:
    model, tokenizer, _arch = tiny_lm
    counting = CountingModel(model)
    scorer = _scorer(counting, tokenizer)
    assert any(len(tokenizer(c, add_special_tokens=False)["input_ids"]) > 1 for c in CONTS)
    got = scorer.score(PREFIX, QUERIES, CONTS)
    want = scorer.score(PREFIX, QUERIES, CONTS, reuse_prefix=False)
    assert len(got) == len(QUERIES) and all(len(row) == len(CONTS) for row in got)
    for mine, theirs in zip(got, want, strict=True):
        assert mine == pytest.approx(theirs, abs=1e-4)
    assert got[0][0] == pytest.approx(got[0][4], abs=1e-6)  # a repeated continuation
    # the first call: the prefix pass, then one scoring pass with a row per query and longer one
    longer = sum(len(tokenizer(c, add_special_tokens=False)["input_ids"]) > 1 for c in CONTS)
    assert counting.passes[0][0] == 1
    assert counting.passes[1][0] == longer * len(QUERIES)
    assert len(counting.passes) == 2 + len(QUERIES) * len(CONTS)  # then the check path


def test_the_kept_prefix_serves_the_next_call_unchanged(tiny_lm: tuple[Any, Any, str]) -> None:
    model, tokenizer, _arch = tiny_lm
    counting = CountingModel(model)
    scorer = _scorer(counting, tokenizer)
    first = scorer.score(PREFIX, QUERIES[:1], CONTS)
    again = scorer.score(PREFIX, QUERIES[:1], CONTS)
    assert again[0] == pytest.approx(first[0], abs=1e-6)  # the kept cache was not extended
    assert [rows for rows, _ in counting.passes].count(1) == 1  # one prefix pass for both calls


def test_one_token_continuations_need_one_row_per_query(make_tiny_lm: Any) -> None:
    model, tokenizer, _ = make_tiny_lm("llama")
    single = [
        c
        for c in (" a", " b", " c")
        if len(tokenizer(c, add_special_tokens=False)["input_ids"]) == 1
    ]
    assert single
    counting = CountingModel(model)
    scorer = _scorer(counting, tokenizer)
    got = scorer.score(PREFIX, QUERIES, single)
    assert counting.passes[1][0] == 2  # the two non-empty queries; the empty one reads the prefix
    want = scorer.score(PREFIX, QUERIES, single, reuse_prefix=False)
    for mine, theirs in zip(got, want, strict=True):
        assert mine == pytest.approx(theirs, abs=1e-4)


def test_rows_beyond_the_logits_budget_go_to_further_passes(
    make_tiny_lm: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, tokenizer, _ = make_tiny_lm("llama")
    whole = _scorer(model, tokenizer).score(PREFIX, QUERIES, CONTS)
    counting = CountingModel(model)
    monkeypatch.setattr(scorer_module, "_LOGITS_BUDGET", 1)  # one row per pass
    split = _scorer(counting, tokenizer).score(PREFIX, QUERIES, CONTS)
    for mine, theirs in zip(split, whole, strict=True):
        assert mine == pytest.approx(theirs, abs=1e-5)
    assert all(rows == 1 for rows, _ in counting.passes) and len(counting.passes) > 2


def test_empty_inputs_and_errors(make_tiny_lm: Any) -> None:
    model, tokenizer, _ = make_tiny_lm("llama")
    scorer = _scorer(model, tokenizer)
    assert scorer.score(PREFIX, QUERIES, []) == [[], [], []]
    assert scorer.score(PREFIX, [], CONTS) == []
    with pytest.raises(InvalidOption, match="at least one token"):
        scorer.score(PREFIX, QUERIES, [" a", ""])
    seen: list[tuple[int, int]] = []
    scorer.score(PREFIX, QUERIES[:1], CONTS, check=lambda c, n: seen.append((c, n)))
    assert seen and seen[0][1] == max(
        len(tokenizer(c, add_special_tokens=False)["input_ids"]) for c in CONTS
    )
    scorer.forget()
    assert scorer._prefix is None


def _rescored(core: HFCore, prompt: str, free: str, choices: list[str]) -> list[float]:
    """Calibrated scores the slow way: every whole sequence rescored on its own."""
    conts = [" " + c for c in choices]
    raw = core.logprobs(prompt, "", conts, reuse_prefix=False)
    base = core.logprobs(free, "", conts, reuse_prefix=False)
    return [s - f for s, f in zip(raw, base, strict=True)]


def test_choice_scores_calibrate_in_one_scoring_pass_and_remember(make_tiny_lm: Any) -> None:
    model, tokenizer, _ = make_tiny_lm("llama")
    counting = CountingModel(model)
    core = HFCore(counting, tokenizer, "tiny", score_memo=2)
    prompt, free = PREFIX + QUERIES[0], PREFIX + QUERIES[1]
    choices = ["sports", "travel", "science/technology"]
    got = core.choice_scores(prompt, choices, free)
    assert len(counting.passes) == 2  # the prefix, then both queries together
    assert got == pytest.approx(_rescored(core, prompt, free, choices), abs=1e-4)
    counting.passes.clear()
    assert core.choice_scores(prompt, choices, free) == got  # remembered: no pass at all
    assert counting.passes == []
    core.choice_scores(prompt, ["sports"], free)
    core.choice_scores(prompt, ["travel"], free)  # the memo holds two: the first one left
    counting.passes.clear()
    core.choice_scores(prompt, choices, free)
    assert counting.passes
    # a content-free prompt with another prefix is scored on its own
    other = "Another instruction.\n\nText: N/A\nLabel:"
    want = _rescored(core, prompt, other, choices)
    assert core.choice_scores(prompt, choices, other) == pytest.approx(want, abs=1e-4)
    off = HFCore(model, tokenizer, "tiny", score_memo=0)
    off.choice_scores(prompt, choices, free)
    assert not off._memo
