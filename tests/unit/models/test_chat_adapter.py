"""ChatAdapter: two hooks become a LangChain chat model (results, chunks, token callbacks)."""

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage

from bridgex_chain.models.chat_adapter import (
    ChatAdapter,
    ChatCall,
    generation_chunk,
    message_chunk,
)

SEEN: list[ChatCall] = []


class Echo(ChatAdapter):
    """Replies with the last message; streams it split at dashes (and a message chunk)."""

    @property
    def _llm_type(self) -> str:
        return "echo"

    def _reply(self, call: ChatCall) -> AIMessage:
        SEEN.append(call)
        return AIMessage(content=call.messages[-1].text.upper())

    def _reply_pieces(self, call: ChatCall) -> Iterator[str | AIMessage]:
        SEEN.append(call)
        *pieces, last = call.messages[-1].text.split("-")
        yield from pieces
        yield ""
        yield AIMessageChunk(content=last, response_metadata={"done": True})


class Tokens(BaseCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []

    def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
        self.tokens.append(token)


def test_invoke_wraps_the_reply_and_passes_the_call() -> None:
    reply = Echo().invoke([HumanMessage("ma-ji")], stop=["\n"], temperature=0.1)
    assert reply.content == "MA-JI"
    call = SEEN[-1]
    assert [m.text for m in call.messages] == ["ma-ji"]
    assert call.stop == ["\n"] and call.kwargs == {"temperature": 0.1}


def test_stream_yields_the_pieces_and_reports_each_token_once() -> None:
    handler = Tokens()
    chunks = list(Echo().stream("ha-ba-ri", {"callbacks": [handler]}))
    texts = [c.content for c in chunks]
    assert "".join(str(t) for t in texts) == "habari"
    assert texts[:2] == ["ha", "ba"] and "ri" in texts
    assert [t for t in handler.tokens if t] == ["ha", "ba", "ri"]


def test_stream_hook_reports_non_empty_pieces_to_a_run_manager() -> None:
    class RunManager:
        def __init__(self) -> None:
            self.tokens: list[str] = []

        def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
            assert kwargs["chunk"].text == token
            self.tokens.append(token)

    manager = RunManager()
    chunks = list(Echo()._stream([HumanMessage("ha-ba")], run_manager=manager))  # type: ignore[arg-type]
    assert [c.text for c in chunks] == ["ha", "", "ba"]
    assert chunks[-1].message.response_metadata == {"done": True}
    assert manager.tokens == ["ha", "ba"]  # the empty piece is not reported
    assert SEEN[-1].run_manager is manager


def test_generation_chunk_keeps_message_chunks() -> None:
    assert generation_chunk("maji").message.content == "maji"
    chunk = AIMessageChunk(content="x", response_metadata={"a": 1})
    assert generation_chunk(chunk).message is chunk
    converted = generation_chunk(AIMessage(content="y"))
    assert isinstance(converted.message, AIMessageChunk) and converted.message.content == "y"


def test_message_chunk_keeps_what_a_whole_message_carries() -> None:
    call = {"name": "add", "args": {"a": 1}, "id": "c1", "type": "tool_call"}
    usage = {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5}
    whole = AIMessage("", tool_calls=[call], usage_metadata=usage, response_metadata={"m": 1})
    chunk = message_chunk(whole)
    assert isinstance(chunk, AIMessageChunk)
    assert chunk.tool_calls == [call] and chunk.tool_call_chunks[0]["args"] == '{"a": 1}'
    assert chunk.usage_metadata == usage and chunk.response_metadata == {"m": 1}
    converted = generation_chunk(whole).message
    assert isinstance(converted, AIMessageChunk) and converted.tool_calls == [call]
    assert message_chunk(HumanMessage("hi")).content == "hi"


def test_the_default_stop_applies_to_calls_that_give_none() -> None:
    model = Echo(stop=["\n"])
    model.invoke("a")
    assert SEEN[-1].stop == ["\n"]
    model.invoke("a", stop=["x"])
    assert SEEN[-1].stop == ["x"]
    model.invoke("a", stop=[])  # a call's own list, even empty, replaces the default
    assert SEEN[-1].stop == []
    list(model.stream("a"))
    assert SEEN[-1].stop == ["\n"]


def test_trace_parameters_name_the_provider_model_and_stops() -> None:
    params = Echo(stop=["\n"])._get_ls_params()
    assert params == {
        "ls_provider": "bridgex",
        "ls_model_type": "chat",
        "ls_model_name": "echo",
        "ls_stop": ["\n"],
    }
    assert Echo()._get_ls_params(model="other", stop=["x"])["ls_model_name"] == "other"
    assert Echo()._get_ls_params(stop=["x"])["ls_stop"] == ["x"]


def test_the_hooks_must_be_implemented() -> None:
    class Bare(ChatAdapter):
        @property
        def _llm_type(self) -> str:
            return "bare"

    with pytest.raises(NotImplementedError):
        Bare().invoke("hi")
    with pytest.raises(NotImplementedError):
        list(Bare().stream("hi"))
