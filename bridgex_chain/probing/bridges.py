"""Per-layer bridge scores, layer-window aggregation and ranking (METHOD.md, step 5).

For an ordered pair S→T with groups from :func:`bridgex_chain.probing.neurons.pair_groups`:

1. every layer where both O and N_B are non-empty (and the layer was recorded) gets the HSIC
   layer score of :func:`bridgex_chain.probing.hsic.layer_score`; other layers are **missing**
   (absent from the result), never 0;
2. a bridge's aggregate is a mean of its scores inside the layer window (:func:`layer_window`),
   over the layers the aggregation rule (:data:`Aggregation`) picks: ``"own"`` every layer the
   bridge has a score on (each candidate may average a different subset), ``"shared"`` the
   layers every scored candidate has a score on (the same layers for all; when they share none,
   ``"zero"``), ``"zero"`` every window layer, a missing one counting 0 (no neuron group of the
   bridge there). A bridge with no scored layer in the window is *unscored*: it is left out of
   the ranking and listed separately;
3. candidates are ranked best first; scores equal within a tolerance share a rank (competition
   ranking 1, 1, 3) and keep the candidates' input order; the margin is best minus runner-up.

Results map onto :class:`~bridgex_chain.store.records.ScoreRow` (``layer=None`` for the
aggregate) and :class:`~bridgex_chain.store.records.RankedBridge`.

Example:
    >>> list(layer_window(32))[:2], list(layer_window(32))[-1]
    ([10, 11], 21)
    >>> r = rank_bridges({"fra": {6: 0.5, 7: 0.3}, "eng": {6: 0.2}, "deu": {}}, range(6, 12))
    >>> [(b.bridge, b.rank, b.layers_scored) for b in r.ranked], r.unscored
    ([('fra', 1, 1), ('eng', 2, 1)], ('deu',))
    >>> scores = {"fra": {6: 0.5, 7: 0.3}, "eng": {6: 0.2}}
    >>> own = rank_bridges(scores, range(6, 12), aggregation="own")
    >>> [(b.bridge, b.layers_scored) for b in own.ranked]
    [('fra', 2), ('eng', 1)]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Unpack

import numpy as np
from numpy.typing import ArrayLike, NDArray

from bridgex_chain.errors import InvalidOption, ProbeDataError
from bridgex_chain.probing.hsic import HSICOptions, layer_score
from bridgex_chain.probing.neurons import LayerIndices, PairGroups, bridge_top_k
from bridgex_chain.store.records import RankedBridge, ScoreRow

__all__ = [
    "AGGREGATIONS",
    "REFERENCE_WINDOW",
    "Aggregation",
    "PairScores",
    "ProbeActivations",
    "Ranking",
    "aggregate_scores",
    "cut_groups",
    "layer_window",
    "rank_bridges",
    "score_layers",
    "score_pair",
    "window_mean",
]

Aggregation = Literal["own", "shared", "zero"]
"""Which window layers a candidate's aggregate averages (see the module docstring)."""

AGGREGATIONS: tuple[Aggregation, ...] = ("own", "shared", "zero")

#: The reference's window: layers 10..21 (0-based, inclusive) of a 32-layer model.
REFERENCE_WINDOW: tuple[int, int, int] = (10, 21, 32)


def layer_window(
    num_layers: int,
    *,
    start: int | None = None,
    end: int | None = None,
    reference: tuple[int, int, int] = REFERENCE_WINDOW,
) -> range:
    """Layers (0-based) whose scores are averaged.

    By default the reference window (first, last, depth) = (10, 21, 32), i.e. the half-open
    fraction [10/32, 22/32) of the depth, is scaled: ``first = round(10/32 · L)``,
    ``last = round(22/32 · L) - 1`` (halves rounded up), at least one layer. This gives
    6–11 for 18 layers, 8–17 for 26, 10–21 for 32 and 25–54 for 80.

    Args:
        num_layers: Depth L of the model.
        start: Explicit first layer (inclusive), overriding the scaled value.
        end: Explicit last layer (inclusive), overriding the scaled value.
        reference: ``(first, last, depth)`` of the window to scale.

    Returns:
        A ``range`` of layer indices.

    Example:
        >>> layer_window(18)
        range(6, 12)
        >>> layer_window(18, start=4, end=9)
        range(4, 10)
    """
    if num_layers < 1:
        raise InvalidOption(
            f"num_layers must be >= 1, got {num_layers}; pass the model's decoder depth."
        )
    first, last, depth = reference
    lo = math.floor(first / depth * num_layers + 0.5)
    hi = max(math.floor((last + 1) / depth * num_layers + 0.5), lo + 1)
    lo, hi = min(lo, num_layers - 1), min(hi, num_layers)
    if start is not None:
        lo = start
    if end is not None:
        hi = end + 1
    if not 0 <= lo < hi <= num_layers:
        raise InvalidOption(
            f"Layer window {lo}..{hi - 1} is empty or outside 0..{num_layers - 1}; "
            "pass start <= end within the model's layers."
        )
    return range(lo, hi)


