r"""Language neurons and the neuron groups HSIC compares (METHOD.md, steps 1 and 3).

* :class:`LanguageNeuronCounter` streams the activation counts of step 1: per language, how many
  tokens made each neuron's activation > 0, and how many tokens each layer saw. Memory is
  ``languages × L × I`` integers whatever the corpus size.
* :func:`top_neurons` turns a probability array ``[L, I]`` into the language's top neurons T_X.
* :func:`pair_groups` builds, for an ordered pair S→T, the overlap group ``O = T_S ∩ T_T`` and,
  per candidate bridge B, ``N_B = T_B \ (T_S ∪ T_T)``. The single-language entry (L, L) of the
  chat extension is the same formula with S = T: ``O = T_L`` and ``N_B = T_B \ T_L``.
* :func:`bridge_top_k` optionally keeps the k bridge neurons with the highest mean probe
  activation; :func:`needed_neurons` lists the neurons the recorder must keep per layer.

Masks are boolean arrays ``[L, I]``; per-layer groups are tuples of sorted int64 index arrays
(one per layer). Both convert to ``.npy``-safe (``allow_pickle=False``) coordinate arrays
(:func:`mask_to_coords`) and to JSON (:meth:`PairGroups.to_json`).

Example:
    >>> import numpy as np
    >>> counter = LanguageNeuronCounter(num_layers=1, intermediate_size=4)
    >>> acts = np.array([[[1.0, -1.0, 2.0, 0.0], [3.0, -2.0, -1.0, 0.0]]])  # [L, tokens, I]
    >>> counter.update_batch("swh_Latn", acts)
    >>> counter.probabilities("swh_Latn").tolist()
    [[1.0, 0.0, 0.5, 0.0]]
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from bridgex_chain.errors import InvalidOption, ProbeDataError

__all__ = [
    "LanguageNeuronCounter",
    "LayerIndices",
    "Mask",
    "PairGroups",
    "bridge_mask",
    "bridge_top_k",
    "coords_to_mask",
    "indices_by_layer",
    "mask_from_indices",
    "mask_to_coords",
    "needed_neurons",
    "overlap_mask",
    "pair_groups",
    "top_neurons",
]

Mask = NDArray[np.bool_]
#: One sorted int64 array of neuron indices per layer.
LayerIndices = tuple[NDArray[np.int64], ...]


class LanguageNeuronCounter:
    """Streaming per-language counts of positive activations (the reference's ``over_zero``).

    Feed it either whole batches (:meth:`update_batch`) or, from a per-layer hook, the counts of
    one layer of one batch with padding already masked out (:meth:`update`).

    Example:
        >>> import numpy as np
        >>> c = LanguageNeuronCounter(num_layers=2, intermediate_size=3)
        >>> for layer in range(2):
        ...     c.update("fra_Latn", layer, np.array([2, 0, 1]), n_tokens=2)
        >>> c.probabilities("fra_Latn")[1].tolist()
        [1.0, 0.0, 0.5]
    """

    def __init__(self, num_layers: int, intermediate_size: int) -> None:
        if num_layers < 1 or intermediate_size < 1:
            raise InvalidOption(
                f"num_layers and intermediate_size must be >= 1, got {num_layers} and "
                f"{intermediate_size}; pass the model's config.num_hidden_layers and "
                "config.intermediate_size."
            )
        self.num_layers = num_layers
        self.intermediate_size = intermediate_size
        self._over_zero: dict[str, NDArray[np.int64]] = {}
        self._tokens: dict[str, NDArray[np.int64]] = {}

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages seen so far, in first-update order."""
        return tuple(self._over_zero)

    def _slot(self, lang: str) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        if lang not in self._over_zero:
            self._over_zero[lang] = np.zeros(
                (self.num_layers, self.intermediate_size), dtype=np.int64
            )
            self._tokens[lang] = np.zeros(self.num_layers, dtype=np.int64)
        return self._over_zero[lang], self._tokens[lang]

    def update(self, lang: str, layer: int, positive_counts: ArrayLike, n_tokens: int) -> None:
        """Add one layer's counts for a batch.

        Args:
            lang: Language code of the text.
            layer: 0-based layer index.
            positive_counts: Integers ``[I]``: tokens (padding excluded) with activation > 0.
            n_tokens: Number of non-padding tokens in the batch.
        """
        counts = np.asarray(positive_counts)
        if counts.shape != (self.intermediate_size,):
            raise ProbeDataError(
                f"positive_counts must have shape ({self.intermediate_size},), got {counts.shape}."
            )
        if not 0 <= layer < self.num_layers:
            raise ProbeDataError(f"layer {layer} is outside 0..{self.num_layers - 1}.")
        if n_tokens < 0 or (counts.size and (counts.min() < 0 or counts.max() > n_tokens)):
            raise ProbeDataError(
                "positive_counts must lie between 0 and n_tokens; was the padding mask applied?"
            )
        over_zero, tokens = self._slot(lang)
        over_zero[layer] += counts.astype(np.int64)
        tokens[layer] += int(n_tokens)

    def update_batch(
        self, lang: str, activations: ArrayLike, mask: ArrayLike | None = None
    ) -> None:
        """Add a batch of activations ``[L, *token_axes, I]`` (``[L, T, I]``, ``[L, B, T, I]``).

        Args:
            lang: Language code of the text.
            activations: Activations of every layer.
            mask: Booleans shaped like the token axes (True = real token, False = padding);
                None counts every token.
        """
        acts = np.asarray(activations)
        if (
            acts.ndim < 3
            or acts.shape[0] != self.num_layers
            or acts.shape[-1] != (self.intermediate_size)
        ):
            raise ProbeDataError(
                f"activations must be [{self.num_layers}, ..., {self.intermediate_size}], "
                f"got {acts.shape}."
            )
        flat = acts.reshape(self.num_layers, -1, self.intermediate_size)
        keep = np.ones(flat.shape[1], dtype=bool)
        if mask is not None:
            m = np.asarray(mask, dtype=bool)
            if m.shape != acts.shape[1:-1]:
                raise ProbeDataError(f"mask shape {m.shape} != token axes {acts.shape[1:-1]}.")
            keep = m.reshape(-1)
        selected = flat[:, keep, :]
        positive = (selected > 0).sum(axis=1)
        for layer in range(self.num_layers):
            self.update(lang, layer, positive[layer], int(keep.sum()))

    def counts(self, lang: str) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Copies of ``(over_zero [L, I], tokens [L])`` for a language."""
        if lang not in self._over_zero:
            raise ProbeDataError(f"No activations were counted for {lang!r}.")
        return self._over_zero[lang].copy(), self._tokens[lang].copy()

    def probabilities(self, lang: str) -> NDArray[np.float64]:
        """Activation probabilities ``p_X(ℓ, i)`` as a float64 array ``[L, I]``."""
        over_zero, tokens = self.counts(lang)
        if (tokens == 0).any():
            empty = np.flatnonzero(tokens == 0).tolist()
            raise ProbeDataError(f"No tokens were counted for {lang!r} in layers {empty}.")
        probs: NDArray[np.float64] = over_zero / tokens[:, None].astype(np.float64)
        return probs

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write every count to an ``.npz`` file (no pickles; numpy appends ``.npz`` if missing)."""
        langs = list(self._over_zero)
        empty = (0, self.num_layers, self.intermediate_size)
        np.savez(
            path,
            allow_pickle=False,
            languages=np.array(langs, dtype=str),
            over_zero=np.stack([self._over_zero[x] for x in langs]) if langs else np.zeros(empty),
            tokens=np.stack([self._tokens[x] for x in langs])
            if langs
            else np.zeros((0, self.num_layers)),
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> LanguageNeuronCounter:
        """Read a file written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as data:
            over_zero, tokens = data["over_zero"], data["tokens"]
            counter = cls(int(over_zero.shape[1]), int(over_zero.shape[2]))
            for k, lang in enumerate(data["languages"].tolist()):
                counter._over_zero[str(lang)] = over_zero[k].astype(np.int64)
                counter._tokens[str(lang)] = tokens[k].astype(np.int64)
        return counter


def top_neurons(prob: ArrayLike, top_rate: float = 0.01) -> Mask:
    """The language's top neurons T_X: the top ``top_rate`` of all L×I neurons, pooled.

    As in the reference: with N = L·I and ``k = round(N · (1 - top_rate))`` (Python rounding),
    the threshold is the k-th smallest probability (``torch.kthvalue``) and every neuron whose
    probability is ``>=`` the threshold is kept: ``N - k + 1`` neurons without ties, more when
    several neurons share the threshold value (ties are all kept).
    Unlike the reference, neurons that never fired (p = 0) are never selected, which only
    matters when more than ``1 - top_rate`` of the neurons never fired.

    Args:
        prob: Activation probabilities ``[L, I]``.
        top_rate: Fraction in (0, 1].

    Returns:
        Boolean mask ``[L, I]``.

    Example:
        >>> top_neurons([[0.1, 0.9], [0.5, 0.9]], top_rate=0.25).tolist()
        [[False, True], [False, True]]
    """
    p = np.asarray(prob, dtype=np.float64)
    if p.ndim != 2 or p.size == 0:
        raise ProbeDataError(f"prob must be a non-empty [L, I] array, got shape {p.shape}.")
    if not 0.0 < top_rate <= 1.0:
        raise InvalidOption(
            f"top_rate must be in (0, 1], got {top_rate}; the reference uses 0.01 (1% of all "
            "neurons)."
        )
    flat = p.ravel()
    k = min(max(round(flat.size * (1.0 - top_rate)), 1), flat.size)
    threshold = np.partition(flat, k - 1)[k - 1]
    mask: Mask = (p >= threshold) & (p > 0.0)
    return mask


def overlap_mask(top_src: Mask, top_trg: Mask) -> Mask:
    """Overlap neurons of a pair: ``O = T_S ∩ T_T`` (``T_S`` itself when S = T)."""
    out: Mask = np.logical_and(top_src, top_trg)
    return out


def bridge_mask(top_bridge: Mask, top_src: Mask, top_trg: Mask) -> Mask:
    r"""Bridge-specific neurons: ``N_B = T_B \ (T_S ∪ T_T)`` (``T_B \ T_L`` when S = T = L)."""
    out: Mask = top_bridge & ~(top_src | top_trg)
    return out


def indices_by_layer(mask: Mask) -> LayerIndices:
    """Per-layer sorted neuron indices of a mask ``[L, I]``."""
    m = np.asarray(mask, dtype=bool)
    return tuple(np.flatnonzero(row).astype(np.int64) for row in m)


def mask_from_indices(indices: Sequence[ArrayLike], intermediate_size: int) -> Mask:
    """Inverse of :func:`indices_by_layer`."""
    mask = np.zeros((len(indices), intermediate_size), dtype=bool)
    for layer, idx in enumerate(indices):
        mask[layer, np.asarray(idx, dtype=np.int64)] = True
    return mask


def mask_to_coords(mask: Mask) -> NDArray[np.int64]:
    """``(n, 2)`` int64 array of ``(layer, neuron)`` rows, sorted; safe for ``np.save``."""
    return np.argwhere(np.asarray(mask, dtype=bool)).astype(np.int64).reshape(-1, 2)


def coords_to_mask(coords: ArrayLike, shape: tuple[int, int]) -> Mask:
    """Inverse of :func:`mask_to_coords`."""
    c = np.asarray(coords, dtype=np.int64).reshape(-1, 2)
    mask = np.zeros(shape, dtype=bool)
    mask[c[:, 0], c[:, 1]] = True
    return mask


def _layer_list(value: Sequence[ArrayLike]) -> LayerIndices:
    return tuple(np.asarray(v, dtype=np.int64).reshape(-1) for v in value)


@dataclass(frozen=True)
class PairGroups:
    """The neuron groups of one ordered pair (S→T), per layer.

    Attributes:
        src: Source language S.
        trg: Target language T (equal to ``src`` for a single-language entry).
        overlap: O per layer.
        bridges: N_B per layer for every candidate bridge, in candidate order.
    """

    src: str
    trg: str
    overlap: LayerIndices
    bridges: dict[str, LayerIndices] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict (lists of ints)."""
        return {
            "src": self.src,
            "trg": self.trg,
            "overlap": [a.tolist() for a in self.overlap],
            "bridges": {b: [a.tolist() for a in v] for b, v in self.bridges.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PairGroups:
        """Inverse of :meth:`to_json`."""
        return cls(
            src=str(data["src"]),
            trg=str(data["trg"]),
            overlap=_layer_list(data["overlap"]),
            bridges={str(b): _layer_list(v) for b, v in data["bridges"].items()},
        )


def _top(top: Mapping[str, Mask], lang: str) -> Mask:
    if lang not in top:
        raise ProbeDataError(f"No top neurons for {lang!r}; count its activations first.")
    return np.asarray(top[lang], dtype=bool)


def pair_groups(top: Mapping[str, Mask], src: str, trg: str, bridges: Iterable[str]) -> PairGroups:
    """Overlap and bridge-specific groups of the pair src→trg (src == trg for chat).

    A bridge equal to src or trg gets empty groups (it is then reported as unscored).

    Example:
        >>> import numpy as np
        >>> top = {"s": np.array([[1, 1, 0, 0]], bool), "b": np.array([[0, 1, 1, 1]], bool)}
        >>> g = pair_groups(top, "s", "s", ["b"])
        >>> g.overlap[0].tolist(), g.bridges["b"][0].tolist()
        ([0, 1], [2, 3])
    """
    ts, tt = _top(top, src), _top(top, trg)
    return PairGroups(
        src=src,
        trg=trg,
        overlap=indices_by_layer(overlap_mask(ts, tt)),
        bridges={b: indices_by_layer(bridge_mask(_top(top, b), ts, tt)) for b in bridges},
    )


def bridge_top_k(
    indices: Sequence[ArrayLike],
    scores: Sequence[ArrayLike],
    k: int,
    *,
    per: Literal["overall", "layer"] = "overall",
) -> LayerIndices:
    """Keep the k bridge neurons with the highest mean probe activation (``--bridge-top-k``).

    Args:
        indices: N_B per layer.
        scores: Per layer, the mean probe activation of each neuron in ``indices`` (same order).
        k: How many to keep.
        per: ``"overall"`` (the product's default, METHOD.md's "the k"): k neurons across all
            layers together; ``"layer"``: up to k in every layer. Equal scores keep the lower
            (layer, neuron) first.

    Returns:
        Per-layer sorted indices of the neurons kept.

    Example:
        >>> bridge_top_k([[3, 5], [1]], [[0.2, 0.9], [0.5]], 2)[0].tolist()
        [5]
    """
    if k < 0:
        raise InvalidOption(f"k must be >= 0, got {k}; pass the number of neurons to keep.")
    idx = _layer_list(indices)
    sc = [np.asarray(s, dtype=np.float64).reshape(-1) for s in scores]
    if len(sc) != len(idx) or any(a.shape != s.shape for a, s in zip(idx, sc, strict=True)):
        raise ProbeDataError("scores must give one value per neuron of every layer in indices.")
    if per == "layer":
        return tuple(
            np.sort(a[np.argsort(-s, kind="stable")[:k]]) for a, s in zip(idx, sc, strict=True)
        )
    if per != "overall":
        raise InvalidOption(f"per must be 'overall' or 'layer', got {per!r}.")
    layer_of = np.concatenate([np.full(a.size, ell, dtype=np.int64) for ell, a in enumerate(idx)])
    order = np.argsort(-np.concatenate(sc), kind="stable")[:k] if layer_of.size else layer_of
    chosen = np.zeros(layer_of.size, dtype=bool)
    chosen[order] = True
    flat = np.concatenate(idx) if idx else np.zeros(0, dtype=np.int64)
    return tuple(np.sort(flat[chosen & (layer_of == ell)]) for ell in range(len(idx)))


def needed_neurons(
    top: Mapping[str, Mask], pairs: Iterable[tuple[str, str]], bridges: Iterable[str]
) -> LayerIndices:
    """Per layer, every neuron some pair's O or N_B uses: the columns the recorder must keep.

    Example:
        >>> import numpy as np
        >>> top = {"s": np.array([[1, 1, 0, 0]], bool), "b": np.array([[0, 1, 1, 0]], bool)}
        >>> needed_neurons(top, [("s", "s")], ["b"])[0].tolist()
        [0, 1, 2]
    """
    bridge_list = list(bridges)
    union: Mask | None = None
    for src, trg in pairs:
        ts, tt = _top(top, src), _top(top, trg)
        part = overlap_mask(ts, tt)
        for b in bridge_list:
            part = part | bridge_mask(_top(top, b), ts, tt)
        union = part if union is None else union | part
    if union is None:
        shapes = {np.shape(m) for m in top.values()}
        if len(shapes) != 1:
            return ()
        num_layers = int(next(iter(shapes))[0])
        return tuple(np.zeros(0, dtype=np.int64) for _ in range(num_layers))
    return indices_by_layer(union)
