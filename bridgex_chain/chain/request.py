"""What :class:`~bridgex_chain.chain.BridgeXChain` accepts: any input → :class:`ChainRequest`.

Inputs (:func:`parse_input`):

* a string — the query;
* a message list (or a ``ChatPromptValue``) — a conversation: the **last human message** is
  routed, the messages before it are history and those after it (an agent's tool call and tool
  result) are kept after it;
* a dict — ``query`` (a string or messages; ``input``/``question`` are accepted too), optional
  ``history`` (messages), ``lang`` (the user's language, skips detection), ``answer_language``,
  ``task`` and task fields: ``passage``, ``options`` (reading), ``labels`` (classify), ``unit``
  (translate: ``"word"``/``"sentence"``), ``demos`` (explicit demonstrations, used as given).

Example:
    >>> req = parse_input({"query": "Habari?", "lang": "sw"})
    >>> (req.query, req.lang)
    ('Habari?', 'sw')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, convert_to_messages
from langchain_core.prompt_values import PromptValue

from bridgex_chain.errors import InvalidInput

__all__ = ["ChainRequest", "parse_input"]

_QUERY_KEYS = ("query", "input", "question")
_FIELD_KEYS = ("passage", "options", "labels", "unit", "demos")


@dataclass(frozen=True)
class ChainRequest:
    """One parsed input.

    Attributes:
        query: The text to route.
        history: Messages before the routed human message.
        trailing: Messages after it (kept after it, e.g. tool calls and results).
        lang: The caller's language hint (any code form), or None to detect.
        answer_language: The answer language (any code form), or None for the query's.
        task: Task kind, or None for the chain's default.
        fields: Task fields (``passage``, ``options``, ``labels``, ``unit``, ``demos``).
    """

    query: str
    history: tuple[BaseMessage, ...] = ()
    trailing: tuple[BaseMessage, ...] = ()
    lang: str | None = None
    answer_language: str | None = None
    task: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)


def parse_input(value: Any) -> ChainRequest:
    """Turn any accepted input into a :class:`ChainRequest` (see the module docstring).

    Raises:
        InvalidInput: The input has no query (no string, no human message).

    Example:
        >>> from langchain_core.messages import AIMessage, HumanMessage
        >>> req = parse_input([HumanMessage("Hi"), AIMessage("Hello"), HumanMessage("Habari?")])
        >>> (req.query, len(req.history))
        ('Habari?', 2)
    """
    if isinstance(value, str):
        return ChainRequest(value)
    if isinstance(value, PromptValue):
        return _from_messages(value.to_messages())
    if isinstance(value, BaseMessage):
        return _from_messages([value])
    if isinstance(value, Mapping):
        return _from_mapping(value)
    if isinstance(value, Sequence):
        return _from_messages(convert_to_messages(value))
    raise InvalidInput(
        f"BridgeXChain cannot take a {type(value).__name__}: pass a string, a list of messages, "
        "or a dict with 'query' (and optional 'lang', 'answer_language', 'task', ...)."
    )


def _from_messages(
    messages: Sequence[BaseMessage], history: Sequence[BaseMessage] = ()
) -> ChainRequest:
    every = [*history, *messages]
    for i in range(len(every) - 1, -1, -1):
        if isinstance(every[i], HumanMessage):
            return ChainRequest(every[i].text, tuple(every[:i]), tuple(every[i + 1 :]))
    raise InvalidInput(
        "The conversation has no human message to route: end it with the user's message."
    )


def _from_mapping(value: Mapping[str, Any]) -> ChainRequest:
    key = next((k for k in _QUERY_KEYS if k in value), None)
    if key is None:
        raise InvalidInput(
            f"The input dict needs a 'query' (got keys {sorted(value)}): "
            "{'query': 'Habari?', 'lang': 'sw'}."
        )
    query = value[key]
    if not isinstance(query, str | BaseMessage | Sequence) or isinstance(query, bytes):
        raise InvalidInput(
            f"The input dict's {key!r} must be a string or a list of messages, not "
            f"{type(query).__name__}: {{'query': 'Habari?', 'lang': 'sw'}}."
        )
    history = convert_to_messages(value.get("history") or [])
    if isinstance(query, str) and not history:
        base = ChainRequest(query)
    else:
        messages = [HumanMessage(query)] if isinstance(query, str) else query
        if isinstance(messages, BaseMessage):
            messages = [messages]
        base = _from_messages(convert_to_messages(messages), history)
    return ChainRequest(
        base.query,
        base.history,
        base.trailing,
        lang=_optional_str(value, "lang"),
        answer_language=_optional_str(value, "answer_language"),
        task=_optional_str(value, "task"),
        fields={k: value[k] for k in _FIELD_KEYS if value.get(k) is not None},
    )


def _optional_str(value: Mapping[str, Any], key: str) -> str | None:
    found = value.get(key)
    return str(found) if found else None
