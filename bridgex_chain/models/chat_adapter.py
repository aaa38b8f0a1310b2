"""ChatAdapter: the ``BaseChatModel`` plumbing shared by this package's chat models.

A chat model here is two hooks over one :class:`ChatCall` (what LangChain passed to
``_generate``/``_stream``): :meth:`ChatAdapter._reply`, the whole answer, and
:meth:`ChatAdapter._reply_pieces`, the answer piece by piece. :class:`ChatAdapter` wraps them in
LangChain's results and chunks and reports each streamed token to the run's callbacks.
:class:`~bridgex_chain.models.langchain.LocalHFChatModel` and
:class:`~bridgex_chain.chain.chat_model.BridgeXChatModel` are built on it.

Example:
    >>> class Echo(ChatAdapter):
    ...     @property
    ...     def _llm_type(self) -> str:
    ...         return "echo"
    ...     def _reply(self, call: ChatCall) -> AIMessage:
    ...         return AIMessage(content=call.messages[-1].text)
    ...     def _reply_pieces(self, call: ChatCall) -> Iterator[str]:
    ...         return iter(call.messages[-1].text.split("-"))
    >>> Echo().invoke("ma-ji").content, "".join(c.text for c in Echo().stream("ma-ji"))
    ('ma-ji', 'maji')
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

__all__ = ["ChatAdapter", "ChatCall", "generation_chunk"]


@dataclass(frozen=True)
class ChatCall:
    """One call of a chat model: the arguments LangChain passed to ``_generate``/``_stream``.

    Example:
        >>> ChatCall([], stop=None, run_manager=None, kwargs={}).stop is None
        True
    """

    messages: list[BaseMessage]
    stop: list[str] | None
    run_manager: CallbackManagerForLLMRun | None
    kwargs: dict[str, Any]


def generation_chunk(piece: str | AIMessage) -> ChatGenerationChunk:
    """A streamed piece (text, or a message chunk passed on as it is) as a LangChain chunk.

    Example:
        >>> generation_chunk("maji").message.content
        'maji'
    """
    if isinstance(piece, str):
        return ChatGenerationChunk(message=AIMessageChunk(content=piece))
    message = piece if isinstance(piece, AIMessageChunk) else AIMessageChunk(content=piece.content)
    return ChatGenerationChunk(message=message)


class ChatAdapter(BaseChatModel):
    """A chat model made of :meth:`_reply` and :meth:`_reply_pieces` (see the module docstring).

    Example:
        >>> from bridgex_chain.models.langchain import LocalHFChatModel
        >>> issubclass(LocalHFChatModel, ChatAdapter)
        True
    """

    def _reply(self, call: ChatCall) -> AIMessage:
        """The whole answer to ``call``."""
        raise NotImplementedError

    def _reply_pieces(self, call: ChatCall) -> Iterator[str | AIMessage]:
        """The answer to ``call`` as it is written: text pieces or message chunks."""
        raise NotImplementedError

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        reply = self._reply(ChatCall(messages, stop, run_manager, kwargs))
        return ChatResult(generations=[ChatGeneration(message=reply)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for piece in self._reply_pieces(ChatCall(messages, stop, run_manager, kwargs)):
            chunk = generation_chunk(piece)
            if run_manager is not None and chunk.text:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk
