"""Language-neuron counting, top-neuron selection, groups and their serialisation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bridgex_chain.errors import InvalidOption, ProbeDataError
from bridgex_chain.probing.neurons import (
    LanguageNeuronCounter,
    PairGroups,
    bridge_mask,
    bridge_top_k,
    coords_to_mask,
    indices_by_layer,
    mask_from_indices,
    mask_to_coords,
    needed_neurons,
    overlap_mask,
    pair_groups,
    top_neurons,
)


def _mask(rows: list[list[int]]) -> np.ndarray:
    return np.array(rows, dtype=bool)


def test_counter_streams_batches_with_padding_mask() -> None:
    rng = np.random.default_rng(0)
    L, n_neurons = 3, 7
    counter = LanguageNeuronCounter(L, n_neurons)
    all_tokens = []
    for _ in range(4):
        acts = rng.normal(size=(L, 2, 5, n_neurons))  # [L, batch, tokens, I]
        mask = rng.random(size=(2, 5)) > 0.3
        counter.update_batch("swh_Latn", acts, mask)
        all_tokens.append(acts[:, mask, :])
    tokens = np.concatenate(all_tokens, axis=1)
    want = (tokens > 0).mean(axis=1)
    np.testing.assert_allclose(counter.probabilities("swh_Latn"), want)
    over_zero, n = counter.counts("swh_Latn")
    assert (n == tokens.shape[1]).all()
    assert over_zero.dtype == np.int64
    assert counter.languages == ("swh_Latn",)


def test_per_layer_updates_equal_batch_updates() -> None:
    rng = np.random.default_rng(1)
    acts = rng.normal(size=(2, 9, 4))
    a, b = LanguageNeuronCounter(2, 4), LanguageNeuronCounter(2, 4)
    a.update_batch("x", acts)
    for layer in range(2):
        b.update("x", layer, (acts[layer] > 0).sum(axis=0), n_tokens=9)
    np.testing.assert_array_equal(a.probabilities("x"), b.probabilities("x"))


def test_counter_rejects_bad_updates() -> None:
    c = LanguageNeuronCounter(2, 3)
    with pytest.raises(ProbeDataError, match="shape"):
        c.update("x", 0, np.array([1, 2]), 5)
    with pytest.raises(ProbeDataError, match="padding mask"):
        c.update("x", 0, np.array([1, 6, 0]), 5)
    with pytest.raises(ProbeDataError, match="outside"):
        c.update("x", 2, np.array([1, 1, 0]), 5)
    with pytest.raises(ProbeDataError, match="No activations"):
        c.probabilities("y")
    c.update("x", 0, np.array([1, 1, 0]), 5)
    with pytest.raises(ProbeDataError, match="layers \\[1\\]"):
        c.probabilities("x")  # layer 1 never saw a token


def test_counter_save_load_roundtrip_without_pickle(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    c = LanguageNeuronCounter(2, 5)
    c.update_batch("fra_Latn", rng.normal(size=(2, 8, 5)))
    c.update_batch("eng_Latn", rng.normal(size=(2, 3, 5)))
    path = tmp_path / "counts.npz"
    c.save(path)
    with np.load(path, allow_pickle=False) as data:
        assert set(data.files) == {"languages", "over_zero", "tokens"}
    back = LanguageNeuronCounter.load(path)
    assert back.languages == c.languages
    for lang in c.languages:
        np.testing.assert_array_equal(back.probabilities(lang), c.probabilities(lang))


def test_top_neurons_pooled_kthvalue_keeps_ties() -> None:
    prob = np.array([[0.1, 0.2, 0.9, 0.3], [0.9, 0.05, 0.4, 0.9]])
    # N=8, top_rate=0.25: k = round(6) = 6; 6th smallest is 0.9 -> every 0.9 kept (3 > 2).
    mask = top_neurons(prob, top_rate=0.25)
    assert mask.tolist() == [[False, False, True, False], [True, False, False, True]]
    # Pooled across layers: a layer can get nothing. Like torch.kthvalue in the reference, the
    # k-th smallest itself is kept, so N - k + 1 = 3 neurons are selected here.
    prob2 = np.array([[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8]])
    assert top_neurons(prob2, top_rate=0.25)[0].sum() == 0
    assert top_neurons(prob2, top_rate=0.25)[1].tolist() == [False, True, True, True]


def test_top_neurons_matches_reference_rule_on_random_data() -> None:
    rng = np.random.default_rng(3)
    prob = rng.random(size=(6, 500))
    mask = top_neurons(prob, top_rate=0.01)
    flat = np.sort(prob.ravel())
    k = round(prob.size * 0.99)  # 2970
    assert mask.sum() == prob.size - k + 1
    assert prob[mask].min() == flat[k - 1]


def test_top_neurons_never_selects_neurons_that_never_fired() -> None:
    prob = np.zeros((2, 50))
    prob[0, 3] = 0.5
    mask = top_neurons(prob, top_rate=0.01)
    assert mask.sum() == 1 and mask[0, 3]
    with pytest.raises(ValueError):
        top_neurons(prob, top_rate=0.0)
    with pytest.raises(InvalidOption, match="top_rate"):
        top_neurons(prob, top_rate=1.5)


def test_groups_for_a_pair_and_single_language() -> None:
    ts = _mask([[1, 1, 0, 0, 1, 0]])
    tt = _mask([[0, 1, 1, 0, 1, 0]])
    tb = _mask([[1, 1, 1, 1, 0, 1]])
    assert overlap_mask(ts, tt).tolist() == [[False, True, False, False, True, False]]
    assert bridge_mask(tb, ts, tt).tolist() == [[False, False, False, True, False, True]]
    top = {"s": ts, "t": tt, "b": tb}
    g = pair_groups(top, "s", "t", ["b", "s"])
    assert g.overlap[0].tolist() == [1, 4]
    assert g.bridges["b"][0].tolist() == [3, 5]
    assert g.bridges["s"][0].size == 0  # a bridge equal to S has no specific neurons
    # chat extension (L, L): O = T_L, N_B = T_B minus T_L
    single = pair_groups(top, "s", "s", ["b"])
    assert single.overlap[0].tolist() == [0, 1, 4]
    assert single.bridges["b"][0].tolist() == [2, 3, 5]
    with pytest.raises(ProbeDataError, match="zzz"):
        pair_groups(top, "s", "zzz", ["b"])


def test_pair_groups_json_roundtrip() -> None:
    rng = np.random.default_rng(4)
    top = {x: rng.random(size=(3, 20)) > 0.6 for x in ("s", "t", "b1", "b2")}
    g = pair_groups(top, "s", "t", ["b1", "b2"])
    back = PairGroups.from_json(json.loads(json.dumps(g.to_json())))
    assert (back.src, back.trg) == ("s", "t")
    assert list(back.bridges) == ["b1", "b2"]
    for a, b in zip(back.overlap, g.overlap, strict=True):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == np.int64
    for name in g.bridges:
        for a, b in zip(back.bridges[name], g.bridges[name], strict=True):
            np.testing.assert_array_equal(a, b)


def test_mask_conversions_roundtrip(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    mask = rng.random(size=(4, 30)) > 0.8
    coords = mask_to_coords(mask)
    assert coords.shape == (mask.sum(), 2) and coords.dtype == np.int64
    np.save(tmp_path / "c.npy", coords)
    loaded = np.load(tmp_path / "c.npy", allow_pickle=False)
    np.testing.assert_array_equal(coords_to_mask(loaded, mask.shape), mask)
    np.testing.assert_array_equal(mask_from_indices(indices_by_layer(mask), 30), mask)
    assert mask_to_coords(np.zeros((2, 3), bool)).shape == (0, 2)


def test_bridge_top_k_overall_and_per_layer() -> None:
    idx = [np.array([3, 5, 8]), np.array([1, 2]), np.array([], dtype=np.int64)]
    scores = [np.array([0.2, 0.9, 0.5]), np.array([0.7, 0.5]), np.array([])]
    overall = bridge_top_k(idx, scores, 3)
    # 0.9 (L0 #5), 0.7 (L1 #1), then 0.5 tie: L0 #8 comes before L1 #2 (lower layer first).
    assert [a.tolist() for a in overall] == [[5, 8], [1], []]
    per_layer = bridge_top_k(idx, scores, 1, per="layer")
    assert [a.tolist() for a in per_layer] == [[5], [1], []]
    assert [a.tolist() for a in bridge_top_k(idx, scores, 0)] == [[], [], []]
    assert [a.tolist() for a in bridge_top_k(idx, scores, 99)] == [[3, 5, 8], [1, 2], []]
    with pytest.raises(ProbeDataError):
        bridge_top_k(idx, scores[:2], 2)


def test_needed_neurons_is_the_union_of_all_groups() -> None:
    rng = np.random.default_rng(6)
    top = {x: rng.random(size=(3, 40)) > 0.7 for x in ("s", "t", "u", "b1", "b2")}
    pairs = [("s", "t"), ("u", "u")]
    need = needed_neurons(top, pairs, ["b1", "b2"])
    want = np.zeros((3, 40), bool)
    for src, trg in pairs:
        g = pair_groups(top, src, trg, ["b1", "b2"])
        want |= mask_from_indices(g.overlap, 40)
        for v in g.bridges.values():
            want |= mask_from_indices(v, 40)
    np.testing.assert_array_equal(mask_from_indices(need, 40), want)
    assert [a.size for a in needed_neurons(top, [], ["b1"])] == [0, 0, 0]
