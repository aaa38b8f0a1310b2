"""The chain as a LangChain tool: an agent asks a question in any language, gets the answer.

:func:`chain_tool` (``BridgeXChain.as_tool``) makes a ``StructuredTool`` whose content is the
answer text and whose artifact (``ToolMessage.artifact`` when called with a tool call) is the
``bridgex`` routing metadata. Its input is a dict of :class:`BridgeXToolArgs`, a tool call, or a
plain string, which is the query (``tool.invoke("Habari za leo?")``); the chain's runs nest
under the tool's run.

Example:
    >>> from langchain_core.language_models import FakeListLLM
    >>> from bridgex_chain.chain import BridgeXChain
    >>> from bridgex_chain.detect import Detection
    >>> chain = BridgeXChain(llm=FakeListLLM(responses=["Sawa"]),
    ...                      detector=lambda text: Detection("unknown", 0.0))
    >>> chain_tool(chain).invoke({"query": "Habari?"})
    'Sawa'
    >>> chain_tool(chain).invoke("Habari?")
    'Sawa'
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field

__all__ = ["BridgeXToolArgs", "chain_tool"]


class BridgeXToolArgs(BaseModel):
    """Arguments of the tool made by :func:`chain_tool` (``BridgeXChain.as_tool``)."""

    query: str = Field(description="The user's message or question, in any language.")
    lang: str | None = Field(None, description="The user's language if known, e.g. 'sw'.")
    answer_language: str | None = Field(None, description="The answer language if not the user's.")


def chain_tool(
    chain: Runnable[Any, AIMessage],
    args_schema: type[BaseModel] | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
) -> BaseTool:
    """A tool answering ``query`` (any language) through ``chain``.

    The tool's content is the answer text; its artifact (``ToolMessage.artifact`` when the tool
    is called with a tool call) is the ``bridgex`` routing metadata.

    Example:
        >>> from langchain_core.runnables import RunnableLambda
        >>> echo = RunnableLambda(lambda args: AIMessage(args["query"]))
        >>> chain_tool(echo, name="ask_in_any_language").name
        'ask_in_any_language'
    """
    from langchain_core.tools import StructuredTool

    def given(args: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in args.items() if v}

    # A string input reaches the function as one positional argument (langchain-core's legacy
    # single-input path) and ``callbacks`` as a keyword: ``callbacks`` must be keyword-only.
    def run(*query: Any, callbacks: Any = None, **args: Any) -> tuple[str, dict[str, Any]]:
        reply = chain.invoke(given(_with_query(query, args)), {"callbacks": callbacks})
        return reply.text, reply.response_metadata["bridgex"]

    async def arun(*query: Any, callbacks: Any = None, **args: Any) -> tuple[str, dict[str, Any]]:
        reply = await chain.ainvoke(given(_with_query(query, args)), {"callbacks": callbacks})
        return reply.text, reply.response_metadata["bridgex"]

    return StructuredTool.from_function(
        func=run,
        coroutine=arun,
        name=name or "bridgex_ask",
        description=description
        or "Answer a user's message in their own language, whatever the language.",
        args_schema=args_schema or BridgeXToolArgs,
        response_format="content_and_artifact",
    )


def _with_query(positional: tuple[Any, ...], args: dict[str, Any]) -> dict[str, Any]:
    """The tool's arguments, a positional string (a plain string input) being the query."""
    if not positional:
        return args
    return {**args, "query": positional[0]}
