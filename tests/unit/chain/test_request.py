"""Parsing what the chain accepts (chain/request.py): strings, messages, prompt values, dicts."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.prompt_values import ChatPromptValue

from bridgex_chain.chain.request import CALL_KEYWORDS, ChainRequest, parse_input
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
        ({"query": b"\xffHabari"}, "not UTF-8"),
        ({"query": "Habari", "labels": "sports"}, "'labels' must be a list of strings"),
        ({"query": "Habari", "history": "Jambo"}, "'history' must be a list of messages"),
        ({"query": "Habari", "task": "summarise"}, "Unknown task 'summarise'"),
        ([1, 2], "not a message"),
        ([AIMessage("hello")], "no human message"),
        (42, "cannot take a int"),
    ],
)
def test_unroutable_input_is_invalid_input(value: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_input(value)
    assert issubclass(InvalidInput, ValueError)


def test_bytes_are_utf8_text() -> None:
    assert parse_input(b"Habari?") == ChainRequest("Habari?")
    assert parse_input(bytearray(b"\xef\xbb\xbfHabari?")).query == "Habari?"  # BOM dropped
    assert parse_input({"query": b"Habari?", "passage": b"Maandishi"}).fields == {
        "passage": "Maandishi"
    }


def test_lone_surrogates_become_replacement_characters_everywhere() -> None:
    req = parse_input(
        {
            "query": "Habari \udcff",
            "history": [
                HumanMessage("Jambo \ud800"),
                AIMessage([{"type": "text", "text": "\udfff"}]),
            ],
            "labels": ["a\udcff", "b"],
        }
    )
    assert req.query == "Habari \ufffd" and dict(req.fields) == {"labels": ["a\ufffd", "b"]}
    assert [m.text for m in req.history] == ["Jambo \ufffd", "\ufffd"]
    kept = HumanMessage("Jambo")
    assert parse_input([kept, HumanMessage("Habari")]).history[0] is kept  # unchanged: not copied


@pytest.mark.parametrize(
    ("key", "value"),
    [("labels", "sports"), ("options", "abc"), ("labels", [1, 2]), ("labels", {"a", "b"})],
)
def test_labels_and_options_must_be_lists_of_strings(key: str, value: object) -> None:
    with pytest.raises(InvalidInput, match=rf"'{key}' must be a list of strings"):
        parse_input({"query": "Habari", key: value})
    assert parse_input({"query": "Habari", key: ("a", "b")}).fields == {key: ["a", "b"]}


def test_call_keywords_fill_the_request_and_others_are_refused() -> None:
    assert CALL_KEYWORDS == ("lang", "answer_language", "task")
    req = parse_input("Apa kabar?", {"lang": "id", "answer_language": "en", "task": "chat"})
    assert (req.lang, req.answer_language, req.task) == ("id", "en", "chat")
    assert parse_input({"query": "Apa kabar?", "lang": "id"}, {"lang": "id"}).lang == "id"
    assert parse_input("Apa kabar?", {"lang": None}).lang is None
    with pytest.raises(InvalidInput, match=r"keyword argument\(s\) stop, temperature"):
        parse_input("Apa kabar?", {"temperature": 0, "stop": ["x"]})
    with pytest.raises(InvalidInput, match=r"'lang' is given twice, 'ms' in the input"):
        parse_input({"query": "Apa kabar?", "lang": "ms"}, {"lang": "id"})
