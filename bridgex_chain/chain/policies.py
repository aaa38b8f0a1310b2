"""Route policies as bridge lookups: always direct, always one bridge, a seeded random bridge.

:func:`policy_lookup` turns the chain's ``route_policy`` name into the lookup it asks:
``evidence`` (:class:`~bridgex_chain.chain.evidence.EvidencePolicy`, the default), ``table``
(the table itself), ``english`` (:class:`FixedBridge` on English) or ``direct``
(:class:`NoBridge`).

The chain asks a :class:`~bridgex_chain.chain.route.BridgeLookup` for a bridge; these lookups
answer by a fixed rule instead of the table's HSIC ranking, so the very same chain (detection,
fallbacks, templates, rendering cache) runs under another policy. Evaluation compares them with
the table's policy; an app can pin a bridge (``FixedBridge("eng_Latn")``) or switch bridging off
(``NoBridge()``).

A policy's bridge is not a measured score: its :class:`~bridgex_chain.store.records.Bridge` row
carries the score of that bridge in the wrapped ``table``'s ranking when there is one, else
``score=0.0``, ``run_id=0``, and ``provenance["policy"]`` names the policy either way.

Example:
    >>> FixedBridge("eng_Latn").best("google/gemma-3-270m", "swh_Latn").bridge
    'eng_Latn'
    >>> RandomBridge(["fra_Latn", "spa_Latn"], seed=1).best("m", "swh_Latn").bridge in (
    ...     "fra_Latn", "spa_Latn")
    True
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any, Literal, Protocol, get_args

from bridgex_chain.chain.evidence import (
    DEFAULT_THRESHOLDS,
    EvidencePolicy,
    EvidenceSource,
    EvidenceThresholds,
)
from bridgex_chain.chain.route import BridgeLookup
from bridgex_chain.errors import InvalidOption, NoBridgeFound
from bridgex_chain.languages import normalize
from bridgex_chain.store.records import Bridge, RankedBridge

__all__ = [
    "ROUTE_POLICIES",
    "FixedBridge",
    "NoBridge",
    "RandomBridge",
    "RoutePolicy",
    "policy_lookup",
]

RoutePolicy = Literal["evidence", "table", "english", "direct"]
"""The chain's ``route_policy`` names."""
ROUTE_POLICIES: tuple[str, ...] = get_args(RoutePolicy)


class _Ranked(Protocol):
    def ranking(self, model: str, src: str, trg: str | None = None) -> list[RankedBridge]: ...


class NoBridge:
    """Never bridge: every request is prompted directly (``fallback="no_bridge"``).

    Example:
        >>> NoBridge().best("m", "swh_Latn")
        Traceback (most recent call last):
        ...
        bridgex_chain.errors.NoBridgeFound: route policy 'direct': no bridge for swh_Latn
    """

    def best(self, model: str, src: str, trg: str | None = None) -> Bridge:
        """Raise :class:`~bridgex_chain.errors.NoBridgeFound` (the chain then goes direct)."""
        raise NoBridgeFound(f"route policy 'direct': no bridge for {src}")


class _Chosen:
    """A policy that names its bridge per (model, src, trg); scores come from ``table``."""

    policy = "fixed"

    def __init__(self, table: _Ranked | None = None) -> None:
        self.table = table

    def _bridge(self, model: str, src: str, trg: str) -> str:
        raise NotImplementedError

    def best(self, model: str, src: str, trg: str | None = None) -> Bridge:
        """The policy's bridge for (model, src, trg) as a table row."""
        src = normalize(src)
        trg = normalize(trg) if trg else src
        bridge = self._bridge(model, src, trg)
        score, margin, run_id = 0.0, None, 0
        provenance: dict[str, Any] = {"policy": self.policy}
        found = None
        if self.table is not None:
            try:
                ranking = self.table.ranking(model, src, trg)
            except NoBridgeFound:
                ranking = []
            found = next((r for r in ranking if r.bridge == bridge), None)
            if found is not None:
                score, margin = found.score, found.score - ranking[0].score
        if found is None or found.win_rate is None:
            return Bridge(model, src, trg, bridge, score, margin, run_id, provenance)
        return Bridge(
            model,
            src,
            trg,
            bridge,
            score,
            margin,
            run_id,
            provenance,
            low=found.low,
            high=found.high,
            win_rate=found.win_rate,
            resamples=found.resamples,
        )


