"""Shaping the answer (chain/output.py): messages, stop strings, choices, streamed chunks."""

from __future__ import annotations

import logging
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk

from bridgex_chain.chain.output import (
    ChunkShaper,
    StreamedAnswer,
    choose,
    finish_message,
    head_chunk,
    message_text,
)
from bridgex_chain.chain.request import ChainRequest
from bridgex_chain.chain.route import Prepared, Route
from bridgex_chain.detect import Detection
from bridgex_chain.prompting.templates import ModelPrompt, PromptPlan, PromptStyle


def prepared(
    style: PromptStyle = "completion",
    choices: tuple[str, ...] = (),
    letters: bool = False,
    stop: tuple[str, ...] = ("\nUser:",),
) -> Prepared:
    plan = PromptPlan(ModelPrompt("Q:", stop=stop), None, (), choices=choices, letters=letters)
    info = {"task": "chat", "fallback": None}
    return Prepared(
        ChainRequest("Habari"), "chat", style, Route(Detection("swh_Latn", 1)), plan, info
    )


def test_message_text_of_strings_messages_and_other_values() -> None:
    assert message_text("Jambo") == "Jambo"
    assert message_text(AIMessageChunk(content="Jambo")) == "Jambo"
    assert message_text(42) == "42"


def test_choose_parses_or_keeps_the_text() -> None:
    assert choose("Sports!", ["politics", "sports"], False) == (
        "sports",
        {
            "choice": "sports",
            "choice_index": 1,
            "raw_answer": "Sports!",
            "choice_method": "generate",
        },
    )
    content, meta = choose("B", ["x", "y"], True)
    assert (content, meta["choice_index"]) == ("y", 1)
    content, meta = choose("no idea", ["x", "y"], False)
    assert (content, meta["choice"], meta["choice_index"]) == ("no idea", None, None)


def test_finish_message_cuts_completion_text_and_adds_the_routing() -> None:
    reply = finish_message(prepared(), " Nzuri sana.\nUser: next")
    assert reply.content == "Nzuri sana."
    assert reply.response_metadata["bridgex"] == {"task": "chat", "fallback": None}


def test_finish_message_keeps_the_chat_models_own_message() -> None:
    tool_call = {"name": "weather", "args": {"city": "Dar"}, "id": "t1"}
    inner = AIMessage("", tool_calls=[tool_call], id="m1", response_metadata={"model": "x"})
    reply = finish_message(prepared(style="chat", choices=("a", "b")), inner)
    assert reply.id == "m1" and reply.tool_calls[0]["name"] == "weather"
    assert reply.response_metadata["model"] == "x"
    assert "choice" not in reply.response_metadata["bridgex"]  # tool calls are not parsed


def test_finish_message_takes_the_scorers_choice_metadata(caplog: Any) -> None:
    scored = AIMessage("b", response_metadata={"choice_method": "logprob", "choice_scores": [1.0]})
    reply = finish_message(prepared(style="chat", choices=("a", "b")), scored)
    meta = reply.response_metadata
    assert reply.content == "b" and "choice_scores" not in meta
    assert meta["bridgex"]["choice_method"] == "logprob"
    with caplog.at_level(logging.WARNING, logger="bridgex_chain.chain"):
        finish_message(prepared(style="chat", choices=("a", "b")), AIMessage("zzz"))
    assert "matches none of the choices" in caplog.text


def test_chunk_shaper_cuts_stop_strings_across_pieces() -> None:
    shaper = ChunkShaper(prepared())
    pieces = [" Nzuri", " sana.\nUs", "er: more"]
    out = [c.content for p in pieces for c in shaper.feed(p)]
    out += [c.content for c in shaper.close()]
    assert "".join(out) == "Nzuri sana."  # as invoke's content: leading space dropped too


def test_chunk_shaper_passes_chat_chunks_and_parses_choices_once() -> None:
    chat = ChunkShaper(prepared(style="chat"))
    chunk = AIMessageChunk(content="Jambo", id="c1")
    assert chat.feed(chunk) == [chunk]
    choice = ChunkShaper(prepared(choices=("politics", "sports")))
    assert choice.feed(" spo") == [] and choice.feed("rts") == []
    (last,) = choice.close()
    assert last.content == "sports" and last.response_metadata["bridgex"]["choice_index"] == 1


def test_streamed_answer_sums_the_head_and_the_chunks() -> None:
    prep = prepared()
    answer = StreamedAnswer(prep)
    assert answer.total.content == "" and answer.total.response_metadata == {"bridgex": prep.info}
    yielded = answer.feed(" Nzuri.") + answer.feed("\nUser: x") + answer.close()
    assert "".join(str(c.content) for c in yielded) == "Nzuri."
    assert answer.total.content == "Nzuri."
    assert head_chunk(prep).response_metadata["bridgex"] is not prep.info  # a copy


def test_chunk_shaper_keeps_the_tool_calls_of_a_whole_message() -> None:
    # a chat model that cannot stream yields its whole AIMessage once
    call = {"name": "weather", "args": {"city": "Mombasa"}, "id": "call-1", "type": "tool_call"}
    usage = {"input_tokens": 5, "output_tokens": 1, "total_tokens": 6}
    whole = AIMessage("", tool_calls=[call], usage_metadata=usage, id="m1")
    (chunk,) = ChunkShaper(prepared(style="chat")).feed(whole)
    assert isinstance(chunk, AIMessageChunk)
    assert (chunk.tool_calls, chunk.usage_metadata, chunk.id) == ([call], usage, "m1")
    answer = StreamedAnswer(prepared(style="chat"))
    answer.feed(whole)
    assert answer.total.tool_calls == [call] and answer.total.usage_metadata == usage
