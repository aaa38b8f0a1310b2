"""Vectorised Gaussian-kernel HSIC between two groups of neurons (METHOD.md, step 4).

Inputs are activation matrices with one row per neuron and one column per probe prompt:
``X`` (n1 × P, the overlap neurons O) and ``Y`` (n2 × P, the bridge neurons N_B). Every
function returns plain floats or float64 arrays; nothing here prints.

Conventions:

* **z-score**: every row becomes ``(x - mean) / (std + eps)`` with the sample standard
  deviation (``ddof=1``, what ``torch.std`` computes), ``eps = 1e-6``. A constant row becomes
  all zeros, so its kernel is all ones and every HSIC value it takes part in is 0.
* **σ** (:func:`median_sigma`), computed on the z-scored rows, two rules:

  - ``"pairs"`` (the product's default): the median (``numpy.median``, the mean of the two middle
    values for an even count) of the pooled set made of the Euclidean distances of every
    distinct pair ``i < j`` of rows within X together with those within Y (no X–Y distance).
    When neither group has two rows there is no such pair and the X–Y distance is used.
  - ``"reference"``: the reference code's rule: the median of the concatenated full ``n1×n1`` and
    ``n2×n2`` distance matrices (each distance counted twice, the zero diagonals included),
    taking the *lower* middle value for an even count like ``torch.median``.

  Both add ``1e-6``.
* **Kernels**: per neuron, over prompts, ``K_i[a,b] = exp(-(x_ia - x_ib)² / 2σ²)``;
  ``H = I - 11ᵀ/P``.
* **Modes**: ``"standard"`` ``h_ij = tr(K_i H L_j H) / (P-1)²`` (biased HSIC, always >= 0);
  ``"reference"`` ``h_ij = tr(K_i H H L_j) = tr(K_i H L_j)`` (the reference's un-normalised
  value, kept for parity; not a dependence measure, it can be negative).

What it measures: with σ taken from P-dimensional row distances (≈ √(2(P-1)) for uncorrelated
z-scored rows) each 1-D kernel is much wider than its data (|x|/σ ~ 1/√P), so in standard mode
``h_ij · σ⁴ ≈ ρ_ij²`` (squared Pearson correlation over prompts) up to terms of order 1/P:
the score sees mostly linear dependence.

Methods (both take z-scored rows and σ, and return the n1 × n2 matrix of the mode asked for):

* ``"taylor"`` (:func:`hsic_taylor`, the default) never builds a P×P matrix. With ``u = x/σ``
  the kernel factors as ``exp(-(u_a-u_b)²/2) = Σ_k f_k(u_a) f_k(u_b)``,
  ``f_k(u) = exp(-u²/2) u^k / √(k!)``. With F_i (P×m) the features of neuron i, G_j those of j,
  tildes the column-centred versions (= H F): ``tr(K_i H L_j H) = ‖F̃_iᵀ G̃_j‖²_F`` and
  ``tr(K_i H L_j) = ‖F̃_iᵀ G̃_j‖²_F + P · μ_iᵀ (F̃_iᵀ G̃_j) μ_j`` (μ = column means). All pairs
  of a chunk come from one matrix product. The number of terms m is the smallest with
  ``t^m/m! <= tol · min(1, t)``, ``t = max u²`` (:func:`taylor_terms`; the truncation error of
  every kernel entry is below ``t^m/m!``, and the centred kernels scale like ``t``, so the
  relative error stays near ``tol``).
* ``"dense"`` (:func:`hsic_dense`) builds the kernels, chunked, for small P and cross-checks.

Example:
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(2, 30))
    >>> h = hsic_matrix(X, X)
    >>> h.shape, bool(h[0, 0] > h[0, 1])
    ((2, 2), True)
"""

from __future__ import annotations

import logging
import math
from typing import Literal, TypedDict, Unpack

import numpy as np
from numpy.typing import ArrayLike, NDArray

from bridgex_chain.errors import InvalidOption, ProbeDataError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "EPS",
    "HSICMethod",
    "HSICMode",
    "HSICOptions",
    "SigmaRule",
    "hsic_dense",
    "hsic_matrix",
    "hsic_resampled",
    "hsic_taylor",
    "layer_score",
    "layer_score_from_matrix",
    "median_sigma",
    "taylor_terms",
    "zscore_rows",
]

logger = logging.getLogger(__name__)

