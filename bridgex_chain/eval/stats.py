"""Statistics for evaluation results: metrics, bootstrap, Spearman, paired tests.

Paired tests compare a condition with direct prompting on the same items.

Every task reduces one evaluated item to a short vector of additive statistics (accuracy:
``[correct, 1]``; chrF: sacrebleu's character/word n-gram match counts). A corpus score is a
function of the summed vectors, so the bootstrap only resamples rows and re-sums.

:func:`paired_test` compares two conditions on the same items: the exact McNemar test for
accuracy-like metrics (a two-sided binomial test on the discordant pairs, scipy's ``binomtest``),
a paired bootstrap for chrF (items resampled jointly; the p-value is twice the share of
resampled differences on the far side of zero).

Example:
    >>> m = metric("accuracy")
    >>> m.score([[1.0, 1.0], [0.0, 1.0]])
    50.0
    >>> spearman([1, 2, 3], [10, 30, 20])
    0.5
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from bridgex_chain.errors import InvalidOption

__all__ = [
    "SIGNIFICANCE",
    "Correlation",
    "Interval",
    "Metric",
    "PairedTest",
    "bootstrap_interval",
    "metric",
    "paired_test",
    "spearman",
    "spearman_interval",
]

SIGNIFICANCE = 0.05
"""The level below which a paired difference is reported as significant."""


@dataclass(frozen=True)
class Interval:
    """A score with its bootstrap confidence interval (percent points).

    Attributes:
        score: The corpus score on all items.
        low: Lower bound of the interval.
        high: Upper bound of the interval.
        n: Number of items.
    """

    score: float
    low: float
    high: float
    n: int


class Metric:
    """A corpus metric computed from summed per-item statistics (result in percent).

    Args:
        name: ``"accuracy"``, ``"p@1"`` (both ``[hit, 1]`` per item) or ``"chrf"`` (sacrebleu
            chrF, default parameters).

    Raises:
        InvalidOption: ``name`` is none of these.

    Example:
        >>> chrf = Metric("chrf")
        >>> chrf.score([chrf.item_stats("the cat", "the cat")])
        100.0
    """

    def __init__(self, name: str) -> None:
        if name not in ("accuracy", "p@1", "chrf"):
            raise InvalidOption(f"Unknown metric {name!r}. Use 'accuracy', 'p@1' or 'chrf'.")
        self.name = name

    @cached_property
    def _chrf(self) -> Any:
        from sacrebleu.metrics.chrf import CHRF

        return CHRF()

    def item_stats(self, hypothesis: str | bool, reference: str | None = None) -> list[float]:
        """Return the statistics vector of one item.

        Args:
            hypothesis: For accuracy and P@1 whether the item is correct; for chrF the
                system output.
            reference: For chrF the reference translation.
        """
        if self.name != "chrf":
            return [1.0 if hypothesis else 0.0, 1.0]
        if not isinstance(hypothesis, str) or reference is None:
            raise TypeError("chrF statistics need a hypothesis string and a reference string")
        stats = self._chrf._extract_corpus_statistics([hypothesis], [[reference]])[0]
        return [float(v) for v in stats]

    def score(self, stats: Sequence[Sequence[float]] | np.ndarray) -> float:
        """Return the corpus score (percent) of a set of per-item statistics vectors."""
        rows = np.asarray(stats, dtype=np.float64)
        if rows.size == 0:
            return float("nan")
        return self.score_of_sum(rows.sum(axis=0))

    def score_of_sum(self, total: np.ndarray) -> float:
        """Return the corpus score (percent) of already summed statistics."""
        if self.name != "chrf":
            return float(100.0 * total[0] / total[1]) if total[1] else float("nan")
        return float(self._chrf._compute_score_from_stats([round(float(v)) for v in total]).score)


def metric(name: str) -> Metric:
    """Return the :class:`Metric` called ``name`` (``accuracy``, ``p@1`` or ``chrf``)."""
    return Metric(name)


def bootstrap_interval(
    m: Metric,
    stats: Sequence[Sequence[float]] | np.ndarray,
    *,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Return the score with a percentile bootstrap interval over items.

    Args:
        m: The metric.
        stats: One statistics vector per item.
        resamples: Number of bootstrap resamples.
        confidence: Two-sided coverage of the interval.
        seed: Seed of the resampling generator (results are reproducible).

    Example:
        >>> iv = bootstrap_interval(metric("accuracy"), [[1, 1]] * 3 + [[0, 1]], seed=1)
        >>> iv.score, iv.low <= iv.score <= iv.high
        (75.0, True)
    """
    rows = np.asarray(stats, dtype=np.float64)
    n = len(rows)
    if n == 0:
        nan = float("nan")
        return Interval(nan, nan, nan, 0)
    score = m.score(rows)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(resamples, n))
    sums = rows[idx].sum(axis=1)
    if m.name == "chrf":
        values = np.array([m.score_of_sum(s) for s in sums])
    else:
        values = 100.0 * sums[:, 0] / sums[:, 1]
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(values, [alpha, 1.0 - alpha])
    return Interval(score, float(low), float(high), n)


@dataclass(frozen=True)
class PairedTest:
    """A condition against a baseline on the same items.

    Attributes:
        diff: Score of the condition minus the baseline's (percent points).
        p_value: Two-sided p-value of the paired test.
        test: ``"mcnemar-exact"`` or ``"paired-bootstrap"``.
        n: Items compared (present in both).
        wins: Items only the condition got right (McNemar; None for chrF).
        losses: Items only the baseline got right (McNemar; None for chrF).
    """

    diff: float
    p_value: float
    test: str
    n: int
    wins: int | None = None
    losses: int | None = None

    @property
    def significant(self) -> bool:
        """Whether ``p_value`` is below :data:`SIGNIFICANCE`."""
        return self.p_value < SIGNIFICANCE