class FixedBridge(_Chosen):
    """Always the same bridge (English, or any candidate), whatever the query's language.

    Args:
        bridge: The bridge language (any code :func:`~bridgex_chain.languages.normalize` reads).
        table: A table whose ranking supplies the bridge's score (optional).

    Example:
        >>> FixedBridge("en").best("m", "sw", "en").trg
        'eng_Latn'
    """

    policy = "fixed"

    def __init__(self, bridge: str, table: _Ranked | None = None) -> None:
        super().__init__(table)
        self.bridge = normalize(bridge)

    def _bridge(self, model: str, src: str, trg: str) -> str:
        return self.bridge


class RandomBridge(_Chosen):
    """A random candidate per (model, src, trg), the same on every call (seeded).

    The choice never is the query's own language when another candidate exists.

    Args:
        candidates: The bridges to choose from.
        seed: Seed of the choice (same seed, same bridge per entry).
        table: A table whose ranking supplies the bridge's score (optional).

    Raises:
        InvalidOption: No candidates.

    Example:
        >>> policy = RandomBridge(["fra_Latn", "deu_Latn", "spa_Latn"], seed=3)
        >>> policy.best("m", "swh_Latn").bridge == policy.best("m", "swh_Latn").bridge
        True
    """

    policy = "random"

    def __init__(
        self, candidates: Sequence[str], *, seed: int = 0, table: _Ranked | None = None
    ) -> None:
        super().__init__(table)
        self.candidates = [normalize(c) for c in candidates]
        if not self.candidates:
            raise InvalidOption("RandomBridge needs at least one candidate bridge language.")
        self.seed = seed

    def _bridge(self, model: str, src: str, trg: str) -> str:
        pool = [c for c in self.candidates if c != src] or self.candidates
        return random.Random(f"{self.seed}|{model}|{src}|{trg}").choice(pool)


def policy_lookup(
    table: BridgeLookup,
    policy: RoutePolicy = "evidence",
    thresholds: EvidenceThresholds | None = None,
) -> BridgeLookup:
    """The lookup the chain asks under ``policy`` over ``table``.

    ``evidence`` wraps a table that stores render checks (an
    :class:`~bridgex_chain.chain.evidence.EvidenceSource` such as ``BridgeTable``) in an
    :class:`~bridgex_chain.chain.evidence.EvidencePolicy`; another lookup (``NoBridge``,
    ``FixedBridge``, your own) is its own policy and is returned as it is, as under ``table``.

    Raises:
        InvalidOption: An unknown policy name.

    Example:
        >>> from bridgex_chain.store.table import BridgeTable
        >>> type(policy_lookup(BridgeTable("sqlite://"))).__name__
        'EvidencePolicy'
        >>> type(policy_lookup(NoBridge(), "english")).__name__
        'FixedBridge'
    """
    if policy == "direct":
        return NoBridge()
    if policy == "english":
        ranked = table if isinstance(table, EvidenceSource) else None
        return FixedBridge("eng_Latn", table=ranked)
    if policy == "evidence":
        if isinstance(table, EvidenceSource) and not isinstance(table, EvidencePolicy):
            return EvidencePolicy(table, thresholds or DEFAULT_THRESHOLDS)
        return table
    if policy == "table":
        return table
    raise InvalidOption(f"Unknown route_policy {policy!r}; use one of {', '.join(ROUTE_POLICIES)}.")
