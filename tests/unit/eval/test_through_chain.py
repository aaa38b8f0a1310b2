"""Eval through the chain (eval/through_chain.py): it calls chain.batch, scores the replies."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models import FakeListLLM
from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableLambda

from bridgex_chain.chain import BridgeXChain
from bridgex_chain.chain.policies import FixedBridge, NoBridge
from bridgex_chain.chain.route import BridgeLookup
from bridgex_chain.detect import Detection
from bridgex_chain.errors import InvalidOption
from bridgex_chain.eval.data import Item
from bridgex_chain.eval.through_chain import ItemResult, evaluate_policies, summarise_policies

ITEMS = [Item(str(i), f"maandishi {i}", "sports" if i % 2 else "politics") for i in range(1, 7)]
LABELS = ["sports", "politics"]


class Recorder:
    """A fake chain factory: each policy's chain answers by a rule and records its batch calls."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, list[dict[str, Any]]]] = []

    def __call__(self, policy: BridgeLookup) -> Any:
        name = "direct" if isinstance(policy, NoBridge) else "english"
        answers = iter(self.answers[name])

        def answer(request: dict[str, Any]) -> AIMessage:
            choice = next(answers)
            bridge = None if name == "direct" else "eng_Latn"
            meta = {"choice": choice, "lang": request.get("lang"), "bridge": bridge}
            meta["fallback"] = "no_bridge" if bridge is None else None
            return AIMessage(choice, response_metadata={"bridgex": meta})

        chain = RunnableLambda(answer)
        original = chain.batch

        def batch(inputs: list[dict[str, Any]], config: Any = None, **kw: Any) -> list[Any]:
            self.calls.append((name, list(inputs)))
            return original(inputs, config, **kw)

        object.__setattr__(chain, "batch", batch)
        return chain


def test_eval_calls_chain_batch_and_scores_what_it_returns() -> None:
    golds = [i.gold for i in ITEMS]
    direct = ["sports"] * 6  # right on the three odd items
    english = [*golds[:5], "sports"]  # right on five
    fake = Recorder({"direct": direct, "english": english})
    policies: dict[str, BridgeLookup] = {"direct": NoBridge(), "english": FixedBridge("eng_Latn")}
    results = evaluate_policies(fake, policies, ITEMS, lang="swh_Latn", labels=LABELS)
    assert [name for name, _ in fake.calls] == ["direct", "english"]
    for _, inputs in fake.calls:
        assert inputs == [
            {"query": i.text, "task": "classify", "labels": LABELS, "lang": "swh_Latn"}
            for i in ITEMS
        ]
    assert [r.correct for r in results["direct"]] == [
        c == g for c, g in zip(direct, golds, strict=True)
    ]
    summary = summarise_policies(results, resamples=50)
    assert summary["direct"]["score"] == pytest.approx(50.0)
    assert summary["english"]["score"] == pytest.approx(100 * 5 / 6)
    assert summary["english"]["bridged"] == 6 and summary["direct"]["bridged"] == 0
    test = summary["english"]["vs_direct"]
    assert (test["wins"], test["losses"], test["test"]) == (2, 0, "mcnemar-exact")
    assert "vs_direct" not in summary["direct"]


def test_detect_mode_leaves_the_language_to_the_chain() -> None:
    fake = Recorder({"direct": ["sports"] * 6})
    evaluate_policies(
        fake, {"direct": NoBridge()}, ITEMS, lang="swh_Latn", labels=LABELS, detect=True
    )
    assert all("lang" not in request for request in fake.calls[0][1])


def test_a_real_chain_under_two_policies() -> None:
    seen: list[str] = []

    def make(policy: BridgeLookup) -> BridgeXChain:
        def model(prompt: Any) -> str:
            text = prompt if isinstance(prompt, str) else prompt.to_string()
            seen.append(text)
            return " sports" if "Translate" not in text else " texte"

        return BridgeXChain(
            llm=RunnableLambda(model),
            table=policy,
            model="google/gemma-3-270m",
            detector=lambda text: Detection("swh_Latn", 0.9),
            prompt_style="completion",
        )

    policies: dict[str, BridgeLookup] = {"direct": NoBridge(), "french": FixedBridge("fra_Latn")}
    results = evaluate_policies(make, policies, ITEMS[:2], lang="swh_Latn", labels=LABELS)
    assert [r.choice for r in results["direct"]] == ["sports", "sports"]
    assert [r.fallback for r in results["direct"]] == ["no_bridge", "no_bridge"]
    assert [(r.bridge, r.fallback) for r in results["french"]] == [("fra_Latn", None)] * 2
    assert [r.correct for r in results["french"]] == [True, False]  # item 2's gold is politics
    assert any("French" in text for text in seen)  # the bridged route rendered into French


def test_evaluate_policies_refuses_an_empty_setup() -> None:
    chain = BridgeXChain(llm=FakeListLLM(responses=["x"]), model="m")
    with pytest.raises(InvalidOption):
        evaluate_policies(lambda p: chain, {}, ITEMS, lang="swh_Latn", labels=LABELS)
    with pytest.raises(InvalidOption):
        evaluate_policies(lambda p: chain, {"direct": NoBridge()}, ITEMS, lang="x", labels=[])


def test_summary_pairs_items_by_id() -> None:
    right = [ItemResult(str(i), True, "a", "swh_Latn", None, "no_bridge") for i in range(4)]
    wrong = [
        ItemResult(str(i), i == 0, "a", "swh_Latn", "fra_Latn", None) for i in reversed(range(4))
    ]
    out = summarise_policies({"direct": right, "table": wrong}, resamples=20)
    assert (out["table"]["vs_direct"]["wins"], out["table"]["vs_direct"]["losses"]) == (0, 3)
    assert out["table"]["score"] == pytest.approx(25.0)