def paired_test(
    m: Metric,
    condition: Sequence[Sequence[float]] | np.ndarray,
    baseline: Sequence[Sequence[float]] | np.ndarray,
    *,
    resamples: int = 1000,
    seed: int = 0,
) -> PairedTest | None:
    """Test ``condition`` against ``baseline`` (row ``i`` of both is the same item).

    Returns None when there is no item to compare.

    Raises:
        InvalidOption: The two sides do not have the same number of items.

    Example:
        >>> hit, miss = [1.0, 1.0], [0.0, 1.0]
        >>> t = paired_test(metric("accuracy"), [hit] * 9 + [miss], [miss] * 9 + [hit])
        >>> round(t.diff, 1), t.wins, t.losses, round(t.p_value, 4), t.significant
        (80.0, 9, 1, 0.0215, True)
    """
    a = np.asarray(condition, dtype=np.float64)
    b = np.asarray(baseline, dtype=np.float64)
    if len(a) != len(b):
        raise InvalidOption(
            f"a paired test needs the same items on both sides (got {len(a)} and {len(b)})"
        )
    n = len(a)
    if n == 0:
        return None
    diff = m.score(a) - m.score(b)
    if m.name != "chrf":
        from scipy.stats import binomtest

        hit_a, hit_b = a[:, 0] > 0, b[:, 0] > 0
        wins, losses = int(np.sum(hit_a & ~hit_b)), int(np.sum(~hit_a & hit_b))
        discordant = wins + losses
        p = 1.0 if discordant == 0 else float(binomtest(wins, discordant, 0.5).pvalue)
        return PairedTest(diff, p, "mcnemar-exact", n, wins, losses)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(resamples, n))
    sums_a, sums_b = a[idx].sum(axis=1), b[idx].sum(axis=1)
    diffs = np.array(
        [m.score_of_sum(x) - m.score_of_sum(y) for x, y in zip(sums_a, sums_b, strict=True)]
    )
    tail = min(float(np.mean(diffs <= 0)), float(np.mean(diffs >= 0)))
    return PairedTest(diff, min(1.0, 2.0 * tail), "paired-bootstrap", n)


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Return Spearman's rank correlation (``scipy.stats.spearmanr``, ties averaged), or None.

    It is undefined (None) for fewer than 3 points or when either side is constant.

    Raises:
        InvalidOption: ``x`` and ``y`` differ in length.

    Example:
        >>> spearman([1, 2, 3, 4], [4, 3, 2, 1])
        -1.0
    """
    if len(x) != len(y):
        raise InvalidOption(
            f"spearman needs one y value per x value, got {len(x)} x and {len(y)} y values; "
            "pass two sequences of the same length."
        )
    if len(x) < 3 or len(set(x)) < 2 or len(set(y)) < 2:
        return None
    from scipy.stats import spearmanr

    return float(spearmanr(x, y).statistic)


@dataclass(frozen=True)
class Correlation:
    """Spearman's rho between bridge scores and task scores, with a 95 % bootstrap interval.

    Attributes:
        rho: On all items.
        low: 2.5th percentile over item resamples (None when too few resamples are defined).
        high: 97.5th percentile.
        n: Candidates correlated.
        items: Items per candidate.
    """

    rho: float
    low: float | None
    high: float | None
    n: int
    items: int


def spearman_interval(
    m: Metric,
    bridge_scores: Sequence[float],
    item_stats: Sequence[Sequence[Sequence[float]]],
    *,
    resamples: int = 1000,
    seed: int = 0,
) -> Correlation | None:
    """Spearman(bridge score, task score) over candidates, with an interval over items.

    Each resample draws the same items for every candidate (the candidates were run on the same
    items), recomputes each candidate's task score and the correlation.

    Args:
        m: The task metric.
        bridge_scores: One score per candidate (e.g. its HSIC).
        item_stats: Per candidate, its items' statistics, rows aligned across candidates.
        resamples: Bootstrap resamples.
        seed: Bootstrap seed.

    Returns:
        None when the correlation is undefined (fewer than 3 candidates, constant scores).

    Example:
        >>> acc = metric("accuracy")
        >>> rows = [[acc.item_stats(i < k) for i in range(10)] for k in (2, 5, 8)]
        >>> c = spearman_interval(acc, [0.1, 0.2, 0.3], rows, resamples=200)
        >>> c.rho, c.n, c.items
        (1.0, 3, 10)
    """
    if len(bridge_scores) != len(item_stats):
        raise InvalidOption("spearman_interval needs one row of item statistics per candidate.")
    arrays = [np.asarray(rows, dtype=np.float64) for rows in item_stats]
    if not arrays or len({len(a) for a in arrays}) != 1 or len(arrays[0]) == 0:
        return None
    rho = spearman(bridge_scores, [m.score(a) for a in arrays])
    if rho is None:
        return None
    n = len(arrays[0])
    idx = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    sums = [a[idx].sum(axis=1) for a in arrays]  # (resamples, stats) per candidate
    rhos = []
    for r in range(resamples):
        value = spearman(bridge_scores, [m.score_of_sum(s[r]) for s in sums])
        if value is not None:
            rhos.append(value)
    if len(rhos) < resamples / 2:
        return Correlation(rho, None, None, len(arrays), n)
    low, high = np.percentile(rhos, [2.5, 97.5])
    return Correlation(rho, float(low), float(high), len(arrays), n)
