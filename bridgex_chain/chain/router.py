"""The parts a chain builds once, and the steps before the answer call.

A :class:`Router` is made from :class:`RouterSettings` — plain values copied from the chain's
fields, no pointer back to the chain — and builds each part on first use, once, under one lock:
the model, the language detector, the bridge table, the template library, the demonstration
pool, the model key and the prompt style. Its steps take what varies per call as arguments:

1. :meth:`Router.detect` — the caller's ``lang`` wins, else the detector (on the passage for
   ``reading``);
2. :meth:`Router.lookup` — the route policy (:func:`~bridgex_chain.chain.route.lookup_route`);
   every fallback is logged (set-up problems warn once per language pair);
3. :meth:`Router.plan` — the task planner over :func:`prompt_request`; its rendering calls go
   through :meth:`Router.render` (cached, since an agent loop or a retry sends the same message
   again);
4. :meth:`Router.answer_model` — the model of the answer call, or a choice scorer;
5. :meth:`Router.prepared` — the request with its ``bridgex`` metadata.

An empty (or whitespace-only) query skips every step: :meth:`Router.empty_input` gives the
metadata of its empty answer (``fallback="empty_input"``, ``model_calls`` 0) without loading the
model, the detector or the table.

Two chains whose settings are equal (a copy that differs only in ``answer_llm``) share one router
and so its parts and its rendering cache.

Example:
    >>> router = Router(RouterSettings(model="gemma-3-270m"))
    >>> router.model_key()
    'google/gemma-3-270m'
    >>> router.built_parts()
    ('model_key',)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

from langchain_core.language_models import BaseChatModel, BaseLanguageModel
from langchain_core.messages import AIMessage
from langchain_core.runnables import Runnable, RunnableBinding, RunnableLambda
from langchain_core.runnables.base import coerce_to_runnable

from bridgex_chain.chain.evidence import EvidenceThresholds
from bridgex_chain.chain.output import message_text
from bridgex_chain.chain.policies import NoBridge, RoutePolicy, policy_lookup
from bridgex_chain.chain.render_cache import RenderCache
from bridgex_chain.chain.request import ChainRequest
from bridgex_chain.chain.route import (
    BridgeLookup,
    Fallback,
    Prepared,
    Route,
    RouteRule,
    lookup_route,
)
from bridgex_chain.chain.steps import acall_child, call_child
from bridgex_chain.detect import (
    UNKNOWN,
    Detection,
    DetectionSource,
    LanguageDetector,
    as_detector,
)
from bridgex_chain.errors import ModelNotAvailable
from bridgex_chain.languages import bridging_code, language_name, normalize
from bridgex_chain.models.choices import best_choice
from bridgex_chain.prompting.demos import Demo, DemoPool, load_demo_pool
from bridgex_chain.prompting.tasks import Planner, plan_prompts
from bridgex_chain.prompting.templates import (
    LETTERS,
    Lang,
    ModelPrompt,
    PromptPlan,
    PromptRequest,
    PromptStyle,
    TemplateLibrary,
)

__all__ = ["Router", "RouterSettings", "call_kwargs", "prompt_request"]

logger = logging.getLogger("bridgex_chain.chain")
T = TypeVar("T")
_MODEL_ATTRS = ("model_name", "model_id", "model")


@dataclass(frozen=True)
class RouterSettings:
    """What a router builds its parts from (the chain's fields of the same names).

    Compared by value (field by field, identity first) to tell whether a chain copy can keep
    its router.

    Example:
        >>> RouterSettings(model="mistral") == RouterSettings(model="mistral")
        True
    """

    llm: Any = None
    detector: Any = None
    table: BridgeLookup | None = None
    database_url: str | None = None
    model: str | None = None
    demos: Any = None
    embedder: Any = None
    prompt_style: Literal["auto", "completion", "chat"] = "auto"
    templates: str | Path | None = None
    max_new_tokens: int = 128
    render_cache_size: int = 256
    render_cache: RenderCache | None = None
    renderings: Mapping[tuple[str, str], str] | None = None
    route_policy: RoutePolicy = "evidence"
    evidence_thresholds: EvidenceThresholds | None = None


class _Once(Generic[T]):
    """A value built on first use, exactly once, under a lock shared by the router's parts."""

    __slots__ = ("_build", "_done", "_lock", "_value", "name")

    def __init__(self, name: str, build: Callable[[], T], lock: threading.RLock) -> None:
        self.name, self._build, self._lock = name, build, lock
        self._done = False
        self._value: T | None = None

    @property
    def done(self) -> bool:
        return self._done

    def get(self) -> T:
        if not self._done:
            with self._lock:
                if not self._done:
                    self._value = self._build()
                    self._done = True
        return self._value  # type: ignore[return-value]


class Router:
    """The lazily built parts and pre-answer steps of a chain (thread-safe).

    Args:
        settings: What the parts are built from.
    """

    def __init__(self, settings: RouterSettings) -> None:
        self.settings = settings
        lock = threading.RLock()
        self._lock = lock
        self._llm = _Once("llm", self._build_llm, lock)
        self._detector = _Once("detector", self._build_detector, lock)
        self._table = _Once("table", self._build_table, lock)
        self._library = _Once("templates", lambda: TemplateLibrary.load(settings.templates), lock)
        self._pool = _Once("pool", self._build_pool, lock)
        self._model_key = _Once("model_key", self._find_model_key, lock)
        self._style = _Once("style", self._build_style, lock)
        shared = settings.render_cache
        self._renders = shared if shared is not None else RenderCache(settings.render_cache_size)
        self._warned: set[tuple[str | None, ...]] = set()

    def built_parts(self) -> tuple[str, ...]:
        """Names of the parts built so far (the others are still unbuilt, e.g. an unloaded model).

        Example:
            >>> Router(RouterSettings()).built_parts()
            ()
        """
        parts = (
            self._llm,
            self._detector,
            self._table,
            self._library,
            self._pool,
            self._model_key,
            self._style,
        )
        return tuple(part.name for part in parts if part.done)

    # ------------------------------------------------------------------ parts

    def llm(self) -> Runnable[Any, Any]:
        """The model, built (for a local model: loaded) on first use."""
        return self._llm.get()

    def _build_llm(self) -> Runnable[Any, Any]:
        llm = self.settings.llm
        if isinstance(llm, Runnable):
            return llm
        if llm is None or isinstance(llm, str | Path):
            from bridgex_chain.models.langchain import local_model

            name = None if llm is None else str(llm)
            return local_model(name, max_new_tokens=self.settings.max_new_tokens)
        runnable: Runnable[Any, Any] = coerce_to_runnable(llm)
        return runnable

    def detector(self) -> LanguageDetector:
        """The language detector (the bundled fastText model unless one was given)."""
        return self._detector.get()

    def _build_detector(self) -> LanguageDetector:
        if self.settings.detector is not None:
            return as_detector(self.settings.detector)
        from bridgex_chain.detect import FastTextDetector

        return FastTextDetector()

    def table(self) -> BridgeLookup:
        """The route policy's lookup (:func:`policy_lookup`) over the bridge table.

        The table is the one given, else ``database_url`` with the shipped tables added.
        """
        return self._table.get()

    def _build_table(self) -> BridgeLookup:
        settings = self.settings
        table = settings.table
        if table is None and settings.route_policy != "direct":
            from bridgex_chain.store.table import BridgeTable

            opened = BridgeTable(settings.database_url)
            opened.ensure_shipped()  # the precomputed tables that ship with the package
            table = opened
        return policy_lookup(
            table or NoBridge(), settings.route_policy, settings.evidence_thresholds
        )

    def library(self) -> TemplateLibrary:
        """The templates (packaged, or overridden from ``templates``)."""
        return self._library.get()

    def pool(self) -> DemoPool | None:
        """The demonstration pool, or None without ``demos``."""
        return None if self.settings.demos is None else self._pool.get()

    def _build_pool(self) -> DemoPool:
        return load_demo_pool(self.settings.demos, embedder=self.settings.embedder)

    def model_key(self) -> str | None:
        """The key bridges are looked up under: ``model=``, the local model's, or the client's."""
        return self._model_key.get() or None

    def _find_model_key(self) -> str:
        from bridgex_chain.models import model_key

        name, llm = self.settings.model, self.settings.llm
        if name is None and (llm is None or isinstance(llm, str | Path)):
            return model_key(None if llm is None else str(llm))
        if name is None:
            client = llm.bound if isinstance(llm, RunnableBinding) else llm
            found = (getattr(client, attr, None) for attr in _MODEL_ATTRS)
            name = next((v for v in found if isinstance(v, str) and v), None)
        if name is None:
            return ""
        try:
            return model_key(name)
        except ModelNotAvailable:  # not an alias, id or path we know: use it as written
            return name

    def style(self) -> PromptStyle:
        """Chat messages for chat models, one completion text otherwise (unless forced)."""
        return self._style.get()

    def _build_style(self) -> PromptStyle:
        if self.settings.prompt_style != "auto":
            return self.settings.prompt_style
        llm = self.llm()
        target = llm.bound if isinstance(llm, RunnableBinding) else llm
        return "chat" if isinstance(target, BaseChatModel) else "completion"

    # ------------------------------------------------------------------ steps

    def detect(self, request: ChainRequest, task: str) -> Detection:
        """Step 1: the caller's language, or the detector's answer."""
        if request.lang:
            code = normalize(request.lang)
            source = DetectionSource.OVERRIDE
            return Detection(code, 1.0, ((code, 1.0),), source=source, reason="explicit")
        passage = str(request.fields.get("passage") or "") if task == "reading" else ""
        return self.detector().detect(passage or request.query)

    def lookup(
        self, request: ChainRequest, detection: Detection, *, min_confidence: float = 0.0
    ) -> Route:
        """Step 2: the route policy for (model, query language, answer language); logged."""
        answer = normalize(request.answer_language) if request.answer_language else None
        route = lookup_route(
            detection,
            answer,
            open_table=self.table,
            model_key=self.model_key(),
            min_confidence=min_confidence,
        )
        if route.fallback is not None:
            self._log_fallback(route)
        elif route.rule is RouteRule.CLOSE_LANGUAGE and route.bridge is not None:
            src = bridging_code(route.detection.lang)
            logger.info("bridgex: no entry for %s; bridging like %s", src, route.bridge.src)
        return route

    def _log_fallback(self, route: Route) -> None:
        """Log a fallback: set-up problems (no row, no model key) warn once per language pair."""
        level = logging.INFO
        if route.fallback is not None and route.fallback.points_at_setup:
            seen = (route.fallback, route.detection.lang, route.answer_language)
            with self._lock:
                if seen not in self._warned:
                    self._warned.add(seen)
                    level = logging.WARNING
        logger.log(level, "bridgex: direct prompting (%s): %s", route.fallback, route.detail)

    def plan(
        self,
        request: ChainRequest,
        task: str,
        route: Route,
        *,
        labels: Sequence[str] | None = None,
        num_demos: int = 3,
    ) -> Planner:
        """Step 3's generator (see :func:`~bridgex_chain.prompting.tasks.plan_prompts`)."""
        prompts = prompt_request(
            request,
            task,
            route,
            style=self.style(),
            pool=self.pool(),
            labels=labels,
            num_demos=num_demos,
        )
        return plan_prompts(prompts, self.library())

    def _known(self, prompt: ModelPrompt, info: dict[str, Any]) -> str | None:
        """A rendering given in the settings' ``renderings``, else a cached one, else None.

        A given rendering is no model call: it counts as ``renders_given`` in ``info``, and it
        never enters the cache (the model's rendering of the same prompt may differ).
        """
        given = self.settings.renderings
        if given is not None and prompt.source is not None and prompt.target is not None:
            text = given.get((prompt.source, prompt.target))
            if text is not None:
                info["renders_given"] = info.get("renders_given", 0) + 1
                return text
        return self._renders.get(prompt, info)

    def render(self, prompt: ModelPrompt, config: Any, info: dict[str, Any]) -> str:
        """A rendering call (given, cached or the model's); counts calls in ``info``."""
        return self.render_batch([(prompt, config, info)])[0]

    def render_batch(self, calls: Sequence[tuple[ModelPrompt, Any, dict[str, Any]]]) -> list[str]:
        """Many rendering calls ``(prompt, config, info)`` as few model calls as possible.

        Given and cached renderings skip the model; the rest go to ``llm.batch`` in groups of
        equal stop strings (a local model runs each group as one padded batch; the configs'
        ``max_concurrency`` caps a group), and a prompt asked for twice is rendered once.

        Raises:
            Exception: Whatever the model raised (for the whole group).
        """
        texts: list[str | None] = [self._known(p, info) for p, _, info in calls]
        if all(text is not None for text in texts):
            return [text for text in texts if text is not None]
        llm = self.llm()
        groups: dict[tuple[Any, ...], dict[Any, list[int]]] = {}
        for i, (prompt, _, _) in enumerate(calls):
            if texts[i] is None:
                stop = tuple(call_kwargs(llm, prompt).get("stop") or ())
                groups.setdefault(stop, {}).setdefault(RenderCache.key(prompt), []).append(i)
        for same_prompt in groups.values():
            firsts = [indices[0] for indices in same_prompt.values()]
            kwargs = call_kwargs(llm, calls[firsts[0]][0])
            prompts, configs = [calls[i][0].prompt for i in firsts], [calls[i][1] for i in firsts]
            replies = call_child(llm.batch, prompts, configs, **kwargs)
            for indices, reply in zip(same_prompt.values(), replies, strict=True):
                text = self._renders.put(calls[indices[0]][0], message_text(reply))
                for i in indices:
                    texts[i] = text
        return [text if text is not None else "" for text in texts]

    async def arender(self, prompt: ModelPrompt, config: Any, info: dict[str, Any]) -> str:
        """Async :meth:`render`."""
        known = self._known(prompt, info)
        if known is not None:
            return known
        llm = self.llm()
        output = await acall_child(llm.ainvoke(prompt.prompt, config, **call_kwargs(llm, prompt)))
        return self._renders.put(prompt, message_text(output))

    def answer_model(
        self,
        plan: PromptPlan,
        answer_llm: Runnable[Any, Any] | None = None,
        *,
        choice_scoring: Literal["auto", "generate"] = "auto",
    ) -> Runnable[Any, Any]:
        """Step 4: what makes the answer call — the model, or for choices a scorer.

        ``answer_llm`` (e.g. the model bound to tools) replaces the model for this call only.
        A model with ``score_choices`` (the local Hugging Face adapter) picks a label or option
        by calibrated log-likelihood (``choice_scoring="auto"``); others generate and the text is
        parsed to a choice.
        """
        llm = answer_llm if answer_llm is not None else self.llm()
        score = getattr(llm, "score_choices", None)
        if choice_scoring != "auto" or not (plan.choices and plan.content_free and callable(score)):
            return llm
        shown = [LETTERS[i] for i in range(len(plan.choices))] if plan.letters else plan.choices

        def choose(prompt: str) -> AIMessage:
            scores = score(prompt, shown, content_free=plan.content_free)
            best = best_choice(scores)
            meta = {"choice_method": "logprob", "choice_scores": [round(x, 4) for x in scores]}
            return AIMessage(plan.choices[best], response_metadata=meta)

        return RunnableLambda(choose, name="score_choices")

    def prepared(
        self,
        request: ChainRequest,
        task: str,
        route: Route,
        plan: PromptPlan,
        info: dict[str, Any],
    ) -> Prepared:
        """Step 5: bundle a rewritten request with its ``bridgex`` metadata.

        When the planner went direct (an empty rendering), the route becomes a direct one with
        that fallback: ``bridge`` is None in the metadata and ``bridge_tried`` names the bridge.
        """
        if plan.note is not None:
            detail = "the model's rendering in the bridge language was empty"
            route = replace(
                route, fallback=Fallback(plan.note), detail=detail, rule=RouteRule.DIRECT
            )
            logger.info("bridgex: direct prompting (%s): %s", plan.note, detail)
        meta: dict[str, Any] = {"task": task, "prompt_style": self.style()}
        meta.update(route.metadata(_names(route)))
        meta.update(rendering=plan.rendering, demos=list(plan.demo_ids), **info)
        return Prepared(request, task, self.style(), route, plan, meta)

    def empty_input(self, request: ChainRequest, task: str) -> dict[str, Any]:
        """The ``bridgex`` metadata of the empty answer to an empty or whitespace-only query.

        No model is loaded or called, nor the detector or the table: ``fallback`` is
        ``"empty_input"``, ``model_calls`` 0 and ``prompt_style`` None (no prompt was made). An
        explicit ``lang`` is still checked and reported.

        Raises:
            UnknownLanguage: ``lang`` or ``answer_language`` cannot be normalised.

        Example:
            >>> meta = Router(RouterSettings()).empty_input(ChainRequest("  "), "chat")
            >>> meta["fallback"], meta["model_calls"], meta["lang"]
            ('empty_input', 0, 'unknown')
        """
        if request.lang:
            detection = self.detect(request, task)
        else:
            detection = Detection(UNKNOWN, 0.0, source=DetectionSource.NONE, reason="empty")
        answer = normalize(request.answer_language) if request.answer_language else None
        if answer is None and not detection.is_unknown:
            answer = detection.lang
        detail = "the query is empty: there is nothing to answer, so no model was called"
        key = self.model_key()
        route = Route(detection, answer, key, None, Fallback.EMPTY_INPUT, detail)
        logger.info("bridgex: no model call (%s)", Fallback.EMPTY_INPUT)
        meta: dict[str, Any] = {"task": task, "prompt_style": None}
        meta.update(route.metadata(_names(route)))
        meta.update(rendering=None, demos=[], model_calls=0, renders_cached=0)
        return meta


def _names(route: Route) -> dict[str, str]:
    """English names of the route's languages (its detection, answer and bridge)."""
    codes = [route.detection.lang, route.answer_language]
    if route.bridge is not None:
        codes.append(route.bridge.bridge)
    return {c: language_name(c) for c in codes if c and c != UNKNOWN}


def prompt_request(
    request: ChainRequest,
    task: str,
    route: Route,
    *,
    style: PromptStyle,
    pool: DemoPool | None = None,
    labels: Sequence[str] | None = None,
    num_demos: int = 3,
) -> PromptRequest:
    """What the task planner needs: languages, task fields and a demonstration source.

    Args:
        request: The parsed input.
        task: The task to plan.
        route: Where the request goes (its bridge, if any).
        style: Completion text or chat messages.
        pool: Demonstrations chosen by similarity, if any (the request's own ``demos`` win).
        labels: The classify task's labels when the request gives none (else the pool's).
        num_demos: Demonstrations per prompt.

    Example:
        >>> from bridgex_chain.detect import Detection
        >>> req = prompt_request(ChainRequest("Habari?"), "chat",
        ...                      Route(Detection("swh_Latn", 0.9)), style="completion")
        >>> req.src.name, req.bridge
        ('Swahili', None)
    """
    d = route.detection
    src = None if d.is_unknown else Lang(d.lang, language_name(d.lang))
    ans = route.answer_language
    bridge = route.bridge.bridge if route.bridged and route.bridge else None
    fields = dict(request.fields)
    if task == "classify" and not fields.get("labels"):
        fields["labels"] = labels or (pool.labels() if pool is not None else ())
    explicit = fields.pop("demos", None)
    demos: Callable[[str, Sequence[str], bool], list[Demo]] | None = None
    if explicit is not None:  # the caller's demonstrations, used as given
        given = load_demo_pool(explicit)
        demos = lambda _t, langs, labelled: given.matching(langs, labelled=labelled)  # noqa: E731
    elif pool is not None:
        query_lang = src.code if src else None
        demos = lambda text, langs, labelled: pool.select(  # noqa: E731
            text, num_demos, langs=langs, labelled=labelled, query_lang=query_lang
        )
    return PromptRequest(
        task=task,
        style=style,
        query=request.query,
        history=request.history,
        trailing=request.trailing,
        src=src,
        answer=Lang(ans, language_name(ans)) if ans else None,
        bridge=Lang(bridge, language_name(bridge)) if bridge else None,
        fields=fields,
        demos=demos,
    )


def call_kwargs(llm: Runnable[Any, Any], prompt: ModelPrompt) -> dict[str, Any]:
    """``stop=`` for LangChain models (other Runnables get the text cut afterwards).

    Example:
        >>> from langchain_core.language_models import FakeListLLM
        >>> call_kwargs(FakeListLLM(responses=["x"]), ModelPrompt("Q:", stop=("User:",)))
        {'stop': ['User:']}
    """
    target = llm.bound if isinstance(llm, RunnableBinding) else llm
    if prompt.stop and isinstance(target, BaseLanguageModel):
        return {"stop": list(prompt.stop)}
    return {}
