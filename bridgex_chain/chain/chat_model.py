"""BridgeXChatModel: bridging behind the chat-model interface, for agents and chains that want one.

An agent (or any code) that expects a ``BaseChatModel`` gets bridged prompting transparently: every
call goes through :class:`~bridgex_chain.chain.BridgeXChain` (detect, lookup, rewrite), and the
reply is the inner model's own ``AIMessage`` with ``response_metadata["bridgex"]``.

* Tool calls pass through untouched: if the inner model answers with tool calls, they are
  returned as they are.
* :meth:`BridgeXChatModel.bind_tools` delegates to the inner model's ``bind_tools``; the bound
  model makes only the answer call, while the rendering call (translating the user's message into
  the bridge language) uses the plain model, so it can never turn into a tool call.
* In an agent loop the conversation ends with tool results, not a user message: the last user
  message is still the one routed (its rendering is cached, so it is translated once per turn).

Example:
    >>> from langchain_core.language_models import FakeListChatModel
    >>> from bridgex_chain.chain import BridgeXChain
    >>> from bridgex_chain.detect import Detection
    >>> model = BridgeXChatModel(chain=BridgeXChain(
    ...     llm=FakeListChatModel(responses=["Sawa!"]), detector=lambda t: Detection("unknown", 0)))
    >>> model.invoke("ok").content
    'Sawa!'
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManager,
    AsyncCallbackManagerForLLMRun,
    CallbackManager,
)
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.tools import BaseTool
from pydantic import ConfigDict

from bridgex_chain.chain.runnable import BridgeXChain
from bridgex_chain.errors import BridgeXError
from bridgex_chain.models.chat_adapter import ChatAdapter, ChatCall, generation_chunk

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


class BridgeXChatModel(ChatAdapter):
    """A chat model that routes each call through a :class:`BridgeXChain`.

    Args:
        chain: The chain to route through (its ``llm`` is the inner model).

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

    def _reply(self, call: ChatCall) -> AIMessage:
        return self.chain.invoke(call.messages, _config(call.run_manager))

    def _reply_pieces(self, call: ChatCall) -> Iterator[AIMessage]:
        return self.chain.stream(call.messages, _config(call.run_manager))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        reply = await self.chain.ainvoke(messages, _config(run_manager))
        return ChatResult(generations=[ChatGeneration(message=reply)])

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        async for piece in self.chain.astream(messages, _config(run_manager)):
            chunk = generation_chunk(piece)
            if run_manager is not None and chunk.text:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[Any, AIMessage]:
        """Bind tools on the inner model for the answer call (rendering stays tool-free).

        Raises:
            BridgeXError: The inner model cannot bind tools.
        """
        inner = self.chain.router.llm()
        if not hasattr(inner, "bind_tools"):
            raise BridgeXError(
                f"The inner model {type(inner).__name__} cannot bind tools: use a chat model "
                "with tool calling (bind_tools) as the chain's llm."
            )
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
        bound = inner.bind_tools(tools, **kwargs)
        return self.model_copy(update={"chain": self.chain.with_answer_llm(bound)})
