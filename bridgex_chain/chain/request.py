r"""What :class:`~bridgex_chain.chain.BridgeXChain` accepts: any input → :class:`ChainRequest`.

Inputs (:func:`parse_input`):

* a string — the query;
* ``bytes`` — a query in UTF-8 (a leading BOM is dropped); bytes that are not UTF-8 are an
  :class:`~bridgex_chain.errors.InvalidInput` (decode them yourself and pass the ``str``);
* a message list (or a ``ChatPromptValue``) — a conversation: the **last human message** is
  routed, the messages before it are history and those after it (an agent's tool call and tool
  result) are kept after it;
* a dict — ``query`` (a string, UTF-8 bytes or messages; ``input``/``question`` are accepted
  too), optional ``history`` (a list of messages), ``lang`` (the user's language, skips
  detection), ``answer_language``, ``task`` and task fields: ``passage``, ``options`` (reading)
  and ``labels`` (classify) — each a **list** of strings, a plain string is refused rather than
  split into letters —, ``unit`` (translate: ``"word"``/``"sentence"``), ``demos`` (explicit
  demonstrations, used as given).

The keywords of a call (``chain.invoke(query, lang="id")``, or ``chain.bind(lang="id")``, which
passes them on every call) are :data:`CALL_KEYWORDS`: ``lang``, ``answer_language`` and
``task``, the same as the dict keys. Any other keyword is an ``InvalidInput``, and so is a
keyword that contradicts the input dict's own value.

All text is made encodable: code points UTF-8 cannot encode (lone surrogates such as
``"\udcff"``) become U+FFFD (:func:`~bridgex_chain.detect.utf8_safe`) in the query, the
passage, the labels and options and the text of every message, so the detector, the tokenizer or
a provider's client never fails on them.

Example:
    >>> req = parse_input({"query": "Habari?", "lang": "sw"})
    >>> (req.query, req.lang)
    ('Habari?', 'sw')
    >>> parse_input(b"Habari?", {"lang": "sw"}).lang
    'sw'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

from langchain_core.messages import BaseMessage, HumanMessage, convert_to_messages
from langchain_core.prompt_values import PromptValue

from bridgex_chain.detect import utf8_safe
from bridgex_chain.errors import InvalidInput
from bridgex_chain.prompting.templates import TASKS

__all__ = ["CALL_KEYWORDS", "ChainRequest", "parse_input"]

CALL_KEYWORDS: Final[tuple[str, ...]] = ("lang", "answer_language", "task")
"""The keywords ``invoke``/``ainvoke``/``stream``/``astream``/``batch`` (and ``bind``) accept."""

_QUERY_KEYS = ("query", "input", "question")
_FIELD_KEYS = ("passage", "options", "labels", "unit", "demos")
_CHOICE_EXAMPLES = {"labels": "['sports', 'politics']", "options": "['Nairobi', 'Mombasa']"}
_MESSAGE_ERRORS = (NotImplementedError, ValueError, TypeError, KeyError, AttributeError)
_SHAPES = "a string, a list of messages, or a dict with 'query' (and optional 'lang', ...)"


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


def parse_input(value: Any, keywords: Mapping[str, Any] | None = None) -> ChainRequest:
    """Turn any accepted input into a :class:`ChainRequest` (see the module docstring).

    Args:
        value: The chain's input.
        keywords: The call's keyword arguments (:data:`CALL_KEYWORDS`).

    Raises:
        InvalidInput: The input has no query (no string, no human message), holds something
            that is not a message, bytes that are not UTF-8, a string where a list belongs
            (``labels``, ``options``, ``history``), an unknown task, or ``keywords`` holds an
            unknown keyword or one that contradicts the input.

    Example:
        >>> from langchain_core.messages import AIMessage, HumanMessage
        >>> req = parse_input([HumanMessage("Hi"), AIMessage("Hello"), HumanMessage("Habari?")])
        >>> (req.query, len(req.history))
        ('Habari?', 2)
        >>> parse_input("Apa kabar?", {"lang": "id"}).lang
        'id'
    """
    request = _parse(value)
    if keywords:
        request = _with_keywords(request, keywords)
    if request.task is not None and request.task not in TASKS:
        raise InvalidInput(f"Unknown task {request.task!r}: use one of {', '.join(TASKS)}.")
    return request


def _parse(value: Any) -> ChainRequest:
    if isinstance(value, str):
        return ChainRequest(utf8_safe(value))
    if isinstance(value, bytes | bytearray):
        return ChainRequest(_decoded(value, "The input"))
    if isinstance(value, PromptValue):
        return _from_messages(_messages(value.to_messages(), "The prompt value"))
    if isinstance(value, BaseMessage):
        return _from_messages(_messages([value], "The input"))
    if isinstance(value, Mapping):
        return _from_mapping(value)
    if isinstance(value, Sequence):
        return _from_messages(_messages(value, "The input list"))
    raise InvalidInput(f"BridgeXChain cannot take a {type(value).__name__}: pass {_SHAPES}.")


def _decoded(data: bytes | bytearray, what: str) -> str:
    try:
        return utf8_safe(bytes(data).decode("utf-8-sig"))
    except UnicodeDecodeError as err:
        raise InvalidInput(
            f"{what} is bytes that are not UTF-8 ({err.reason} at byte {err.start}): decode "
            "them yourself, e.g. data.decode('latin-1'), and pass the str."
        ) from err


def _safe_message(message: BaseMessage) -> BaseMessage:
    """``message`` with its text made encodable (:func:`utf8_safe`), the same object if it was."""
    content = message.content
    if isinstance(content, str):
        safe: Any = utf8_safe(content)
        changed = safe is not content
    else:
        safe = [_safe_block(block) for block in content]
        changed = any(new is not old for new, old in zip(safe, content, strict=True))
    return message.model_copy(update={"content": safe}) if changed else message


def _safe_block(block: Any) -> Any:
    if isinstance(block, str):
        return utf8_safe(block)
    if isinstance(block, dict) and isinstance(text := block.get("text"), str):
        safe = utf8_safe(text)
        return block if safe is text else {**block, "text": safe}
    return block


def _messages(value: Any, what: str) -> list[BaseMessage]:
    """``value`` as messages (made encodable), or an ``InvalidInput`` saying what to pass."""
    if isinstance(value, BaseMessage):
        value = [value]
    if isinstance(value, str | bytes | bytearray) or not isinstance(value, Sequence):
        raise InvalidInput(
            f"{what} must be a list of messages, not a {type(value).__name__}: "
            "[('human', 'Jambo'), ('ai', 'Jambo!')]."
        )
    try:
        messages = convert_to_messages(value)
    except _MESSAGE_ERRORS as err:
        cause = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise InvalidInput(
            f"{what} holds something that is not a message ({cause}): pass {_SHAPES}, where "
            "messages are message objects, ('human', 'text') pairs or "
            "{'role': 'user', 'content': 'text'} dicts."
        ) from err
    return [_safe_message(m) for m in messages]


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
            f"The input dict needs a 'query' (got keys {sorted(map(str, value))}): "
            "{'query': 'Habari?', 'lang': 'sw'}."
        )
    query = value[key]
    if isinstance(query, bytes | bytearray):
        query = _decoded(query, f"The input dict's {key!r}")
    if not isinstance(query, str | BaseMessage | Sequence):
        raise InvalidInput(
            f"The input dict's {key!r} must be a string or a list of messages, not "
            f"{type(query).__name__}: {{'query': 'Habari?', 'lang': 'sw'}}."
        )
    given_history = value.get("history")
    history = _messages(given_history, "The input dict's 'history'") if given_history else []
    if isinstance(query, str) and not history:
        base = ChainRequest(utf8_safe(query))
    else:
        messages = [HumanMessage(query)] if isinstance(query, str) else query
        base = _from_messages(_messages(messages, f"The input dict's {key!r}"), history)
    return ChainRequest(
        base.query,
        base.history,
        base.trailing,
        lang=_optional_str(value, "lang"),
        answer_language=_optional_str(value, "answer_language"),
        task=_optional_str(value, "task"),
        fields={k: _field(k, value[k]) for k in _FIELD_KEYS if value.get(k) is not None},
    )


def _field(key: str, value: Any) -> Any:
    """A task field, checked: ``labels``/``options`` are lists of strings, ``passage`` text."""
    if key == "passage":
        if isinstance(value, bytes | bytearray):
            return _decoded(value, "The input dict's 'passage'")
        if not isinstance(value, str):
            raise InvalidInput(
                f"The input dict's 'passage' must be a string, not {type(value).__name__}."
            )
        return utf8_safe(value)
    if key in _CHOICE_EXAMPLES:
        if (
            isinstance(value, str | bytes | bytearray)
            or not isinstance(value, Sequence)
            or not all(isinstance(item, str) for item in value)
        ):
            shown = repr(value) if len(repr(value)) <= 60 else type(value).__name__
            raise InvalidInput(
                f"The input dict's {key!r} must be a list of strings, not {shown}: "
                f"{{{key!r}: {_CHOICE_EXAMPLES[key]}}}."
            )
        return [utf8_safe(item) for item in value]
    return value


def _optional_str(value: Mapping[str, Any], key: str) -> str | None:
    found = value.get(key)
    return utf8_safe(str(found)) if found else None


def _with_keywords(request: ChainRequest, keywords: Mapping[str, Any]) -> ChainRequest:
    """``request`` with the call's keywords (:data:`CALL_KEYWORDS`) filled in."""
    unknown = sorted(str(k) for k in keywords if k not in CALL_KEYWORDS)
    if unknown:
        raise InvalidInput(
            f"BridgeXChain does not take the keyword argument(s) {', '.join(unknown)}: a call "
            f"takes only {', '.join(f'{k}=' for k in CALL_KEYWORDS)} (the same as the input "
            "dict's keys); settings such as stop= or temperature= belong to the model (llm=)."
        )
    updates: dict[str, Any] = {}
    for key in CALL_KEYWORDS:
        given = _optional_str(keywords, key)
        if given is None:
            continue
        current = getattr(request, key)
        if current is not None and current != given:
            raise InvalidInput(
                f"{key!r} is given twice, {current!r} in the input and {given!r} as a keyword: "
                "give it once."
            )
        updates[key] = given
    return replace(request, **updates) if updates else request
