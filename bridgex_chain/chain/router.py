"""What a :class:`~bridgex_chain.chain.BridgeXChain` does before the answer call.

:class:`Router` owns the chain's lazily built parts (model, detector, bridge table, demonstration
pool, templates, rendering cache) and the three steps the chain traces as child runs:

1. :meth:`Router.detect` — the caller's ``lang`` wins, else the detector (on the passage for
   ``reading``);
2. :meth:`Router.lookup` — ``BridgeTable.best(model, query language, answer language)`` (languages
   through :func:`~bridgex_chain.languages.bridging_code`, so Cantonese-labelled Chinese finds
   Chinese's bridge), or a fallback to direct prompting, logged and recorded;
3. :meth:`Router.prompt_request` + :func:`~bridgex_chain.prompting.tasks.plan_prompts` — the
   rewrite; rendering calls go through :meth:`Router.render` (cached per chain, since an agent
   loop or a retry sends the same message again).

Example:
    >>> from bridgex_chain.chain import BridgeXChain
    >>> router = Router(BridgeXChain(model="gemma-3-270m"))
    >>> router.model_key()
    'google/gemma-3-270m'
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from langchain_core.language_models import BaseChatModel, BaseLanguageModel
from langchain_core.messages import AIMessage
from langchain_core.runnables import Runnable, RunnableBinding, RunnableConfig, RunnableLambda
from langchain_core.runnables.base import coerce_to_runnable

from bridgex_chain.chain import request as ci
from bridgex_chain.chain.render_cache import RenderCache
from bridgex_chain.detect import UNKNOWN, Detection, as_detector
from bridgex_chain.errors import ModelNotAvailable, NoBridgeFound
from bridgex_chain.languages import bridging_code, close_languages, language_name, normalize
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

if TYPE_CHECKING:
    from bridgex_chain.chain.runnable import BridgeXChain
    from bridgex_chain.store.records import Bridge

__all__ = ["Prepared", "Router"]

logger = logging.getLogger("bridgex_chain.chain")
T = TypeVar("T")
_MODEL_ATTRS = ("model_name", "model_id", "model")
# Fallbacks that point at the set-up (not at one query): a warning the first time per language
# pair, then INFO (a busy chatbot would otherwise repeat the same warning for every message).
_SETUP_FALLBACKS = frozenset({ci.FALLBACK_NO_BRIDGE, ci.FALLBACK_NO_MODEL_KEY})


@dataclass
class Prepared:
    """A request after detect, lookup and rewrite: all the answer call needs."""

    request: ci.ChainRequest
    task: str
    style: PromptStyle
    route: ci.Route
    plan: PromptPlan
    info: dict[str, Any] = field(default_factory=dict)


class Router:
    """Lazily built parts and pre-answer steps of one chain (thread-safe)."""

    def __init__(self, settings: BridgeXChain) -> None:
        self.s = settings
        self._lock = threading.RLock()
        self._built: dict[str, Any] = {}
        self._renders = RenderCache(settings.render_cache_size)
        self._warned: set[tuple[str | None, ...]] = set()

    def shared_with(self, settings: BridgeXChain) -> Router:
        """A router for a copy of the chain that differs only in ``answer_llm``."""
        router = Router(settings)
        router._lock, router._built, router._renders = self._lock, self._built, self._renders
        router._warned = self._warned
        return router

    def _lazy(self, key: str, build: Callable[[], T]) -> T:
        if key not in self._built:
            with self._lock:
                if key not in self._built:
                    self._built[key] = build()
        return self._built[key]  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ parts

    def llm(self) -> Runnable[Any, Any]:
        """The model, built (for a local model: loaded) on first use."""
        return self._lazy("llm", self._build_llm)

    def _build_llm(self) -> Runnable[Any, Any]:
        llm = self.s.llm
        if isinstance(llm, Runnable):
            return llm
        if llm is None or isinstance(llm, str | Path):
            from bridgex_chain.models.langchain import local_model

            name = None if llm is None else str(llm)
            return local_model(name, max_new_tokens=self.s.max_new_tokens)
        runnable: Runnable[Any, Any] = coerce_to_runnable(llm)
        return runnable

    def answer_llm(self) -> Runnable[Any, Any]:
        """The model of the answer call (``answer_llm``, e.g. bound to tools, else the model)."""
        answer: Runnable[Any, Any] = (
            self.s.answer_llm if self.s.answer_llm is not None else self.llm()
        )
        return answer

    def answer_model(self, plan: PromptPlan) -> Runnable[Any, Any]:
        """What makes the answer call: the model, or for choices a scorer when it can score.

        A model with ``score_choices`` (the local Hugging Face adapter) picks a label or option
        by calibrated log-likelihood (``choice_scoring="auto"``); others generate and the text is
        parsed to a choice.
        """
        llm = self.answer_llm()
        score = getattr(llm, "score_choices", None)
        if not (plan.choices and plan.content_free and callable(score)):
            return llm
        if self.s.choice_scoring != "auto":
            return llm
        shown = [LETTERS[i] for i in range(len(plan.choices))] if plan.letters else plan.choices

        def choose(prompt: str) -> AIMessage:
            scores = score(prompt, shown, content_free=plan.content_free)
            best = max(range(len(scores)), key=lambda i: (scores[i], -i))
            meta = {"choice_method": "logprob", "choice_scores": [round(x, 4) for x in scores]}
            return AIMessage(plan.choices[best], response_metadata=meta)

        return RunnableLambda(choose, name="score_choices")

    def detector(self) -> Any:
        """The language detector (fastText's lite model unless one was given)."""

        def build() -> Any:
            if self.s.detector is not None:
                return as_detector(self.s.detector)
            from bridgex_chain.detect import FastTextDetector

            return FastTextDetector()

        return self._lazy("detector", build)

    def table(self) -> Any:
        """The bridge table: the one given, else ``database_url`` with the shipped tables added."""

        def build() -> Any:
            if self.s.table is not None:
                return self.s.table
            from bridgex_chain.store.table import BridgeTable

            table = BridgeTable(self.s.database_url)
            table.ensure_shipped()  # the precomputed tables that ship with the package
            return table

        return self._lazy("table", build)

    def library(self) -> TemplateLibrary:
        """The templates (packaged, or overridden from ``templates``)."""
        return self._lazy("templates", lambda: TemplateLibrary.load(self.s.templates))

    def pool(self) -> DemoPool | None:
        """The demonstration pool, or None without ``demos``."""
        if self.s.demos is None:
            return None
        return self._lazy("pool", lambda: load_demo_pool(self.s.demos, embedder=self.s.embedder))

    def model_key(self) -> str | None:
        """The key bridges are looked up under: ``model=``, the local model's, or the client's."""
        return self._lazy("model_key", self._find_model_key) or None

    def _find_model_key(self) -> str:
        from bridgex_chain.models import model_key

        name, llm = self.s.model, self.s.llm
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

        def build() -> PromptStyle:
            if self.s.prompt_style != "auto":
                return self.s.prompt_style
            llm = self.llm()
            target = llm.bound if isinstance(llm, RunnableBinding) else llm
            return "chat" if isinstance(target, BaseChatModel) else "completion"

        return self._lazy("style", build)

    # ------------------------------------------------------------------ detect, lookup

    def detect(self, request: ci.ChainRequest, task: str) -> Detection:
        """Step 1: the caller's language, or the detector's answer."""
        if request.lang:
            code = normalize(request.lang)
            return Detection(code, 1.0, ((code, 1.0),), source="override", reason="explicit")
        passage = str(request.fields.get("passage") or "") if task == "reading" else ""
        return self.detector().detect(passage or request.query)  # type: ignore[no-any-return]

    def lookup(self, request: ci.ChainRequest, detection: Detection) -> ci.Route:
        """Step 2: the bridge for (model, query language, answer language), or a fallback."""
        answer = normalize(request.answer_language) if request.answer_language else None
        key = self.model_key()
        if detection.is_unknown:
            reason = detection.reason or "no reason given"
            route = ci.Route(
                detection,
                answer,
                key,
                None,
                ci.FALLBACK_UNKNOWN_LANGUAGE,
                f"the detector abstained ({reason})",
            )
        elif detection.confidence < self.s.min_confidence:
            detail = (
                f"{detection.lang} detected with confidence {detection.confidence:.2f} < "
                f"min_confidence {self.s.min_confidence:.2f}"
            )
            route = ci.Route(
                detection, answer or detection.lang, key, None, ci.FALLBACK_LOW_CONFIDENCE, detail
            )
        elif key is None:
            detail = "the model is unnamed: pass model= (its bridge-table key) with an external llm"
            route = ci.Route(
                detection, answer or detection.lang, None, None, ci.FALLBACK_NO_MODEL_KEY, detail
            )
        else:
            route = self._table_route(detection, answer or detection.lang, key)
        if route.fallback is not None:
            self._log_fallback(route)
        return route

    def _log_fallback(self, route: ci.Route) -> None:
        """Log a fallback: set-up problems (no row, no model key) warn once per language pair."""
        level = logging.INFO
        if route.fallback in _SETUP_FALLBACKS:
            seen = (route.fallback, route.detection.lang, route.answer_language)
            with self._lock:
                if seen not in self._warned:
                    self._warned.add(seen)
                    level = logging.WARNING
        logger.log(level, "bridgex: direct prompting (%s): %s", route.fallback, route.detail)

    def _table_route(self, detection: Detection, answer: str, key: str) -> ci.Route:
        src = bridging_code(detection.lang)
        try:
            bridge = self.table().best(key, src, bridging_code(answer))
        except NoBridgeFound as err:
            bridge = self._close_language_bridge(key, src, bridging_code(answer))
            if bridge is None:
                return ci.Route(detection, answer, key, None, ci.FALLBACK_NO_BRIDGE, str(err))
            logger.info("bridgex: no entry for %s; bridging like %s", src, bridge.src)
        if bridging_code(bridge.bridge) == src:
            detail = f"the best bridge for {src} is {bridge.bridge}, the query's own language"
            return ci.Route(
                detection, answer, key, bridge, ci.FALLBACK_BRIDGE_IS_QUERY_LANGUAGE, detail
            )
        return ci.Route(detection, answer, key, bridge)

    def _close_language_bridge(self, key: str, src: str, trg: str) -> Bridge | None:
        """The bridge of a close language (Malay for Indonesian ...) when ``src`` has no entry.

        Detectors confuse near-identical written languages, and a table rarely holds both; the
        close language's bridge is the best guess. Close languages are tried first, then theirs
        (Minangkabau is close to Malay, Malay to Indonesian). The route's bridge row keeps the
        language it was found for as its ``src`` (the metadata's ``bridge_via``).
        """
        near = sorted(close_languages(src))
        further = sorted({c for n in near for c in close_languages(n)} - {src, *near})
        for close in near + further:
            try:
                bridge: Bridge = self.table().best(key, close, close if trg == src else trg)
            except NoBridgeFound:
                continue
            return bridge
        return None

    # ------------------------------------------------------------------ rewrite

    def prompt_request(self, request: ci.ChainRequest, task: str, route: ci.Route) -> PromptRequest:
        """What the task planner needs: languages, task fields and a demonstration source."""
        d = route.detection
        src = None if d.is_unknown else Lang(d.lang, language_name(d.lang))
        ans = route.answer_language
        bridge = route.bridge.bridge if route.bridged and route.bridge else None
        fields = dict(request.fields)
        pool = self.pool()
        if task == "classify" and not fields.get("labels"):
            fields["labels"] = self.s.labels or (pool.labels() if pool is not None else ())
        explicit = fields.pop("demos", None)
        demos: Callable[[str, Sequence[str], bool], list[Demo]] | None = None
        if explicit is not None:  # the caller's demonstrations, used as given
            given = load_demo_pool(explicit)
            demos = lambda _t, langs, labelled: given.matching(langs, labelled=labelled)  # noqa: E731
        elif pool is not None:
            query_lang, k = (src.code if src else None), self.s.num_demos
            demos = lambda text, langs, labelled: pool.select(  # noqa: E731
                text, k, langs=langs, labelled=labelled, query_lang=query_lang
            )
        return PromptRequest(
            task=task,
            style=self.style(),
            query=request.query,
            history=request.history,
            trailing=request.trailing,
            src=src,
            answer=Lang(ans, language_name(ans)) if ans else None,
            bridge=Lang(bridge, language_name(bridge)) if bridge else None,
            fields=fields,
            demos=demos,
        )

    def plan(self, request: ci.ChainRequest, task: str, route: ci.Route) -> Planner:
        """Step 3's generator (see :func:`~bridgex_chain.prompting.tasks.plan_prompts`)."""
        return plan_prompts(self.prompt_request(request, task, route), self.library())

    @staticmethod
    def call_kwargs(llm: Runnable[Any, Any], prompt: ModelPrompt) -> dict[str, Any]:
        """``stop=`` for LangChain models (other Runnables get the text cut afterwards)."""
        target = llm.bound if isinstance(llm, RunnableBinding) else llm
        if prompt.stop and isinstance(target, BaseLanguageModel):
            return {"stop": list(prompt.stop)}
        return {}

    def render(self, prompt: ModelPrompt, config: RunnableConfig, info: dict[str, Any]) -> str:
        """A rendering call (cached); counts calls in ``info``."""
        cached = self._renders.get(prompt, info)
        if cached is not None:
            return cached
        llm = self.llm()
        output = llm.invoke(prompt.prompt, config, **self.call_kwargs(llm, prompt))
        return self._renders.put(prompt, ci.message_text(output))

    async def arender(
        self, prompt: ModelPrompt, config: RunnableConfig, info: dict[str, Any]
    ) -> str:
        """Async :meth:`render`."""
        cached = self._renders.get(prompt, info)
        if cached is not None:
            return cached
        llm = self.llm()
        output = await llm.ainvoke(prompt.prompt, config, **self.call_kwargs(llm, prompt))
        return self._renders.put(prompt, ci.message_text(output))

    def prepared(
        self,
        request: ci.ChainRequest,
        task: str,
        route: ci.Route,
        plan: PromptPlan,
        info: dict[str, Any],
    ) -> Prepared:
        """Bundle a rewritten request with its ``bridgex`` metadata."""
        codes = [route.detection.lang, route.answer_language]
        if route.bridge is not None:
            codes.append(route.bridge.bridge)
        names = {c: language_name(c) for c in codes if c and c != UNKNOWN}
        meta: dict[str, Any] = {"task": task, "prompt_style": self.style()}
        meta.update(route.metadata(names))
        if plan.note is not None:
            meta["fallback"] = plan.note
            meta["fallback_detail"] = "the model's rendering in the bridge language was empty"
            logger.info("bridgex: direct prompting (%s)", plan.note)
        meta.update(rendering=plan.rendering, demos=list(plan.demo_ids), **info)
        return Prepared(request, task, self.style(), route, plan, meta)
