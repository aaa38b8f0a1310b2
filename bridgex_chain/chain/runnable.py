"""BridgeXChain: detect the query's language, look up its bridge, prompt through it, call the model.

``BridgeXChain`` is a LangChain ``RunnableSerializable`` built like langchain-core's own wrappers
(``RunnableWithFallbacks``): one root run per call with the threaded ``RunnableConfig``, a child
run per step — ``detect``, ``lookup``, ``rewrite`` (holding the model's rendering calls, tagged
``bridgex:render``; see :mod:`bridgex_chain.chain.steps`) — and the answer call as a child LLM
run tagged ``bridgex:answer``.

Input: a string, UTF-8 bytes, messages or a dict (see :mod:`bridgex_chain.chain.request`);
``lang``, ``answer_language`` and ``task`` may also be given as keywords of the call
(``chain.invoke("Apa kabar?", lang="id")``, ``chain.bind(lang="id")``); any other keyword is an
``InvalidInput``. Lone surrogates in the text become U+FFFD before anything sees it.

An **empty or whitespace-only query** is answered with an empty ``AIMessage`` without any model
call (the model, the detector and the table are not even loaded): ``fallback="empty_input"``,
``model_calls`` 0; ``stream`` yields that one chunk. Otherwise:

1. **detect** — the caller's ``lang`` wins; otherwise the detector (fastText by default).
2. **lookup** — ``BridgeTable.best(model, query language, answer language)``; the answer
   language defaults to the query's. A query already in a candidate bridge language (English,
   German, French, Italian, Portuguese, Spanish) is prompted as is. A language without an entry
   borrows the bridge of a close language that has one, or of a close language's close language
   (Malay ~ Indonesian, which detectors confuse; Minangkabau ~ Malay; ``bridge_via`` in the
   metadata names it).
3. **rewrite** — the task's bridged X-ICL prompts (:mod:`bridgex_chain.prompting.tasks`): the
   model renders the query (or passage) in the bridge language; demonstrations, when a pool is
   given, are chosen by similarity.
4. **model** — the answer call.

Output: an ``AIMessage`` (the inner chat model's own message when there is one, so tool calls,
usage and ids pass through) with ``response_metadata["bridgex"]``: task, detected language and
confidence, answer language, bridge, score, margin, run id, the bridge rendering, demonstration
ids, model calls, and ``fallback``/``fallback_detail`` when prompting went direct (unknown or
unsure language, query already in a bridge language, no model key, no table row, bridge = query
language, empty rendering; ``bridge`` is then None and ``bridge_tried`` names a bridge found but
not used) or did not happen (empty input). Every fallback is also logged (logger
``bridgex_chain.chain``). For classify and reading the content is the chosen label or option
(``choice``, ``choice_index``, ``raw_answer`` in the metadata).

``stream``/``astream`` first yield an empty chunk carrying the routing, then the answer's chunks
as the model writes them (completion-style text is cut at the stop strings as it streams, so the
joined chunks equal ``invoke``'s content); classify and reading yield the parsed choice once.
``batch`` runs the inputs together: each keeps its own root run and steps, but the rendering
calls of all inputs go to the model as one ``llm.batch`` per round (a local model pads them into
one batch; the config's ``max_concurrency`` caps its size), and so do answer calls that share a
model and stop strings; with ``return_exceptions=True`` a failing input gives its exception in
place. ``abatch`` is langchain-core's (one ``ainvoke`` per input, concurrently).

Example:
    >>> from langchain_core.language_models import FakeListLLM
    >>> from bridgex_chain.detect import Detection
    >>> chain = BridgeXChain(llm=FakeListLLM(responses=["Nzuri sana"]), model="gemma-3-270m",
    ...                      detector=lambda text: Detection("unknown", 0.0))
    >>> reply = chain.invoke("Habari?")
    >>> reply.content, reply.response_metadata["bridgex"]["fallback"]
    ('Nzuri sana', 'unknown_language')
    >>> empty = chain.invoke("   ")  # no model call
    >>> empty.content, empty.response_metadata["bridgex"]["fallback"]
    ('', 'empty_input')
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from langchain_core.callbacks import CallbackManagerForChainRun
from langchain_core.callbacks.manager import AsyncCallbackManagerForChainRun
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.runnables import Runnable, RunnableConfig, RunnableSerializable
from langchain_core.runnables.config import (
    ensure_config,
    get_async_callback_manager_for_config,
    get_callback_manager_for_config,
    get_config_list,
    patch_config,
    run_in_executor,
)
from langchain_core.tools import BaseTool
from pydantic import BaseModel, ConfigDict, PrivateAttr, field_validator

from bridgex_chain.chain.evidence import EvidenceThresholds
from bridgex_chain.chain.output import StreamedAnswer, finish_message
from bridgex_chain.chain.policies import ROUTE_POLICIES, RoutePolicy
from bridgex_chain.chain.render_cache import RenderCache
from bridgex_chain.chain.request import ChainRequest, parse_input
from bridgex_chain.chain.route import BridgeLookup, Prepared, Route
from bridgex_chain.chain.router import Router, RouterSettings, call_kwargs
from bridgex_chain.chain.steps import (
    acall_child,
    arun_step,
    astream_child,
    call_child,
    close_step,
    detection_fields,
    open_step,
    run_step,
    stream_child,
    tagged,
)
from bridgex_chain.chain.tool import chain_tool
from bridgex_chain.detect import Detection, LanguageDetector
from bridgex_chain.errors import InvalidOption
from bridgex_chain.prompting.templates import TASKS, ModelPrompt, PromptPlan, TaskKind

__all__ = ["BridgeXChain"]

LLMLike = Runnable[Any, Any] | Callable[..., Any] | str | Path | None
"""What ``llm=`` takes: a LangChain model or Runnable, a function, a local model name, or None."""
DetectorLike = LanguageDetector | Callable[[str], Detection | str] | None
"""What ``detector=`` takes: a :class:`~bridgex_chain.detect.LanguageDetector` or a callable."""


class BridgeXChain(RunnableSerializable[Any, AIMessage]):
    """Bridged cross-lingual prompting as a LangChain Runnable (see the module docstring).

    Args:
        llm: A LangChain chat model or LLM, any Runnable taking a prompt, or a local model alias,
            Hub id or path (``None``: the embedded Gemma-3-270m, loaded on first use).
        detector: A ``LanguageDetector`` or a callable ``text -> Detection | code``
            (default: :class:`~bridgex_chain.detect.FastTextDetector`).
        table: A :class:`~bridgex_chain.chain.route.BridgeLookup` such as ``BridgeTable``
            (anything with ``best(model, src, trg)``); default: one opened on ``database_url``
            (default: :func:`~bridgex_chain.paths.default_database_url`).
        database_url: SQLAlchemy URL of the bridge table.
        model: The model key for table lookups; needed when ``llm`` is an external client.
        task: Default task: ``chat``, ``translate``, ``classify`` or ``reading``.
        demos: A demonstration pool, a path or a list (see
            :func:`~bridgex_chain.prompting.demos.load_demo_pool`).
        num_demos: Demonstrations per prompt.
        embedder: How demonstrations are matched (see
            :func:`~bridgex_chain.prompting.embedders.make_embedder`; default TF-IDF).
        labels: Default labels of the classify task (else the pool's labels).
        prompt_style: ``auto`` (chat messages for chat models, one text otherwise),
            ``completion`` or ``chat``.
        templates: A directory of template JSON files overriding the packaged ones.
        min_confidence: Detections below it fall back to direct prompting.
        max_new_tokens: Generation budget of a local model.
        answer_llm: A different model for the answer call only (e.g. bound to tools).
        render_cache_size: Renderings kept (a repeated message is rendered once).
        render_cache: A :class:`~bridgex_chain.chain.render_cache.RenderCache` shared with other
            chains (eval shares one between its route policies); default: the chain's own.
        renderings: Known renderings — ``(text, bridge code) -> text in the bridge`` (a
            translation memory; eval's oracle condition passes the gold parallel text). A
            rendering found here replaces the model's call (``renders_given`` in the metadata).
        choice_scoring: ``auto``: a model that can score choices (the local Hugging Face one)
            picks the label/option by log-likelihood with contextual calibration; ``generate``:
            always generate and parse the text to a choice.
        route_policy: How a route is chosen over the table: ``evidence`` (default: bridge only
            where the table's render checks and the model's competence say it helps, else
            direct; see :mod:`bridgex_chain.chain.evidence`), ``table`` (the table's best HSIC
            bridge), ``english`` (always English) or ``direct`` (never bridge). A custom
            ``table=`` lookup that stores no render checks (``NoBridge``, ``FixedBridge``, your
            own) is its own policy under ``evidence`` and ``table``.
        evidence_thresholds: The evidence policy's thresholds (default:
            :data:`~bridgex_chain.chain.evidence.DEFAULT_THRESHOLDS`, chosen on dev data).

    Example:
        >>> BridgeXChain().task  # embedded model, default table, fastText: all loaded lazily
        'chat'
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    llm: LLMLike = None
    detector: DetectorLike = None
    table: BridgeLookup | None = None
    database_url: str | None = None
    model: str | None = None
    task: TaskKind = "chat"
    demos: Any = None
    num_demos: int = 3
    embedder: Any = None
    labels: tuple[str, ...] | None = None
    prompt_style: Literal["auto", "completion", "chat"] = "auto"
    templates: str | Path | None = None
    min_confidence: float = 0.0
    max_new_tokens: int = 128
    answer_llm: Runnable[Any, Any] | None = None
    render_cache_size: int = 256
    render_cache: RenderCache | None = None
    renderings: Mapping[tuple[str, str], str] | None = None
    choice_scoring: Literal["auto", "generate"] = "auto"
    route_policy: RoutePolicy = "evidence"
    evidence_thresholds: EvidenceThresholds | None = None

    _router: Router | None = PrivateAttr(default=None)

    @field_validator("task", mode="before")
    @classmethod
    def _known_task(cls, value: Any) -> Any:
        if value not in TASKS:
            raise InvalidOption(f"Unknown task {value!r}; use one of {', '.join(TASKS)}.")
        return value

    @field_validator("route_policy", mode="before")
    @classmethod
    def _known_policy(cls, value: Any) -> Any:
        if value not in ROUTE_POLICIES:
            raise InvalidOption(
                f"Unknown route_policy {value!r}; use one of {', '.join(ROUTE_POLICIES)}."
            )
        return value

    def _router_settings(self) -> RouterSettings:
        return RouterSettings(
            llm=self.llm,
            detector=self.detector,
            table=self.table,
            database_url=self.database_url,
            model=self.model,
            demos=self.demos,
            embedder=self.embedder,
            prompt_style=self.prompt_style,
            templates=self.templates,
            max_new_tokens=self.max_new_tokens,
            render_cache_size=self.render_cache_size,
            render_cache=self.render_cache,
            renderings=self.renderings,
            route_policy=self.route_policy,
            evidence_thresholds=self.evidence_thresholds,
        )

    @property
    def router(self) -> Router:
        """The parts built once (model, detector, table, pool) and the pre-answer steps.

        A copy of the chain with the same parts (e.g. :meth:`with_answer_llm`) shares the
        router; a copy with other parts gets its own.
        """
        settings = self._router_settings()
        router = self._router
        if router is None or router.settings != settings:
            router = self._router = Router(settings)
        return router

    def with_answer_llm(self, answer_llm: Runnable[Any, Any]) -> BridgeXChain:
        """A copy whose answer call uses ``answer_llm`` (e.g. the model bound to tools).

        Rendering calls keep the plain model, and the copy shares the parts already built
        (model, detector, table, pool, rendering cache).

        Example:
            >>> from langchain_core.language_models import FakeListChatModel
            >>> chat = FakeListChatModel(responses=["ok"])
            >>> BridgeXChain(llm=chat).with_answer_llm(chat.bind(stop=["x"])).llm is chat
            True
        """
        self.router  # noqa: B018 - build the router now, so the copy shares it
        return self.model_copy(update={"answer_llm": answer_llm})

    def route(self, input: Any, **kwargs: Any) -> Route:
        """Detect and look up only, without calling the model: where ``input`` would go.

        ``kwargs`` are the call keywords (``lang``, ``answer_language``, ``task``).

        Example:
            >>> from bridgex_chain.detect import Detection
            >>> chain = BridgeXChain(detector=lambda text: Detection("unknown", 0.0))
            >>> chain.route("Habari?").fallback
            <Fallback.UNKNOWN_LANGUAGE: 'unknown_language'>
        """
        request = parse_input(input, kwargs)
        return self._lookup(request, self.router.detect(request, request.task or self.task))

    def prepare(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Prepared:
        """Detect, look up and rewrite ``input`` without the answer call: what would be sent.

        The rendering calls are made (and traced, as in :meth:`invoke`); the answer prompt is
        ``result.plan.answer`` and the reply's metadata ``result.info``. Adapters that score or
        generate the answer themselves (the lm-evaluation-harness model) start from here.

        Example:
            >>> from langchain_core.language_models import FakeListLLM
            >>> from bridgex_chain.chain.policies import NoBridge
            >>> chain = BridgeXChain(llm=FakeListLLM(responses=["-"]), table=NoBridge(),
            ...                      model="m", prompt_style="completion")
            >>> prep = chain.prepare("Habari?", lang="sw")
            >>> prep.route.bridge is None, "Habari?" in prep.plan.answer.prompt
            (True, True)
        """
        config, run = self._start(input, config)
        try:
            prep = self._prepare(parse_input(input, kwargs), config, run)
        except BaseException as err:
            run.on_chain_error(err)
            raise
        run.on_chain_end(prep.info)
        return prep

    # ------------------------------------------------------------------ steps

    def _lookup(self, request: ChainRequest, detection: Detection) -> Route:
        return self.router.lookup(request, detection, min_confidence=self.min_confidence)

    def _plan(self, request: ChainRequest, task: str, route: Route) -> Any:
        return self.router.plan(request, task, route, labels=self.labels, num_demos=self.num_demos)

    def _empty_answer(self, request: ChainRequest) -> AIMessageChunk | None:
        """The answer to an empty query (no model call), or None for a query with text."""
        if request.query.strip():
            return None
        meta = self.router.empty_input(request, request.task or self.task)
        return AIMessageChunk(content="", response_metadata={"bridgex": meta})

    def _route_steps(
        self,
        request: ChainRequest,
        task: str,
        config: RunnableConfig,
        run: CallbackManagerForChainRun,
    ) -> Route:
        """The traced ``detect`` and ``lookup`` steps of one call: where the request goes."""
        query = {"query": request.query, "lang": request.lang}
        detect = self.router.detect
        detection = run_step(run, config, "detect", query, lambda _: detect(request, task))
        detected = detection_fields(detection)
        return run_step(run, config, "lookup", detected, lambda _: self._lookup(request, detection))

    def _prepare(
        self, request: ChainRequest, config: RunnableConfig, run: CallbackManagerForChainRun
    ) -> Prepared:
        r = self.router
        task = request.task or self.task
        route = self._route_steps(request, task, config, run)

        def rewrite(child: RunnableConfig) -> tuple[PromptPlan, dict[str, Any]]:
            planner, info = self._plan(request, task, route), _counters()
            render_config = tagged(child, "bridgex:render")
            try:
                prompt = next(planner)
                while True:
                    prompt = planner.send(r.render(prompt, render_config, info))
            except StopIteration as done:
                return done.value, info

        plan, info = run_step(run, config, "rewrite", route.metadata({}), rewrite)
        return r.prepared(request, task, route, plan, info)

    async def _aprepare(
        self, request: ChainRequest, config: RunnableConfig, run: AsyncCallbackManagerForChainRun
    ) -> Prepared:
        r = self.router
        task = request.task or self.task

        async def detect(_: RunnableConfig) -> Detection:
            return r.detect(request, task)

        async def lookup(_: RunnableConfig) -> Route:  # the table may be a remote database
            return await run_in_executor(config, self._lookup, request, detection)

        async def rewrite(child: RunnableConfig) -> tuple[PromptPlan, dict[str, Any]]:
            planner, info = self._plan(request, task, route), _counters()
            render_config = tagged(child, "bridgex:render")
            try:
                prompt = next(planner)
                while True:
                    prompt = planner.send(await r.arender(prompt, render_config, info))
            except StopIteration as done:
                return done.value, info

        query = {"query": request.query, "lang": request.lang}
        detection = await arun_step(run, config, "detect", query, detect)
        route = await arun_step(run, config, "lookup", detection_fields(detection), lookup)
        plan, info = await arun_step(run, config, "rewrite", route.metadata({}), rewrite)
        return r.prepared(request, task, route, plan, info)

    def _answer_call(self, prep: Prepared, config: RunnableConfig, run: Any) -> tuple[Any, Any]:
        llm = self.router.answer_model(
            prep.plan, self.answer_llm, choice_scoring=self.choice_scoring
        )
        answer = prep.plan.answer
        child = tagged(patch_config(config, callbacks=run.get_child()), "bridgex:answer")
        return llm, (answer.prompt, child, call_kwargs(llm, answer))

    # ------------------------------------------------------------------ protocol

    def _start(
        self, input: Any, config: RunnableConfig | None
    ) -> tuple[RunnableConfig, CallbackManagerForChainRun]:
        """The root run of one call."""
        config = ensure_config(config)
        run = get_callback_manager_for_config(config).on_chain_start(
            None,
            input,
            name=config.get("run_name") or self.get_name(),
            run_id=config.pop("run_id", None),
        )
        return config, run

    async def _astart(
        self, input: Any, config: RunnableConfig | None
    ) -> tuple[RunnableConfig, AsyncCallbackManagerForChainRun]:
        """Async :meth:`_start`."""
        config = ensure_config(config)
        run = await get_async_callback_manager_for_config(config).on_chain_start(
            None,
            input,
            name=config.get("run_name") or self.get_name(),
            run_id=config.pop("run_id", None),
        )
        return config, run

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> AIMessage:
        """Route ``input`` and answer it (see the module docstring).

        Args:
            input: A string, UTF-8 bytes, messages or a dict (:mod:`~bridgex_chain.chain.request`).
            config: The LangChain run config (callbacks, tags, ...).
            **kwargs: ``lang``, ``answer_language``, ``task`` (as in the input dict).

        Raises:
            InvalidInput: The input cannot be routed, or a keyword is unknown.
        """
        config, run = self._start(input, config)
        try:
            request = parse_input(input, kwargs)
            empty = self._empty_answer(request)
            if empty is not None:
                output = AIMessage(content="", response_metadata=empty.response_metadata)
            else:
                prep = self._prepare(request, config, run)
                llm, (prompt, child, call_kwargs) = self._answer_call(prep, config, run)
                reply = call_child(llm.invoke, prompt, child, **call_kwargs)
                output = finish_message(prep, reply)
        except BaseException as err:
            run.on_chain_error(err)
            raise
        run.on_chain_end(output)
        return output

    async def ainvoke(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AIMessage:
        """Async :meth:`invoke`."""
        config, run = await self._astart(input, config)
        try:
            request = parse_input(input, kwargs)
            empty = self._empty_answer(request)
            if empty is not None:
                output = AIMessage(content="", response_metadata=empty.response_metadata)
            else:
                prep = await self._aprepare(request, config, run)
                llm, (prompt, child, call_kwargs) = self._answer_call(prep, config, run)
                reply = await acall_child(llm.ainvoke(prompt, child, **call_kwargs))
                output = finish_message(prep, reply)
        except BaseException as err:
            await run.on_chain_error(err)
            raise
        await run.on_chain_end(output)
        return output

    def stream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[AIMessage]:
        """Yield the routing chunk, then the answer as the model writes it (keywords: invoke's)."""
        config, run = self._start(input, config)
        try:
            request = parse_input(input, kwargs)
            empty = self._empty_answer(request)
            if empty is not None:
                yield empty
                run.on_chain_end(empty)
                return
            answer = StreamedAnswer(self._prepare(request, config, run))
            yield answer.total
            llm, (prompt, child, call_kwargs) = self._answer_call(answer.prep, config, run)
            for piece in stream_child(lambda: llm.stream(prompt, child, **call_kwargs)):
                for chunk in answer.feed(piece):
                    yield chunk
            for chunk in answer.close():
                yield chunk
        except BaseException as err:
            run.on_chain_error(err)
            raise
        run.on_chain_end(answer.total)

    async def astream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[AIMessage]:
        """Async :meth:`stream`."""
        config, run = await self._astart(input, config)
        try:
            request = parse_input(input, kwargs)
            empty = self._empty_answer(request)
            if empty is not None:
                yield empty
                await run.on_chain_end(empty)
                return
            answer = StreamedAnswer(await self._aprepare(request, config, run))
            yield answer.total
            llm, (prompt, child, call_kwargs) = self._answer_call(answer.prep, config, run)
            async for piece in astream_child(lambda: llm.astream(prompt, child, **call_kwargs)):
                for chunk in answer.feed(piece):
                    yield chunk
            for chunk in answer.close():
                yield chunk
        except BaseException as err:
            await run.on_chain_error(err)
            raise
        await run.on_chain_end(answer.total)

    def batch(
        self,
        inputs: list[Any],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[Any]:
        """Answer many inputs, batching their model calls (see the module docstring).

        Args:
            inputs: As :meth:`invoke` takes them.
            config: One config for all, or one per input.
            return_exceptions: Put a failing input's exception in its place instead of raising.
            **kwargs: ``lang``, ``answer_language``, ``task`` for every input.

        Raises:
            Exception: The first input's error, when ``return_exceptions`` is False (after every
                input's run is closed).

        Example:
            >>> from langchain_core.language_models import FakeListLLM
            >>> from bridgex_chain.chain.policies import NoBridge
            >>> chain = BridgeXChain(llm=FakeListLLM(responses=["a", "b"]), table=NoBridge(),
            ...                      model="m")
            >>> [m.content for m in chain.batch(["Habari?", "Apa kabar?"], lang="sw")]
            ['a', 'b']
        """
        if not inputs:
            return []
        calls = [
            _BatchCall(i, *self._start(x, c))
            for i, (x, c) in enumerate(
                zip(inputs, get_config_list(config, len(inputs)), strict=True)
            )
        ]
        try:
            for call, input in zip(calls, inputs, strict=True):
                self._batch_start(call, input, kwargs)
            self._batch_render([c for c in calls if c.pending is not None])
            self._batch_answer([c for c in calls if c.prep is not None and c.done is None])
        except BaseException as err:  # an interrupt: close every run still open
            for call in calls:
                if call.done is None:
                    call.fail(err)
            raise
        if not return_exceptions:
            for call in calls:
                if isinstance(call.done, Exception):
                    raise call.done
        return [call.done for call in calls]

    def _batch_start(self, call: _BatchCall, input: Any, kwargs: dict[str, Any]) -> None:
        """Parse, detect and look up one input; open its rewrite step (or answer an empty one)."""
        try:
            request = parse_input(input, kwargs)
            empty = self._empty_answer(request)
            if empty is not None:
                call.end(AIMessage(content="", response_metadata=empty.response_metadata))
                return
            task = request.task or self.task
            run, config = call.run, call.config
            route = self._route_steps(request, task, config, run)
            call.request, call.task, call.route = request, task, route
            call.step = open_step(run, "rewrite", route.metadata({}))
            child = patch_config(config, callbacks=call.step.get_child())
            call.render_config = tagged(child, "bridgex:render")
            call.planner, call.info = self._plan(request, task, route), _counters()
            call.advance(None)
        except Exception as err:
            call.fail(err)
        if call.plan is not None:
            self._batch_prepared(call)

    def _batch_render(self, waiting: list[_BatchCall]) -> None:
        """Rounds of rendering calls, one model batch per round, until every planner is done."""
        while waiting:
            asked = [(c.pending, c.render_config, c.info) for c in waiting]
            try:
                texts = self.router.render_batch(asked)  # type: ignore[arg-type]
            except Exception as err:
                for call in waiting:
                    call.fail(err)
                return
            for call, text in zip(waiting, texts, strict=True):
                try:
                    call.advance(text)
                except Exception as err:
                    call.fail(err)
                if call.plan is not None:
                    self._batch_prepared(call)
            waiting = [c for c in waiting if c.pending is not None and c.done is None]

    def _batch_prepared(self, call: _BatchCall) -> None:
        assert call.step is not None and call.plan is not None and call.info is not None
        assert call.request is not None and call.route is not None
        close_step(call.step, (call.plan, call.info))
        call.step = None
        call.prep = self.router.prepared(call.request, call.task, call.route, call.plan, call.info)

    def _batch_answer(self, ready: list[_BatchCall]) -> None:
        """The answer calls: one ``llm.batch`` per (model, stop strings), each reply finished."""
        groups: dict[tuple[int, tuple[Any, ...]], list[tuple[_BatchCall, Any]]] = {}
        for call in ready:
            assert call.prep is not None
            llm, answer = self._answer_call(call.prep, call.config, call.run)
            key = (id(llm), tuple(sorted((k, repr(v)) for k, v in answer[2].items())))
            groups.setdefault(key, []).append((call, (llm, answer)))
        for members in groups.values():
            llm, (_, _, kwargs) = members[0][1]
            prompts = [answer[0] for _, (_, answer) in members]
            configs = [answer[1] for _, (_, answer) in members]
            try:
                if len(members) == 1:
                    outputs: list[Any] = [call_child(llm.invoke, prompts[0], configs[0], **kwargs)]
                else:
                    outputs = call_child(
                        llm.batch, prompts, configs, return_exceptions=True, **kwargs
                    )
            except Exception as err:
                outputs = [err] * len(members)
            for (call, _), output in zip(members, outputs, strict=True):
                if isinstance(output, Exception):
                    call.fail(output)
                    continue
                assert call.prep is not None
                try:
                    call.end(finish_message(call.prep, output))
                except Exception as err:
                    call.fail(err)

    def as_tool(
        self,
        args_schema: type[BaseModel] | None = None,
        *,
        name: str | None = None,
        description: str | None = None,
        arg_types: dict[str, type] | None = None,
    ) -> BaseTool:
        """A tool answering a message in any language through the chain.

        See :func:`bridgex_chain.chain.tool.chain_tool`; ``arg_types`` is not used.

        Example:
            >>> BridgeXChain().as_tool().name
            'bridgex_ask'
        """
        return chain_tool(self, args_schema, name=name, description=description)


@dataclass(eq=False)
class _BatchCall:
    """One input of :meth:`BridgeXChain.batch` on its way: its runs, planner and result."""

    index: int
    config: RunnableConfig
    run: CallbackManagerForChainRun
    request: ChainRequest | None = None
    task: str = ""
    route: Route | None = None
    step: CallbackManagerForChainRun | None = None
    render_config: RunnableConfig | None = None
    planner: Any = None
    info: dict[str, Any] | None = None
    pending: ModelPrompt | None = None
    plan: PromptPlan | None = None
    prep: Prepared | None = None
    done: Any = None

    def advance(self, text: str | None) -> None:
        """Send the planner its rendering (None: start it); keep its next call or its plan."""
        try:
            self.pending = next(self.planner) if text is None else self.planner.send(text)
        except StopIteration as finished:
            self.pending, self.plan = None, finished.value

    def end(self, output: AIMessage) -> None:
        self.run.on_chain_end(output)
        self.done = output

    def fail(self, err: BaseException) -> None:
        if self.step is not None:
            self.step.on_chain_error(err)
            self.step = None
        self.run.on_chain_error(err)
        self.pending = None
        self.done = err


def _counters() -> dict[str, Any]:
    return {"model_calls": 1, "renders_cached": 0}
