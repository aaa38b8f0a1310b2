"""BridgeXChain with fake models: exact prompts, fallbacks, metadata, logging and callbacks."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import FakeListChatModel, FakeListLLM
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.runnables import RunnableLambda
from pydantic import ValidationError

from bridgex_chain.chain import BridgeXChain
from bridgex_chain.detect import Detection
from bridgex_chain.errors import BridgeXError
from bridgex_chain.prompting.demos import Demo
from bridgex_chain.store.table import BridgeTable

GEMMA = "google/gemma-3-270m"


@pytest.fixture
def table(make_bridge_db: Callable[..., str]) -> BridgeTable:
    """A table with realistic aggregate scores for the embedded model."""
    scores = {
        ("swh_Latn", "swh_Latn"): {"fra_Latn": 0.412, "eng_Latn": 0.377},
        ("swh_Latn", "eng_Latn"): {"fra_Latn": 0.398, "eng_Latn": 0.352},
        ("ind_Latn", "ind_Latn"): {"ind_Latn": 0.5, "eng_Latn": 0.3},
    }
    return BridgeTable(
        make_bridge_db(
            GEMMA,
            scores,
            languages=["swh_Latn", "ind_Latn", "eng_Latn", "fra_Latn"],
            bridges=["eng_Latn", "fra_Latn", "ind_Latn"],
            params={"layers": [6, 11]},
        )
    )


def detector(lang: str, confidence: float = 0.93) -> Any:
    return lambda text: Detection(lang, confidence, ((lang, confidence),), "fake")


class Recorder(BaseCallbackHandler):
    """Records chain and model runs with their parents, tags and prompts."""

    def __init__(self) -> None:
        self.runs: dict[UUID, dict[str, Any]] = {}
        self.prompts: list[Any] = []

    def _add(self, kind: str, run_id: UUID, parent: UUID | None, **extra: Any) -> None:
        self.runs[run_id] = {"kind": kind, "parent": parent, "status": "started", **extra}

    def on_chain_start(
        self,
        serialized: Any,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kw: Any,
    ) -> None:
        self._add("chain", run_id, parent_run_id, name=kw.get("name"), tags=kw.get("tags"))

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kw: Any) -> None:
        self.runs[run_id].update(status="ended", outputs=outputs)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kw: Any) -> None:
        self.runs[run_id].update(status="error", error=error)

    def on_llm_start(
        self,
        serialized: Any,
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kw: Any,
    ) -> None:
        self._add("llm", run_id, parent_run_id, tags=kw.get("tags"))
        self.prompts.append(prompts[0])

    def on_chat_model_start(
        self,
        serialized: Any,
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kw: Any,
    ) -> None:
        self._add("llm", run_id, parent_run_id, tags=kw.get("tags"))
        self.prompts.append([(m.type, m.text) for m in messages[0]])

    def on_llm_end(self, response: Any, *, run_id: UUID, **kw: Any) -> None:
        self.runs[run_id]["status"] = "ended"

    def named(self, name: str) -> dict[str, Any]:
        return next(r for r in self.runs.values() if r.get("name") == name)

    def id_of(self, name: str) -> UUID:
        return next(i for i, r in self.runs.items() if r.get("name") == name)


def completion_chain(table: BridgeTable, responses: list[str], **kw: Any) -> BridgeXChain:
    params: dict[str, Any] = {"detector": detector("swh_Latn"), "model": "gemma-3-270m"}
    params.update(kw)
    return BridgeXChain(
        llm=FakeListLLM(responses=responses), table=table, route_policy="table", **params
    )


# --------------------------------------------------------------------------- bridged


def test_bridged_chat_completion_prompts_output_and_metadata(table: BridgeTable) -> None:
    rec = Recorder()
    chain = completion_chain(table, [" Comment vas-tu ?\nSwahili: x", " Nzuri sana.\nUser: hi"])
    reply = chain.invoke("Habari yako?", {"callbacks": [rec]})
    assert rec.prompts == [
        "Translate the following text from Swahili into French.\n\nSwahili: Habari yako?\nFrench:",
        "The following is a conversation between a user and a helpful assistant. "
        "The assistant replies in Swahili.\n\n"
        "User (Swahili): Habari yako?\nUser (French): Comment vas-tu ?\nAssistant (Swahili):",
    ]
    assert isinstance(reply, AIMessage)
    assert reply.content == "Nzuri sana."
    meta = reply.response_metadata["bridgex"]
    assert meta == {
        "task": "chat",
        "prompt_style": "completion",
        "lang": "swh_Latn",
        "lang_name": "Swahili",
        "confidence": 0.93,
        "candidates": [["swh_Latn", 0.93]],
        "detection_source": "fake",
        "detection_reason": None,
        "answer_language": "swh_Latn",
        "answer_language_name": "Swahili",
        "model": GEMMA,
        "bridge": "fra_Latn",
        "bridge_tried": None,
        "bridge_name": "French",
        "bridge_via": None,
        "score": pytest.approx(0.412),
        "margin": pytest.approx(0.035),
        "score_low": None,  # the fixture's table has no bootstrap figures
        "score_high": None,
        "win_rate": None,
        "run_id": 1,
        "route_rule": "table",
        "fallback": None,
        "fallback_detail": None,
        "evidence": None,  # route_policy="table": no evidence decision
        "rendering": "Comment vas-tu ?",
        "demos": [],
        "model_calls": 2,
        "renders_cached": 0,
    }


def test_chat_model_gets_messages_and_the_answer_language_pair(table: BridgeTable) -> None:
    rec = Recorder()
    llm = FakeListChatModel(responses=["Comment vas-tu ?", "I am fine."])
    chain = BridgeXChain(
        llm=llm, table=table, route_policy="table", detector=detector("swh_Latn"), model=GEMMA
    )
    reply = chain.invoke({"query": "Habari yako?", "answer_language": "en"}, {"callbacks": [rec]})
    assert rec.prompts[1] == [
        (
            "system",
            "Reply in English. The user's last message is followed by its French "
            "translation to help you understand it.",
        ),
        ("human", "Habari yako?\n\n(French: Comment vas-tu ?)"),
    ]
    meta = reply.response_metadata["bridgex"]
    assert (meta["answer_language"], meta["bridge"], meta["score"]) == (
        "eng_Latn",
        "fra_Latn",
        0.398,
    )
    assert meta["prompt_style"] == "chat"
    assert reply.content == "I am fine."


def test_default_detector_is_fasttext_and_a_language_hint_skips_it(table: BridgeTable) -> None:
    chain = completion_chain(table, [" Comment ?", " Nzuri."], detector=None)
    route = chain.route("Ninataka kujua hali ya hewa ya kesho katika mji wa Mombasa.")
    assert (route.detection.lang, route.detection.source, route.bridged) == (
        "swh_Latn",
        "fasttext",
        True,
    )

    def never(text: str) -> Detection:
        raise AssertionError("the detector must not run when lang is given")

    hinted = completion_chain(table, [" Comment ?", " Nzuri."], detector=never)
    meta = hinted.invoke({"query": "ok", "lang": "sw"}).response_metadata["bridgex"]
    assert (meta["lang"], meta["detection_source"], meta["detection_reason"]) == (
        "swh_Latn",
        "override",
        "explicit",
    )
    assert meta["bridge"] == "fra_Latn"


def test_demonstrations_from_a_pool_reach_the_rendering_prompt(table: BridgeTable) -> None:
    pool = [
        Demo("d1", {"sw": "Habari za asubuhi", "fr": "Bonjour"}),
        Demo("d2", {"sw": "Bunge lilipitisha sheria", "fr": "Le parlement a adopté la loi"}),
    ]
    rec = Recorder()
    chain = completion_chain(table, [" Comment ?", " Nzuri."], demos=pool, num_demos=1)
    reply = chain.invoke("Habari za jioni?", {"callbacks": [rec]})
    assert rec.prompts[0] == (
        "Translate the following text from Swahili into French.\n\n"
        "Swahili: Habari za asubuhi\nFrench: Bonjour\n\nSwahili: Habari za jioni?\nFrench:"
    )
    assert reply.response_metadata["bridgex"]["demos"] == ["d1"]


def test_classify_uses_pool_labels_and_returns_the_label(table: BridgeTable) -> None:
    pool = [
        Demo("d1", {"sw": "Timu ilishinda", "fr": "L'équipe a gagné"}, "sports"),
        Demo("d2", {"sw": "Bunge jipya", "fr": "Un nouveau parlement"}, "politics"),
    ]
    rec = Recorder()
    chain = completion_chain(
        table, [" Notre équipe a gagné", " Sports\n"], demos=pool, num_demos=1, task="classify"
    )
    reply = chain.invoke("Timu yetu ilishinda jana", {"callbacks": [rec]})
    assert rec.prompts[1] == (
        "Classify each text into one of these labels: politics, sports.\n\n"
        "French: L'équipe a gagné\nLabel: sports\n\n"
        "Swahili: Timu yetu ilishinda jana\nFrench: Notre équipe a gagné\nLabel:"
    )
    meta = reply.response_metadata["bridgex"]
    assert reply.content == "sports"
    assert (meta["choice"], meta["choice_index"], meta["raw_answer"]) == ("sports", 1, "Sports")


def test_reading_detects_on_the_passage_and_returns_the_option(table: BridgeTable) -> None:
    seen: list[str] = []

    def spy(text: str) -> Detection:
        seen.append(text)
        return Detection("swh_Latn", 0.9)

    chain = completion_chain(table, [" L'équipe a gagné.", " B"], detector=spy, task="reading")
    reply = chain.invoke(
        {"query": "Nani?", "passage": "Timu ilishinda.", "options": ["Bunge", "Timu"]}
    )
    assert seen == ["Timu ilishinda."]
    assert reply.content == "Timu"
    assert reply.response_metadata["bridgex"]["choice_index"] == 1


def test_unparsed_choice_keeps_the_text_and_logs(table: BridgeTable, caplog: Any) -> None:
    chain = completion_chain(table, [" x", " weather"], task="classify", labels=("sports",))
    with caplog.at_level(logging.WARNING, logger="bridgex_chain.chain"):
        reply = chain.invoke("Timu yetu ilishinda jana")
    assert reply.content == "weather"
    assert reply.response_metadata["bridgex"]["choice"] is None
    assert "matches none of the choices" in caplog.text


def test_renderings_are_cached_per_chain(table: BridgeTable) -> None:
    chain = completion_chain(table, [" Comment ?", " Nzuri.", " Nzuri tena."])
    chain.invoke("Habari yako?")
    meta = chain.invoke("Habari yako?").response_metadata["bridgex"]
    assert (meta["model_calls"], meta["renders_cached"], meta["rendering"]) == (2, 1, "Comment ?")


# --------------------------------------------------------------------------- fallbacks


def _fallback_case(
    chain: BridgeXChain, caplog: Any, query: str = "Habari yako?"
) -> tuple[Any, Recorder]:
    rec = Recorder()
    with caplog.at_level(logging.INFO, logger="bridgex_chain.chain"):
        reply = chain.invoke(query, {"callbacks": [rec]})
    return reply, rec


DIRECT_SW = (
    "The following is a conversation between a user and a helpful assistant. "
    "The assistant replies in Swahili.\n\nUser: Habari yako?\nAssistant (Swahili):"
)


def test_unknown_language_goes_direct(table: BridgeTable, caplog: Any) -> None:
    unknown = lambda text: Detection("unknown", 0.2, reason="too-short")  # noqa: E731
    reply, rec = _fallback_case(completion_chain(table, [" Sawa."], detector=unknown), caplog)
    assert rec.prompts == [
        "The following is a conversation between a user and a helpful assistant.\n\n"
        "User: Habari yako?\nAssistant:"
    ]
    meta = reply.response_metadata["bridgex"]
    assert (meta["fallback"], meta["lang_name"], meta["bridge"]) == ("unknown_language", None, None)
    assert meta["fallback_detail"] == "the detector abstained (too-short)"
    assert "direct prompting (unknown_language)" in caplog.text


def test_low_confidence_goes_direct(table: BridgeTable, caplog: Any) -> None:
    chain = completion_chain(
        table, [" Sawa."], detector=detector("swh_Latn", 0.4), min_confidence=0.6
    )
    reply, rec = _fallback_case(chain, caplog)
    assert rec.prompts == [DIRECT_SW]
    assert reply.response_metadata["bridgex"]["fallback"] == "low_confidence"
    assert "0.40 < min_confidence 0.60" in reply.response_metadata["bridgex"]["fallback_detail"]


def test_no_table_row_goes_direct_with_a_warning(table: BridgeTable, caplog: Any) -> None:
    chain = completion_chain(table, [" Sawa."], detector=detector("hau_Latn"))
    reply, rec = _fallback_case(chain, caplog, "Sannu, yaya kake?")
    meta = reply.response_metadata["bridgex"]
    assert meta["fallback"] == "no_bridge" and "hau_Latn" in meta["fallback_detail"]
    assert "replies in Hausa" in rec.prompts[0] and len(rec.prompts) == 1
    assert any(r.levelno == logging.WARNING and "no_bridge" in r.message for r in caplog.records)


def test_bridge_equal_to_query_language_goes_direct(table: BridgeTable, caplog: Any) -> None:
    chain = completion_chain(table, [" Baik."], detector=detector("ind_Latn"))
    reply, rec = _fallback_case(chain, caplog, "Apa kabar?")
    meta = reply.response_metadata["bridgex"]
    assert meta["fallback"] == "bridge_is_query_language" and meta["bridge"] is None
    assert len(rec.prompts) == 1


def test_language_without_entry_uses_the_bridge_of_a_close_language(
    table: BridgeTable, caplog: Any
) -> None:
    # Malay has no entry; Indonesian, its close language, has one (best bridge: Indonesian).
    chain = completion_chain(table, [" Apa khabar?\n", " Baik."], detector=detector("zsm_Latn"))
    reply, rec = _fallback_case(chain, caplog, "Apa khabar?")
    meta = reply.response_metadata["bridgex"]
    assert (meta["lang"], meta["fallback"]) == ("zsm_Latn", None)
    assert (meta["bridge"], meta["bridge_via"]) == ("ind_Latn", "ind_Latn")
    assert len(rec.prompts) == 2  # rendered into the bridge, then answered
    assert "no entry for zsm_Latn; bridging like ind_Latn" in caplog.text
    direct = completion_chain(table, [" Sawa."], detector=detector("swh_Latn"))
    assert direct.invoke("Habari?").response_metadata["bridgex"]["bridge_via"] is None
    # Minangkabau is close to Malay, which has no entry either: Indonesian is one step further.
    chain = completion_chain(table, [" Apo kaba?\n", " Baik."], detector=detector("min_Latn"))
    meta = chain.invoke("Apo kaba?").response_metadata["bridgex"]
    assert (meta["lang"], meta["bridge"]) == ("min_Latn", "ind_Latn")
    assert meta["bridge_via"] == "ind_Latn"
    # Amharic has no close language with an entry: direct, as before.
    chain = completion_chain(table, [" Selam."], detector=detector("amh_Ethi"))
    assert chain.invoke("ሰላም").response_metadata["bridgex"]["fallback"] == "no_bridge"


def test_unnamed_external_model_goes_direct(table: BridgeTable, caplog: Any) -> None:
    chain = BridgeXChain(
        llm=FakeListLLM(responses=[" Sawa."]),
        table=table,
        route_policy="table",
        detector=detector("swh_Latn"),
    )
    reply, rec = _fallback_case(chain, caplog)
    assert reply.response_metadata["bridgex"]["fallback"] == "no_model_key"
    assert rec.prompts == [DIRECT_SW]


def test_empty_rendering_goes_direct(table: BridgeTable, caplog: Any) -> None:
    reply, rec = _fallback_case(completion_chain(table, ["\n", " Sawa."]), caplog)
    meta = reply.response_metadata["bridgex"]
    assert (meta["fallback"], meta["bridge"], meta["bridge_tried"], meta["rendering"]) == (
        "empty_rendering",
        None,
        "fra_Latn",
        "",
    )
    assert (meta["route_rule"], meta["bridge_name"], meta["score"]) == ("direct", None, None)
    assert rec.prompts[1] == DIRECT_SW


# --------------------------------------------------------------------------- callbacks


def test_callbacks_root_run_with_step_children(table: BridgeTable) -> None:
    rec = Recorder()
    chain = completion_chain(table, [" Comment ?", " Nzuri."])
    reply = chain.invoke("Habari yako?", {"callbacks": [rec], "tags": ["app"], "run_name": "ask"})
    root = rec.id_of("ask")
    assert rec.runs[root]["parent"] is None and rec.runs[root]["outputs"] == reply
    for step in ("detect", "lookup", "rewrite"):
        assert rec.named(step)["parent"] == root and rec.named(step)["status"] == "ended"
    llm_runs = [r for r in rec.runs.values() if r["kind"] == "llm"]
    render, answer = llm_runs
    assert render["parent"] == rec.id_of("rewrite") and "bridgex:render" in render["tags"]
    assert answer["parent"] == root and "bridgex:answer" in answer["tags"]
    assert "app" in answer["tags"]
    assert rec.named("lookup")["outputs"]["bridge"] == "fra_Latn"
    assert rec.named("rewrite")["outputs"]["rendering"] == "Comment ?"


def test_callbacks_record_errors_and_reraise(table: BridgeTable) -> None:
    def broken(prompt: Any) -> str:
        raise RuntimeError("model down")

    rec = Recorder()
    chain = BridgeXChain(
        llm=RunnableLambda(broken),
        table=table,
        route_policy="table",
        detector=detector("swh_Latn"),
        model=GEMMA,
    )
    with pytest.raises(RuntimeError, match="model down"):
        chain.invoke("Habari?", {"callbacks": [rec]})
    assert rec.named("BridgeXChain")["status"] == "error"
    assert rec.named("rewrite")["status"] == "error"
    assert rec.named("lookup")["status"] == "ended"


def test_input_errors() -> None:
    chain = BridgeXChain(llm=FakeListLLM(responses=["x"]), detector=detector("swh_Latn"))
    with pytest.raises(BridgeXError, match="needs a 'query'"):
        chain.invoke({"text": "Habari"})
    with pytest.raises(BridgeXError, match="no human message"):
        chain.invoke([AIMessage("hello")])
    with pytest.raises(BridgeXError, match="cannot take a int"):
        chain.invoke(42)
    with pytest.raises(ValidationError, match="Unknown task"):
        BridgeXChain(task="summarise")


def test_call_keywords_reach_the_request(table: BridgeTable) -> None:
    rec = Recorder()
    chain = completion_chain(table, [" Comment ?", " Nzuri."], detector=detector("fin_Latn"))
    reply = chain.invoke("Habari yako?", {"callbacks": [rec]}, lang="sw")
    assert reply.response_metadata["bridgex"]["lang"] == "swh_Latn"
    assert rec.named("detect")["outputs"]["source"] == "override"
    assert chain.route("Habari yako?", lang="sw").detection.source == "override"
    with pytest.raises(BridgeXError, match="does not take the keyword argument"):
        chain.invoke("Habari yako?", callbacks=[])


def test_empty_query_is_answered_without_loading_anything() -> None:
    chain = BridgeXChain(model="gemma-3-270m")  # the embedded model: it would load on use
    reply = chain.invoke("  \n")
    meta = reply.response_metadata["bridgex"]
    assert reply.content == "" and meta["fallback"] == "empty_input"
    assert (meta["model"], meta["model_calls"], meta["prompt_style"]) == (GEMMA, 0, None)
    assert (meta["detection_source"], meta["detection_reason"]) == ("none", "empty")
    assert chain.router.built_parts() == ("model_key",)


def test_history_in_message_list_input(table: BridgeTable) -> None:
    rec = Recorder()
    chain = completion_chain(table, [" Comment ?", " Nzuri."])
    chain.invoke(
        [HumanMessage("Jambo"), AIMessage("Jambo!"), HumanMessage("Habari yako?")],
        {"callbacks": [rec]},
    )
    assert rec.prompts[1].endswith(
        "User: Jambo\nAssistant: Jambo!\nUser (Swahili): Habari yako?\nUser (French): Comment ?\n"
        "Assistant (Swahili):"
    )
