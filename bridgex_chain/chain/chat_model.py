"""BridgeXChatModel: bridging behind the chat-model interface, for agents and chains that want one.

An agent (or any code) that expects a ``BaseChatModel`` gets bridged prompting transparently: every
call goes through :class:`~bridgex_chain.chain.BridgeXChain` (detect, lookup, rewrite), and the
reply is the inner model's own ``AIMessage`` with ``response_metadata["bridgex"]`` (so its tool
calls, ``usage_metadata`` and ``response_metadata["model_name"]`` — those of the answer call —
pass through).

* Tool calls pass through untouched: if the inner model answers with tool calls, they are
  returned as they are.
* :meth:`BridgeXChatModel.bind_tools` returns the model bound to the tools (a
  ``RunnableBinding``, as LangChain's chat models do). At each call the tools are bound on the
  inner model (its own ``bind_tools``, with ``tool_choice`` and any other option) for the answer
  call only, while the rendering call (translating the user's message into the bridge language)
  uses the plain model, so it can never turn into a tool call. ``with_structured_output`` is
  LangChain's, built on it (a forced tool call parsed to the schema).
* In an agent loop the conversation ends with tool results, not a user message: the last user
  message is still the one routed (its rendering is cached, so it is translated once per turn).
* ``stop`` (per call, or the model's default) cuts the answer's text before the first stop string,
  whole or as it streams, whatever the inner model does with stop strings.
* The chain's runs (its steps, the inner model's calls) nest under this model's run. A streamed
  call is the exception: langchain-core's ``stream``/``astream`` give ``_stream`` no run manager,
  so there the chain's run is a sibling of this model's run.

Example:
    >>> from langchain_core.language_models import FakeListChatModel
    >>> from bridgex_chain.chain import BridgeXChain
    >>> from bridgex_chain.detect import Detection
    >>> model = BridgeXChatModel(chain=BridgeXChain(
    ...     llm=FakeListChatModel(responses=["Sawa! Kwaheri."]),
    ...     detector=lambda t: Detection("unknown", 0)))
    >>> model.invoke("ok").content, model.invoke("ok", stop=["!"]).content
    ('Sawa! Kwaheri.', 'Sawa')
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManager,
    AsyncCallbackManagerForLLMRun,
    CallbackManager,
)
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict

from bridgex_chain.chain.runnable import BridgeXChain
from bridgex_chain.errors import BridgeXError
from bridgex_chain.models.chat_adapter import ChatAdapter, ChatCall, generation_chunk
from bridgex_chain.models.stops import StopFilter, cut_at_stop

__all__ = ["BridgeXChatModel"]


def _config(run_manager: Any) -> RunnableConfig:
    """Nest the chain's runs under this model's run (LLM run managers have no ``get_child``)."""
    if run_manager is None:
        return {}
    cls = (
        AsyncCallbackManager
        if isinstance(run_manager, AsyncCallbackManagerForLLMRun)
        else (CallbackManager)
    )
    child = cls(handlers=[], parent_run_id=run_manager.run_id)
    child.set_handlers(run_manager.inheritable_handlers)
    child.add_tags(run_manager.inheritable_tags)
    child.add_metadata(run_manager.inheritable_metadata)
    return {"callbacks": child}


def _cut(message: AIMessage, stop: Sequence[str] | None) -> AIMessage:
    """``message`` with its text content cut before the first stop string."""
    if not stop or not isinstance(message.content, str):
        return message
    text = cut_at_stop(message.content, stop)
    return message if text == message.content else message.model_copy(update={"content": text})


class _StreamCut:
    """Cut a stream of answer chunks at stop strings (other parts of the chunks pass on)."""

    def __init__(self, stop: Sequence[str] | None) -> None:
        self.filter = StopFilter(stop, strip=False) if stop else None

    def feed(self, piece: AIMessage) -> AIMessage:
        if self.filter is None or not isinstance(piece.content, str):
            return piece
        text = self.filter.feed(piece.content)
        return piece if text == piece.content else piece.model_copy(update={"content": text})

    def flush(self) -> AIMessageChunk | None:
        tail = self.filter.flush() if self.filter is not None else ""
        return AIMessageChunk(content=tail) if tail else None


class BridgeXChatModel(ChatAdapter):
    """A chat model that routes each call through a :class:`BridgeXChain`.

    Args:
        chain: The chain to route through (its ``llm`` is the inner model).
        stop: Stop strings of calls that give none.

    Example:
        >>> BridgeXChatModel.wrap(None)._llm_type  # the embedded model, loaded on first use
        'bridgex'
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    chain: BridgeXChain

    @classmethod
    def wrap(cls, llm: Any, **chain_kwargs: Any) -> BridgeXChatModel:
        """Build the chain around ``llm`` (see :class:`BridgeXChain` for the arguments)."""
        return cls(chain=BridgeXChain(llm=llm, **chain_kwargs))

    @property
    def _llm_type(self) -> str:
        return "bridgex"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": self.chain.router.model_key(), "task": self.chain.task}

    @property
    def _ls_model_name(self) -> str:
        """The chain's model key (bridges are looked up under it), else ``bridgex``."""
        return self.chain.router.model_key() or self._llm_type

    def _chain_for(self, kwargs: dict[str, Any]) -> BridgeXChain:
        """The chain of one call: with ``tools`` bound, its answer call uses them.

        ``tools`` (and the options given with them: ``tool_choice``, ...) come from
        :meth:`bind_tools` or the call; they are bound on the inner model at each call.
        """
        if kwargs.get("tools") is None:
            return self.chain
        options = dict(kwargs)
        tools = options.pop("tools")
        return self.chain.with_answer_llm(self._tool_model().bind_tools(tools, **options))

    def _tool_model(self) -> Any:
        inner = self.chain.router.llm()
        if not hasattr(inner, "bind_tools"):
            raise BridgeXError(
                f"The inner model {type(inner).__name__} cannot bind tools: use a chat model "
                "with tool calling (bind_tools) as the chain's llm."
            )
        return inner

    def _reply(self, call: ChatCall) -> AIMessage:
        reply = self._chain_for(call.kwargs).invoke(call.messages, _config(call.run_manager))
        return _cut(reply, call.stop)

    def _reply_pieces(self, call: ChatCall) -> Iterator[AIMessage]:
        chain, cut = self._chain_for(call.kwargs), _StreamCut(call.stop)
        for piece in chain.stream(call.messages, _config(call.run_manager)):
            yield cut.feed(piece)
        tail = cut.flush()
        if tail is not None:
            yield tail

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        reply = await self._chain_for(kwargs).ainvoke(messages, _config(run_manager))
        return ChatResult(generations=[ChatGeneration(message=_cut(reply, self._call_stop(stop)))])

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        cut = _StreamCut(self._call_stop(stop))
        async for piece in self._chain_for(kwargs).astream(messages, _config(run_manager)):
            chunk = generation_chunk(cut.feed(piece))
            if run_manager is not None and chunk.text:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk
        tail = cut.flush()
        if tail is not None:
            chunk = generation_chunk(tail)
            if run_manager is not None:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[Any, AIMessage]:
        """This model bound to ``tools`` for the answer call (rendering stays tool-free).

        The tools are converted to the OpenAI format LangChain's chat models all read, and
        passed, with ``tool_choice`` and ``kwargs``, to the inner model's ``bind_tools`` at
        each call.

        Args:
            tools: Tools, functions, pydantic models or tool schemas.
            tool_choice: Which tool the inner model must call (``"any"``, a tool's name), if
                it supports forcing one.
            **kwargs: Other options of the inner model's ``bind_tools``.

        Returns:
            A ``RunnableBinding`` of this model with the tools as call options.

        Raises:
            BridgeXError: The inner model cannot bind tools.

        Example:
            >>> from langchain_core.language_models import FakeListLLM
            >>> BridgeXChatModel.wrap(FakeListLLM(responses=["x"]), model="m").bind_tools([])
            Traceback (most recent call last):
            ...
            bridgex_chain.errors.BridgeXError: The inner model FakeListLLM cannot bind tools: ...
        """
        self._tool_model()
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)