@dataclass(frozen=True)
class ProbeActivations:
    """Mean probe activations ``A[ℓ, i, p]`` for the neurons recorded per layer.

    Attributes:
        values: ``{layer: array (rows, P)}``, as returned by
            :func:`bridgex_chain.probing.record.record_prompt_means`.
        neurons: ``{layer: neuron id of each row}`` (the ``neurons`` argument given to the
            recorder, e.g. from :func:`~bridgex_chain.probing.neurons.needed_neurons`); None
            when row i is neuron i (all neurons recorded).

    Example:
        >>> import numpy as np
        >>> acts = ProbeActivations({0: np.arange(6.0).reshape(2, 3)}, {0: np.array([4, 9])})
        >>> acts.rows(0, [9]).tolist()
        [[3.0, 4.0, 5.0]]
    """

    values: Mapping[int, NDArray[Any]]
    neurons: Mapping[int, NDArray[Any]] | None = None

    @classmethod
    def from_dense(cls, A: ArrayLike) -> ProbeActivations:
        """Wrap a dense array ``[L, I, P]`` (every neuron recorded)."""
        arr = np.asarray(A)
        if arr.ndim != 3:
            raise ProbeDataError(f"A must be [layers, neurons, prompts], got shape {arr.shape}.")
        return cls({layer: arr[layer] for layer in range(arr.shape[0])})

    @property
    def num_prompts(self) -> int:
        """P, the number of probe prompts."""
        sizes = {int(np.shape(v)[1]) for v in self.values.values()}
        if len(sizes) != 1:
            raise ProbeDataError(f"Layers disagree on the number of prompts: {sorted(sizes)}.")
        return sizes.pop()

    def resampled(self, prompts: ArrayLike) -> ProbeActivations:
        """The same neurons over the prompt columns ``prompts`` (repeats allowed: a bootstrap).

        Example:
            >>> import numpy as np
            >>> acts = ProbeActivations({0: np.arange(6.0).reshape(2, 3)})
            >>> acts.resampled([2, 2, 0]).values[0].tolist()
            [[2.0, 2.0, 0.0], [5.0, 5.0, 3.0]]
        """
        take = np.asarray(prompts, dtype=np.int64)
        values = {layer: np.asarray(v)[:, take] for layer, v in self.values.items()}
        return ProbeActivations(values, self.neurons)

    def rows(self, layer: int, ids: ArrayLike) -> NDArray[np.float64]:
        """Activations of the given neuron ids in a layer, float64 ``(len(ids), P)``."""
        want = np.asarray(ids, dtype=np.int64).reshape(-1)
        vals = np.asarray(self.values[layer])
        if self.neurons is None:
            return vals[want].astype(np.float64)
        if layer not in self.neurons:
            raise ProbeDataError(f"Layer {layer} has activations but no neuron ids.")
        have = np.asarray(self.neurons[layer], dtype=np.int64)
        order = np.argsort(have, kind="stable")
        pos = order[np.minimum(np.searchsorted(have, want, sorter=order), max(have.size - 1, 0))]
        if want.size and (have.size == 0 or not np.array_equal(have[pos], want)):
            raise ProbeDataError(
                f"Layer {layer}: some neurons of a group were not recorded; record the "
                "columns returned by neurons.needed_neurons()."
            )
        return vals[pos].astype(np.float64) if want.size else np.zeros((0, vals.shape[1]))


def score_layers(
    acts: ProbeActivations,
    overlap: LayerIndices,
    bridge: LayerIndices,
    **options: Unpack[HSICOptions],
) -> dict[int, float]:
    """HSIC layer scores of one bridge for every recorded layer where both groups are non-empty.

    Args:
        acts: Probe activations.
        overlap: O per layer.
        bridge: N_B per layer.
        **options: HSIC options (:class:`~bridgex_chain.probing.hsic.HSICOptions`).

    Returns:
        ``{layer: score}``; missing layers are absent (not 0).

    Example:
        >>> import numpy as np
        >>> A = np.random.default_rng(0).normal(size=(2, 4, 20))
        >>> o = (np.array([0, 1]), np.array([], dtype=np.int64))
        >>> b = (np.array([2, 3]), np.array([3]))
        >>> sorted(score_layers(ProbeActivations.from_dense(A), o, b))
        [0]
    """
    out: dict[int, float] = {}
    for layer in sorted(acts.values):
        if layer >= min(len(overlap), len(bridge)):
            continue
        o, b = overlap[layer], bridge[layer]
        if o.size == 0 or b.size == 0:
            continue
        s = layer_score(acts.rows(layer, o), acts.rows(layer, b), **options)
        if math.isfinite(s):
            out[layer] = s
    return out


