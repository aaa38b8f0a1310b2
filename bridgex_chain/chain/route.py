"""Where a request goes: the route policy over the bridge table, and what the answer call needs.

The policy (:func:`lookup_route`), in order:

1. the detector abstained → direct (:attr:`Fallback.UNKNOWN_LANGUAGE`);
2. it answered below the chain's ``min_confidence`` → direct (:attr:`Fallback.LOW_CONFIDENCE`);
3. the query is in a high-resource language that is itself a candidate bridge
   (:data:`~bridgex_chain.languages.DEFAULT_BRIDGES`: English, German, French, Italian,
   Portuguese, Spanish) → direct (:attr:`Fallback.QUERY_IS_A_BRIDGE`): the model reads it as
   well as it reads any bridge, and rendering English "in Italian" only adds a model call and
   a chance to garble it;
4. the chain cannot name the model whose bridges to read → direct (:attr:`Fallback.NO_MODEL_KEY`);
5. the table's best bridge for (model, query language, answer language)
   (:attr:`RouteRule.TABLE`): the language's own entry, else that of its
   :func:`~bridgex_chain.languages.bridging_code`, so Cantonese-labelled Chinese without an
   entry of its own finds Chinese's bridge;
6. else the bridge of a close language, or of a close language's close language
   (:attr:`RouteRule.CLOSE_LANGUAGE`: Malay ~ Indonesian, Minangkabau ~ Malay; ``bridge_via`` in
   the metadata names it);
7. else direct (:attr:`Fallback.NO_BRIDGE`); a bridge that is the query's own language is not
   taken either (:attr:`Fallback.BRIDGE_IS_QUERY_LANGUAGE`).

Under the chain's default ``route_policy="evidence"`` the table is an
:class:`~bridgex_chain.chain.evidence.EvidencePolicy`: at steps 5 and 6 it may decline the
entry's bridge (:class:`~bridgex_chain.errors.BridgeDeclined`), and the request goes direct with
:attr:`Fallback.EVIDENCE_DIRECT` (or :attr:`Fallback.NO_EVIDENCE` when the table measured
nothing to decide on); a bridge it takes has the rule :attr:`RouteRule.EVIDENCE`. Either way the
metadata's ``evidence`` holds the rule that fired and its numbers.

Two fallbacks come later than the policy: the chain answers an empty query without any model
call (:attr:`Fallback.EMPTY_INPUT`), and prompts directly when the model's rendering in the
bridge language comes back empty (:attr:`Fallback.EMPTY_RENDERING`). Whenever a bridge was found
but not used, the metadata's ``bridge`` is None and ``bridge_tried`` names it.

:class:`BridgeLookup` is what the policy needs of a table (``best``); :class:`~bridgex_chain.store.
table.BridgeTable` implements it, and tests or eval may pass a dict-backed one.

Example:
    >>> from bridgex_chain.detect import Detection
    >>> route = lookup_route(Detection("unknown", 0.0, reason="empty"), None,
    ...                      open_table=dict, model_key="google/gemma-3-270m")
    >>> route.fallback, route.rule
    (<Fallback.UNKNOWN_LANGUAGE: 'unknown_language'>, <RouteRule.DIRECT: 'direct'>)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from bridgex_chain.chain.request import ChainRequest
from bridgex_chain.detect import Detection
from bridgex_chain.errors import BridgeDeclined, NoBridgeFound
from bridgex_chain.languages import DEFAULT_BRIDGES, borrowing_order, bridging_code
from bridgex_chain.prompting.templates import PromptPlan, PromptStyle
from bridgex_chain.store.records import Bridge

__all__ = ["BridgeLookup", "Fallback", "Prepared", "Route", "RouteRule", "lookup_route"]


class Fallback(StrEnum):
    """Why a request is not prompted through a bridge (``metadata["fallback"]``).

    Example:
        >>> Fallback.NO_BRIDGE == "no_bridge"
        True
    """

    UNKNOWN_LANGUAGE = "unknown_language"
    """The detector abstained (empty, too short, below its threshold…)."""
    LOW_CONFIDENCE = "low_confidence"
    """The detector answered below the chain's ``min_confidence``."""
    QUERY_IS_A_BRIDGE = "query_is_a_bridge_language"
    """The query's language is one of the high-resource candidate bridges
    (:data:`~bridgex_chain.languages.DEFAULT_BRIDGES`, English included): it is prompted as is."""
    NO_MODEL_KEY = "no_model_key"
    """The chain cannot tell which model's bridges to look up (pass ``model=``)."""
    NO_BRIDGE = "no_bridge"
    """The bridge table has no row for (model, query language, answer language)."""
    BRIDGE_IS_QUERY_LANGUAGE = "bridge_is_query_language"
    """The best bridge is the query's own language: bridging would change nothing."""
    EMPTY_RENDERING = "empty_rendering"
    """The model's rendering of the query in the bridge language came back empty."""
    EVIDENCE_DIRECT = "evidence_direct"
    """The evidence policy found the entry but its measurements say to prompt directly (the
    model reads the language well, or no bridge renders it reliably); ``metadata["evidence"]``
    says which rule and its numbers."""
    NO_EVIDENCE = "no_evidence"
    """The evidence policy found the entry, but its run measured no competence or render check
    for the language (build the table with ``--parallel DIR``)."""
    EMPTY_INPUT = "empty_input"
    """The query is empty or only whitespace: the answer is an empty message, and no model (not
    even the detector) is called."""

    @property
    def points_at_setup(self) -> bool:
        """True for fallbacks caused by the set-up (no row, no model key), not by one query.

        Example:
            >>> Fallback.NO_BRIDGE.points_at_setup, Fallback.LOW_CONFIDENCE.points_at_setup
            (True, False)
        """
        return self in (Fallback.NO_BRIDGE, Fallback.NO_MODEL_KEY, Fallback.NO_EVIDENCE)


class RouteRule(StrEnum):
    """Which rule of the policy decided a route (``metadata["route_rule"]``).

    Example:
        >>> RouteRule.CLOSE_LANGUAGE.value
        'close_language'
    """

    TABLE = "table"
    """The table's best bridge for the query's own language."""
    CLOSE_LANGUAGE = "close_language"
    """The best bridge of a close language (the query's language has no entry)."""
    EVIDENCE = "evidence"
    """The evidence policy's bridge (``metadata["evidence"]["rule"]`` says which rule)."""
    DIRECT = "direct"
    """No bridge: direct prompting (the route's ``fallback`` says why)."""


@runtime_checkable
class BridgeLookup(Protocol):
    """What the chain needs of a bridge table (:class:`~bridgex_chain.store.table.BridgeTable`).

    Example:
        >>> from bridgex_chain.store.table import BridgeTable
        >>> isinstance(BridgeTable("sqlite://"), BridgeLookup)
        True
    """

    def best(self, model: str, src: str, trg: str | None = None) -> Bridge:
        """The best bridge for (model, src, trg); raises ``NoBridgeFound`` without a row."""
        ...


@dataclass(frozen=True)
class Route:
    """Where a request goes: its detected language and its bridge, or why it goes direct.

    Attributes:
        detection: The detector's answer (or the caller's explicit language).
        answer_language: FLORES code of the answer language (None when unknown).
        model: The model key bridges were looked up for.
        bridge: The bridge table row, or None for direct prompting.
        fallback: Why prompting is direct, or None.
        detail: A human-readable explanation of the fallback.
        rule: Which rule of the policy decided the route.
        evidence: The evidence policy's decision (rule and numbers), or None under another
            policy.
    """

    detection: Detection
    answer_language: str | None = None
    model: str | None = None
    bridge: Bridge | None = None
    fallback: Fallback | None = None
    detail: str | None = None
    rule: RouteRule = RouteRule.DIRECT
    evidence: Mapping[str, Any] | None = None

    @property
    def bridged(self) -> bool:
        """True when the request goes through a bridge language."""
        return self.bridge is not None and self.fallback is None

    def metadata(self, names: Mapping[str, str]) -> dict[str, Any]:
        """The routing as plain JSON-ready values (``names`` maps codes to English names).

        ``score_low`` / ``score_high`` (the bridge's bootstrap interval) and ``win_rate`` are
        None when the table recorded no bootstrap.

        Example:
            >>> from bridgex_chain.detect import Detection
            >>> Route(Detection("unknown", 0.1, reason="too-short"),
            ...       fallback=Fallback.UNKNOWN_LANGUAGE).metadata({})["fallback"]
            'unknown_language'
            >>> row = Bridge("m", "fra_Latn", "fra_Latn", "fra_Latn", 1e-8, 0.0, 1)
            >>> meta = Route(Detection("fra_Latn", 0.9), bridge=row,
            ...              fallback=Fallback.BRIDGE_IS_QUERY_LANGUAGE).metadata({})
            >>> meta["bridge"], meta["bridge_tried"]
            (None, 'fra_Latn')
        """
        d = self.detection
        bridge = self.bridge if self.bridged else None
        return {
            "lang": d.lang,
            "lang_name": names.get(d.lang),
            "confidence": round(float(d.confidence), 4),
            "candidates": [[code, round(float(p), 4)] for code, p in d.candidates[:3]],
            "detection_source": str(d.source),
            "detection_reason": d.reason,
            "answer_language": self.answer_language,
            "answer_language_name": names.get(self.answer_language or ""),
            "model": self.model,
            "bridge": bridge.bridge if bridge else None,
            "bridge_tried": self.bridge.bridge if self.bridge and not bridge else None,
            "bridge_name": names.get(bridge.bridge) if bridge else None,
            "bridge_via": via
            if bridge and (via := bridge.src) not in (d.lang, bridging_code(d.lang))
            else None,
            "score": bridge.score if bridge else None,
            "margin": bridge.margin if bridge else None,
            "score_low": bridge.low if bridge else None,
            "score_high": bridge.high if bridge else None,
            "win_rate": bridge.win_rate if bridge else None,
            "run_id": bridge.run_id if bridge else None,
            "route_rule": str(self.rule),
            "fallback": str(self.fallback) if self.fallback is not None else None,
            "fallback_detail": self.detail,
            "evidence": dict(self.evidence) if self.evidence is not None else None,
        }


