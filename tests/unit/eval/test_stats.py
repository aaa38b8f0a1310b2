"""Task metrics from per-item statistics, the bootstrap interval, Spearman's rho (scipy) with
its interval over item resamples, and the paired tests."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sacrebleu.metrics.chrf import CHRF

from bridgex_chain.errors import BridgeXError, InvalidOption
from bridgex_chain.eval.stats import (
    Correlation,
    Metric,
    bootstrap_interval,
    metric,
    spearman,
    spearman_interval,
)


def test_accuracy_and_p_at_1_are_percent_of_hits() -> None:
    for name in ("accuracy", "p@1"):
        m = metric(name)
        stats = [m.item_stats(True), m.item_stats(False), m.item_stats(True), m.item_stats(True)]
        assert m.score(stats) == 75.0


def test_chrf_from_summed_item_stats_equals_sacrebleu_corpus_score() -> None:
    hyps = ["the cat sat on the mat", "a dog", "hello world", ""]
    refs = ["the cat sat down on the mat", "the dog barked", "hello, world!", "nothing"]
    m = Metric("chrf")
    stats = [m.item_stats(h, r) for h, r in zip(hyps, refs, strict=True)]
    assert m.score(stats) == pytest.approx(CHRF().corpus_score(hyps, [refs]).score, abs=1e-9)
    assert m.score([m.item_stats("same words", "same words")]) == 100.0


def test_chrf_stats_need_strings() -> None:
    with pytest.raises(TypeError, match="hypothesis string"):
        Metric("chrf").item_stats(True)
    with pytest.raises(TypeError):
        Metric("chrf").item_stats("a cat", None)


def test_unknown_metric_is_an_invalid_option_naming_the_valid_ones() -> None:
    for build in (Metric, metric):
        with pytest.raises(InvalidOption) as err:
            build("bleu")
        assert isinstance(err.value, BridgeXError) and isinstance(err.value, ValueError)
        assert "'bleu'" in str(err.value)
        for name in ("'accuracy'", "'p@1'", "'chrf'"):
            assert name in str(err.value)


def test_bootstrap_of_identical_items_is_degenerate() -> None:
    iv = bootstrap_interval(metric("accuracy"), [[1.0, 1.0]] * 5, seed=3)
    assert (iv.score, iv.low, iv.high, iv.n) == (100.0, 100.0, 100.0, 5)


def test_bootstrap_of_one_hit_one_miss_spans_zero_to_hundred() -> None:
    # Resamples of two items score 0, 50 or 100 with probability 1/4, 1/2, 1/4, so the
    # 2.5% and 97.5% quantiles are 0 and 100.
    iv = bootstrap_interval(metric("accuracy"), [[1.0, 1.0], [0.0, 1.0]], resamples=4000, seed=0)
    assert (iv.score, iv.low, iv.high) == (50.0, 0.0, 100.0)


def test_bootstrap_is_reproducible_and_brackets_the_score() -> None:
    stats = [[float(i % 3 == 0), 1.0] for i in range(30)]
    a = bootstrap_interval(metric("accuracy"), stats, seed=7)
    b = bootstrap_interval(metric("accuracy"), stats, seed=7)
    assert a == b
    assert a.low < a.score < a.high
    assert a.score == pytest.approx(100.0 * 10 / 30)


def test_bootstrap_of_chrf_keeps_corpus_score() -> None:
    m = Metric("chrf")
    stats = [m.item_stats("abc def", "abc deg"), m.item_stats("xyz", "xyz")]
    iv = bootstrap_interval(m, stats, resamples=200, seed=1)
    assert iv.score == pytest.approx(m.score(stats))
    assert iv.low <= iv.score <= iv.high <= 100.0


def test_bootstrap_of_nothing_is_nan() -> None:
    iv = bootstrap_interval(metric("accuracy"), [])
    assert iv.n == 0 and math.isnan(iv.score)


def test_spearman_hand_computed_values() -> None:
    # 1 - 6 * sum(d^2) / (n (n^2 - 1)) = 1 - 6 * 2 / 60
    assert spearman([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    # ties share the average rank: [1, 2.5, 2.5, 4] vs [1, 2, 3, 4] -> 4.5 / sqrt(4.5 * 5)
    assert spearman([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(4.5 / math.sqrt(22.5))


def test_spearman_is_scipys_and_a_plain_float() -> None:
    from scipy.stats import spearmanr

    x, y = [0.3, 0.1, 0.5, 0.2, 0.4], [60.0, 40.0, 55.0, 40.0, 90.0]
    rho = spearman(x, y)
    assert type(rho) is float and rho == pytest.approx(spearmanr(x, y).statistic)


def test_spearman_is_undefined_for_short_or_constant_input() -> None:
    assert spearman([1, 2], [2, 1]) is None
    assert spearman([1, 1, 1], [1, 2, 3]) is None
    assert spearman([1, 2, 3], [5, 5, 5]) is None


def test_spearman_of_unequal_lengths_is_an_invalid_option() -> None:
    with pytest.raises(InvalidOption, match=r"got 3 x and 2 y values.*same length"):
        spearman([1, 2, 3], [1, 2])
    with pytest.raises(ValueError):  # callers catching ValueError keep working
        spearman([1.0], [])


# --------------------------------------------------------------------------- spearman_interval


def _hits(correct: list[bool]) -> list[list[float]]:
    return [metric("accuracy").item_stats(c) for c in correct]


def test_spearman_interval_holds_rho_on_all_items_within_its_interval() -> None:
    acc = metric("accuracy")
    rng = np.random.default_rng(4)
    rows = [_hits(list(rng.random(30) < p)) for p in (0.3, 0.45, 0.5, 0.7)]
    scores = [acc.score(r) for r in rows]
    found = spearman_interval(acc, [0.1, 0.2, 0.3, 0.4], rows, resamples=300, seed=1)
    assert isinstance(found, Correlation)
    assert found.rho == spearman([0.1, 0.2, 0.3, 0.4], scores)
    assert (found.n, found.items) == (4, 30)
    assert found.low is not None and found.high is not None
    assert -1.0 <= found.low <= found.rho <= found.high <= 1.0
    assert found.low < found.high  # 30 noisy items: the correlation is uncertain
    assert spearman_interval(acc, [0.1, 0.2, 0.3, 0.4], rows, resamples=300, seed=1) == found


def test_spearman_interval_resamples_the_same_items_for_every_candidate() -> None:
    # B and C answered exactly alike, A never right: drawn together, B = C > A in every
    # resample, so rho is the same (ties averaged: 0.866) in all of them; independent draws
    # for B and C would split them and spread the interval
    acc = metric("accuracy")
    never, half = _hits([False] * 20), _hits([i < 10 for i in range(20)])
    found = spearman_interval(acc, [0.1, 0.2, 0.3], [never, half, half], resamples=400, seed=0)
    assert found is not None
    assert found.rho == pytest.approx(math.sqrt(3) / 2)
    assert found.low == pytest.approx(found.rho) and found.high == pytest.approx(found.rho)


def test_spearman_interval_of_chrf_candidates() -> None:
    chrf = metric("chrf")
    ref = "the cat sat on the mat"
    rows = [
        [chrf.item_stats(h, ref) for h in hyps]
        for hyps in (["dog"] * 4, ["the cat"] * 4, [ref] * 4)
    ]
    found = spearman_interval(chrf, [1.0, 2.0, 3.0], rows, resamples=50)
    assert found is not None and found.rho == pytest.approx(1.0)
    assert found.low == pytest.approx(1.0) and found.high == pytest.approx(1.0)


def test_spearman_interval_is_none_when_the_correlation_is_undefined() -> None:
    acc = metric("accuracy")
    a, b, c = _hits([True, False]), _hits([True, True]), _hits([False, False])
    assert spearman_interval(acc, [0.1, 0.2], [a, b]) is None  # fewer than 3 candidates
    assert spearman_interval(acc, [0.5, 0.5, 0.5], [a, b, c]) is None  # constant bridge scores
    assert spearman_interval(acc, [0.1, 0.2, 0.3], [a, a, a]) is None  # constant task scores
    assert spearman_interval(acc, [0.1, 0.2, 0.3], [[], [], []]) is None  # no items
    assert spearman_interval(acc, [], []) is None
    # rows that are not the same items for every candidate
    assert spearman_interval(acc, [0.1, 0.2, 0.3], [a, b, _hits([True])]) is None


def test_spearman_interval_needs_one_row_set_per_candidate() -> None:
    acc = metric("accuracy")
    with pytest.raises(InvalidOption, match="one row of item statistics per candidate"):
        spearman_interval(acc, [0.1, 0.2, 0.3], [_hits([True])] * 2)


# --------------------------------------------------------------------------- paired tests


def test_mcnemar_exact_on_discordant_pairs() -> None:
    from scipy.stats import binomtest

    from bridgex_chain.eval.stats import paired_test

    hit, miss = [1.0, 1.0], [0.0, 1.0]
    condition = [hit] * 12 + [miss] * 3 + [hit] * 5
    baseline = [miss] * 12 + [hit] * 3 + [hit] * 5
    test = paired_test(metric("accuracy"), condition, baseline)
    assert test is not None
    assert (test.test, test.n, test.wins, test.losses) == ("mcnemar-exact", 20, 12, 3)
    assert test.p_value == pytest.approx(binomtest(12, 15, 0.5).pvalue)
    assert test.diff == pytest.approx(45.0) and test.significant
    same = paired_test(metric("accuracy"), [hit, miss], [hit, miss])
    assert same is not None and (same.p_value, same.diff, same.significant) == (1.0, 0.0, False)


def test_paired_test_needs_aligned_items() -> None:
    from bridgex_chain.eval.stats import paired_test

    assert paired_test(metric("accuracy"), [], []) is None
    with pytest.raises(InvalidOption, match="same items"):
        paired_test(metric("accuracy"), [[1.0, 1.0]], [])


def test_paired_bootstrap_for_chrf() -> None:
    from bridgex_chain.eval.stats import paired_test

    m = metric("chrf")
    good = m.item_stats("the cat sat on the mat", "the cat sat on the mat")
    bad = m.item_stats("dog", "the cat sat on the mat")
    better = paired_test(m, [good] * 30, [bad] * 30, resamples=300, seed=1)
    assert better is not None and better.test == "paired-bootstrap"
    assert better.diff > 50 and better.p_value == 0.0 and better.significant
    assert better.wins is None
    mixed = paired_test(m, [good, bad] * 15, [bad, good] * 15, resamples=300, seed=1)
    assert mixed is not None and not mixed.significant and mixed.diff == pytest.approx(0.0)