def window_mean(
    layer_scores: Mapping[int, float], window: Iterable[int]
) -> tuple[float | None, int]:
    """Mean of the available scores inside the window and how many there were.

    Example:
        >>> window_mean({3: 1.0, 5: 0.5, 9: 7.0}, range(3, 7))
        (0.75, 2)
    """
    vals = [layer_scores[ell] for ell in window if ell in layer_scores]
    return (math.fsum(vals) / len(vals), len(vals)) if vals else (None, 0)


def aggregate_scores(
    per_layer: Mapping[str, Mapping[int, float]],
    window: Iterable[int],
    rule: Aggregation = "shared",
) -> tuple[dict[str, tuple[float, int]], Aggregation]:
    """Each scored candidate's aggregate and layer count, and the rule that was applied.

    Candidates with no score inside the window are left out. ``"shared"`` falls back to
    ``"zero"`` when the scored candidates have no window layer in common (the rule returned
    says so).

    Example:
        >>> per = {"fra": {6: 0.5, 7: 0.3}, "eng": {6: 0.2}, "deu": {}}
        >>> aggregate_scores(per, range(6, 8), "shared")
        ({'fra': (0.5, 1), 'eng': (0.2, 1)}, 'shared')
        >>> aggregate_scores(per, range(6, 8), "zero")[0]["eng"]
        (0.1, 2)
    """
    if rule not in AGGREGATIONS:
        raise InvalidOption(f"Unknown aggregation {rule!r}: choose one of {AGGREGATIONS}.")
    win = list(window)
    scored = {b: layers for b, layers in per_layer.items() if any(ell in layers for ell in win)}
    if rule == "shared":
        common = [ell for ell in win if all(ell in layers for layers in scored.values())]
        if not common:
            return aggregate_scores(scored, win, "zero")
        return {
            b: (window_mean(layers, common)[0] or 0.0, len(common)) for b, layers in scored.items()
        }, "shared"
    if rule == "zero":
        return {
            b: (math.fsum(layers.get(ell, 0.0) for ell in win) / len(win), len(win))
            for b, layers in scored.items()
        }, "zero"
    own = {b: window_mean(layers, win) for b, layers in scored.items()}
    return {b: (mean, n) for b, (mean, n) in own.items() if mean is not None}, "own"


@dataclass(frozen=True)
class Ranking:
    """Candidates ranked best first, plus the unscored ones.

    Attributes:
        ranked: Scored candidates, best first (ties share a rank).
        unscored: Candidates with no scored layer in the window, in input order.
        aggregation: The rule the aggregates were computed with (:func:`aggregate_scores`).
    """

    ranked: tuple[RankedBridge, ...]
    unscored: tuple[str, ...]
    aggregation: Aggregation = "shared"

    @property
    def best(self) -> RankedBridge | None:
        """The top candidate (the first in input order among tied bests), or None."""
        return self.ranked[0] if self.ranked else None

    @property
    def tied_best(self) -> tuple[str, ...]:
        """Every candidate sharing rank 1."""
        return tuple(r.bridge for r in self.ranked if r.rank == 1)

    @property
    def margin(self) -> float | None:
        """Best score minus the runner-up's (0 on a tie), None with fewer than two scored."""
        if len(self.ranked) < 2:
            return None
        return self.ranked[0].score - self.ranked[1].score


def rank_bridges(
    per_layer: Mapping[str, Mapping[int, float]],
    window: Iterable[int],
    *,
    rel_tol: float = 1e-9,
    abs_tol: float = 0.0,
    aggregation: Aggregation = "shared",
) -> Ranking:
    """Rank candidates by their window aggregate (see the module docstring).

    Two scores tie when ``math.isclose(leader, score, rel_tol=rel_tol, abs_tol=abs_tol)``, where
    ``leader`` is the highest score of the tie group (no chaining).
    """
    win = list(window)
    means, used = aggregate_scores(per_layer, win, aggregation)
    scored = [(b, *means[b]) for b in per_layer if b in means]
    unscored = [b for b in per_layer if b not in means]
    scored.sort(key=lambda item: -item[1])  # stable: ties keep the input order
    ranked: list[RankedBridge] = []
    leader, leader_rank = math.nan, 0
    for pos, (bridge, score, n) in enumerate(scored, start=1):
        if not ranked or not math.isclose(leader, score, rel_tol=rel_tol, abs_tol=abs_tol):
            leader, leader_rank = score, pos
        ranked.append(RankedBridge(bridge=bridge, score=score, rank=leader_rank, layers_scored=n))
    return Ranking(ranked=tuple(ranked), unscored=tuple(unscored), aggregation=used)


