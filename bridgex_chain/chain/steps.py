"""The traced steps of :class:`~bridgex_chain.chain.BridgeXChain`: one child chain run per step.

Each step (``detect``, ``lookup``, ``rewrite``) runs as a child of the chain's root run, and
the calls it makes nest under it; its output is traced in a readable form (the detection's
fields, the route's metadata, the answer prompt with its rendering and demonstrations).

The model calls run through :func:`call_child` (:func:`stream_child`, :func:`acall_child`,
:func:`astream_child`): with the config they are given and no ambient one. An enclosing
``RunnableSequence`` leaves its own child config in LangChain's context, and a
``RunnableBinding`` (a model bound to tools or stop strings) merges that ambient config into
the one it is called with, keeping the ambient parent run: the model's run would then attach to
the sequence instead of the step that made the call.

Example:
    >>> from langchain_core.callbacks import CallbackManager
    >>> root = CallbackManager(handlers=[]).on_chain_start(None, {"query": "Habari?"})
    >>> run_step(root, {}, "detect", {"query": "Habari?"}, lambda config: "swh_Latn")
    'swh_Latn'
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from contextvars import Context, copy_context
from typing import Any, TypeVar

from langchain_core.callbacks import CallbackManagerForChainRun
from langchain_core.callbacks.manager import AsyncCallbackManagerForChainRun
from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import patch_config, var_child_runnable_config
from langchain_core.runnables.utils import coro_with_context

from bridgex_chain.chain.route import Route
from bridgex_chain.detect import Detection
from bridgex_chain.prompting.templates import PromptPlan

__all__ = [
    "acall_child",
    "arun_step",
    "astream_child",
    "call_child",
    "close_step",
    "detection_fields",
    "open_step",
    "run_step",
    "stream_child",
    "tagged",
]

T = TypeVar("T")


def detection_fields(detection: Detection) -> dict[str, Any]:
    """What a step trace shows of a detection.

    Example:
        >>> detection_fields(Detection("swh_Latn", 0.9))
        {'lang': 'swh_Latn', 'confidence': 0.9, 'source': 'fasttext'}
    """
    source = str(detection.source)
    return {"lang": detection.lang, "confidence": detection.confidence, "source": source}


def tagged(config: RunnableConfig, tag: str) -> RunnableConfig:
    """A copy of ``config`` with ``tag`` added to its tags.

    Example:
        >>> tagged({"tags": ["mine"]}, "bridgex:answer")["tags"]
        ['mine', 'bridgex:answer']
    """
    result: RunnableConfig = {**config, "tags": [*config.get("tags", []), tag]}
    return result


def _trace_output(value: Any) -> Any:
    if isinstance(value, Detection):
        return detection_fields(value)
    if isinstance(value, Route):
        return value.metadata({})
    if isinstance(value, tuple) and value and isinstance(value[0], PromptPlan):
        plan = value[0]
        return {"prompt": plan.answer.prompt, "rendering": plan.rendering, "demos": plan.demo_ids}
    return value


def open_step(
    run: CallbackManagerForChainRun, name: str, inputs: dict[str, Any]
) -> CallbackManagerForChainRun:
    """Start the child chain run of a step that outlives one function call (a batched rewrite).

    Close it with :func:`close_step` (or ``on_chain_error``).

    Example:
        >>> from langchain_core.callbacks import CallbackManager
        >>> root = CallbackManager(handlers=[]).on_chain_start(None, {"query": "Habari?"})
        >>> close_step(open_step(root, "detect", {}), "swh_Latn")
    """
    return run.get_child().on_chain_start(None, inputs, name=name)


def close_step(step: CallbackManagerForChainRun, result: Any) -> None:
    """End a step opened with :func:`open_step`, tracing ``result`` as :func:`run_step` does."""
    step.on_chain_end(_trace_output(result))


def run_step(
    run: CallbackManagerForChainRun,
    config: RunnableConfig,
    name: str,
    inputs: dict[str, Any],
    fn: Callable[[RunnableConfig], T],
) -> T:
    """Run ``fn`` as a child chain run named ``name`` (its own calls nest under it).

    Example: see the module docstring.
    """
    step = open_step(run, name, inputs)
    try:
        result = fn(patch_config(config, callbacks=step.get_child()))
    except BaseException as err:
        step.on_chain_error(err)
        raise
    close_step(step, result)
    return result


async def arun_step(
    run: AsyncCallbackManagerForChainRun,
    config: RunnableConfig,
    name: str,
    inputs: dict[str, Any],
    fn: Callable[[RunnableConfig], Awaitable[T]],
) -> T:
    """Async :func:`run_step`.

    Example:
        >>> import asyncio
        >>> from langchain_core.callbacks import AsyncCallbackManager
        >>> async def detect(config: RunnableConfig) -> str:
        ...     return "swh_Latn"
        >>> async def main() -> str:
        ...     root = await AsyncCallbackManager(handlers=[]).on_chain_start(None, {})
        ...     return await arun_step(root, {}, "detect", {}, detect)
        >>> asyncio.run(main())
        'swh_Latn'
    """
    step = await run.get_child().on_chain_start(None, inputs, name=name)
    try:
        result = await fn(patch_config(config, callbacks=step.get_child()))
    except BaseException as err:
        await step.on_chain_error(err)
        raise
    await step.on_chain_end(_trace_output(result))
    return result


def _no_ambient_config() -> Context:
    """A copy of the current context without LangChain's ambient child config."""
    context = copy_context()
    context.run(var_child_runnable_config.set, None)
    return context


def call_child(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call ``fn`` (a model's ``invoke`` or ``batch``) with no ambient config (module docstring).

    Example:
        >>> from langchain_core.runnables import RunnableLambda
        >>> call_child(RunnableLambda(lambda x: x + 1).invoke, 1, {})
        2
    """
    return _no_ambient_config().run(fn, *args, **kwargs)


def stream_child(make: Callable[[], Iterator[T]]) -> Iterator[T]:
    """Iterate ``make()`` (a model's ``stream``), every step with no ambient config.

    Example:
        >>> from langchain_core.runnables import RunnableLambda
        >>> list(stream_child(lambda: RunnableLambda(lambda x: x * 2).stream(2, {})))
        [4]
    """
    context = _no_ambient_config()
    iterator = context.run(make)
    try:
        while True:
            try:
                item = context.run(next, iterator)
            except StopIteration:
                return
            yield item
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            context.run(close)


async def acall_child(coro: Coroutine[Any, Any, T]) -> T:
    """Await ``coro`` (a model's ``ainvoke``) with no ambient config.

    Example:
        >>> import asyncio
        >>> from langchain_core.runnables import RunnableLambda
        >>> asyncio.run(acall_child(RunnableLambda(lambda x: x + 1).ainvoke(1, {})))
        2
    """
    return await coro_with_context(coro, _no_ambient_config())


async def astream_child(make: Callable[[], AsyncIterator[T]]) -> AsyncIterator[T]:
    """Iterate ``make()`` (a model's ``astream``), every step with no ambient config.

    Example:
        >>> import asyncio
        >>> from langchain_core.runnables import RunnableLambda
        >>> async def main() -> list[int]:
        ...     double = RunnableLambda(lambda x: x * 2)
        ...     return [x async for x in astream_child(lambda: double.astream(2, {}))]
        >>> asyncio.run(main())
        [4]
    """
    context = _no_ambient_config()
    iterator = context.run(make)
    try:
        while True:
            try:
                item = await coro_with_context(anext(iterator), context)
            except StopAsyncIteration:
                return
            yield item
    finally:
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await coro_with_context(aclose(), context)
