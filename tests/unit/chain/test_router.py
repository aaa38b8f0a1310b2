"""The router (chain/router.py): parts built once from plain settings, the steps, sharing."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest
from langchain_core.language_models import FakeListChatModel, FakeListLLM
from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableLambda

from bridgex_chain.chain import BridgeXChain
from bridgex_chain.chain.request import ChainRequest
from bridgex_chain.chain.route import Route
from bridgex_chain.chain.router import Router, RouterSettings, call_kwargs, prompt_request
from bridgex_chain.detect import Detection, DetectionSource
from bridgex_chain.errors import NoBridgeFound
from bridgex_chain.prompting.templates import ModelPrompt, PromptPlan
from bridgex_chain.store.records import Bridge

GEMMA = "google/gemma-3-270m"


class OneRowTable:
    def __init__(self) -> None:
        self.calls = 0

    def best(self, model: str, src: str, trg: str | None = None) -> Bridge:
        self.calls += 1
        if src != "swh_Latn":
            raise NoBridgeFound(f"no row for {src}")
        return Bridge(model, src, trg or src, "fra_Latn", 0.41, 0.03, 1)


def test_model_key_comes_from_the_client_or_the_local_name() -> None:
    class Named(FakeListLLM):
        model_name: str = "mistral"

    assert (
        BridgeXChain(llm=Named(responses=["x"])).router.model_key()
        == "mistralai/Mistral-7B-Instruct-v0.3"
    )
    assert (
        BridgeXChain(llm=FakeListLLM(responses=["x"]), model="my-api-model").router.model_key()
        == "my-api-model"
    )
    assert BridgeXChain(llm="gemma").router.model_key() == GEMMA
    assert Router(RouterSettings(llm=FakeListLLM(responses=["x"]))).model_key() is None


def test_default_construction_loads_nothing() -> None:
    chain = BridgeXChain()
    assert chain.router.model_key() == GEMMA
    assert chain.router.built_parts() == ("model_key",)


def test_each_part_is_built_once_across_threads() -> None:
    built: list[int] = []

    def detector(text: str) -> Detection:
        return Detection("swh_Latn", 0.9)

    router = Router(RouterSettings(detector=detector, table=OneRowTable()))
    original = router._build_detector

    def counted() -> Any:
        built.append(1)
        return original()

    router._detector._build = counted
    threads = [threading.Thread(target=router.detector) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert built == [1]
    assert router.detector() is router.detector()
    assert "detector" in router.built_parts()


def test_a_copy_with_the_same_parts_shares_the_router_and_another_gets_its_own() -> None:
    chat = FakeListChatModel(responses=["ok"])
    chain = BridgeXChain(llm=chat, model="m")
    router = chain.router
    assert chain.with_answer_llm(chat.bind(stop=["x"])).router is router
    assert chain.model_copy(update={"min_confidence": 0.5}).router is router
    other = chain.model_copy(update={"model": "other"})
    assert other.router is not router and other.router.model_key() == "other"
    assert chain.router is router  # the original keeps its own


def test_detect_prefers_the_callers_language_and_reads_the_passage_for_reading() -> None:
    seen: list[str] = []

    def detector(text: str) -> Detection:
        seen.append(text)
        return Detection("ind_Latn", 0.8)

    router = Router(RouterSettings(detector=detector))
    override = router.detect(ChainRequest("Habari", lang="sw"), "chat")
    assert (override.lang, override.source, override.reason) == (
        "swh_Latn",
        DetectionSource.OVERRIDE,
        "explicit",
    )
    assert seen == []
    router.detect(ChainRequest("Which?", fields={"passage": "Teks bacaan."}), "reading")
    router.detect(ChainRequest("Apa kabar?", fields={"passage": "ignored"}), "chat")
    assert seen == ["Teks bacaan.", "Apa kabar?"]


def test_lookup_logs_setup_fallbacks_once_per_language_pair(caplog: Any) -> None:
    table = OneRowTable()
    router = Router(RouterSettings(table=table, model=GEMMA))
    finnish = Detection("fin_Latn", 0.9)
    with caplog.at_level(logging.INFO, logger="bridgex_chain.chain"):
        for _ in range(3):
            assert router.lookup(ChainRequest("Hei"), finnish).fallback == "no_bridge"
    levels = [r.levelno for r in caplog.records if "direct prompting" in r.getMessage()]
    assert levels == [logging.WARNING, logging.INFO, logging.INFO]


def test_lookup_passes_min_confidence_and_the_answer_language() -> None:
    router = Router(RouterSettings(table=OneRowTable(), model=GEMMA))
    weak = router.lookup(ChainRequest("Habari"), Detection("swh_Latn", 0.3), min_confidence=0.5)
    assert weak.fallback == "low_confidence"
    sure = router.lookup(ChainRequest("Habari", answer_language="en"), Detection("swh_Latn", 0.9))
    assert sure.bridged and sure.answer_language == "eng_Latn"


def test_renders_are_cached_and_counted() -> None:
    calls: list[Any] = []

    def model(prompt: Any) -> str:
        calls.append(prompt)
        return "Bonjour"

    router = Router(RouterSettings(llm=RunnableLambda(model)))
    prompt = ModelPrompt("Translate: Habari\nFrench:", stop=("\n",))
    info = {"model_calls": 0, "renders_cached": 0}
    assert router.render(prompt, {}, info) == "Bonjour"
    assert router.render(prompt, {}, info) == "Bonjour"
    assert len(calls) == 1 and info == {"model_calls": 2, "renders_cached": 1}


def plan(choices: tuple[str, ...], content_free: str | None) -> PromptPlan:
    return PromptPlan(
        ModelPrompt("Text: x\nLabel:"), None, (), choices=choices, content_free=content_free
    )


def test_answer_model_scores_choices_when_the_model_can() -> None:
    class Scorer(FakeListLLM):
        def score_choices(
            self, prompt: str, choices: list[str], *, content_free: str | None = None
        ) -> list[float]:
            return [-2.0, -1.0, -1.0]  # a tie goes to the first best

    scorer = Scorer(responses=["x"])
    router = Router(RouterSettings(llm=scorer))
    chooser = router.answer_model(plan(("a", "b", "c"), "Text: N/A\nLabel:"))
    reply = chooser.invoke("Text: x\nLabel:")
    assert isinstance(reply, AIMessage) and reply.content == "b"
    assert reply.response_metadata["choice_method"] == "logprob"
    assert router.answer_model(plan(("a", "b"), None)) is scorer  # no calibration prompt
    assert router.answer_model(plan(("a", "b"), "N/A"), choice_scoring="generate") is scorer
    bound = FakeListLLM(responses=["y"])
    assert router.answer_model(plan((), None), bound) is bound


def test_prompt_request_carries_languages_labels_and_demos() -> None:
    bridge = Bridge(GEMMA, "swh_Latn", "swh_Latn", "fra_Latn", 0.4, None, 1)
    route = Route(Detection("swh_Latn", 0.9), "swh_Latn", GEMMA, bridge)
    req = prompt_request(
        ChainRequest("Timu ilishinda."), "classify", route, style="completion", labels=("a", "b")
    )
    assert (req.src.code, req.bridge.code, req.answer.name) == (  # type: ignore[union-attr]
        "swh_Latn",
        "fra_Latn",
        "Swahili",
    )
    assert req.fields["labels"] == ("a", "b") and req.demos is None
    direct = prompt_request(
        ChainRequest("Habari"), "chat", Route(Detection("unknown", 0.0)), style="chat"
    )
    assert direct.src is None and direct.bridge is None and direct.answer is None


def test_call_kwargs_pass_stop_only_to_language_models() -> None:
    prompt = ModelPrompt("Q:", stop=("User:",))
    assert call_kwargs(FakeListLLM(responses=["x"]), prompt) == {"stop": ["User:"]}
    assert call_kwargs(RunnableLambda(lambda p: "x"), prompt) == {}
    assert call_kwargs(FakeListLLM(responses=["x"]), ModelPrompt("Q:")) == {}


def test_settings_compare_by_value() -> None:
    table = OneRowTable()
    assert RouterSettings(table=table, model="m") == RouterSettings(table=table, model="m")
    assert RouterSettings(table=table) != RouterSettings(table=OneRowTable())
    with pytest.raises(AttributeError):
        RouterSettings().model = "x"  # type: ignore[misc]
