"""choice_logprobs: the prompt is split at its last blank line and each choice is led by a space."""

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from bridgex_chain.eval.lm import HFEvalLM
from bridgex_chain.eval.scoring import choice_logprobs
from bridgex_chain.models.choices import best_choice

PROMPT = "Classify.\n\nText: a\nLabel: x\n\nText: b\nLabel:"


class Recorder:
    """An EvalLM that records its calls and scores a continuation by minus its length."""

    key = "recorder"

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, list[str]]] = []

    def logprobs(self, prefix: str, query: str, continuations: Sequence[str]) -> list[float]:
        self.calls.append((prefix, query, list(continuations)))
        return [-float(len(c)) for c in continuations]

    def generate(
        self, prompts: Sequence[str], *, max_new_tokens: int, stop: Sequence[str]
    ) -> list[str]:
        return ["" for _ in prompts]


def test_prompt_split_and_lead() -> None:
    lm = Recorder()
    assert choice_logprobs(lm, PROMPT, ["sports", "art"]) == [-7.0, -4.0]
    assert lm.calls == [
        ("Classify.\n\nText: a\nLabel: x\n\n", "Text: b\nLabel:", [" sports", " art"])
    ]
    choice_logprobs(lm, "Label:", ["A", "B"], lead="")
    assert lm.calls[-1] == ("", "Label:", ["A", "B"])


def test_scores_feed_the_shared_choice_rule() -> None:
    lm = Recorder()
    scores = choice_logprobs(lm, PROMPT, ["sports", "art"])
    calibration = choice_logprobs(lm, "Classify.\n\nText: N/A\nLabel:", ["sports", "art"])
    assert best_choice(scores) == 1
    assert best_choice(scores, [s - 10.0 * i for i, s in enumerate(calibration)]) == 1
    assert best_choice(scores, [-20.0, 0.0]) == 0


def test_on_a_real_model_equals_the_cores_choice_scores(
    make_tiny_lm: Callable[..., tuple[Any, Any, str]],
) -> None:
    pytest.importorskip("torch")
    model, tokenizer, _ = make_tiny_lm("llama")
    lm = HFEvalLM(model, tokenizer, key="tiny")
    scores = choice_logprobs(lm, PROMPT, ["sports", "travel"])
    assert scores == lm.core.choice_scores(PROMPT, ["sports", "travel"])
    assert all(s < 0 for s in scores)
