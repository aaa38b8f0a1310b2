"""Bad queries and failing models at request time (BridgeXChain, the local Hugging Face model).

Fallbacks are visible in ``response_metadata["bridgex"]`` and in the log; errors are
BridgeXError subclasses. The bridge table is only ever read: its rows are compared before and
after every test.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseChatModel, FakeListLLM
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import RunnableLambda

from bridgex_chain.chain import BridgeXChain
from bridgex_chain.detect import Detection
from bridgex_chain.errors import InvalidInput, ModelCallError, PromptTooLong, UnknownLanguage
from bridgex_chain.store.table import BridgeTable

Snapshot = Callable[[str], dict[str, list[tuple[Any, ...]]]]
SWAHILI = "Habari ya asubuhi rafiki yangu, unaendeleaje leo? "


@pytest.fixture
def table(seeded_sqlite_url: str, snapshot: Snapshot) -> Iterator[BridgeTable]:
    """The seeded table, checked unchanged after the test."""
    before = snapshot(seeded_sqlite_url)
    with BridgeTable(seeded_sqlite_url) as opened:
        yield opened
    assert snapshot(seeded_sqlite_url) == before


def chain(table: BridgeTable, llm: Any = None, **kwargs: Any) -> BridgeXChain:
    return BridgeXChain(
        llm=llm if llm is not None else FakeListLLM(responses=["sawa"]),
        model="demo/model",
        table=table,
        **{"route_policy": "table", **kwargs},  # the table policy's fallbacks are tested here
    )


def meta(reply: AIMessage) -> dict[str, Any]:
    found: dict[str, Any] = reply.response_metadata["bridgex"]
    return found


# ------------------------------------------------------------------------------ queries
@pytest.mark.parametrize(
    ("query", "reason"),
    [("😀🎉👍🦙", "no-letters"), ("12345 !!! 42", "no-letters")],
    ids=["emoji", "digits"],
)  # empty and whitespace-only queries: test_rel_inputs.py (answered without a model call)
def test_queries_without_language_fall_back_to_direct_prompting(
    query: str, reason: str, table: BridgeTable, caplog: pytest.LogCaptureFixture
) -> None:
    prompts: list[Any] = []
    llm = RunnableLambda(lambda prompt: prompts.append(prompt) or "sawa")
    with caplog.at_level(logging.INFO, logger="bridgex_chain"):
        reply = chain(table, llm).invoke(query)
    assert reply.content == "sawa"
    info = meta(reply)
    assert (info["fallback"], info["bridge"]) == ("unknown_language", None)
    assert reason in info["fallback_detail"]
    assert "direct prompting (unknown_language)" in caplog.text
    assert len(prompts) == 1  # one direct call: no bridge rendering


def test_100k_character_query_is_detected_in_bounded_time_and_bridged(table: BridgeTable) -> None:
    query = (SWAHILI * 2100)[:100_000]
    prompts: list[str] = []
    llm = RunnableLambda(lambda prompt: prompts.append(str(prompt)) or "sawa")
    routed = chain(table, llm)
    started = time.perf_counter()
    route = routed.route(query)  # the real fastText detector reads a bounded prefix
    assert time.perf_counter() - started < 2.0
    assert route.detection.lang in {"swh_Latn", "unknown"}
    reply = routed.invoke({"query": query, "lang": "sw"})
    info = meta(reply)
    assert info["fallback"] is None and info["bridge"] is not None
    assert any(query in p for p in prompts)  # the whole query reached the model, not a cut


def test_unknown_language_code_is_unknown_language_with_a_hint(table: BridgeTable) -> None:
    routed = chain(table)
    for request in ({"query": SWAHILI, "lang": "xx-klingon"},
                    {"query": SWAHILI, "lang": "sw", "answer_language": "zz"}):  # fmt: skip
        with pytest.raises(UnknownLanguage, match=r"ISO 639-1/3 code"):
            routed.invoke(request)
    with pytest.raises(UnknownLanguage):
        table.best("demo/model", "not-a-language")


def test_unsure_language_falls_back_to_direct_prompting(table: BridgeTable) -> None:
    abstains = chain(table, detector=lambda _: Detection("unknown", 0.31, reason="below-threshold"))
    info = meta(abstains.invoke(SWAHILI))
    assert (info["fallback"], info["bridge"]) == ("unknown_language", None)
    assert "below-threshold" in info["fallback_detail"]
    unsure = chain(table, detector=lambda _: Detection("swh_Latn", 0.4), min_confidence=0.6)
    info = meta(unsure.invoke(SWAHILI))
    assert (info["fallback"], info["bridge"]) == ("low_confidence", None)
    assert "0.40 < min_confidence 0.60" in info["fallback_detail"]


def test_language_without_a_table_row_falls_back_and_warns_once(
    table: BridgeTable, caplog: pytest.LogCaptureFixture
) -> None:
    routed = chain(table)
    with caplog.at_level(logging.WARNING, logger="bridgex_chain"):
        first = meta(routed.invoke({"query": "Hyvää huomenta", "lang": "fi"}))
        second = meta(routed.invoke({"query": "Mitä kuuluu?", "lang": "fi"}))
    for info in (first, second):
        assert (info["fallback"], info["bridge"]) == ("no_bridge", None)
        assert "bridgex-chain build-table --model demo/model" in info["fallback_detail"]
    warnings = [r for r in caplog.records if "no_bridge" in r.getMessage()]
    assert len(warnings) == 1


@pytest.mark.parametrize(
    "bad",
    [{"query": None}, {"query": 5}, {"text": "Habari"}, 42, [], [AIMessage("only the AI")]],
    ids=["query-none", "query-int", "no-query-key", "int", "empty-list", "no-human-message"],
)
def test_input_without_a_query_is_invalid_input(bad: Any, table: BridgeTable) -> None:
    with pytest.raises(InvalidInput, match=r"query|human message"):
        chain(table).invoke(bad)


# ------------------------------------------------------------------------------ local model
@pytest.fixture
def short_context_llm(make_tiny_lm: Any) -> Any:
    from bridgex_chain.models.hf import HFCore
    from bridgex_chain.models.langchain import LocalHFLLM

    model, tokenizer, _ = make_tiny_lm("llama", max_position_embeddings=64)
    return LocalHFLLM(core=HFCore(model, tokenizer, "tiny/llama"), max_new_tokens=8)


def test_prompt_longer_than_the_context_is_prompt_too_long(
    short_context_llm: Any, table: BridgeTable
) -> None:
    long_prompt = SWAHILI * 40  # far more than 64 tokens
    with pytest.raises(PromptTooLong, match=r"64.*shorten"):
        short_context_llm.invoke(long_prompt)
    with pytest.raises(PromptTooLong):
        "".join(short_context_llm.stream(long_prompt))
    with pytest.raises(PromptTooLong):
        chain(table, short_context_llm).invoke({"query": (SWAHILI * 2100)[:100_000], "lang": "sw"})


def _fail_in_stream_after(model: Any, steps: int) -> None:
    """Make the model raise after ``steps`` forward passes of a streaming generation."""
    real, calls = model.forward, [0]

    def forward(*args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name == "bridgex-generate":
            calls[0] += 1
            if calls[0] > steps:
                raise RuntimeError("CUDA error: device lost (simulated)")
        return real(*args, **kwargs)

    model.forward = forward


def test_local_model_raising_mid_stream_is_model_call_error(
    make_tiny_lm: Any, table: BridgeTable
) -> None:
    from bridgex_chain.models.hf import HFCore
    from bridgex_chain.models.langchain import LocalHFLLM

    model, tokenizer, _ = make_tiny_lm("llama", num_hidden_layers=2)  # own copy: patched below
    _fail_in_stream_after(model, 4)
    llm = LocalHFLLM(core=HFCore(model, tokenizer, "tiny/llama"), max_new_tokens=20)
    pieces: list[str] = []
    with pytest.raises(ModelCallError, match=r"tiny/llama failed to generate: CUDA error"):
        for piece in llm.stream("Habari"):
            pieces.append(piece)
    assert pieces, "the failure came before any output"
    chunks: list[Any] = []
    with pytest.raises(ModelCallError):  # rendering is not streamed; the answer is
        for chunk in chain(table, llm).stream({"query": SWAHILI, "lang": "sw"}):
            chunks.append(chunk)
    assert chunks and "bridgex" in chunks[0].response_metadata  # the routing came first


class _Flaky(BaseChatModel):
    """A provider whose stream breaks after two chunks."""

    @property
    def _llm_type(self) -> str:
        return "flaky"

    def _generate(self, messages: list[BaseMessage], stop: Any = None, **kw: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage("rendered"))])

    def _stream(
        self, messages: list[BaseMessage], stop: Any = None, **kw: Any
    ) -> Iterator[ChatGenerationChunk]:
        yield ChatGenerationChunk(message=AIMessageChunk(content="Nzuri "))
        yield ChatGenerationChunk(message=AIMessageChunk(content="sana"))
        raise ConnectionResetError("the provider closed the stream")


class _Errors(BaseCallbackHandler):
    def __init__(self) -> None:
        self.errors: list[BaseException] = []

    def on_chain_error(self, error: BaseException, **kwargs: Any) -> None:
        self.errors.append(error)


def test_external_model_raising_mid_stream_propagates_its_own_error(table: BridgeTable) -> None:
    handler = _Errors()
    chunks: list[Any] = []
    with pytest.raises(ConnectionResetError, match=r"closed the stream"):
        for chunk in chain(table, _Flaky()).stream(
            {"query": SWAHILI, "lang": "sw"}, config={"callbacks": [handler]}
        ):
            chunks.append(chunk)
    assert [c.content for c in chunks] == ["", "Nzuri ", "sana"]
    assert any(isinstance(e, ConnectionResetError) for e in handler.errors)
