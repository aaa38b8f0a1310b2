"""BridgeXChain's Runnable protocol: inputs, batch, async, streaming, message history, as_tool."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler, CallbackManagerForLLMRun
from langchain_core.chat_history import InMemoryChatMessageHistory
from langchain_core.language_models import FakeStreamingListLLM, GenericFakeChatModel
from langchain_core.language_models.llms import LLM
from langchain_core.messages import AIMessage, AIMessageChunk, ToolMessage
from langchain_core.outputs import GenerationChunk
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langchain_core.runnables.history import RunnableWithMessageHistory

from bridgex_chain.chain import BridgeXChain
from bridgex_chain.chain.policies import FixedBridge
from bridgex_chain.detect import Detection
from bridgex_chain.store.table import BridgeTable

GEMMA = "google/gemma-3-270m"
# RunnableWithMessageHistory and InMemoryChatMessageHistory are deprecated in favour of LangGraph
# persistence; they are still langchain-core's history wrapper, which the chain must fit.
DEPRECATED_HISTORY = pytest.mark.filterwarnings("ignore:.*deprecated:DeprecationWarning")


@pytest.fixture
def table(make_bridge_db: Callable[..., str]) -> BridgeTable:
    scores = {
        ("swh_Latn", "swh_Latn"): {"fra_Latn": 0.41, "eng_Latn": 0.38},
        ("ind_Latn", "ind_Latn"): {"eng_Latn": 0.33, "fra_Latn": 0.31},
    }
    return BridgeTable(make_bridge_db(GEMMA, scores))


def by_keyword(text: str) -> Detection:
    """Swahili if the text says 'habari', Indonesian if 'apa', else unknown."""
    low = text.lower()
    lang = "swh_Latn" if "habari" in low else "ind_Latn" if "apa" in low else "unknown"
    return Detection(lang, 0.9 if lang != "unknown" else 0.1, reason=None)


def echo(prompt: Any) -> str:
    """A deterministic completion 'model': renders as <text>, answers with the query it sees."""
    text = prompt if isinstance(prompt, str) else prompt.to_string()
    last = text.split("\n")[-2]
    if text.startswith("Translate"):
        return f" <{last.split(': ', 1)[1]}>"
    return f" jibu kwa: {last}\nUser: more"


def echo_chain(table: BridgeTable, **kw: Any) -> BridgeXChain:
    return BridgeXChain(
        llm=RunnableLambda(echo),
        table=table,
        route_policy="table",
        detector=by_keyword,
        model=GEMMA,
        **kw,
    )


# --------------------------------------------------------------------------- batch and async


def test_batch_and_async_agree_with_invoke(table: BridgeTable) -> None:
    inputs = ["Habari yako?", "Apa kabar?", "ok"]
    chain = echo_chain(table)
    expected = [chain.invoke(i) for i in inputs]
    assert [m.content for m in expected] == [
        "jibu kwa: User (French): <Habari yako?>",
        "jibu kwa: User (English): <Apa kabar?>",
        "jibu kwa: User: ok",
    ]
    assert [m.response_metadata["bridgex"]["bridge"] for m in expected] == [
        "fra_Latn",
        "eng_Latn",
        None,
    ]
    fresh = echo_chain(table)  # no rendering cache shared with the runs above
    batched = fresh.batch(inputs, {"max_concurrency": 3})
    assert [m.content for m in batched] == [m.content for m in expected]
    assert [m.response_metadata for m in batched] == [m.response_metadata for m in expected]

    async def run_async() -> tuple[Any, Any]:
        return await echo_chain(table).ainvoke(inputs[0]), await echo_chain(table).abatch(inputs)

    single, many = asyncio.run(run_async())
    assert single.content == expected[0].content
    assert [m.response_metadata for m in many] == [m.response_metadata for m in expected]


def test_batch_returns_exceptions_when_asked(table: BridgeTable) -> None:
    chain = echo_chain(table, task="translate")
    out = chain.batch(
        ["Habari yako?", {"query": "Habari yako?", "answer_language": "en"}], return_exceptions=True
    )
    assert isinstance(out[0], Exception) and "answer_language" in str(out[0])
    assert isinstance(out[1], AIMessage)


# --------------------------------------------------------------------------- streaming


def test_stream_yields_routing_then_model_chunks_in_order(table: BridgeTable) -> None:
    def model() -> GenericFakeChatModel:
        return GenericFakeChatModel(
            messages=iter([AIMessage("Comment vas-tu ?"), AIMessage("Nzuri sana rafiki")])
        )

    stream_chain = BridgeXChain(
        llm=model(), table=table, route_policy="table", detector=by_keyword, model=GEMMA
    )
    chunks = list(stream_chain.stream("Habari yako?"))
    head, rest = chunks[0], chunks[1:]
    assert head.content == "" and head.response_metadata["bridgex"]["bridge"] == "fra_Latn"
    assert head.response_metadata["bridgex"]["rendering"] == "Comment vas-tu ?"
    assert [c.content for c in rest] == ["Nzuri", " ", "sana", " ", "rafiki"]
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    invoked = BridgeXChain(
        llm=model(), table=table, route_policy="table", detector=by_keyword, model=GEMMA
    ).invoke("Habari yako?")
    merged = chunks[0]
    for c in rest:
        merged += c
    assert merged.content == invoked.content
    assert merged.response_metadata["bridgex"] == invoked.response_metadata["bridgex"]


def test_stream_cuts_completion_at_stop_strings(table: BridgeTable) -> None:
    responses = [" Comment ?", " Nzuri sana.\nUser: more"]
    chain = BridgeXChain(
        llm=FakeStreamingListLLM(responses=responses),
        table=table,
        route_policy="table",
        detector=by_keyword,
        model=GEMMA,
    )
    chunks = list(chain.stream("Habari yako?"))
    assert len(chunks) > 3  # FakeStreamingListLLM streams character by character
    assert "".join(str(c.content) for c in chunks) == "Nzuri sana."


class ScriptedLLM(LLM):
    """Streams fixed pieces and logs when each one is produced."""

    pieces: list[str]
    log: list[str]

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _call(self, prompt: str, stop: list[str] | None = None, **kw: Any) -> str:
        return " <rendering>"

    def _stream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kw: Any,
    ) -> Iterator[GenerationChunk]:
        for piece in self.pieces:
            self.log.append(f"produced {piece.strip()}")
            yield GenerationChunk(text=piece)


def test_chunks_reach_the_caller_as_the_model_writes_them(table: BridgeTable) -> None:
    llm = ScriptedLLM(pieces=[" one", " two", " three"], log=[])
    log = llm.log  # pydantic copied the list: log through the model's own
    chain = BridgeXChain(
        llm=llm, table=table, route_policy="table", detector=by_keyword, model=GEMMA
    )
    for chunk in chain.stream("Habari yako?"):
        if chunk.content:
            log.append(f"got {str(chunk.content).strip()}")
    assert log == [
        "produced one",
        "got one",
        "produced two",
        "got two",
        "produced three",
        "got three",
    ]


def test_astream_matches_stream(table: BridgeTable) -> None:
    sync = [c.content for c in echo_chain(table).stream("Habari yako?")]

    async def collect() -> list[Any]:
        return [c.content async for c in echo_chain(table).astream("Habari yako?")]

    assert asyncio.run(collect()) == sync
    assert "".join(map(str, sync)) == "jibu kwa: User (French): <Habari yako?>"


def test_stream_of_a_choice_task_yields_the_parsed_label_once(table: BridgeTable) -> None:
    def run_chain() -> BridgeXChain:
        return BridgeXChain(
            llm=FakeStreamingListLLM(responses=[" Timu yetu", " Sports\n"]),
            table=table,
            route_policy="table",
            detector=by_keyword,
            model=GEMMA,
            task="classify",
            labels=("politics", "sports"),
        )

    chunks = list(run_chain().stream("Habari za timu yetu"))
    assert [c.content for c in chunks] == ["", "sports"]
    merged = chunks[0] + chunks[1]
    invoked = run_chain().invoke("Habari za timu yetu")
    assert merged.response_metadata["bridgex"] == invoked.response_metadata["bridgex"]
    assert merged.response_metadata["bridgex"]["choice"] == "sports"


def test_stream_reports_the_run_to_callbacks(table: BridgeTable) -> None:
    class Ends(BaseCallbackHandler):
        def __init__(self) -> None:
            self.outputs: list[Any] = []

        def on_chain_end(self, outputs: Any, *, parent_run_id: Any = None, **kw: Any) -> None:
            if parent_run_id is None:
                self.outputs.append(outputs)

    handler = Ends()
    list(echo_chain(table).stream("Habari yako?", {"callbacks": [handler]}))
    assert handler.outputs[0].content == "jibu kwa: User (French): <Habari yako?>"


class RunTree(BaseCallbackHandler):
    """Records every chain and chat-model run's name and parent."""

    def __init__(self) -> None:
        self.parents: dict[Any, Any] = {}
        self.names: dict[Any, str] = {}

    def on_chain_start(
        self, serialized: Any, inputs: Any, *, run_id: Any, parent_run_id: Any = None, **kw: Any
    ) -> None:
        self.parents[run_id], self.names[run_id] = parent_run_id, str(kw.get("name"))

    def on_chat_model_start(
        self, serialized: Any, messages: Any, *, run_id: Any, parent_run_id: Any = None, **kw: Any
    ) -> None:
        tags = [t for t in kw.get("tags") or [] if t.startswith("bridgex:")]
        self.parents[run_id], self.names[run_id] = parent_run_id, ",".join(tags)

    def parent_of(self, name: str) -> set[str]:
        return {self.names[self.parents[r]] for r, n in self.names.items() if n == name}