@dataclass(frozen=True)
class PairScores:
    """Everything step 5 produces for one ordered pair.

    Attributes:
        src: Source language.
        trg: Target language.
        window: Layers averaged.
        per_layer: ``{bridge: {layer: score}}`` for every scored layer (missing ones absent).
        ranking: The ranking over the window.
    """

    src: str
    trg: str
    window: tuple[int, ...]
    per_layer: dict[str, dict[int, float]]
    ranking: Ranking

    def score_rows(self) -> list[ScoreRow]:
        """Per-layer rows of every bridge, then its aggregate (``layer=None``) when scored."""
        aggregate = {r.bridge: r for r in self.ranking.ranked}
        rows: list[ScoreRow] = []
        for bridge, layers in self.per_layer.items():
            rows.extend(
                ScoreRow(self.src, self.trg, bridge, ell, s) for ell, s in sorted(layers.items())
            )
            if bridge in aggregate:
                ranked = aggregate[bridge]
                rows.append(
                    ScoreRow(
                        self.src,
                        self.trg,
                        bridge,
                        None,
                        ranked.score,
                        layers_scored=ranked.layers_scored,
                    )
                )
        return rows


def _cut(
    acts: ProbeActivations, idx: LayerIndices, k: int, per: Literal["overall", "layer"]
) -> LayerIndices:
    """Apply ``bridge_top_k`` with mean probe activations; unrecorded layers drop out."""
    kept = tuple(
        a if layer in acts.values else np.zeros(0, dtype=np.int64) for layer, a in enumerate(idx)
    )
    means = [
        acts.rows(layer, a).mean(axis=1) if a.size else np.zeros(0) for layer, a in enumerate(kept)
    ]
    return bridge_top_k(kept, means, k, per=per)


def score_pair(
    acts: ProbeActivations,
    groups: PairGroups,
    window: Sequence[int],
    *,
    bridge_top_k: int | None = None,
    top_k_per: Literal["overall", "layer"] = "overall",
    rel_tol: float = 1e-9,
    aggregation: Aggregation = "shared",
    **options: Unpack[HSICOptions],
) -> PairScores:
    """Score and rank every candidate bridge of one pair.

    Args:
        acts: Probe activations of the pair's prompts.
        groups: O and every N_B of the pair.
        window: Layers to average (see :func:`layer_window`).
        bridge_top_k: Keep only the k bridge neurons with the highest mean probe activation
            (see :func:`~bridgex_chain.probing.neurons.bridge_top_k`); None keeps all.
        top_k_per: ``"overall"`` or ``"layer"`` for the cut.
        rel_tol: Relative tolerance under which two aggregates tie.
        aggregation: Which window layers each aggregate averages (:data:`Aggregation`).
        **options: HSIC options (:class:`~bridgex_chain.probing.hsic.HSICOptions`): ``mode``,
            ``method``, ``sigma_rule``, ``max_bytes``...

    Returns:
        A :class:`PairScores`.
    """
    per_layer = {
        bridge: score_layers(acts, groups.overlap, idx, **options)
        for bridge, idx in cut_groups(acts, groups, bridge_top_k, top_k_per).bridges.items()
    }
    return PairScores(
        src=groups.src,
        trg=groups.trg,
        window=tuple(window),
        per_layer=per_layer,
        ranking=rank_bridges(per_layer, window, rel_tol=rel_tol, aggregation=aggregation),
    )


def cut_groups(
    acts: ProbeActivations,
    groups: PairGroups,
    bridge_top_k: int | None,
    top_k_per: Literal["overall", "layer"] = "overall",
) -> PairGroups:
    """The groups with each N_B cut to its ``bridge_top_k`` most active neurons (None: as is).

    Example:
        >>> import numpy as np
        >>> acts = ProbeActivations.from_dense(np.arange(12.0).reshape(1, 4, 3))
        >>> groups = PairGroups("a", "b", (np.array([0]),), {"c": (np.array([1, 2, 3]),)})
        >>> cut_groups(acts, groups, 1).bridges["c"][0].tolist()
        [3]
    """
    if bridge_top_k is None:
        return groups
    bridges = {b: _cut(acts, idx, bridge_top_k, top_k_per) for b, idx in groups.bridges.items()}
    return PairGroups(groups.src, groups.trg, groups.overlap, bridges)
