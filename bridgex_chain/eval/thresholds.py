"""Choose the evidence policy's competence threshold on dev items (never on test items).

The evidence policy (:mod:`bridgex_chain.chain.evidence`) bridges a language only when the
model's competence in it is at most ``max_competence``. Which value? This module answers from a
dev run: per language, its competence, the bridge the policy would take were competence no bar
(the *open* decision), and the dev items answered directly and through that bridge, paired.

The rule (:func:`choose_max_competence`): sort the languages by competence, weakest first. For
each k, bridging the k weakest languages is *admissible* when, pooled over their items, the
bridged answers beat the direct ones significantly (exact McNemar, two-sided p < ``alpha``) —
the policy's promise is to bridge only where bridging is shown to help. The admissible k with
the most net wins (bridged right and direct wrong, minus the reverse) is chosen; ties go to
the smaller k. The threshold is then the midpoint between the k-th and the (k+1)-th
competence; with no admissible k it lies ``margin`` below the weakest language, so no dev
language is bridged.

Example:
    >>> weak = DevLanguage("swh_Latn", -4.9, "eng_Latn", [False] * 30, [True] * 30)
    >>> strong = DevLanguage("ind_Latn", -4.0, "eng_Latn", [True] * 30, [False] * 30)
    >>> choice = choose_max_competence([strong, weak])
    >>> choice.bridged, round(choice.max_competence, 2)
    (('swh_Latn',), -4.45)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from bridgex_chain.errors import InvalidOption
from bridgex_chain.eval.stats import metric, paired_test

__all__ = ["DevLanguage", "ThresholdChoice", "ThresholdStep", "choose_max_competence"]


@dataclass(frozen=True)
class DevLanguage:
    """One dev language: its competence, the open decision's bridge and its paired items.

    Attributes:
        lang: FLORES-200 code.
        competence: The model's competence in it (the table's figure).
        bridge: The bridge the evidence policy takes when competence is no bar (None: no
            candidate passes its render check, so it never bridges).
        direct: Per dev item, whether direct prompting answered right.
        bridged: The same items through ``bridge`` (empty when ``bridge`` is None).
    """

    lang: str
    competence: float
    bridge: str | None
    direct: Sequence[bool]
    bridged: Sequence[bool] = ()

    def __post_init__(self) -> None:
        if self.bridge is not None and len(self.direct) != len(self.bridged):
            raise InvalidOption(
                f"{self.lang}: {len(self.direct)} direct and {len(self.bridged)} bridged items; "
                "pair the same dev items on both sides."
            )


@dataclass(frozen=True)
class ThresholdStep:
    """Bridging the ``k`` weakest languages: the pooled paired comparison with direct."""

    k: int
    langs: tuple[str, ...]
    items: int
    wins: int
    losses: int
    diff: float
    p_value: float
    admissible: bool


@dataclass(frozen=True)
class ThresholdChoice:
    """The chosen threshold, what it bridges and every step considered."""

    max_competence: float
    bridged: tuple[str, ...]
    alpha: float
    steps: tuple[ThresholdStep, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        """JSON-ready values (``docs/results/dev/thresholds.json``)."""
        return {
            "max_competence": self.max_competence,
            "bridged": list(self.bridged),
            "alpha": self.alpha,
            "steps": [asdict(step) | {"langs": list(step.langs)} for step in self.steps],
        }


def _step(k: int, chosen: Sequence[DevLanguage], alpha: float) -> ThresholdStep:
    acc = metric("accuracy")
    cond = [acc.item_stats(x) for lang in chosen for x in lang.bridged]
    base = [acc.item_stats(x) for lang in chosen for x in lang.direct]
    test = paired_test(acc, cond, base)
    assert test is not None
    wins, losses = test.wins or 0, test.losses or 0
    admissible = wins > losses and test.p_value < alpha
    langs = tuple(lang.lang for lang in chosen)
    return ThresholdStep(k, langs, len(cond), wins, losses, test.diff, test.p_value, admissible)


def choose_max_competence(
    languages: Sequence[DevLanguage], *, alpha: float = 0.05, margin: float = 0.5
) -> ThresholdChoice:
    """Choose ``max_competence`` on dev languages (see the module docstring).

    Args:
        languages: The dev languages (those without an open bridge never bridge and are
            left out).
        alpha: Significance a pooled gain must reach.
        margin: How far below the weakest language the threshold lies when nothing is
            admissible (and above the strongest when everything is).

    Raises:
        InvalidOption: No language has an open bridge.
    """
    usable = sorted(
        (lang for lang in languages if lang.bridge is not None), key=lambda x: x.competence
    )
    if not usable:
        raise InvalidOption("No dev language has a bridge to compare with direct prompting.")
    steps = tuple(_step(k, usable[:k], alpha) for k in range(1, len(usable) + 1))
    best_k, best_net = 0, 0
    for step in steps:
        net = step.wins - step.losses
        if step.admissible and net > best_net:
            best_k, best_net = step.k, net
    levels = [lang.competence for lang in usable]
    if best_k == 0:
        threshold = levels[0] - margin
    elif best_k == len(levels):
        threshold = levels[-1] + margin
    else:
        threshold = (levels[best_k - 1] + levels[best_k]) / 2
    bridged = tuple(lang.lang for lang in usable[:best_k])
    return ThresholdChoice(threshold, bridged, alpha, steps)