@pytest.mark.parametrize("method", ["invoke", "stream", "ainvoke", "astream", "batch"])
def test_a_bound_model_in_a_sequence_nests_under_the_chain(method: str) -> None:
    # a RunnableBinding merges LangChain's ambient config (the enclosing sequence's) into the one
    # it is called with; the chain's calls must still nest under the chain's own runs
    chat = GenericFakeChatModel(messages=iter(["Habari", "Jibu", "Habari", "Jibu"]))
    chain = BridgeXChain(
        llm=chat.bind(stop=["zzz"]),
        table=FixedBridge("fra_Latn"),
        route_policy="table",
        detector=lambda text: Detection("swh_Latn", 0.9),
        model=GEMMA,
    )
    pipeline = RunnableLambda(lambda x: x, name="before") | chain
    runs = RunTree()
    config: RunnableConfig = {"callbacks": [runs]}
    if method == "invoke":
        pipeline.invoke("Habari yako?", config)
    elif method == "stream":
        list(pipeline.stream("Habari yako?", config))
    elif method == "batch":
        pipeline.batch(["Habari yako?", "Habari za asubuhi?"], config)
    elif method == "ainvoke":
        asyncio.run(pipeline.ainvoke("Habari yako?", config))
    else:

        async def consume() -> list[Any]:
            return [chunk async for chunk in pipeline.astream("Habari yako?", config)]

        asyncio.run(consume())
    assert runs.parent_of("bridgex:render") == {"rewrite"}
    assert runs.parent_of("bridgex:answer") == {"BridgeXChain"}
    assert runs.parent_of("BridgeXChain") == {"RunnableSequence"}


