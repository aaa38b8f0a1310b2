"""What :class:`~bridgex_chain.chain.BridgeXChain` returns: the answer message and its chunks.

* :func:`finish_message` — the model's own ``AIMessage`` (tool calls, usage and ids kept) with
  ``response_metadata["bridgex"]``; completion text cut at the stop strings; for classify and
  reading the content is the chosen label or option (``choice``, ``choice_index``,
  ``raw_answer``).
* :class:`StreamedAnswer` — what ``stream``/``astream`` yield after the routing chunk
  (:func:`head_chunk`), and their sum: stop strings cut as the text streams
  (:class:`ChunkShaper`), choices parsed once the answer is complete.

An ``AIMessage`` drops straight into ``RunnableWithMessageHistory`` and agents.

Example:
    >>> choose("Sports", ["politics", "sports"], False)[0]
    'sports'
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage

from bridgex_chain.chain.route import Prepared
from bridgex_chain.models.chat_adapter import message_chunk
from bridgex_chain.models.stops import StopFilter, clean_completion
from bridgex_chain.prompting.templates import parse_choice

__all__ = [
    "ChunkShaper",
    "StreamedAnswer",
    "choose",
    "finish_message",
    "head_chunk",
    "message_text",
]

logger = logging.getLogger("bridgex_chain.chain")


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
    """A model's piece as a chunk (a whole message keeps its tool calls, usage and id)."""
    return message_chunk(piece if isinstance(piece, BaseMessage) else message_text(piece))


class StreamedAnswer:
    """The chunks ``stream``/``astream`` yield after routing, and their sum (the run's output).

    ``total`` starts as the routing chunk (:func:`head_chunk`); each chunk the shaper returns for
    the model's pieces is added to it.
    """

    def __init__(self, prep: Prepared) -> None:
        self.prep = prep
        self.total = head_chunk(prep)
        self._shaper = ChunkShaper(prep)

    def feed(self, piece: Any) -> list[AIMessageChunk]:
        """Shape one model chunk; return the chunks to yield now."""
        return self._added(self._shaper.feed(piece))

    def close(self) -> list[AIMessageChunk]:
        """The model's stream ended: return the last chunks."""
        return self._added(self._shaper.close())

    def _added(self, chunks: list[AIMessageChunk]) -> list[AIMessageChunk]:
        for chunk in chunks:
            self.total += chunk
        return chunks
