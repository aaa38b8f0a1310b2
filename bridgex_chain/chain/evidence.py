"""The ``evidence`` route policy: bridge only where the table's measurements say it helps.

The table's HSIC ranking says which bridge the model treats as closest to a language; it does
not say whether bridging beats asking directly. The evaluation measured that it often does not
(docs/results): the model may read the language well already, or render it badly. The evidence
policy reads what a build with ``--parallel`` stores per (run, language) — the model's
**competence** in the language and a **render check** per candidate bridge (see
:mod:`bridgex_chain.probing.render_check`) — and the bootstrap **win rate** of each candidate,
and applies these rules, in order (:class:`EvidenceRule` names the one that fired):

1. the run stored no competence or render check for the language → direct
   (``no_evidence``: rebuild the table with ``--parallel DIR``);
2. the model reads the language well: its competence (mean log-probability per token of the
   language's text) is above :attr:`EvidenceThresholds.max_competence` → direct
   (``reads_well``);
3. no candidate's render check passes (the lower end of its render-gain interval is not above
   :attr:`EvidenceThresholds.min_render_gain`) → direct (``render_check_failed``);
4. the best-scoring candidate among those that pass is separable (its win rate, the share of
   bootstrap resamples in which it ranks first, is at least
   :attr:`EvidenceThresholds.min_win_rate`) → that bridge (``separable_score``);
5. otherwise the passing candidate with the highest render gain (``best_rendered``).

A direct decision raises :class:`~bridgex_chain.errors.BridgeDeclined` (a
:class:`~bridgex_chain.errors.NoBridgeFound`), so the chain prompts directly with
``fallback="evidence_direct"`` (``"no_evidence"`` for rule 1) and the metadata's ``evidence``
holds the rule and its numbers; a bridged route carries the same in ``metadata["evidence"]``.
The default thresholds are chosen on SIB-200 dev items, never test items; ``docs/method.md``
shows the measurement.

Example:
    >>> from bridgex_chain.store.records import CompetenceRow, RankedBridge, RenderCheckRow
    >>> facts = LanguageEvidence(
    ...     competence=CompetenceRow("swh_Latn", 32, -4.0),
    ...     renders=(RenderCheckRow("swh_Latn", "eng_Latn", 32, 0.30, 0.20, 0.40),
    ...              RenderCheckRow("swh_Latn", "fra_Latn", 32, 0.10, -0.05, 0.25)),
    ...     ranking=(RankedBridge("fra_Latn", 2e-8, 1, 6, win_rate=0.6),
    ...              RankedBridge("eng_Latn", 1e-8, 2, 6, win_rate=0.4)))
    >>> decision = decide(facts, EvidenceThresholds(max_competence=-3.0))  # a permissive bar
    >>> decision.rule, decision.bridge
    (<EvidenceRule.BEST_RENDERED: 'best_rendered'>, 'eng_Latn')
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from bridgex_chain.chain.route import BridgeLookup
from bridgex_chain.errors import BridgeDeclined, InvalidOption
from bridgex_chain.languages import normalize
from bridgex_chain.store.records import (
    Bridge,
    CompetenceRow,
    RankedBridge,
    RenderCheckRow,
)

__all__ = [
    "DEFAULT_THRESHOLDS",
    "Decision",
    "EvidencePolicy",
    "EvidenceRule",
    "EvidenceSource",
    "EvidenceThresholds",
    "LanguageEvidence",
    "decide",
]


class EvidenceRule(StrEnum):
    """Which rule of the evidence policy decided a route (``metadata["evidence"]["rule"]``).

    Example:
        >>> EvidenceRule.READS_WELL.bridges, EvidenceRule.BEST_RENDERED.bridges
        (False, True)
    """

    NO_EVIDENCE = "no_evidence"
    """The run stored no competence or render check for the language: direct."""
    READS_WELL = "reads_well"
    """The model's competence in the language is above the threshold: direct."""
    RENDER_CHECK_FAILED = "render_check_failed"
    """No candidate's render gain is reliably above the threshold: direct."""
    SEPARABLE_SCORE = "separable_score"
    """The best-scoring candidate that renders is separable (win rate): that bridge."""
    BEST_RENDERED = "best_rendered"
    """No separable candidate: the one that renders best."""

    @property
    def bridges(self) -> bool:
        """True for the rules that choose a bridge."""
        return self in (EvidenceRule.SEPARABLE_SCORE, EvidenceRule.BEST_RENDERED)


