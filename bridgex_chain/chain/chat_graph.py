"""A LangGraph chatbot around the chain: bridged replies, history kept by a checkpointer.

LangChain applications keep chat state with LangGraph: a graph whose state holds the thread's
messages, compiled with a *checkpointer* that stores that state per ``thread_id`` (in memory,
SQLite or PostgreSQL). :func:`chat_graph` is that graph with one node, ``reply``, which sends
the thread's messages through :class:`~bridgex_chain.chain.BridgeXChain` (the last human
message is routed, the earlier ones are its history) and appends the bridged answer.

The state also holds the thread's language hint, ``lang``: give it once (for example from the
user's profile) and it is kept in the checkpoint for every later turn of that thread, so a
short message ("Asante!") a detector cannot place still goes the user's route.

:func:`open_checkpointer` opens a durable checkpointer from a URL or a path: a file path or
``sqlite:///path`` for SQLite, ``postgresql://…`` for PostgreSQL (``memory`` or None for one in
memory). LangGraph is an optional dependency (``pip install 'bridgex-chain[graph]'``), imported
only when a graph or checkpointer is built.

Example:
    >>> from langchain_core.language_models import FakeListChatModel
    >>> from bridgex_chain.chain import BridgeXChain
    >>> from bridgex_chain.detect import Detection
    >>> chain = BridgeXChain(llm=FakeListChatModel(responses=["Sawa!", "Karibu!"]),
    ...                      detector=lambda t: Detection("unknown", 0), route_policy="direct")
    >>> with open_checkpointer(None) as saver:
    ...     graph = chat_graph(chain, checkpointer=saver)
    ...     config = {"configurable": {"thread_id": "amina"}}
    ...     _ = graph.invoke({"messages": [("human", "Habari")], "lang": "sw"}, config)
    ...     state = graph.invoke({"messages": [("human", "Asante")]}, config)
    >>> [m.content for m in state["messages"]], state["lang"]
    (['Habari', 'Sawa!', 'Asante', 'Karibu!'], 'sw')
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NotRequired, TypedDict, cast

from langchain_core.messages import AIMessage, AnyMessage
from langchain_core.runnables import RunnableConfig

from bridgex_chain.errors import InvalidOption, MissingDependency

if TYPE_CHECKING:
    from langgraph.checkpoint.base import BaseCheckpointSaver
    from langgraph.graph.state import CompiledStateGraph

    from bridgex_chain.chain.runnable import BridgeXChain

__all__ = ["ChatState", "chat_graph", "open_checkpointer"]

_FEATURE = "The LangGraph chatbot"


def _add_messages(left: Any, right: Any) -> list[AnyMessage]:
    """LangGraph's message reducer (append, or replace by id), imported when first used."""
    from langgraph.graph.message import add_messages

    return cast("list[AnyMessage]", add_messages(left, right))


class ChatState(TypedDict):
    """The state of one chat thread.

    Attributes:
        messages: The conversation, oldest first (new messages are appended).
        lang: The user's language hint (a name, ISO or FLORES code), kept for the thread;
            None or absent: the chain detects every message's language.

    Example:
        >>> sorted(ChatState.__annotations__)
        ['lang', 'messages']
    """

    messages: Annotated[list[AnyMessage], _add_messages]
    lang: NotRequired[str | None]


def _langgraph() -> Any:
    try:
        import langgraph.graph
    except ImportError as err:
        raise MissingDependency("langgraph", "graph", _FEATURE) from err
    return langgraph.graph


def chat_graph(
    chain: BridgeXChain, *, checkpointer: BaseCheckpointSaver[Any] | None = None
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """Compile the chatbot graph: ``START → reply → END`` over :class:`ChatState`.

    Args:
        chain: The chain that answers (its route policy, table and model).
        checkpointer: Where thread states are kept (see :func:`open_checkpointer`); None keeps
            no state between invocations.

    Returns:
        The compiled graph. Invoke it with ``{"messages": [...], "lang": ...}`` and
        ``{"configurable": {"thread_id": ...}}``; stream it with ``stream_mode="messages"``
        for tokens.

    Raises:
        MissingDependency: LangGraph is not installed.

    Example:
        >>> from bridgex_chain.chain import BridgeXChain
        >>> sorted(chat_graph(BridgeXChain()).get_graph().nodes)
        ['__end__', '__start__', 'reply']
    """
    graph_module = _langgraph()

    def reply(state: ChatState, config: RunnableConfig) -> dict[str, list[AIMessage]]:
        answer = chain.invoke({"query": state["messages"], "lang": state.get("lang")}, config)
        return {"messages": [answer]}

    builder = graph_module.StateGraph(ChatState)
    builder.add_node("reply", reply)
    builder.add_edge(graph_module.START, "reply")
    builder.add_edge("reply", graph_module.END)
    compiled: CompiledStateGraph[Any, Any, Any, Any] = builder.compile(checkpointer=checkpointer)
    return compiled


@contextlib.contextmanager
def open_checkpointer(url: str | Path | None) -> Iterator[BaseCheckpointSaver[Any]]:
    """Open a LangGraph checkpointer for ``url`` and close it on exit.

    Args:
        url: None or ``"memory"``: in memory (lost on exit). ``postgresql://…`` (or
            ``postgres://…``): PostgreSQL, its tables created on first use. ``sqlite:///path``
            or a plain path: a SQLite file (its folder is created).

    Yields:
        The checkpointer.

    Raises:
        MissingDependency: The checkpointer's package is not installed.
        InvalidOption: ``url`` names another database.

    Example:
        >>> with open_checkpointer("memory") as saver:
        ...     type(saver).__name__
        'InMemorySaver'
    """
    text = "memory" if url is None else str(url)
    if text == "memory":
        _langgraph()
        from langgraph.checkpoint.memory import InMemorySaver

        yield InMemorySaver()
        return
    if text.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        try:
            from langgraph.checkpoint.postgres import PostgresSaver
        except ImportError as err:
            raise MissingDependency("langgraph-checkpoint-postgres", "graph", _FEATURE) from err
        with PostgresSaver.from_conn_string(text.replace("+psycopg", "", 1)) as saver:
            saver.setup()
            yield saver
        return
    if "://" in text and not text.startswith("sqlite:///"):
        raise InvalidOption(
            f"Cannot keep chat history at {text!r}: give a file path, sqlite:///path or "
            "postgresql://user@host/db (or 'memory')."
        )
    path = Path(text.removeprefix("sqlite:///"))
    try:
        from langgraph.checkpoint.sqlite import SqliteSaver
    except ImportError as err:
        raise MissingDependency("langgraph-checkpoint-sqlite", "graph", _FEATURE) from err
    path.parent.mkdir(parents=True, exist_ok=True)
    with SqliteSaver.from_conn_string(str(path)) as saver:
        yield saver
