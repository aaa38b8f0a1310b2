"""Parsing what the chain accepts (chain/request.py): strings, messages, prompt values, dicts."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.prompt_values import ChatPromptValue

from bridgex_chain.chain.request import ChainRequest, parse_input
from bridgex_chain.errors import InvalidInput


def test_every_input_shape_parses() -> None:
    assert parse_input("Habari").query == "Habari"
    msgs = [HumanMessage("Jambo"), AIMessage("Jambo!"), HumanMessage("Habari?")]
    assert parse_input(msgs).history == tuple(msgs[:2])
    assert parse_input(ChatPromptValue(messages=msgs)).query == "Habari?"
    assert parse_input(HumanMessage("Habari?")).query == "Habari?"
    assert parse_input([("human", "Habari?")]).query == "Habari?"
    tool_turn = [
        *msgs,
        AIMessage("", tool_calls=[{"name": "t", "args": {}, "id": "1"}]),
        ToolMessage("sunny", tool_call_id="1"),
    ]
    req = parse_input(tool_turn)
    assert (req.query, len(req.history), len(req.trailing)) == ("Habari?", 2, 2)
    req = parse_input(
        {
            "input": "Habari?",
            "history": msgs[:2],
            "lang": "sw",
            "task": "chat",
            "options": ["a"],
            "ignored": 1,
        }
    )
    assert (req.query, req.lang, req.task, dict(req.fields)) == (
        "Habari?",
        "sw",
        "chat",
        {"options": ["a"]},
    )
    assert req.history == tuple(msgs[:2])


def test_dict_query_may_be_messages_and_history_comes_first() -> None:
    req = parse_input(
        {
            "query": [HumanMessage("Habari?")],
            "history": [("human", "Jambo"), ("ai", "Jambo!")],
            "answer_language": "en",
        }
    )
    assert req.query == "Habari?"
    assert [m.text for m in req.history] == ["Jambo", "Jambo!"]
    assert req.answer_language == "en" and req.lang is None


def test_empty_optional_fields_are_absent() -> None:
    req = parse_input({"query": "Habari?", "lang": "", "labels": None, "unit": "word"})
    assert req.lang is None and dict(req.fields) == {"unit": "word"}


def test_a_plain_string_is_a_request_with_defaults() -> None:
    assert parse_input("Habari") == ChainRequest("Habari")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"text": "Habari"}, "needs a 'query'"),
        ({"query": 42}, "must be a string or a list of messages"),
        ({"query": b"Habari"}, "must be a string or a list of messages"),
        ([AIMessage("hello")], "no human message"),
        (42, "cannot take a int"),
    ],
)
def test_unroutable_input_is_invalid_input(value: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_input(value)
    assert issubclass(InvalidInput, ValueError)