@dataclass(frozen=True)
class EvidenceThresholds:
    """The evidence policy's thresholds (defaults: :data:`DEFAULT_THRESHOLDS`).

    Attributes:
        max_competence: Bridge only languages whose competence (mean log-probability per token
            of the language's text, nats) is at most this; ``float("inf")`` never declines
            for competence.
        min_render_gain: A candidate passes its render check when the lower end of its 95 %
            render-gain interval is above this (nats per token; 0 = the source tells the model
            something about the bridge sentence).
        min_win_rate: A candidate is separable when it ranks first in at least this share of
            the bootstrap resamples.

    Raises:
        InvalidOption: A threshold is NaN or the win rate is outside [0, 1].

    Example:
        >>> EvidenceThresholds(max_competence=-3.5).min_win_rate
        0.9
    """

    max_competence: float = -5.38
    min_render_gain: float = 0.0
    min_win_rate: float = 0.9

    def __post_init__(self) -> None:
        values = (self.max_competence, self.min_render_gain, self.min_win_rate)
        if any(v != v for v in values):  # NaN
            raise InvalidOption("Evidence thresholds must be numbers, not NaN.")
        if not 0.0 <= self.min_win_rate <= 1.0:
            raise InvalidOption(
                f"min_win_rate must be within [0, 1], got {self.min_win_rate}: it is a share "
                "of bootstrap resamples."
            )


DEFAULT_THRESHOLDS = EvidenceThresholds()
"""The defaults, chosen on SIB-200 dev items for Gemma-3-270m (docs/results/dev/thresholds.json,
docs/method.md): no dev language gained from bridging, so ``max_competence`` lies 0.5 below the
weakest one (Swahili, -4.88) and the shipped table's languages are answered directly."""


@dataclass(frozen=True)
class LanguageEvidence:
    """What a table measured about one language: competence, render checks and the ranking.

    Attributes:
        competence: The model's competence in the language (None: not measured).
        renders: One render check per candidate bridge.
        ranking: The entry's candidates, best HSIC score first.
    """

    competence: CompetenceRow | None
    renders: tuple[RenderCheckRow, ...]
    ranking: tuple[RankedBridge, ...]


@dataclass(frozen=True)
class Decision:
    """What the evidence policy decided for one language, and the numbers behind it.

    Attributes:
        rule: The rule that fired.
        bridge: The chosen bridge (None: direct).
        competence: The language's competence (None: not measured).
        render_gain: The chosen bridge's render gain (None when direct).
        render_low: The lower end of its interval.
        win_rate: The chosen bridge's win rate (None when direct or not bootstrapped).
        passed: The candidates whose render check passed, best HSIC score first.
        thresholds: The thresholds applied.
    """

    rule: EvidenceRule
    bridge: str | None
    competence: float | None
    render_gain: float | None = None
    render_low: float | None = None
    win_rate: float | None = None
    passed: tuple[str, ...] = ()
    thresholds: EvidenceThresholds = DEFAULT_THRESHOLDS

    def metadata(self) -> dict[str, Any]:
        """The decision as JSON-ready values (the route's ``metadata["evidence"]``).

        Example:
            >>> Decision(EvidenceRule.READS_WELL, None, -2.1).metadata()["rule"]
            'reads_well'
        """
        return {
            "rule": str(self.rule),
            "bridge": self.bridge,
            "competence": self.competence,
            "render_gain": self.render_gain,
            "render_low": self.render_low,
            "win_rate": self.win_rate,
            "passed": list(self.passed),
            "thresholds": asdict(self.thresholds),
        }

    def explain(self, lang: str) -> str:
        """One sentence on why (the route's ``fallback_detail`` when direct)."""
        t = self.thresholds
        if self.rule is EvidenceRule.NO_EVIDENCE:
            return (
                f"the bridge table holds no competence or render check for {lang}: rebuild it "
                "with 'bridgex-chain build-table --parallel DIR' to let the evidence policy "
                "bridge it"
            )
        if self.rule is EvidenceRule.READS_WELL:
            return (
                f"the model reads {lang} well enough to answer it directly: its competence "
                f"{self.competence:.2f} nats per token is above the bridging threshold "
                f"{t.max_competence:.2f}"
            )
        if self.rule is EvidenceRule.RENDER_CHECK_FAILED:
            return (
                f"no candidate bridge's render gain for {lang} is reliably above "
                f"{t.min_render_gain:g}: direct prompting"
            )
        how = (
            "separable best score" if self.rule is EvidenceRule.SEPARABLE_SCORE else "renders best"
        )
        return f"{self.bridge} for {lang}: {how}"


def _passes(check: RenderCheckRow | None, threshold: float) -> bool:
    return check is not None and check.low is not None and check.low > threshold