HSICMode = Literal["standard", "reference"]
HSICMethod = Literal["taylor", "dense"]
SigmaRule = Literal["pairs", "reference"]

#: ε used in the z-score denominator and added to σ.
EPS = 1e-6
#: Default bound on the working memory of one chunk (bytes).
DEFAULT_MAX_BYTES = 256 * 2**20

_F64 = NDArray[np.float64]


class HSICOptions(TypedDict, total=False):
    """Keyword options of :func:`hsic_matrix`, forwarded by :func:`layer_score` and the scorers."""

    mode: HSICMode
    method: HSICMethod
    sigma: float | None
    sigma_rule: SigmaRule | None
    tol: float
    max_terms: int
    max_bytes: int
    eps: float


def _as_rows(A: ArrayLike, name: str) -> _F64:
    arr = np.asarray(A, dtype=np.float64)
    if arr.ndim != 2:
        raise ProbeDataError(
            f"{name} must be a 2-D array (neurons × prompts); got shape {arr.shape}."
        )
    if arr.size and not np.isfinite(arr).all():
        raise ProbeDataError(
            f"{name} holds NaN or infinite activations; re-record the probe activations "
            "(check the model's dtype: use float32 rather than float16)."
        )
    return arr


def _check_pair(X: ArrayLike, Y: ArrayLike) -> tuple[_F64, _F64]:
    x, y = _as_rows(X, "X"), _as_rows(Y, "Y")
    if x.shape[1] != y.shape[1]:
        raise ProbeDataError(
            f"X and Y must share the prompt axis; got {x.shape[1]} and {y.shape[1]} prompts."
        )
    if x.shape[1] < 2:
        raise ProbeDataError(
            f"HSIC needs at least 2 probe prompts, got {x.shape[1]}; use a larger lexicon "
            "or disable --filter-understood."
        )
    return x, y


def zscore_rows(A: ArrayLike, eps: float = EPS) -> _F64:
    """Z-score every row: ``(a - mean) / (std + eps)`` with ``ddof=1`` (as ``torch.std``).

    Args:
        A: Array of shape (n, P), P >= 2.
        eps: Added to the standard deviation, so constant rows become zeros.

    Returns:
        A float64 array of the same shape.

    Example:
        >>> zscore_rows([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]]).round(3).tolist()
        [[-1.0, 0.0, 1.0], [0.0, 0.0, 0.0]]
    """
    a = _as_rows(A, "A")
    if a.shape[1] < 2:
        raise ProbeDataError(f"z-scoring needs at least 2 prompts per row, got {a.shape[1]}.")
    centred = a - a.mean(axis=1, keepdims=True)
    std = a.std(axis=1, ddof=1, keepdims=True)
    out: _F64 = centred / (std + eps)
    return out


def _gram_distances(Z: _F64) -> _F64:
    """All pairwise Euclidean distances between the rows of Z (n × n, diagonal exactly 0)."""
    sq = np.einsum("ip,ip->i", Z, Z)
    d2 = sq[:, None] + sq[None, :] - 2.0 * (Z @ Z.T)
    np.maximum(d2, 0.0, out=d2)
    np.fill_diagonal(d2, 0.0)
    out: _F64 = np.sqrt(d2)
    return out


