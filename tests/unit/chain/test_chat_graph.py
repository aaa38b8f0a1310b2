"""chain/chat_graph: the chain as a LangGraph chatbot, state kept by a checkpointer."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

from bridgex_chain.chain import BridgeXChain
from bridgex_chain.chain.chat_graph import ChatState, chat_graph, open_checkpointer
from bridgex_chain.detect import Detection
from bridgex_chain.errors import InvalidOption, MissingDependency


class Recorder(BaseChatModel):
    """Answers ``reply <n>`` and keeps every conversation it was sent."""

    seen: list[list[BaseMessage]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "recorder"

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        self.seen.append(list(messages))
        return ChatResult(
            generations=[ChatGeneration(message=AIMessage(f"reply {len(self.seen)}"))]
        )


def unknown(text: str) -> Detection:
    return Detection("unknown", 0.0)


def chain(llm: Recorder) -> BridgeXChain:
    return BridgeXChain(llm=llm, detector=unknown, route_policy="direct")


THREAD = {"configurable": {"thread_id": "amina"}}


def test_each_turn_sends_the_threads_history_and_keeps_its_language_hint() -> None:
    llm = Recorder()
    with open_checkpointer("memory") as saver:
        graph = chat_graph(chain(llm), checkpointer=saver)
        first = graph.invoke({"messages": [("human", "Habari")], "lang": "sw"}, THREAD)
        state = graph.invoke({"messages": [("human", "Asante")]}, THREAD)
        other = graph.invoke(
            {"messages": [("human", "Halo")]}, {"configurable": {"thread_id": "b"}}
        )
    assert first["messages"][-1].response_metadata["bridgex"]["lang"] == "swh_Latn"
    answer = state["messages"][-1]
    assert answer.content == "reply 2" and state["lang"] == "sw"
    assert answer.response_metadata["bridgex"]["detection_source"] == "override"  # the kept hint
    assert [m.text for m in llm.seen[1]][-3:] == ["Habari", "reply 1", "Asante"]  # the history
    assert [m.type for m in state["messages"]] == ["human", "ai", "human", "ai"]
    assert [m.content for m in other["messages"]] == ["Halo", "reply 3"]  # a thread of its own
    assert "lang" not in other  # no hint: the chain detects
    assert set(ChatState.__annotations__) == {"messages", "lang"}


def test_a_sqlite_file_keeps_threads_across_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "chat.sqlite"
    with open_checkpointer(path) as saver:
        chat_graph(chain(Recorder()), checkpointer=saver).invoke(
            {"messages": [("human", "Habari")], "lang": "sw"}, THREAD
        )
    llm = Recorder()
    with open_checkpointer(f"sqlite:///{path}") as saver:  # a new process would do the same
        state = chat_graph(chain(llm), checkpointer=saver).invoke(
            {"messages": [("human", "Asante")]}, THREAD
        )
    assert [m.content for m in state["messages"]] == ["Habari", "reply 1", "Asante", "reply 1"]
    assert state["lang"] == "sw" and [m.text for m in llm.seen[0]][-3:-1] == ["Habari", "reply 1"]


@pytest.mark.postgres
def test_a_postgres_url_keeps_threads(postgres_url: str) -> None:
    for text in ("Habari", "Asante"):
        with open_checkpointer(postgres_url) as saver:
            state = chat_graph(chain(Recorder()), checkpointer=saver).invoke(
                {"messages": [("human", text)]}, THREAD
            )
    assert [m.content for m in state["messages"]][::2] == ["Habari", "Asante"]


def test_another_database_url_is_refused_with_what_to_give() -> None:
    refused = pytest.raises(InvalidOption, match="give a file path, sqlite:///path or postgresql")
    with refused, open_checkpointer("mysql://host/db"):
        pass


def test_without_langgraph_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_langgraph(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("langgraph"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_langgraph)
    with pytest.raises(MissingDependency, match=r"pip install 'bridgex-chain\[graph\]'"):
        chat_graph(chain(Recorder()))
    refused = pytest.raises(MissingDependency, match="langgraph-checkpoint-sqlite")
    with refused, open_checkpointer("chat.sqlite"):
        pass