def decide(
    evidence: LanguageEvidence, thresholds: EvidenceThresholds = DEFAULT_THRESHOLDS
) -> Decision:
    """Apply the evidence rules (module docstring) to one language's measurements.

    Args:
        evidence: The language's competence, render checks and ranking.
        thresholds: The thresholds.

    Example:
        >>> decide(LanguageEvidence(None, (), ())).rule
        <EvidenceRule.NO_EVIDENCE: 'no_evidence'>
    """
    comp = evidence.competence
    if comp is None or not evidence.renders:
        value = comp.logprob_per_token if comp is not None else None
        return Decision(EvidenceRule.NO_EVIDENCE, None, value, thresholds=thresholds)
    level = comp.logprob_per_token
    if level > thresholds.max_competence:
        return Decision(EvidenceRule.READS_WELL, None, level, thresholds=thresholds)
    checks = {r.bridge: r for r in evidence.renders}
    passed = [
        r for r in evidence.ranking if _passes(checks.get(r.bridge), thresholds.min_render_gain)
    ]
    if not passed:
        return Decision(EvidenceRule.RENDER_CHECK_FAILED, None, level, thresholds=thresholds)
    top = passed[0]
    if top.win_rate is not None and top.win_rate >= thresholds.min_win_rate:
        rule, chosen = EvidenceRule.SEPARABLE_SCORE, top
    else:
        rule = EvidenceRule.BEST_RENDERED
        chosen = max(passed, key=lambda r: checks[r.bridge].gain)  # first of equals: best score
    check = checks[chosen.bridge]
    return Decision(
        rule,
        chosen.bridge,
        level,
        check.gain,
        check.low,
        chosen.win_rate,
        tuple(r.bridge for r in passed),
        thresholds,
    )


@runtime_checkable
class EvidenceSource(BridgeLookup, Protocol):
    """What the evidence policy needs of a table (``BridgeTable`` has it): ``best`` and these.

    Example:
        >>> from bridgex_chain.store.table import BridgeTable
        >>> isinstance(BridgeTable("sqlite://"), EvidenceSource)
        True
    """

    def ranking(self, model: str, src: str, trg: str | None = None) -> list[RankedBridge]:
        """The entry's candidates, best first."""
        ...

    def render_checks(self, run_id: int) -> list[RenderCheckRow]:
        """A run's render checks."""
        ...

    def competence(self, run_id: int) -> list[CompetenceRow]:
        """A run's competence rows."""
        ...


class EvidencePolicy:
    """A bridge lookup that bridges only on evidence (the chain's ``route_policy="evidence"``).

    Args:
        table: Where scores, render checks and competence are read.
        thresholds: The rules' thresholds.

    Example:
        >>> from bridgex_chain.store.table import BridgeTable
        >>> policy = EvidencePolicy(BridgeTable("sqlite://"))
        >>> policy.best("google/gemma-3-270m", "swh_Latn")
        Traceback (most recent call last):
        ...
        bridgex_chain.errors.NoBridgeFound: No bridge for model 'google/gemma-3-270m' ...
    """

    policy = "evidence"

    def __init__(
        self, table: EvidenceSource, thresholds: EvidenceThresholds = DEFAULT_THRESHOLDS
    ) -> None:
        self.table = table
        self.thresholds = thresholds
        self._runs: dict[int, tuple[dict[str, CompetenceRow], dict[str, list[RenderCheckRow]]]]
        self._runs = {}
        self._lock = threading.Lock()

    def _run_checks(
        self, run_id: int
    ) -> tuple[dict[str, CompetenceRow], dict[str, list[RenderCheckRow]]]:
        found = self._runs.get(run_id)
        if found is None:  # complete runs are immutable: read each once
            comp = {c.lang: c for c in self.table.competence(run_id)}
            renders: dict[str, list[RenderCheckRow]] = {}
            for row in self.table.render_checks(run_id):
                renders.setdefault(row.src, []).append(row)
            found = (comp, renders)
            with self._lock:
                self._runs[run_id] = found
        return found

    def evidence(
        self, model: str, src: str, trg: str | None = None
    ) -> tuple[Bridge, LanguageEvidence]:
        """The entry's best row and what its run measured about ``src``.

        Raises:
            NoBridgeFound: The table has no entry.
        """
        src = normalize(src)
        best = self.table.best(model, src, trg)
        ranking = tuple(self.table.ranking(model, src, trg))
        comp, renders = self._run_checks(best.run_id)
        return best, LanguageEvidence(comp.get(src), tuple(renders.get(src, ())), ranking)

    def decision(self, model: str, src: str, trg: str | None = None) -> Decision:
        """The evidence rules' decision for (model, src, trg).

        Raises:
            NoBridgeFound: The table has no entry.
        """
        return decide(self.evidence(model, src, trg)[1], self.thresholds)

    def best(self, model: str, src: str, trg: str | None = None) -> Bridge:
        """The bridge the evidence supports for (model, src, trg).

        Raises:
            NoBridgeFound: The table has no entry.
            BridgeDeclined: The evidence says to prompt directly (its ``decision`` says why).
        """
        row, evidence = self.evidence(model, src, trg)
        choice = decide(evidence, self.thresholds)
        if choice.bridge is None:
            raise BridgeDeclined(choice.explain(row.src), choice.metadata())
        ranked = next(r for r in evidence.ranking if r.bridge == choice.bridge)
        top = evidence.ranking[0].score if evidence.ranking else ranked.score
        provenance = {**row.provenance, "policy": self.policy, "evidence": choice.metadata()}
        return Bridge(
            row.model,
            row.src,
            row.trg,
            choice.bridge,
            ranked.score,
            ranked.score - top if len(evidence.ranking) > 1 else None,
            row.run_id,
            provenance,
            low=ranked.low,
            high=ranked.high,
            win_rate=ranked.win_rate,
            resamples=ranked.resamples,
        )