# --------------------------------------------------------------------------- history and tools


@DEPRECATED_HISTORY
def test_runnable_with_message_history_list_input(table: BridgeTable) -> None:
    store: dict[str, InMemoryChatMessageHistory] = {}
    chat = RunnableWithMessageHistory(
        echo_chain(table), lambda sid: store.setdefault(sid, InMemoryChatMessageHistory())
    )
    config: Any = {"configurable": {"session_id": "u1"}}
    first = chat.invoke("Habari yako?", config)
    second = chat.invoke("Habari za kazi?", config)
    history = store["u1"].messages
    assert [m.type for m in history] == ["human", "ai", "human", "ai"]
    assert history[1].response_metadata["bridgex"]["bridge"] == "fra_Latn"
    assert history[1].content == first.content
    assert second.content == "jibu kwa: User (French): <Habari za kazi?>"


@DEPRECATED_HISTORY
def test_runnable_with_message_history_dict_input_with_language_hint(table: BridgeTable) -> None:
    store: dict[str, InMemoryChatMessageHistory] = {}
    prompts: list[str] = []

    def model(prompt: Any) -> str:
        prompts.append(prompt.to_string() if hasattr(prompt, "to_string") else prompt)
        return echo(prompt)

    chain = BridgeXChain(
        llm=RunnableLambda(model),
        table=table,
        route_policy="table",
        detector=by_keyword,
        model=GEMMA,
    )
    chat = RunnableWithMessageHistory(
        chain,
        lambda sid: store.setdefault(sid, InMemoryChatMessageHistory()),
        input_messages_key="query",
        history_messages_key="history",
    )
    config: Any = {"configurable": {"session_id": "u2"}}
    chat.invoke({"query": "Sawa", "lang": "sw"}, config)
    reply = chat.invoke({"query": "Asante", "lang": "sw"}, config)
    assert reply.response_metadata["bridgex"]["detection_source"] == "override"
    assert (
        "User: Sawa\nAssistant: jibu kwa: User (French): <Sawa>\nUser (Swahili): Asante\n"
        in prompts[-1]
    )
    assert len(store["u2"].messages) == 4


def test_as_tool_returns_the_answer_and_the_routing_artifact(table: BridgeTable) -> None:
    tool = echo_chain(table).as_tool()
    assert tool.name == "bridgex_ask"
    assert set(tool.args) == {"query", "lang", "answer_language"}
    assert tool.invoke({"query": "Habari yako?"}) == "jibu kwa: User (French): <Habari yako?>"
    message = tool.invoke(
        {"type": "tool_call", "id": "c1", "name": "bridgex_ask", "args": {"query": "Apa kabar?"}}
    )
    assert isinstance(message, ToolMessage)
    assert message.content == "jibu kwa: User (English): <Apa kabar?>"
    assert message.artifact["bridge"] == "eng_Latn"
    assert asyncio.run(tool.ainvoke({"query": "Habari yako?", "lang": "sw"})).startswith("jibu")
