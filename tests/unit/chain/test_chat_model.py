"""BridgeXChatModel: a chat model with bridging inside, tool calls passing through."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseChatModel, FakeListChatModel, FakeListLLM
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import RunnableBinding
from langchain_core.tools import tool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

from bridgex_chain.chain import BridgeXChain
from bridgex_chain.chain.chat_model import BridgeXChatModel
from bridgex_chain.detect import Detection
from bridgex_chain.errors import BridgeXError
from bridgex_chain.store.table import BridgeTable

GEMMA = "google/gemma-3-270m"


@pytest.fixture
def table(make_bridge_db: Callable[..., str]) -> BridgeTable:
    return BridgeTable(make_bridge_db(GEMMA, {("swh_Latn", "swh_Latn"): {"fra_Latn": 0.41}}))


def swahili(text: str) -> Detection:
    return Detection("swh_Latn", 0.9)


@tool
def weather(city: str) -> str:
    """Tomorrow's weather in a city."""
    return f"sunny in {city}"


class ToolCallingFake(BaseChatModel):
    """Answers from a script and records each call's messages and bound tools."""

    replies: list[AIMessage]
    calls: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "tool-calling-fake"

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        tools = [t["function"]["name"] for t in kwargs.get("tools", [])]
        self.calls.append(
            {
                "messages": [(m.type, m.text) for m in messages],
                "tools": tools,
                "tool_choice": kwargs.get("tool_choice"),
            }
        )
        return ChatResult(generations=[ChatGeneration(message=self.replies[len(self.calls) - 1])])

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)


def test_agent_loop_tool_calls_pass_through_and_rendering_stays_tool_free(
    table: BridgeTable,
) -> None:
    call = {"name": "weather", "args": {"city": "Mombasa"}, "id": "call-1", "type": "tool_call"}
    inner = ToolCallingFake(
        replies=[
            AIMessage("Quel temps fera-t-il demain à Mombasa ?"),
            AIMessage("", tool_calls=[call]),
            AIMessage("Kesho kutakuwa na jua Mombasa."),
        ]
    )
    model = BridgeXChatModel(
        chain=BridgeXChain(
            llm=inner, table=table, route_policy="table", detector=swahili, model=GEMMA
        )
    )
    agent_model = model.bind_tools([weather])
    assert isinstance(agent_model, RunnableBinding) and agent_model.bound is model

    question = HumanMessage("Hali ya hewa ya kesho Mombasa itakuwaje?")
    first = agent_model.invoke([question])
    assert first.tool_calls == [call]  # returned as the inner model wrote it
    assert first.response_metadata["bridgex"]["bridge"] == "fra_Latn"
    assert [c["tools"] for c in inner.calls] == [[], ["weather"]]  # rendering had no tools

    result = ToolMessage(weather.invoke({"city": "Mombasa"}), tool_call_id="call-1")
    final = agent_model.invoke([question, first, result])
    assert final.content == "Kesho kutakuwa na jua Mombasa."
    meta = final.response_metadata["bridgex"]
    assert (meta["renders_cached"], meta["rendering"]) == (
        1,
        "Quel temps fera-t-il demain à Mombasa ?",
    )
    assert len(inner.calls) == 3  # the cached rendering saved a call
    last_messages = inner.calls[-1]["messages"]
    assert last_messages[1] == (
        "human",
        "Hali ya hewa ya kesho Mombasa itakuwaje?\n\n"
        "(French: Quel temps fera-t-il demain à Mombasa ?)",
    )
    assert [m[0] for m in last_messages] == ["system", "human", "ai", "tool"]
    assert model.chain.answer_llm is None  # the tools are bound per call, not on the chain


def test_bind_tools_needs_a_tool_calling_inner_model() -> None:
    model = BridgeXChatModel.wrap(FakeListLLM(responses=["x"]), model=GEMMA)
    with pytest.raises(BridgeXError, match="cannot bind tools"):
        model.bind_tools([weather])


def test_tools_and_their_options_reach_the_answer_call_only(table: BridgeTable) -> None:
    call = {"name": "weather", "args": {"city": "Mombasa"}, "id": "call-1", "type": "tool_call"}
    inner = ToolCallingFake(
        replies=[AIMessage("Quel temps à Mombasa ?"), AIMessage("", tool_calls=[call])]
    )
    model = BridgeXChatModel(
        chain=BridgeXChain(
            llm=inner, table=table, route_policy="table", detector=swahili, model=GEMMA
        )
    )
    bound = model.bind_tools([weather], tool_choice="weather")
    assert isinstance(bound, RunnableBinding)
    assert bound.kwargs == {"tools": [convert_to_openai_tool(weather)], "tool_choice": "weather"}
    chunks = list(bound.stream("Hali ya hewa Mombasa?"))
    full = chunks[0]
    for chunk in chunks[1:]:
        full += chunk
    # the inner model cannot stream: its whole message comes as one chunk, tool calls kept
    assert full.tool_calls == [call]
    assert full.response_metadata["bridgex"]["bridge"] == "fra_Latn"
    assert [(c["tools"], c["tool_choice"]) for c in inner.calls] == [
        ([], None),
        (["weather"], "weather"),
    ]


def test_stop_strings_cut_the_answer_whole_and_streamed(table: BridgeTable) -> None:
    def make(**fields: Any) -> BridgeXChatModel:
        inner = FakeListChatModel(responses=["Comment ?", "Nzuri sana. Asante!"])
        chain = BridgeXChain(
            llm=inner, table=table, route_policy="table", detector=swahili, model=GEMMA
        )
        return BridgeXChatModel(chain=chain, **fields)

    question = "Habari yako?"
    assert make().invoke(question).content == "Nzuri sana. Asante!"
    assert make().invoke(question, stop=[". "]).content == "Nzuri sana"
    assert make(stop=["!"]).invoke(question).content == "Nzuri sana. Asante"
    assert make(stop=["!"]).invoke(question, stop=[]).content == "Nzuri sana. Asante!"
    # FakeListChatModel streams a character at a time: the stop string spans chunks
    streamed = list(make().stream(question, stop=["sana"]))
    assert "".join(c.text for c in streamed) == "Nzuri "
    assert streamed[0].response_metadata["bridgex"]["bridge"] == "fra_Latn"
    held = list(make().stream(question, stop=["Asante?"]))  # held back, then let go
    assert "".join(c.text for c in held) == "Nzuri sana. Asante!"

    async def run() -> tuple[Any, str, str]:
        reply = (await make(stop=["."]).ainvoke(question)).content
        pieces = [c.text async for c in make().astream(question, stop=["Asa"])]
        tail = [c.text async for c in make().astream(question, stop=["!?"])]
        return reply, "".join(pieces), "".join(tail)

    assert asyncio.run(run()) == ("Nzuri sana", "Nzuri sana. ", "Nzuri sana. Asante!")


def test_trace_parameters_name_the_chains_model(table: BridgeTable) -> None:
    model = BridgeXChatModel(chain=BridgeXChain(llm=FakeListLLM(responses=["x"]), model=GEMMA))
    assert model._get_ls_params(stop=["\n"]) == {
        "ls_provider": "bridgex",
        "ls_model_type": "chat",
        "ls_model_name": GEMMA,
        "ls_stop": ["\n"],
    }
    assert model._get_ls_params(model="other")["ls_model_name"] == "other"
    unnamed = BridgeXChatModel(chain=BridgeXChain(llm=FakeListChatModel(responses=["x"])))
    assert unnamed._get_ls_params()["ls_model_name"] == "bridgex"  # no model key to name


def test_invoke_stream_and_async_carry_the_routing(table: BridgeTable) -> None:
    def make() -> BridgeXChatModel:
        inner = FakeListLLM(responses=[" Comment ?", " Nzuri sana.\nUser: x"])
        return BridgeXChatModel.wrap(
            inner, table=table, route_policy="table", detector=swahili, model=GEMMA
        )

    reply = make().invoke("Habari yako?")
    assert reply.content == "Nzuri sana."
    assert reply.response_metadata["bridgex"]["prompt_style"] == "completion"
    chunks = list(make().stream("Habari yako?"))
    assert "".join(str(c.content) for c in chunks) == "Nzuri sana."
    assert chunks[0].response_metadata["bridgex"]["bridge"] == "fra_Latn"

    async def run() -> tuple[AIMessage, list[Any]]:
        return await make().ainvoke("Habari yako?"), [
            c async for c in make().astream("Habari yako?")
        ]

    areply, achunks = asyncio.run(run())
    assert areply.content == reply.content
    assert [c.content for c in achunks] == [c.content for c in chunks]


def test_chain_runs_nest_under_the_chat_model_run(table: BridgeTable) -> None:
    class Parents(BaseCallbackHandler):
        def __init__(self) -> None:
            self.model_run: Any = None
            self.chain_parent: Any = "unset"

        def on_chat_model_start(
            self,
            serialized: Any,
            messages: Any,
            *,
            run_id: Any,
            parent_run_id: Any = None,
            **kw: Any,
        ) -> None:
            if parent_run_id is None:
                self.model_run = run_id

        def on_chain_start(
            self, serialized: Any, inputs: Any, *, run_id: Any, parent_run_id: Any = None, **kw: Any
        ) -> None:
            if kw.get("name") == "BridgeXChain":
                self.chain_parent = parent_run_id

    handler = Parents()
    model = BridgeXChatModel.wrap(
        FakeListLLM(responses=[" Comment ?", " Nzuri."]), table=table, detector=swahili, model=GEMMA
    )
    model.invoke("Habari yako?", {"callbacks": [handler]})
    assert handler.model_run is not None and handler.chain_parent == handler.model_run