def median_sigma(
    X: ArrayLike,
    Y: ArrayLike,
    *,
    rule: SigmaRule = "pairs",
    zscore: bool = True,
    eps: float = EPS,
) -> float:
    """The Gaussian bandwidth σ: median pooled within-group row distance, plus ``eps``.

    Args:
        X: Overlap-group activations (n1 × P).
        Y: Bridge-group activations (n2 × P).
        rule: ``"pairs"`` (distinct pairs i<j within X and within Y, ``numpy.median``) or
            ``"reference"`` (full distance matrices with diagonals, lower median); see the
            module docstring.
        zscore: Z-score the rows first, as :func:`hsic_matrix` does. Pass False when X and Y
            are already z-scored.
        eps: Added to the median (and used in the z-score).

    Returns:
        σ as a float.

    Raises:
        ProbeDataError: On malformed input, fewer than 2 prompts, or two empty groups.

    Example:
        >>> import numpy as np
        >>> X = np.array([[0.0, 0.0], [3.0, 4.0]])
        >>> round(median_sigma(X, X[:1], zscore=False), 6)
        5.000001
    """
    x, y = _check_pair(X, Y)
    if x.shape[0] + y.shape[0] == 0:
        raise ProbeDataError("Cannot compute σ: both neuron groups are empty.")
    if zscore:
        x, y = zscore_rows(x, eps), zscore_rows(y, eps)
    dx, dy = _gram_distances(x), _gram_distances(y)
    if rule == "reference":
        pooled = np.sort(np.concatenate([dx.ravel(), dy.ravel()]))
        return float(pooled[(pooled.size - 1) // 2]) + eps
    if rule != "pairs":
        raise InvalidOption(f"rule must be 'pairs' or 'reference', got {rule!r}.")
    parts = [d[np.triu_indices(d.shape[0], k=1)] for d in (dx, dy)]
    pooled = np.concatenate(parts)
    if pooled.size == 0:  # one row on each side (or one row and an empty group)
        if x.shape[0] == 0 or y.shape[0] == 0:
            return eps
        pooled = np.sqrt(np.maximum(np.sum((x[:, None, :] - y[None, :, :]) ** 2, axis=-1), 0.0))
    return float(np.median(pooled)) + eps


def hsic_matrix(
    X: ArrayLike,
    Y: ArrayLike,
    *,
    mode: HSICMode = "standard",
    method: HSICMethod = "taylor",
    sigma: float | None = None,
    sigma_rule: SigmaRule | None = None,
    tol: float = 1e-16,
    max_terms: int = 64,
    max_bytes: int = DEFAULT_MAX_BYTES,
    eps: float = EPS,
) -> _F64:
    """HSIC between every neuron of X and every neuron of Y over the same prompts.

    Args:
        X: Overlap-group activations (n1 × P); rows are z-scored here.
        Y: Bridge-group activations (n2 × P); rows are z-scored here.
        mode: ``"standard"`` (normalised biased HSIC) or ``"reference"`` (the reference's
            ``tr(K H L)``); see the module docstring.
        method: ``"taylor"`` (fast, exact to ``tol``) or ``"dense"`` (P×P kernels, chunked).
        sigma: Bandwidth in z-score units; None computes it with :func:`median_sigma`.
        sigma_rule: Rule for σ; None means ``"pairs"`` in standard mode and ``"reference"``
            in reference mode (so reference mode reproduces the reference numbers).
        tol: Relative truncation tolerance of the Taylor method.
        max_terms: Most Taylor terms used; beyond it (``|x|/σ`` very large, e.g. nearly
            identical rows give a tiny σ) the dense method is used and a warning is logged.
        max_bytes: Bound on the working memory of one chunk. The dense method needs at least
            about ``24·P²`` bytes whatever the bound.
        eps: ε of the z-score and of σ.

    Returns:
        Float64 array (n1 × n2). When a group is empty the result is empty and nothing is
        computed.

    Raises:
        ProbeDataError: Malformed input, mismatched prompt axes, fewer than 2 prompts.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(1)
        >>> X, Y = rng.normal(size=(3, 40)), rng.normal(size=(2, 40))
        >>> a = hsic_matrix(X, Y)
        >>> b = hsic_matrix(X, Y, method="dense")
        >>> bool(np.allclose(a, b, rtol=1e-10, atol=0))
        True
    """
    x, y = _check_pair(X, Y)
    if mode not in ("standard", "reference"):
        raise InvalidOption(
            f"mode must be 'standard' (biased HSIC) or 'reference' (the reference's formula), "
            f"got {mode!r}."
        )
    if method not in ("taylor", "dense"):
        raise InvalidOption(
            f"method must be 'taylor' (fast) or 'dense' (P×P kernels), got {method!r}."
        )
    if x.shape[0] == 0 or y.shape[0] == 0:
        return np.zeros((x.shape[0], y.shape[0]), dtype=np.float64)
    x, y = zscore_rows(x, eps), zscore_rows(y, eps)
    if sigma is None:
        rule: SigmaRule = sigma_rule or ("pairs" if mode == "standard" else "reference")
        sigma = median_sigma(x, y, rule=rule, zscore=False, eps=eps)
    if not sigma > 0.0 or not math.isfinite(sigma):
        raise InvalidOption(
            f"sigma must be a positive finite number, got {sigma!r}; pass sigma=None to use "
            "the median-distance rule."
        )
    if method == "taylor":
        t = float(max(np.max(x * x), np.max(y * y))) / (sigma * sigma)
        m = taylor_terms(t, tol, max_terms)
        if m is not None:
            logger.debug("HSIC taylor: t=%.3g, %d terms, sigma=%.6g", t, m, sigma)
            return hsic_taylor(x, y, sigma, m, mode, max_bytes)
        logger.warning(
            "HSIC: max (x/sigma)^2 = %.3g needs more than %d Taylor terms; "
            "using the dense method (P=%d, slower).",
            t,
            max_terms,
            x.shape[1],
        )
    return hsic_dense(x, y, sigma, mode, max_bytes)


# -- the two methods of hsic_matrix ----------------------------------------------------------


def taylor_terms(t: float, tol: float = 1e-16, max_terms: int = 64) -> int | None:
    """Number m of Taylor features giving a kernel error below ``tol · min(1, t)``.

    Args:
        t: ``max (x/σ)²`` over every entry of both z-scored groups.
        tol: Relative tolerance.
        max_terms: Cap on m.

    Returns:
        The smallest m >= 1 with ``t^m / m! <= tol · min(1, t)``, or None when it exceeds
        ``max_terms`` (the caller then uses the dense method).

    Example:
        >>> taylor_terms(0.005)
        7
        >>> taylor_terms(1e3) is None
        True
    """
    if t <= 0.0:
        return 1  # every centred kernel is 0: one constant feature is exact
    target = tol * min(1.0, t)
    term = 1.0
    for m in range(1, max_terms + 1):
        term *= t / m
        if term <= target:
            return m
    return None


def _features(Z: _F64, sigma: float, m: int) -> _F64:
    """Taylor features of every row of Z: shape (n, m, P)."""
    u = Z / sigma
    F = np.empty((Z.shape[0], m, Z.shape[1]), dtype=np.float64)
    F[:, 0, :] = np.exp(-0.5 * u * u)
    for k in range(1, m):
        F[:, k, :] = F[:, k - 1, :] * u / math.sqrt(k)
    return F


def _chunks(n: int, size: int) -> list[slice]:
    return [slice(s, min(s + size, n)) for s in range(0, n, size)]


def hsic_taylor(x: _F64, y: _F64, sigma: float, m: int, mode: HSICMode, max_bytes: int) -> _F64:
    """HSIC of every row pair from ``m`` Taylor features per row, chunked to ``max_bytes``.

    Args:
        x: Z-scored overlap rows (n1 × P).
        y: Z-scored bridge rows (n2 × P).
        sigma: Kernel bandwidth.
        m: Taylor features per row (:func:`taylor_terms`).
        mode: ``"standard"`` or ``"reference"``.
        max_bytes: Bound on the working memory of one chunk.

    Returns:
        The float64 matrix (n1 × n2).

    Example:
        >>> import numpy as np
        >>> x = np.array([[-1.0, 0.0, 1.0]])
        >>> m = taylor_terms(float(np.max(x * x)) / 2.0**2)
        >>> a = hsic_taylor(x, x, 2.0, m, "standard", 2**20)
        >>> bool(np.allclose(a, hsic_dense(x, x, 2.0, "standard", 2**20), rtol=1e-12, atol=0))
        True
    """
    P = x.shape[1]
    n1, n2 = x.shape[0], y.shape[0]
    # Per chunk: two feature blocks (c·m·P each, plus centred copies) and the c·m × c·m product.
    per = 8 * m
    c = 1
    while c < max(n1, n2) and per * (4 * P * (c + 1) + 2 * m * (c + 1) ** 2) <= max_bytes:
        c += 1
    out = np.empty((n1, n2), dtype=np.float64)
    for si in _chunks(n1, c):
        F = _features(x[si], sigma, m)
        muF = F.mean(axis=2)
        Ft = (F - muF[:, :, None]).reshape(-1, P)
        ci = si.stop - si.start
        for sj in _chunks(n2, c):
            G = _features(y[sj], sigma, m)
            muG = G.mean(axis=2)
            Gt = (G - muG[:, :, None]).reshape(-1, P)
            cj = sj.stop - sj.start
            C = (Ft @ Gt.T).reshape(ci, m, cj, m)
            block = np.einsum("iajb,iajb->ij", C, C)
            if mode == "standard":
                block /= float(P - 1) ** 2
            else:
                block += P * np.einsum("ia,iajb,jb->ij", muF, C, muG)
            out[si, sj] = block
    return out


def hsic_resampled(
    X: ArrayLike,
    Y: ArrayLike,
    counts: ArrayLike,
    *,
    mode: HSICMode = "standard",
    sigma_rule: SigmaRule | None = None,
    tol: float = 1e-16,
    max_terms: int = 64,
    max_bytes: int = DEFAULT_MAX_BYTES,
    eps: float = EPS,
) -> _F64 | None:
    """HSIC matrices of X and Y under many resamples of their prompts, in a few matrix products.

    Resample r takes prompt p ``counts[r, p]`` times (a bootstrap draw: each row of ``counts``
    sums to P). The rows are z-scored and σ chosen once, on the full sample; then the Taylor
    features of every neuron are fixed and a resample only re-weights the prompts: with
    ``w = counts[r]``, ``Σ_p w_p (F_p - μ_w)(G_p - ν_w)ᵀ = Σ_p w_p F_p G_pᵀ - P μ_w ν_wᵀ``
    (μ_w, ν_w the weighted feature means), and the sums of every resample come from one product
    ``counts @ (F ⊙ G)`` over the prompts. Resample r's matrix equals :func:`hsic_taylor` on the
    z-scored rows' resampled columns with the full sample's σ (up to float rounding).

    Args:
        X: Overlap-group activations (n1 × P).
        Y: Bridge-group activations (n2 × P).
        counts: Resample counts (R × P), each row summing to P.
        mode: As for :func:`hsic_matrix`.
        sigma_rule: As for :func:`hsic_matrix`.
        tol: As for :func:`hsic_matrix`.
        max_terms: As for :func:`hsic_matrix`.
        max_bytes: Bound on the working memory of one block of resamples.
        eps: As for :func:`hsic_matrix`.

    Returns:
        Float64 array (R × n1 × n2), or None when the Taylor expansion needs more than
        ``max_terms`` terms (the caller resamples and calls :func:`hsic_matrix` instead).

    Raises:
        ProbeDataError: Malformed input, or counts that are not R × P.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(3)
        >>> X, Y = rng.normal(size=(2, 30)), rng.normal(size=(3, 30))
        >>> idx = rng.integers(0, 30, size=30)
        >>> h = hsic_resampled(X, Y, np.bincount(idx, minlength=30)[None, :])
        >>> x, y = zscore_rows(X), zscore_rows(Y)
        >>> sigma = median_sigma(x, y, zscore=False)
        >>> m = taylor_terms(float(max(np.max(x * x), np.max(y * y))) / sigma**2)
        >>> want = hsic_taylor(x[:, idx], y[:, idx], sigma, m, "standard", 2**24)
        >>> bool(np.allclose(h[0], want, rtol=1e-9, atol=1e-18))
        True
    """
    x, y = _check_pair(X, Y)
    w = np.asarray(counts, dtype=np.float64)
    P = x.shape[1]
    if w.ndim != 2 or w.shape[1] != P:
        raise ProbeDataError(f"counts must be resamples × {P} prompts, got shape {w.shape}.")
    n1, n2, R = x.shape[0], y.shape[0], w.shape[0]
    if n1 == 0 or n2 == 0:
        return np.zeros((R, n1, n2), dtype=np.float64)
    x, y = zscore_rows(x, eps), zscore_rows(y, eps)
    rule: SigmaRule = sigma_rule or ("pairs" if mode == "standard" else "reference")
    sigma = median_sigma(x, y, rule=rule, zscore=False, eps=eps)
    t = float(max(np.max(x * x), np.max(y * y))) / (sigma * sigma)
    m = taylor_terms(t, tol, max_terms)
    if m is None:
        return None
    F = _features(x, sigma, m).reshape(n1 * m, P)
    G = _features(y, sigma, m).reshape(n2 * m, P)
    a, b = n1 * m, n2 * m
    sumF, sumG = w @ F.T, w @ G.T  # (R, a), (R, b): weighted feature sums
    out = np.empty((R, n1, n2), dtype=np.float64)
    pairs = F[:, None, :] * G[None, :, :] if 8 * a * b * P <= max_bytes else None
    block = max(1, min(R, max_bytes // max(1, 16 * a * b)))
    for start in range(0, R, block):
        rows = slice(start, min(start + block, R))
        if pairs is not None:
            S = (w[rows] @ pairs.reshape(a * b, P).T).reshape(-1, a, b)
        else:
            S = np.einsum("rp,ap,bp->rab", w[rows], F, G, optimize=True)
        C = S - sumF[rows, :, None] * sumG[rows, None, :] / P
        C4 = C.reshape(-1, n1, m, n2, m)
        h = np.einsum("riajb,riajb->rij", C4, C4)
        if mode == "standard":
            h /= float(P - 1) ** 2
        else:
            muF = (sumF[rows] / P).reshape(-1, n1, m)
            muG = (sumG[rows] / P).reshape(-1, n2, m)
            h += P * np.einsum("ria,riajb,rjb->rij", muF, C4, muG)
        out[rows] = h
    return out


def _centred_kernels(z: _F64, sigma: float) -> tuple[_F64, _F64]:
    """Per-row doubly centred kernels ``H K H`` flattened to (n, P²), and centred row means (n, P).

    ``tr(K H L H) = <HKH, HLH>`` and ``tr(K H L) = <HKH, HLH> + P <Hk, Hl>`` with ``k = K1/P``
    (the dense twin of the Taylor identity); both avoid summing O(1) kernel entries.
    """
    d = z[:, :, None] - z[:, None, :]
    K = np.exp(-(d * d) / (2.0 * sigma * sigma))
    rowmean = K.mean(axis=2)
    K -= rowmean[:, :, None]
    K -= K.mean(axis=1, keepdims=True)
    return K.reshape(z.shape[0], -1), rowmean - rowmean.mean(axis=1, keepdims=True)


def hsic_dense(x: _F64, y: _F64, sigma: float, mode: HSICMode, max_bytes: int) -> _F64:
    """HSIC of every row pair from the P×P kernels, chunked to ``max_bytes`` where it can be.

    Args:
        x: Z-scored overlap rows (n1 × P).
        y: Z-scored bridge rows (n2 × P).
        sigma: Kernel bandwidth.
        mode: ``"standard"`` or ``"reference"``.
        max_bytes: Bound on the working memory of one chunk (at least one kernel per side).

    Returns:
        The float64 matrix (n1 × n2).

    Example:
        >>> import numpy as np
        >>> x = np.array([[-1.0, 0.0, 1.0], [1.0, 0.0, -1.0]])
        >>> h = hsic_dense(x, x, 2.0, "standard", 2**20)
        >>> bool(np.allclose(h, h[0, 0]))  # a row and its mirror image are equally dependent
        True
    """
    P = x.shape[1]
    n1, n2 = x.shape[0], y.shape[0]
    # Per chunk: c kernels on each side plus one temporary of the same size.
    c = max(1, int(max_bytes // (8 * P * P * 3)))
    out = np.empty((n1, n2), dtype=np.float64)
    for si in _chunks(n1, c):
        Kc, kc = _centred_kernels(x[si], sigma)
        for sj in _chunks(n2, c):
            Lc, lc = _centred_kernels(y[sj], sigma)
            out[si, sj] = Kc @ Lc.T
            if mode == "reference":
                out[si, sj] += P * (kc @ lc.T)
    if mode == "standard":
        out /= float(P - 1) ** 2
    return out


def layer_score_from_matrix(h: ArrayLike) -> float:
    """Layer score ``½ (mean_i max_j h_ij + mean_j max_i h_ij)``; NaN for an empty matrix.

    Example:
        >>> layer_score_from_matrix([[1.0, 0.0], [0.0, 0.5]])
        0.75
    """
    a = np.asarray(h, dtype=np.float64)
    if a.ndim != 2:
        raise ProbeDataError(
            f"h must be a 2-D HSIC matrix (overlap × bridge neurons), got shape {a.shape}."
        )
    if a.size == 0:
        return math.nan
    return 0.5 * (float(a.max(axis=1).mean()) + float(a.max(axis=0).mean()))


def layer_score(X: ArrayLike, Y: ArrayLike, **options: Unpack[HSICOptions]) -> float:
    """Score of one layer: the bidirectional max-mean of :func:`hsic_matrix`.

    Args:
        X: Overlap-group activations (n1 × P).
        Y: Bridge-group activations (n2 × P).
        **options: Keyword arguments of :func:`hsic_matrix` (:class:`HSICOptions`).

    Returns:
        The score, or NaN when either group is empty (the caller treats the layer as missing).

    Example:
        >>> import math
        >>> import numpy as np
        >>> X = np.random.default_rng(2).normal(size=(3, 30))
        >>> math.isnan(layer_score(X, X[:0], mode="reference"))
        True
    """
    return layer_score_from_matrix(hsic_matrix(X, Y, **options))
