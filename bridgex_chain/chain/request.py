"""What :class:`~bridgex_chain.chain.BridgeXChain` accepts, how it routed, and what it returns.

Inputs (:func:`parse_input`):

* a string — the query;
* a message list (or a ``ChatPromptValue``) — a conversation: the **last human message** is
  routed, the messages before it are history and those after it (an agent's tool call and tool
  result) are kept after it;
* a dict — ``query`` (a string or messages; ``input``/``question`` are accepted too), optional
  ``history`` (messages), ``lang`` (the user's language, skips detection), ``answer_language``,
  ``task`` and task fields: ``passage``, ``options`` (reading), ``labels`` (classify), ``unit``
  (translate: ``"word"``/``"sentence"``), ``demos`` (explicit demonstrations, used as given).

Output: an ``AIMessage`` whose ``response_metadata["bridgex"]`` holds the routing
(:meth:`Route.metadata` plus what the rewrite did). An ``AIMessage`` drops straight into
``RunnableWithMessageHistory`` and agents.

Example:
    >>> req = parse_input({"query": "Habari?", "lang": "sw"})
    >>> (req.query, req.lang)
    ('Habari?', 'sw')
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    convert_to_messages,
)
from langchain_core.prompt_values import PromptValue

from bridgex_chain.detect import Detection
from bridgex_chain.errors import InvalidInput
from bridgex_chain.languages import bridging_code
from bridgex_chain.prompting.templates import StopFilter, clean_completion, parse_choice
from bridgex_chain.store.records import Bridge

if TYPE_CHECKING:
    from bridgex_chain.chain.router import Prepared

__all__ = [
    "FALLBACK_BRIDGE_IS_QUERY_LANGUAGE",
    "FALLBACK_EMPTY_RENDERING",
    "FALLBACK_LOW_CONFIDENCE",
    "FALLBACK_NO_BRIDGE",
    "FALLBACK_NO_MODEL_KEY",
    "FALLBACK_UNKNOWN_LANGUAGE",
    "ChainRequest",
    "ChunkShaper",
    "Route",
    "choose",
    "finish_message",
    "head_chunk",
    "message_text",
    "parse_input",
]

logger = logging.getLogger("bridgex_chain.chain")

FALLBACK_UNKNOWN_LANGUAGE: Final = "unknown_language"
"""The detector abstained (empty, too short, below its threshold…)."""
FALLBACK_LOW_CONFIDENCE: Final = "low_confidence"
"""The detector answered below the chain's ``min_confidence``."""
FALLBACK_NO_MODEL_KEY: Final = "no_model_key"
"""The chain cannot tell which model's bridges to look up (pass ``model=``)."""
FALLBACK_NO_BRIDGE: Final = "no_bridge"
"""The bridge table has no row for (model, query language, answer language)."""
FALLBACK_BRIDGE_IS_QUERY_LANGUAGE: Final = "bridge_is_query_language"
"""The best bridge is the query's own language: bridging would change nothing."""
FALLBACK_EMPTY_RENDERING: Final = "empty_rendering"
"""The model's rendering of the query in the bridge language came back empty."""

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


@dataclass(frozen=True)
class Route:
    """Where a request goes: its detected language and its bridge, or why it goes direct.

    Attributes:
        detection: The detector's answer (or the caller's explicit language).
        answer_language: FLORES code of the answer language (None when unknown).
        model: The model key bridges were looked up for.
        bridge: The bridge table row, or None for direct prompting.
        fallback: Why prompting is direct (a ``FALLBACK_*`` constant), or None.
        detail: A human-readable explanation of the fallback.
    """

    detection: Detection
    answer_language: str | None = None
    model: str | None = None
    bridge: Bridge | None = None
    fallback: str | None = None
    detail: str | None = None

    @property
    def bridged(self) -> bool:
        """True when the request goes through a bridge language."""
        return self.bridge is not None and self.fallback is None

    def metadata(self, names: Mapping[str, str]) -> dict[str, Any]:
        """The routing as plain JSON-ready values (``names`` maps codes to English names).

        Example:
            >>> from bridgex_chain.detect import Detection
            >>> Route(Detection("unknown", 0.1, reason="too-short"),
            ...       fallback="unknown_language").metadata({})["fallback"]
            'unknown_language'
        """
        d = self.detection
        bridge = self.bridge if self.bridged else None
        return {
            "lang": d.lang,
            "lang_name": names.get(d.lang),
            "confidence": round(float(d.confidence), 4),
            "candidates": [[code, round(float(p), 4)] for code, p in d.candidates[:3]],
            "detection_source": d.source,
            "detection_reason": d.reason,
            "answer_language": self.answer_language,
            "answer_language_name": names.get(self.answer_language or ""),
            "model": self.model,
            "bridge": bridge.bridge if bridge else None,
            "bridge_name": names.get(bridge.bridge) if bridge else None,
            "bridge_via": via if bridge and (via := bridge.src) != bridging_code(d.lang) else None,
            "score": bridge.score if bridge else None,
            "margin": bridge.margin if bridge else None,
            "run_id": bridge.run_id if bridge else None,
            "fallback": self.fallback,
            "fallback_detail": self.detail,
        }