@dataclass
class Prepared:
    """A request after detect, lookup and rewrite: all the answer call needs.

    Attributes:
        request: The parsed input.
        task: The task it runs.
        style: Completion text or chat messages.
        route: Where it went.
        plan: The prompts (answer prompt, rendering, choices).
        info: The ``bridgex`` metadata of the reply.
    """

    request: ChainRequest
    task: str
    style: PromptStyle
    route: Route
    plan: PromptPlan
    info: dict[str, Any] = field(default_factory=dict)


def lookup_route(
    detection: Detection,
    answer_language: str | None,
    *,
    open_table: Callable[[], BridgeLookup],
    model_key: str | None,
    min_confidence: float = 0.0,
) -> Route:
    """Apply the route policy (see the module docstring) to one detection.

    Args:
        detection: The query's language.
        answer_language: The answer language (FLORES code), or None for the query's.
        open_table: Returns the table bridges are looked up in; called only when the policy
            gets to the table (a request that goes direct before never opens it).
        model_key: The table's key of the model, or None when unknown.
        min_confidence: Detections below it go direct.

    Example:
        >>> from bridgex_chain.detect import Detection
        >>> lookup_route(Detection("swh_Latn", 0.4), None, open_table=dict,
        ...              model_key="m", min_confidence=0.5).fallback
        <Fallback.LOW_CONFIDENCE: 'low_confidence'>
        >>> lookup_route(Detection("eng_Latn", 0.99), None, open_table=dict, model_key="m").fallback
        <Fallback.QUERY_IS_A_BRIDGE: 'query_is_a_bridge_language'>
    """
    answer = answer_language
    if detection.is_unknown:
        reason = detection.reason or "no reason given"
        detail = f"the detector abstained ({reason})"
        return Route(detection, answer, model_key, None, Fallback.UNKNOWN_LANGUAGE, detail)
    answer = answer or detection.lang
    if detection.confidence < min_confidence:
        detail = (
            f"{detection.lang} detected with confidence {detection.confidence:.2f} < "
            f"min_confidence {min_confidence:.2f}"
        )
        return Route(detection, answer, model_key, None, Fallback.LOW_CONFIDENCE, detail)
    if bridging_code(detection.lang) in DEFAULT_BRIDGES:
        detail = (
            f"{detection.lang} is itself a candidate bridge language ({', '.join(DEFAULT_BRIDGES)})"
            ": the model reads it well, so it is prompted as is"
        )
        return Route(detection, answer, model_key, None, Fallback.QUERY_IS_A_BRIDGE, detail)
    if model_key is None:
        detail = "the model is unnamed: pass model= (its bridge-table key) with an external llm"
        return Route(detection, answer, None, None, Fallback.NO_MODEL_KEY, detail)
    return _table_route(detection, answer, model_key, open_table())


