"""How sure a ranking of bridges is: a seeded bootstrap over the probe prompts.

The HSIC layer scores of an entry are statistics of its P probe prompts (the columns of the
activations). :func:`bootstrap_ranking` draws ``resamples`` samples of P prompts with
replacement (numpy's PCG64 seeded with ``seed``: the same seed gives the same numbers), scores
every candidate on every resample as on the full set (the same neuron groups, cut once on the
full set; the same HSIC options; the same aggregation rule), and reports per candidate:

* ``low`` / ``high`` — the 2.5 % and 97.5 % percentiles of its aggregate over the resamples (a
  percentile interval);
* ``win_rate`` — the share of resamples in which it ranks first (a tie for first counts as a
  share ``1/k`` for each of the ``k`` tied), so the win rates of an entry add up to 1 over the
  resamples where any candidate was scored.

What stays fixed: the neuron groups, and each neuron's z-score and the kernel bandwidth σ, taken
from the full sample (they set the scale of the statistic; re-estimating them per resample would
add their own noise). A resample then only re-weights the prompts, and
:func:`~bridgex_chain.probing.hsic.hsic_resampled` computes every resample of a (layer, bridge)
in a few matrix products: 200 resamples cost about as much as a few dozen plain scorings. With
the dense method or an explicit σ each resample is rescored from scratch instead.

A bridge whose win rate is near 1 is separable from its rivals on these prompts; an entry
whose best candidate wins, say, 40 % of the resamples cannot tell its candidates apart, whatever
the gap between their point scores looks like.

Example:
    >>> import numpy as np
    >>> from bridgex_chain.probing.bridges import ProbeActivations
    >>> from bridgex_chain.probing.neurons import PairGroups
    >>> rng = np.random.default_rng(0)
    >>> base = rng.normal(size=(1, 2, 40))
    >>> A = np.concatenate([base, base + 0.1 * rng.normal(size=(1, 2, 40)),
    ...                     rng.normal(size=(1, 2, 40))], axis=1)
    >>> groups = PairGroups("s", "t", (np.array([0, 1]),),
    ...                     {"close": (np.array([2, 3]),), "far": (np.array([4, 5]),)})
    >>> conf = bootstrap_ranking(ProbeActivations.from_dense(A), groups, [0], resamples=50)
    >>> conf["close"].win_rate > 0.9
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Unpack

import numpy as np
from numpy.typing import NDArray

from bridgex_chain.errors import InvalidOption
from bridgex_chain.probing.bridges import (
    Aggregation,
    ProbeActivations,
    aggregate_scores,
    cut_groups,
)
from bridgex_chain.probing.hsic import HSICOptions, hsic_resampled, layer_score
from bridgex_chain.probing.neurons import LayerIndices, PairGroups

__all__ = ["DEFAULT_RESAMPLES", "BridgeConfidence", "bootstrap_ranking"]

_RESAMPLED_OPTIONS = ("mode", "sigma_rule", "tol", "max_terms", "max_bytes", "eps")

DEFAULT_RESAMPLES = 200
"""Bootstrap resamples per entry (a win rate's standard error is then at most 3.5 points)."""


@dataclass(frozen=True)
class BridgeConfidence:
    """One candidate's bootstrap figures (see the module docstring).

    Attributes:
        bridge: The candidate.
        low: 2.5 % percentile of its aggregate over the resamples (None: never scored).
        high: 97.5 % percentile (None: never scored).
        win_rate: Share of resamples in which it ranks first.
        resamples: Resamples in which it was scored.
    """

    bridge: str
    low: float | None
    high: float | None
    win_rate: float
    resamples: int


def bootstrap_ranking(
    acts: ProbeActivations,
    groups: PairGroups,
    window: Sequence[int],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    aggregation: Aggregation = "shared",
    bridge_top_k: int | None = None,
    top_k_per: Literal["overall", "layer"] = "overall",
    rel_tol: float = 1e-9,
    **options: Unpack[HSICOptions],
) -> dict[str, BridgeConfidence]:
    """Bootstrap the entry's ranking over its probe prompts (see the module docstring).

    Args:
        acts: The entry's probe activations (P prompt columns).
        groups: O and every N_B of the entry.
        window: The layers aggregated.
        resamples: How many samples of P prompts to draw.
        seed: Seed of the draws.
        aggregation: The aggregation rule (:data:`~bridgex_chain.probing.bridges.Aggregation`).
        bridge_top_k: The cut of N_B, applied once on the full prompt set.
        top_k_per: ``"overall"`` or ``"layer"`` for the cut.
        rel_tol: Relative tolerance under which two aggregates tie for first.
        **options: HSIC options, as for :func:`~bridgex_chain.probing.bridges.score_pair`.

    Returns:
        ``{bridge: BridgeConfidence}`` in candidate order.

    Raises:
        InvalidOption: ``resamples`` is below 1.
    """
    if resamples < 1:
        raise InvalidOption(f"resamples must be at least 1, got {resamples}.")
    cut = cut_groups(acts, groups, bridge_top_k, top_k_per)
    prompts = acts.num_prompts
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, prompts, size=(resamples, prompts))
    counts = np.stack([np.bincount(d, minlength=prompts) for d in draws])
    layer_scores = {
        bridge: _resampled_layer_scores(acts, cut.overlap, idx, window, draws, counts, options)
        for bridge, idx in cut.bridges.items()
    }
    values: dict[str, list[float]] = {b: [] for b in cut.bridges}
    wins = dict.fromkeys(cut.bridges, 0.0)
    for r in range(resamples):
        per_layer = {
            bridge: {ell: float(v[r]) for ell, v in layers.items() if math.isfinite(v[r])}
            for bridge, layers in layer_scores.items()
        }
        means, _rule = aggregate_scores(per_layer, window, aggregation)
        if not means:
            continue
        for bridge, (mean, _n) in means.items():
            values[bridge].append(mean)
        best = max(mean for mean, _n in means.values())
        first = [b for b, (mean, _n) in means.items() if math.isclose(best, mean, rel_tol=rel_tol)]
        for bridge in first:
            wins[bridge] += 1 / len(first)
    out: dict[str, BridgeConfidence] = {}
    for bridge, got in values.items():
        low = high = None
        if got:
            low, high = (float(x) for x in np.percentile(got, [2.5, 97.5]))
        out[bridge] = BridgeConfidence(bridge, low, high, wins[bridge] / resamples, len(got))
    return out


def _resampled_layer_scores(
    acts: ProbeActivations,
    overlap: LayerIndices,
    bridge: LayerIndices,
    window: Sequence[int],
    draws: NDArray[np.int64],
    counts: NDArray[np.int64],
    options: HSICOptions,
) -> dict[int, NDArray[np.float64]]:
    """``{layer: score per resample}`` for the window layers where both groups are present."""
    fast = options.get("method", "taylor") == "taylor" and options.get("sigma") is None
    taylor = {k: v for k, v in options.items() if k in _RESAMPLED_OPTIONS}
    out: dict[int, NDArray[np.float64]] = {}
    for layer in window:
        if layer not in acts.values or layer >= min(len(overlap), len(bridge)):
            continue
        o, b = overlap[layer], bridge[layer]
        if o.size == 0 or b.size == 0:
            continue
        X, Y = acts.rows(layer, o), acts.rows(layer, b)
        h = hsic_resampled(X, Y, counts, **taylor) if fast else None  # type: ignore[arg-type]
        if h is not None:
            out[layer] = 0.5 * (h.max(axis=2).mean(axis=1) + h.max(axis=1).mean(axis=1))
        else:  # rescore every resample from scratch (dense method, or a given sigma)
            out[layer] = np.array([layer_score(X[:, d], Y[:, d], **options) for d in draws])
    return out
