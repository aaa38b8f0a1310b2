"""The two ways :func:`~bridgex_chain.probing.hsic.hsic_matrix` computes HSIC values.

Both take z-scored rows (``x``: n1 × P, ``y``: n2 × P) and the bandwidth σ, and return the
float64 matrix (n1 × n2) of the mode asked for (see :mod:`bridgex_chain.probing.hsic`).

``"taylor"`` (:func:`hsic_taylor`, the default) never builds a P×P matrix. With ``u = x/σ`` the
kernel factors as ``exp(-(u_a-u_b)²/2) = Σ_k f_k(u_a) f_k(u_b)``, ``f_k(u) = exp(-u²/2) u^k /
√(k!)``. With F_i (P×m) the features of neuron i, G_j those of j, tildes the column-centred
versions (= H F): ``tr(K_i H L_j H) = ‖F̃_iᵀ G̃_j‖²_F`` and ``tr(K_i H L_j) = ⟨F_iᵀ G_j, F̃_iᵀ
G̃_j⟩_F = ‖F̃_iᵀ G̃_j‖²_F + P · μ_iᵀ (F̃_iᵀ G̃_j) μ_j`` (μ = column means). All pairs of a chunk come
from one matrix product. The number of terms m is the smallest with ``t^m/m! <= tol · min(1,
t)``, ``t = max u²`` (:func:`taylor_terms`; the truncation error of every kernel entry is below
``t^m/m!``, and the centred kernels scale like ``t``, so the relative error stays near
``tol``). ``"dense"`` (:func:`hsic_dense`) builds the kernels, chunked, for small P and
cross-checks.

Example:
    >>> import numpy as np
    >>> x = np.array([[-1.0, 0.0, 1.0]])
    >>> m = taylor_terms(float(np.max(x * x)) / 2.0**2)
    >>> a = hsic_taylor(x, x, 2.0, m, "standard", 2**20)
    >>> bool(np.allclose(a, hsic_dense(x, x, 2.0, "standard", 2**20), rtol=1e-12, atol=0))
    True
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from bridgex_chain.probing.hsic import HSICMode

__all__ = ["hsic_dense", "hsic_taylor", "taylor_terms"]

_F64 = NDArray[np.float64]


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
    """HSIC of every row pair from ``m`` Taylor features per row, chunked to ``max_bytes``."""
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
    """HSIC of every row pair from the P×P kernels, chunked to ``max_bytes`` where it can be."""
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
