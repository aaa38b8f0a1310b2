"""ChatAdapter: the ``BaseChatModel`` plumbing shared by this package's chat models.

A chat model here is two hooks over one :class:`ChatCall` (what LangChain passed to
``_generate``/``_stream``): :meth:`ChatAdapter._reply`, the whole answer, and
:meth:`ChatAdapter._reply_pieces`, the answer piece by piece. :class:`ChatAdapter` wraps them in
LangChain's results and chunks and reports each streamed token to the run's callbacks.
:class:`~bridgex_chain.models.langchain.LocalHFChatModel` and
:class:`~bridgex_chain.chain.chat_model.BridgeXChatModel` are built on it.

It also holds what both chat models share: ``stop``, the stop strings of calls that give none,
and LangSmith's trace parameters (:meth:`ChatAdapter._get_ls_params`: ``ls_provider``,
``ls_model_name`` — a call's ``model=`` keyword wins — ``ls_model_type``, ``ls_stop``).

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
    >>> params = Echo(stop=["."])._get_ls_params()
    >>> params["ls_provider"], params["ls_model_name"], params["ls_stop"]
    ('bridgex', 'echo', ['.'])
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

__all__ = ["ChatAdapter", "ChatCall", "generation_chunk", "message_chunk"]


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


def message_chunk(piece: str | BaseMessage) -> AIMessageChunk:
    """A streamed piece as a message chunk; a whole ``AIMessage`` keeps all it carries.

    A model that cannot stream yields its whole message once: its tool calls (as tool-call
    chunks), usage, id and metadata are kept. A chunk passes on as it is.

    Example:
        >>> call = {"name": "weather", "args": {"city": "Mombasa"}, "id": "c1"}
        >>> chunk = message_chunk(AIMessage("", tool_calls=[call]))
        >>> chunk.tool_call_chunks[0]["args"], message_chunk("maji").content
        ('{"city": "Mombasa"}', 'maji')
    """
    if isinstance(piece, AIMessageChunk):
        return piece
    if isinstance(piece, AIMessage):
        return AIMessageChunk(**piece.model_dump(exclude={"type"}))
    if isinstance(piece, BaseMessage):
        return AIMessageChunk(content=piece.content)
    return AIMessageChunk(content=piece)


def generation_chunk(piece: str | AIMessage) -> ChatGenerationChunk:
    """A streamed piece (text, or a message passed on as it is) as a LangChain chunk.

    Example:
        >>> generation_chunk("maji").message.content
        'maji'
    """
    return ChatGenerationChunk(message=message_chunk(piece))


class ChatAdapter(BaseChatModel):
    """A chat model made of :meth:`_reply` and :meth:`_reply_pieces` (see the module docstring).

    Example:
        >>> from bridgex_chain.models.langchain import LocalHFChatModel
        >>> issubclass(LocalHFChatModel, ChatAdapter)
        True

    Attributes:
        stop: The stop strings of a call that gives none (a call's ``stop``, even ``[]``,
            replaces them).
    """

    stop: list[str] | None = None

    #: ``ls_provider`` in the trace parameters.
    ls_provider: ClassVar[str] = "bridgex"

    @property
    def _ls_model_name(self) -> str:
        """The model's name in the trace parameters (``ls_model_name``)."""
        return self._llm_type

    def _call_stop(self, stop: list[str] | None) -> list[str] | None:
        """The stop strings of a call: its own, else the model's default."""
        return stop if stop is not None else self.stop

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        """LangSmith's standard trace parameters (a call's ``model=`` names the model)."""
        params = super()._get_ls_params(stop=self._call_stop(stop), **kwargs)
        params["ls_provider"] = self.ls_provider
        model = kwargs.get("model")
        params["ls_model_name"] = model if isinstance(model, str) else self._ls_model_name
        return params

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
        reply = self._reply(ChatCall(messages, self._call_stop(stop), run_manager, kwargs))
        return ChatResult(generations=[ChatGeneration(message=reply)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        call = ChatCall(messages, self._call_stop(stop), run_manager, kwargs)
        for piece in self._reply_pieces(call):
            chunk = generation_chunk(piece)
            if run_manager is not None and chunk.text:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk
