"""The chain as a tool (chain/tool.py): arguments, content and the routing artifact."""

from __future__ import annotations

import asyncio
from typing import Any

from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.runnables import RunnableLambda

from bridgex_chain.chain.tool import BridgeXToolArgs, chain_tool


def fake_chain(seen: list[Any]) -> RunnableLambda[Any, AIMessage]:
    def answer(args: dict[str, Any]) -> AIMessage:
        seen.append(args)
        return AIMessage(f"jibu: {args['query']}", response_metadata={"bridgex": {"lang": "sw"}})

    return RunnableLambda(answer)


def test_tool_passes_only_given_arguments_and_returns_the_answer_text() -> None:
    seen: list[Any] = []
    tool = chain_tool(fake_chain(seen))
    assert (tool.name, tool.args_schema) == ("bridgex_ask", BridgeXToolArgs)
    assert tool.invoke({"query": "Habari?", "lang": "sw"}) == "jibu: Habari?"
    assert seen == [{"query": "Habari?", "lang": "sw"}]


def test_tool_call_carries_the_routing_as_artifact() -> None:
    tool = chain_tool(fake_chain([]), name="ask", description="Ask in any language.")
    call = {"type": "tool_call", "id": "c1", "name": "ask", "args": {"query": "Habari?"}}
    message = tool.invoke(call)
    assert isinstance(message, ToolMessage)
    assert (message.content, message.artifact) == ("jibu: Habari?", {"lang": "sw"})
    assert tool.description == "Ask in any language."


def test_tool_runs_async() -> None:
    seen: list[Any] = []
    reply = asyncio.run(chain_tool(fake_chain(seen)).ainvoke({"query": "Jambo"}))
    assert reply == "jibu: Jambo" and seen == [{"query": "Jambo"}]


def test_a_plain_string_input_is_the_query() -> None:
    seen: list[Any] = []
    tool = chain_tool(fake_chain(seen))
    assert tool.invoke("Habari za leo?") == "jibu: Habari za leo?"
    assert asyncio.run(tool.ainvoke("Jambo")) == "jibu: Jambo"
    assert seen == [{"query": "Habari za leo?"}, {"query": "Jambo"}]


def test_the_tool_passes_its_callbacks_to_the_chain() -> None:
    configs: list[Any] = []

    def answer(args: dict[str, Any], config: Any) -> AIMessage:
        configs.append(config)
        return AIMessage("ok", response_metadata={"bridgex": {}})

    tool = chain_tool(RunnableLambda(answer))
    tool.invoke("Habari", {"callbacks": []})
    tool.invoke({"type": "tool_call", "id": "c1", "name": tool.name, "args": {"query": "x"}})
    assert len(configs) == 2 and all(c.get("callbacks") is not None for c in configs)
