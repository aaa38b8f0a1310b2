"""The bootstrap over probe prompts: seeded, separable bridges win, ties share, figures add up."""

from __future__ import annotations

import numpy as np
import pytest

from bridgex_chain.errors import InvalidOption
from bridgex_chain.probing.bridges import ProbeActivations, score_pair
from bridgex_chain.probing.confidence import BridgeConfidence, bootstrap_ranking
from bridgex_chain.probing.neurons import PairGroups


def _entry(
    noise: float = 0.1, prompts: int = 48, seed: int = 0
) -> tuple[ProbeActivations, PairGroups]:
    """Overlap neurons 0-2; ``close`` (3-5) follows them, ``far`` (6-8) is independent."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(2, 3, prompts))
    close = base + noise * rng.normal(size=base.shape)
    far = rng.normal(size=base.shape)
    A = np.concatenate([base, close, far], axis=1)
    layers = (np.array([0, 1, 2]), np.array([0, 1, 2]))
    groups = PairGroups(
        "s",
        "t",
        layers,
        {
            "close": (np.array([3, 4, 5]), np.array([3, 4, 5])),
            "far": (np.array([6, 7, 8]), np.array([6, 7, 8])),
            "none": (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)),
        },
    )
    return ProbeActivations.from_dense(A), groups


def test_a_separable_bridge_wins_nearly_every_resample() -> None:
    acts, groups = _entry()
    conf = bootstrap_ranking(acts, groups, [0, 1], resamples=60, seed=1)
    assert list(conf) == ["close", "far", "none"]
    assert conf["close"].win_rate > 0.95
    assert conf["close"].low is not None and conf["far"].high is not None
    assert conf["close"].low > conf["far"].high  # the intervals do not overlap
    assert conf["none"] == BridgeConfidence("none", None, None, 0.0, 0)
    assert conf["close"].resamples == conf["far"].resamples == 60
    # the point score lies inside its interval
    point = {r.bridge: r.score for r in score_pair(acts, groups, [0, 1]).ranking.ranked}
    for bridge in ("close", "far"):
        c = conf[bridge]
        assert c.low is not None and c.high is not None
        assert c.low <= point[bridge] <= c.high or abs(point[bridge] - c.low) < 0.05 * c.low


def test_the_bootstrap_is_deterministic_for_a_seed() -> None:
    acts, groups = _entry(noise=2.0)
    first = bootstrap_ranking(acts, groups, [0, 1], resamples=30, seed=7)
    assert bootstrap_ranking(acts, groups, [0, 1], resamples=30, seed=7) == first
    other = bootstrap_ranking(acts, groups, [0, 1], resamples=30, seed=8)
    assert other != first


def test_twin_candidates_share_their_wins() -> None:
    acts, groups = _entry()
    twins = PairGroups(
        "s", "t", groups.overlap, {"a": groups.bridges["close"], "b": groups.bridges["close"]}
    )
    conf = bootstrap_ranking(acts, twins, [0, 1], resamples=20)
    assert conf["a"].win_rate == pytest.approx(0.5) and conf["b"].win_rate == pytest.approx(0.5)
    assert sum(c.win_rate for c in conf.values()) == pytest.approx(1.0)


def test_noisy_candidates_are_not_separable_and_options_pass_through() -> None:
    acts, groups = _entry(noise=1e3, prompts=24)  # both bridges ~independent of the overlap
    conf = bootstrap_ranking(acts, groups, [0, 1], resamples=60, aggregation="shared")
    close, far = conf["close"], conf["far"]
    assert max(close.win_rate, far.win_rate) < 0.95
    assert close.low is not None and close.high is not None
    assert far.low is not None and far.high is not None
    assert close.low < far.high and far.low < close.high  # the intervals overlap
    assert sum(c.win_rate for c in conf.values()) == pytest.approx(1.0)
    cut = bootstrap_ranking(
        acts,
        groups,
        [0],
        resamples=5,
        bridge_top_k=1,
        top_k_per="layer",
        mode="reference",
        method="dense",
    )
    assert set(cut) == {"close", "far", "none"}
    with pytest.raises(InvalidOption, match="resamples"):
        bootstrap_ranking(acts, groups, [0], resamples=0)


def test_the_dense_fallback_rescores_each_resample_and_agrees() -> None:
    acts, groups = _entry(prompts=32)
    fast = bootstrap_ranking(acts, groups, [0, 1], resamples=20, seed=3)
    slow = bootstrap_ranking(acts, groups, [0, 1], resamples=20, seed=3, method="dense")
    assert slow["close"].win_rate == fast["close"].win_rate == 1.0
    for bridge in ("close", "far"):
        a, b = fast[bridge], slow[bridge]
        assert a.low is not None and b.low is not None and a.high is not None and b.high is not None
        # the same draws; the dense path re-estimates z-scores and sigma on each resample
        assert a.low == pytest.approx(b.low, rel=0.3) and a.high == pytest.approx(b.high, rel=0.3)