def _own_or_alias(table: BridgeLookup, key: str, lang: str, answer: str) -> Bridge:
    """The entry of the language itself, else of its bridging alias (Egyptian → Arabic)."""
    try:
        return table.best(key, lang, answer)
    except NoBridgeFound:
        src, trg = bridging_code(lang), bridging_code(answer)
        if (src, trg) == (lang, answer):
            raise
        return table.best(key, src, trg)


def _table_route(detection: Detection, answer: str, key: str, table: BridgeLookup) -> Route:
    src, trg = bridging_code(detection.lang), bridging_code(answer)
    rule = RouteRule.TABLE
    try:
        bridge = _own_or_alias(table, key, detection.lang, answer)
    except BridgeDeclined as err:
        return _declined(detection, answer, key, err)
    except NoBridgeFound as err:
        found = _close_language_bridge(table, key, src, trg)
        if isinstance(found, BridgeDeclined):
            return _declined(detection, answer, key, found)
        if found is None:
            return Route(detection, answer, key, None, Fallback.NO_BRIDGE, str(err))
        bridge, rule = found, RouteRule.CLOSE_LANGUAGE
    if bridging_code(bridge.bridge) in (src, detection.lang):
        detail = f"the best bridge for {src} is {bridge.bridge}, the query's own language"
        return Route(detection, answer, key, bridge, Fallback.BRIDGE_IS_QUERY_LANGUAGE, detail)
    evidence = bridge.provenance.get("evidence")
    if isinstance(evidence, Mapping):
        rule = RouteRule.EVIDENCE
    return Route(detection, answer, key, bridge, rule=rule, evidence=evidence)


def _declined(detection: Detection, answer: str, key: str, err: BridgeDeclined) -> Route:
    """The direct route of an entry the evidence policy declined."""
    rule = err.evidence.get("rule")
    fallback = Fallback.NO_EVIDENCE if rule == "no_evidence" else Fallback.EVIDENCE_DIRECT
    return Route(detection, answer, key, None, fallback, str(err), evidence=err.evidence)


def _close_language_bridge(
    table: BridgeLookup, key: str, src: str, trg: str
) -> Bridge | BridgeDeclined | None:
    """The bridge of a close language (Malay for Indonesian ...) when ``src`` has no entry.

    Detectors confuse near-identical written languages, and a table rarely holds both; the
    close language's bridge is the best guess. Close languages are tried first, then theirs
    (Minangkabau is close to Malay, Malay to Indonesian). The route's bridge row keeps the
    language it was found for as its ``src`` (the metadata's ``bridge_via``). When no close
    language gives a bridge but a policy declined one's entry, that refusal is returned.
    """
    declined: BridgeDeclined | None = None
    for close in borrowing_order(src):
        try:
            return table.best(key, close, close if trg == src else trg)
        except BridgeDeclined as err:
            declined = declined or err
        except NoBridgeFound:
            continue
    return declined
