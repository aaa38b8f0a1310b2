"""Layer window, missing-vs-zero aggregation, ranking with ties, an end-to-end synthetic pair."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bridgex_chain.errors import InvalidOption, ProbeDataError
from bridgex_chain.probing.bridges import (
    AGGREGATIONS,
    ProbeActivations,
    aggregate_scores,
    cut_groups,
    layer_window,
    rank_bridges,
    score_layers,
    score_pair,
    window_mean,
)
from bridgex_chain.probing.hsic import layer_score
from bridgex_chain.probing.neurons import needed_neurons, pair_groups
from bridgex_chain.store.records import RankedBridge, ScoreRow


@pytest.mark.parametrize(
    ("layers", "first", "last"),
    [(18, 6, 11), (26, 8, 17), (32, 10, 21), (80, 25, 54)],
)
def test_layer_window_scales_the_reference_window(layers: int, first: int, last: int) -> None:
    w = layer_window(layers)
    assert (w[0], w[-1]) == (first, last)


def test_layer_window_explicit_and_degenerate_depths() -> None:
    assert layer_window(18, start=3, end=5) == range(3, 6)
    assert layer_window(18, start=3) == range(3, 12)
    for depth in (1, 2, 3, 4):
        w = layer_window(depth)
        assert len(w) >= 1 and w[0] >= 0 and w[-1] < depth
    with pytest.raises(ValueError, match="window"):
        layer_window(18, start=12, end=11)
    with pytest.raises(InvalidOption, match="window"):
        layer_window(18, end=18)
    with pytest.raises(InvalidOption, match="decoder depth"):
        layer_window(0)


def test_missing_layers_are_not_zero() -> None:
    # "a" has no score at layer 7 (empty group); "b" scores lower wherever both are scored.
    per_layer = {"a": {6: 0.5, 8: 0.5}, "b": {6: 0.4, 7: 0.4, 8: 0.4}}
    window = range(6, 9)
    assert window_mean(per_layer["a"], window) == (0.5, 2)
    ranking = rank_bridges(per_layer, window)
    assert [r.bridge for r in ranking.ranked] == ["a", "b"]
    assert ranking.ranked[0] == RankedBridge(bridge="a", score=0.5, rank=1, layers_scored=2)
    # Counting the missing layer as 0 (the reference's bug) would have ranked "b" first.
    assert (0.5 + 0 + 0.5) / 3 < 0.4
    # A real zero score is a score: it counts.
    assert window_mean({6: 0.0, 7: 1.0}, window) == (0.5, 2)


def test_ties_share_a_rank_and_unscored_are_listed_apart() -> None:
    per_layer = {
        "x": {1: 0.3},
        "y": {1: 0.3 * (1 + 1e-12)},
        "z": {1: 0.1},
        "u": {5: 0.9},  # scored only outside the window
        "v": {},
    }
    r = rank_bridges(per_layer, [1, 2])
    assert [(b.bridge, b.rank) for b in r.ranked] == [("y", 1), ("x", 1), ("z", 3)]
    assert r.tied_best == ("y", "x")
    assert r.margin == pytest.approx(0.0, abs=1e-12)
    assert r.unscored == ("u", "v")
    strict = rank_bridges(per_layer, [1, 2], rel_tol=1e-15)
    assert [b.rank for b in strict.ranked] == [1, 2, 3]
    # No chaining: c is close to b and b to a, but c is not close to a.
    chain = rank_bridges({"a": {0: 1.0}, "b": {0: 0.9}, "c": {0: 0.8}}, [0], rel_tol=0.11)
    assert [b.rank for b in chain.ranked] == [1, 1, 3]


def test_ranking_with_one_or_no_candidate() -> None:
    one = rank_bridges({"a": {0: 0.2}}, [0])
    assert one.best is not None and one.best.bridge == "a" and one.margin is None
    none = rank_bridges({"a": {}}, [0])
    assert none.best is None and none.margin is None and none.tied_best == ()


def test_probe_activations_subset_matches_dense() -> None:
    rng = np.random.default_rng(0)
    A = rng.normal(size=(3, 10, 25))
    cols = {0: np.array([1, 4, 7]), 2: np.array([0, 9, 3])}  # unsorted ids are fine
    sub = ProbeActivations({k: A[k, v] for k, v in cols.items()}, cols)
    np.testing.assert_array_equal(sub.rows(2, [3, 9]), A[2, [3, 9]])
    assert sub.num_prompts == 25
    assert sub.rows(0, []).shape == (0, 25)
    with pytest.raises(ProbeDataError, match="not recorded"):
        sub.rows(0, [2])
    with pytest.raises(ProbeDataError, match="no neuron ids"):
        ProbeActivations({0: A[0]}, {}).rows(0, [1])
    overlap = (np.array([1, 4]), np.array([5]), np.array([0, 9]))
    bridge = (np.array([7]), np.array([6]), np.array([3]))
    got = score_layers(sub, overlap, bridge)
    dense = score_layers(ProbeActivations.from_dense(A), overlap, bridge)
    assert sorted(got) == [0, 2]  # layer 1 was not recorded -> missing
    assert sorted(dense) == [0, 1, 2]
    assert got[0] == pytest.approx(dense[0], rel=1e-14)
    assert got[2] == pytest.approx(layer_score(A[2, [0, 9]], A[2, [3]]), rel=1e-14)


def _synthetic(seed: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """4 layers × 64 neurons × 200 prompts. Overlap neurons 0-7 of S and T in every layer;
    b_dep's own neurons 20-27 are driven by the overlap neurons, b_weak's 30-37 weakly, b_ind's
    40-47 not at all; b_gap has own neurons only in layer 0."""
    rng = np.random.default_rng(seed)
    L, n_neurons, P = 4, 64, 200
    A = rng.normal(size=(L, n_neurons, P))
    for layer in range(L):
        o = A[layer, 0:8]
        A[layer, 20:28] = np.tanh(1.5 * o) + 0.3 * rng.normal(size=(8, P))
        A[layer, 30:38] = 0.25 * o + rng.normal(size=(8, P))
    top = {
        name: np.zeros((L, n_neurons), dtype=bool)
        for name in ("S", "T", "b_dep", "b_weak", "b_ind")
    }
    top["S"][:, 0:12] = True  # 8-11 are S-only
    top["T"][:, 0:8] = True
    top["T"][:, 12:16] = True  # 12-15 are T-only
    for name, lo in (("b_dep", 20), ("b_weak", 30), ("b_ind", 40)):
        top[name][:, lo : lo + 8] = True
        top[name][:, 0:4] = True  # shared with S and T: excluded from N_B
    top["b_gap"] = np.zeros((L, n_neurons), dtype=bool)
    top["b_gap"][0, 50:54] = True
    return top, A


def test_end_to_end_dependent_bridge_ranks_first() -> None:
    top, A = _synthetic()
    bridges = ["b_ind", "b_weak", "b_dep", "b_gap"]
    groups = pair_groups(top, "S", "T", bridges)
    assert groups.overlap[0].tolist() == list(range(8))
    assert groups.bridges["b_dep"][2].tolist() == list(range(20, 28))
    # Record only what is needed, as the recorder will.
    need = needed_neurons(top, [("S", "T")], bridges)
    acts = ProbeActivations({ell: A[ell, need[ell]] for ell in range(4)}, dict(enumerate(need)))
    window = layer_window(4, start=1, end=3)
    result = score_pair(acts, groups, window)
    names = [r.bridge for r in result.ranking.ranked]
    assert names == ["b_dep", "b_weak", "b_ind"]
    assert result.ranking.unscored == ("b_gap",)  # its only scored layer is outside the window
    assert result.per_layer["b_gap"].keys() == {0}
    assert result.ranking.margin is not None and result.ranking.margin > 0
    assert all(r.layers_scored == 3 for r in result.ranking.ranked)
    rows = result.score_rows()
    assert all(isinstance(r, ScoreRow) and (r.src, r.trg) == ("S", "T") for r in rows)
    agg = {r.bridge: r.score for r in rows if r.layer is None}
    assert set(agg) == {"b_dep", "b_weak", "b_ind"}
    assert agg["b_dep"] == pytest.approx(np.mean([result.per_layer["b_dep"][k] for k in (1, 2, 3)]))
    per_layer_rows = [r for r in rows if r.layer is not None]
    assert len(per_layer_rows) == 4 * 3 + 1
    # Same ranking in reference mode, with the dense method, and with a top-k cut.
    ref = score_pair(acts, groups, window, mode="reference", method="dense")
    assert ref.ranking.best is not None and ref.ranking.best.bridge == "b_dep"
    cut = score_pair(acts, groups, window, bridge_top_k=12, top_k_per="overall")
    assert cut.ranking.best is not None and cut.ranking.best.bridge == "b_dep"
    per = score_pair(acts, groups, window, bridge_top_k=3, top_k_per="layer")
    assert per.ranking.best is not None and per.ranking.best.bridge == "b_dep"


def test_top_k_cut_keeps_highest_mean_activation() -> None:
    top, A = _synthetic(1)
    A[:, 20:24] += 5.0  # the first half of b_dep's neurons has the highest mean activation
    groups = pair_groups(top, "S", "T", ["b_dep"])
    acts = ProbeActivations.from_dense(A)
    cut = score_pair(acts, groups, range(4), bridge_top_k=4, top_k_per="layer")
    want = {ell: layer_score(A[ell, 0:8], A[ell, 20:24]) for ell in range(4)}
    for ell, s in cut.per_layer["b_dep"].items():
        assert s == pytest.approx(want[ell], rel=1e-12)
    # Overall: the 4 highest means across layers all sit in layer 2.
    A[2, 20:24] += 5.0
    overall = score_pair(ProbeActivations.from_dense(A), groups, range(4), bridge_top_k=4)
    # The other layers have an empty N_B and are missing, not zero.
    assert overall.per_layer["b_dep"].keys() == {2}
    assert overall.per_layer["b_dep"][2] == pytest.approx(want[2], rel=1e-12)
    (only,) = overall.ranking.ranked
    assert only.layers_scored == 1 and only.score == overall.per_layer["b_dep"][2]
    assert not math.isnan(only.score)


def test_aggregate_rows_carry_the_number_of_window_layers_scored() -> None:
    import numpy as np

    from bridgex_chain.probing.bridges import ProbeActivations, layer_window, score_pair
    from bridgex_chain.probing.neurons import pair_groups

    rng = np.random.default_rng(3)
    L, n_neurons, P = 6, 12, 20
    acts = ProbeActivations.from_dense(rng.normal(size=(L, n_neurons, P)))
    top = {
        "swh_Latn": np.zeros((L, n_neurons), dtype=bool),
        "eng_Latn": np.zeros((L, n_neurons), dtype=bool),
        "fra_Latn": np.zeros((L, n_neurons), dtype=bool),
    }
    top["swh_Latn"][:, 0:4] = True
    top["eng_Latn"][:, 4:8] = True
    top["fra_Latn"][:, 8:12] = True
    groups = pair_groups(top, "swh_Latn", "swh_Latn", ["eng_Latn", "fra_Latn"])
    window = layer_window(L, start=1, end=3)
    scores = score_pair(acts, groups, window)
    aggregates = [r for r in scores.score_rows() if r.layer is None]
    assert aggregates
    assert all(r.layers_scored == 3 for r in aggregates)


# --------------------------------------------------------------------------- aggregation rules

PER_LAYER = {"fra": {6: 0.5, 7: 0.3, 8: 0.1}, "eng": {6: 0.2, 8: 0.4}, "deu": {}, "spa": {5: 9.0}}


def test_shared_and_zero_rules_aggregate_every_candidate_over_the_same_layers() -> None:
    window = range(6, 9)
    shared, rule = aggregate_scores(PER_LAYER, window, "shared")
    assert rule == "shared"
    assert shared == {"fra": (pytest.approx(0.3), 2), "eng": (pytest.approx(0.3), 2)}
    zero, rule = aggregate_scores(PER_LAYER, window, "zero")
    assert rule == "zero"
    assert zero == {"fra": (pytest.approx(0.3), 3), "eng": (pytest.approx(0.2), 3)}
    own, rule = aggregate_scores(PER_LAYER, window, "own")
    assert own == {"fra": (pytest.approx(0.3), 3), "eng": (pytest.approx(0.3), 2)}
    for name in AGGREGATIONS:  # a candidate scored only outside the window is unscored
        assert set(aggregate_scores(PER_LAYER, window, name)[0]) == {"fra", "eng"}
    # the same layers for every candidate: each one's count is the same under shared and zero
    for name in ("shared", "zero"):
        assert len({n for _mean, n in aggregate_scores(PER_LAYER, window, name)[0].values()}) == 1


def test_shared_falls_back_to_zero_when_no_layer_is_common() -> None:
    apart = {"fra": {6: 0.5}, "eng": {7: 0.4}}
    means, rule = aggregate_scores(apart, range(6, 8), "shared")
    assert rule == "zero"
    assert means == {"fra": (pytest.approx(0.25), 2), "eng": (pytest.approx(0.2), 2)}
    ranking = rank_bridges(apart, range(6, 8), aggregation="shared")
    assert ranking.aggregation == "zero" and ranking.best is not None
    assert ranking.best.bridge == "fra"
    with pytest.raises(InvalidOption, match="aggregation"):
        aggregate_scores(apart, range(6, 8), "mean")  # type: ignore[arg-type]


def test_the_rule_can_change_the_ranking() -> None:
    # eng wins on its own two layers; over the layers both have, fra is ahead
    per = {"fra": {6: 0.5, 7: 0.1}, "eng": {7: 0.45}}
    assert rank_bridges(per, range(6, 8)).best.bridge == "eng"  # type: ignore[union-attr]
    shared = rank_bridges(per, range(6, 8), aggregation="shared")
    assert [r.bridge for r in shared.ranked] == ["eng", "fra"]
    assert shared.ranked[0].layers_scored == shared.ranked[1].layers_scored == 1
    zero = rank_bridges(per, range(6, 8), aggregation="zero")
    assert [r.bridge for r in zero.ranked] == ["fra", "eng"]


def test_score_pair_passes_the_rule_and_cut_groups_matches_its_cut() -> None:
    top, A = _synthetic()
    bridges = ["b_ind", "b_weak", "b_dep", "b_gap"]
    groups = pair_groups(top, "S", "T", bridges)
    acts = ProbeActivations.from_dense(A)
    window = layer_window(4, start=1, end=3)
    for name in AGGREGATIONS:
        result = score_pair(acts, groups, window, aggregation=name)
        assert result.ranking.aggregation == name
    assert cut_groups(acts, groups, None) is groups
    cut = cut_groups(acts, groups, 3, "layer")
    assert all(a.size <= 3 for idx in cut.bridges.values() for a in idx)
    assert score_pair(acts, groups, window, bridge_top_k=3, top_k_per="layer").per_layer == {
        b: score_layers(acts, groups.overlap, idx) for b, idx in cut.bridges.items()
    }