# --------------------------------------------------------------------------- outputs


def message_text(output: Any) -> str:
    """The text of a model output (a string, a message or a chunk).

    Example:
        >>> from langchain_core.messages import AIMessage
        >>> message_text(AIMessage("Jambo")), message_text("Jambo")
        ('Jambo', 'Jambo')
    """
    if isinstance(output, str):
        return output
    if isinstance(output, BaseMessage):
        return output.text
    return str(output)


def choose(text: str, choices: Sequence[str], letters: bool) -> tuple[str, dict[str, Any]]:
    """Parse a generated answer to one of ``choices``: (content, metadata entries).

    When nothing fits, the content is the generated text itself and ``choice`` is None
    (logged by the chain), never a guessed label.

    Example:
        >>> choose("Sports", ["politics", "sports"], False)[0]
        'sports'
    """
    index = parse_choice(text, choices, letters=letters)
    chosen = choices[index] if index is not None else None
    return (chosen if chosen is not None else text), {
        "choice": chosen,
        "choice_index": index,
        "raw_answer": text,
        "choice_method": "generate",
    }


_SCORED = ("choice_method", "choice_scores")


def _scored(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Choice entries a scoring answer call put in its message (log-likelihood choices)."""
    return {k: metadata[k] for k in _SCORED if k in metadata}


# --------------------------------------------------------------------------- output shaping


def finish_message(prep: Prepared, output: Any) -> AIMessage:
    """The answer message: the model's own message (tool calls kept) with ``bridgex`` metadata."""
    message = output if isinstance(output, AIMessage) else AIMessage(message_text(output))
    info = dict(prep.info)
    content: Any = message.content
    if prep.style == "completion":
        content = clean_completion(message_text(output), prep.plan.answer.stop)
    scored = _scored(message.response_metadata)
    if prep.plan.choices and not message.tool_calls:
        content, choice = choose(message_text(content), prep.plan.choices, prep.plan.letters)
        info.update(choice, **scored)
        _log_unparsed(choice)
    kept = {k: v for k, v in message.response_metadata.items() if k not in scored}
    metadata = {**kept, "bridgex": info}
    return message.model_copy(update={"content": content, "response_metadata": metadata})


def head_chunk(prep: Prepared) -> AIMessageChunk:
    """The first streamed chunk: no text, the routing in ``response_metadata``."""
    return AIMessageChunk(content="", response_metadata={"bridgex": dict(prep.info)})


def _log_unparsed(choice: dict[str, Any]) -> None:
    if choice["choice"] is None:
        logger.warning("bridgex: the answer %r matches none of the choices", choice["raw_answer"])


class ChunkShaper:
    """Turn the model's stream into answer chunks (stop strings cut, choices parsed at the end)."""

    def __init__(self, prep: Prepared) -> None:
        self.prep = prep
        self.cut = StopFilter(prep.plan.answer.stop) if prep.style == "completion" else None
        self.parts: list[str] = []
        self.scored: dict[str, Any] = {}

    def feed(self, piece: Any) -> list[AIMessageChunk]:
        """Take one model chunk (text or message chunk); return the chunks to yield now."""
        if self.prep.plan.choices:  # a label is short: parse it once the answer is complete
            self.parts.append(message_text(piece))
            if isinstance(piece, BaseMessage):
                self.scored.update(_scored(piece.response_metadata))
            return []
        if self.cut is None:
            return [piece if isinstance(piece, AIMessageChunk) else _chunk(piece)]
        text = self.cut.feed(message_text(piece))
        return [AIMessageChunk(content=text)] if text else []

    def close(self) -> list[AIMessageChunk]:
        """The stream ended: return the last chunks (held-back text, or the parsed choice)."""
        if self.prep.plan.choices:
            raw = "".join(self.parts)
            if self.prep.style == "completion":
                raw = clean_completion(raw, self.prep.plan.answer.stop)
            content, choice = choose(raw, self.prep.plan.choices, self.prep.plan.letters)
            _log_unparsed(choice)
            choice.update(self.scored)
            return [AIMessageChunk(content=content, response_metadata={"bridgex": choice})]
        tail = self.cut.flush() if self.cut is not None else ""
        return [AIMessageChunk(content=tail)] if tail else []


def _chunk(piece: Any) -> AIMessageChunk:
    if isinstance(piece, BaseMessage):
        return AIMessageChunk(content=piece.content)
    return AIMessageChunk(content=message_text(piece))
