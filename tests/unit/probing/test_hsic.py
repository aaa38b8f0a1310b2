"""HSIC: parity with a direct transcription of the reference double loop, σ, edge cases."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
from numpy.typing import NDArray

from bridgex_chain.errors import InvalidOption, ProbeDataError
from bridgex_chain.probing.hsic import (
    HSICMethod,
    HSICMode,
    hsic_dense,
    hsic_matrix,
    hsic_resampled,
    hsic_taylor,
    layer_score,
    layer_score_from_matrix,
    median_sigma,
    taylor_terms,
    zscore_rows,
)

F64 = NDArray[np.float64]
MODES: tuple[HSICMode, ...] = ("standard", "reference")


# --- direct transcription of the reference (P×P kernels, python double loop), float64 --------


def _ref_zscore(m: F64) -> F64:
    out: F64 = (m - m.mean(axis=1, keepdims=True)) / (m.std(axis=1, ddof=1, keepdims=True) + 1e-6)
    return out


def _cdist(a: F64) -> F64:
    out: F64 = np.sqrt(((a[:, None, :] - a[None, :, :]) ** 2).sum(axis=-1))
    return out


def reference_hsic(
    mat1: F64, mat2: F64, *, standard: bool, sigma_rule: str
) -> tuple[F64, float, float]:
    """Returns (h matrix, layer score, sigma), computed the slow, literal way."""
    x, y = _ref_zscore(mat1), _ref_zscore(mat2)
    n1, n2, p = x.shape[0], y.shape[0], x.shape[1]
    dx, dy = _cdist(x), _cdist(y)
    if sigma_rule == "reference":  # torch.median of cat(full cdist, full cdist): lower median
        pooled = np.sort(np.concatenate([dx.reshape(-1), dy.reshape(-1)]))
        sigma = float(pooled[(pooled.size - 1) // 2]) + 1e-6
    else:
        pairs = [dx[i, j] for i in range(n1) for j in range(i + 1, n1)]
        pairs += [dy[i, j] for i in range(n2) for j in range(i + 1, n2)]
        sigma = float(np.median(pairs)) + 1e-6
    H = np.eye(p) - (1.0 / p) * np.ones((p, p))
    K = np.exp(-((x[:, :, None] - x[:, None, :]) ** 2) / (2 * sigma**2))
    L = np.exp(-((y[:, :, None] - y[:, None, :]) ** 2) / (2 * sigma**2))
    KH = np.matmul(K, H)
    HL = np.matmul(H, L)
    h = np.zeros((n1, n2))
    for i in range(n1):
        for j in range(n2):
            if standard:
                h[i, j] = np.trace(KH[i] @ HL[j] @ H) / (p - 1) ** 2
            else:
                h[i, j] = np.trace(np.matmul(KH[i], HL[j]))
    score = (h.max(axis=1).mean() + h.max(axis=0).mean()) / 2
    return h, float(score), sigma


def _data(seed: int, n1: int, n2: int, p: int) -> tuple[F64, F64]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n1, p)) * rng.uniform(0.1, 3.0, size=(n1, 1)) + rng.normal(size=(n1, 1))
    # Y: some rows depend (non-linearly) on X, others are heavy-tailed noise.
    k = min(n1, n2 // 2)
    dep = np.tanh(X[:k]) ** 2 + 0.3 * rng.normal(size=(k, p))
    rest = rng.standard_t(3, size=(n2 - k, p))
    return X, np.vstack([dep, rest])


CASES = [(0, 6, 5, 40), (1, 1, 3, 25), (2, 7, 1, 31), (3, 4, 4, 2), (4, 9, 8, 120)]


@pytest.mark.parametrize("method", ["taylor", "dense"])
@pytest.mark.parametrize("mode", ["standard", "reference"])
@pytest.mark.parametrize(("seed", "n1", "n2", "p"), CASES)
def test_parity_with_reference_double_loop(
    mode: HSICMode, method: HSICMethod, seed: int, n1: int, n2: int, p: int
) -> None:
    X, Y = _data(seed, n1, n2, p)
    rule = "pairs" if mode == "standard" else "reference"
    want, want_score, _ = reference_hsic(X, Y, standard=mode == "standard", sigma_rule=rule)
    got = hsic_matrix(X, Y, mode=mode, method=method)
    assert got.shape == (n1, n2)
    scale = np.abs(want).max()
    assert np.abs(got - want).max() <= 1e-6
    assert np.abs(got - want).max() <= 1e-12 * scale
    score = layer_score(X, Y, mode=mode, method=method)
    assert score == pytest.approx(want_score, rel=1e-11, abs=1e-14 * scale)


def test_standard_normalisation_matches_biased_hsic_definition() -> None:
    """h = tr(K H L H)/(P-1)²: check one pair against the textbook form on centred kernels."""
    X, Y = _data(7, 1, 1, 30)
    sigma = 1.7
    x, y = zscore_rows(X)[0], zscore_rows(Y)[0]
    K = np.exp(-(np.subtract.outer(x, x) ** 2) / (2 * sigma**2))
    L = np.exp(-(np.subtract.outer(y, y) ** 2) / (2 * sigma**2))
    Kc = K - K.mean(0) - K.mean(1)[:, None] + K.mean()
    Lc = L - L.mean(0) - L.mean(1)[:, None] + L.mean()
    want = float((Kc * Lc).sum()) / 29**2
    got = hsic_matrix(X, Y, sigma=sigma)[0, 0]
    assert got == pytest.approx(want, rel=1e-12)
    ref = hsic_matrix(X, Y, sigma=sigma, mode="reference")[0, 0]
    assert ref == pytest.approx(float(np.trace(K @ (np.eye(30) - 1 / 30) @ L)), rel=1e-11)


def test_median_sigma_rules() -> None:
    X, Y = _data(11, 5, 4, 33)
    _, _, want_pairs = reference_hsic(X, Y, standard=True, sigma_rule="pairs")
    _, _, want_ref = reference_hsic(X, Y, standard=False, sigma_rule="reference")
    assert median_sigma(X, Y) == pytest.approx(want_pairs, rel=1e-13)
    assert median_sigma(X, Y, rule="reference") == pytest.approx(want_ref, rel=1e-13)
    assert want_pairs != pytest.approx(want_ref, rel=1e-6)  # the rules really differ
    # zscore=False takes the rows as they are.
    Z = np.array([[0.0, 0.0, 0.0], [3.0, 4.0, 0.0], [0.0, 0.0, 1.0]])
    # pairs: X distances {5, 1, sqrt(26)}, Y has one row -> median 5.
    assert median_sigma(Z, Z[:1], zscore=False) == pytest.approx(5.0 + 1e-6)
    # reference: X 3×3 (with three zeros) + Y 1×1 zero -> sorted 0,0,0,0,1,1,5,5,√26,√26: lower
    # median of 10 values is the 5th, 1.
    assert median_sigma(Z, Z[:1], rule="reference", zscore=False) == pytest.approx(1.0 + 1e-6)


def test_sigma_with_one_row_per_group_uses_cross_distance() -> None:
    X, Y = np.array([[0.0, 0.0]]), np.array([[3.0, 4.0]])
    assert median_sigma(X, Y, zscore=False) == pytest.approx(5.0 + 1e-6)
    assert median_sigma(X, Y, rule="reference", zscore=False) == pytest.approx(1e-6)


def test_h_is_symmetric_in_its_arguments_and_standard_is_nonnegative() -> None:
    X, Y = _data(5, 6, 4, 50)
    for mode in MODES:
        a = hsic_matrix(X, Y, mode=mode)
        b = hsic_matrix(Y, X, mode=mode)
        np.testing.assert_allclose(a, b.T, rtol=1e-12, atol=1e-18)
        assert layer_score(X, Y, mode=mode) == pytest.approx(
            layer_score(Y, X, mode=mode),
            rel=1e-12,
        )
    assert (hsic_matrix(X, Y) >= -1e-18).all()


def test_rows_are_invariant_to_affine_rescaling() -> None:
    X, Y = _data(6, 3, 3, 40)
    base = hsic_matrix(X, Y)
    # Exact up to the z-score's eps = 1e-6 in the denominator (relative effect ~1e-6 / std).
    moved = hsic_matrix(5.0 * X - 2.0, Y * 3.0 + 7.0)
    np.testing.assert_allclose(moved, base, rtol=1e-5)


def test_dependence_scores_higher_than_independence() -> None:
    rng = np.random.default_rng(42)
    P = 300
    X = rng.normal(size=(8, P))
    indep = rng.normal(size=(8, P))
    dep = np.tanh(X) ** 3 + 0.3 * rng.normal(size=(8, P))  # non-linear, monotone
    s_indep = layer_score(X, indep)
    s_dep = layer_score(X, dep)
    assert s_dep > 20 * s_indep
    # Per neuron: the dependent partner is each row's maximum.
    h = hsic_matrix(X, dep)
    assert (h.argmax(axis=1) == np.arange(8)).all()


def test_wide_kernel_regime_standard_hsic_tracks_squared_correlation() -> None:
    """Documented behaviour: with the METHOD's sigma, h * sigma^4 ~ rho^2 for correlated rows."""
    rng = np.random.default_rng(0)
    P = 1000
    X = rng.normal(size=(6, P))
    Y = 0.7 * X + rng.normal(size=(6, P))
    h = np.diag(hsic_matrix(X, Y))
    sigma = median_sigma(X, Y)
    rho = np.diag(np.corrcoef(X, Y)[:6, 6:])
    np.testing.assert_allclose(h * sigma**4, rho**2, rtol=0.02)


@pytest.mark.parametrize("method", ["taylor", "dense"])
@pytest.mark.parametrize("mode", ["standard", "reference"])
def test_chunking_gives_the_same_result(mode: HSICMode, method: HSICMethod) -> None:
    X, Y = _data(9, 7, 5, 64)
    whole = hsic_matrix(X, Y, mode=mode, method=method)
    tiny = hsic_matrix(X, Y, mode=mode, method=method, max_bytes=1)
    mid = hsic_matrix(X, Y, mode=mode, method=method, max_bytes=120_000)
    scale = np.abs(whole).max()
    np.testing.assert_allclose(tiny, whole, rtol=0, atol=1e-13 * scale)
    np.testing.assert_allclose(mid, whole, rtol=0, atol=1e-13 * scale)


def test_empty_group_gives_empty_matrix_and_nan_score() -> None:
    X = np.random.default_rng(0).normal(size=(3, 20))
    assert hsic_matrix(X, X[:0]).shape == (3, 0)
    assert hsic_matrix(X[:0], X).shape == (0, 3)
    assert math.isnan(layer_score(X, X[:0]))
    assert math.isnan(layer_score_from_matrix(np.zeros((0, 4))))


def test_bad_inputs_raise_probe_data_error() -> None:
    X = np.random.default_rng(0).normal(size=(3, 20))
    with pytest.raises(ProbeDataError, match="at least 2"):
        hsic_matrix(X[:, :1], X[:, :1])
    with pytest.raises(ProbeDataError, match="share the prompt axis"):
        hsic_matrix(X, X[:, :10])
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ProbeDataError, match="NaN"):
        hsic_matrix(bad, X)
    with pytest.raises(ProbeDataError, match="2-D"):
        hsic_matrix(X[0], X)
    with pytest.raises(ValueError, match="mode"):
        hsic_matrix(X, X, mode="nope")  # type: ignore[arg-type]


def test_bad_options_raise_invalid_option() -> None:
    X = np.random.default_rng(0).normal(size=(3, 20))
    with pytest.raises(InvalidOption, match="'standard'"):
        hsic_matrix(X, X, mode="nope")  # type: ignore[arg-type]
    with pytest.raises(InvalidOption, match="'taylor'"):
        hsic_matrix(X, X, method="fft")  # type: ignore[arg-type]
    with pytest.raises(InvalidOption, match="sigma=None"):
        hsic_matrix(X, X, sigma=-1.0)
    with pytest.raises(InvalidOption, match="sigma=None"):
        hsic_matrix(X, X, sigma=math.inf)
    with pytest.raises(InvalidOption, match="'pairs'"):
        median_sigma(X, X, rule="mean")  # type: ignore[arg-type]
    with pytest.raises(ProbeDataError, match="2-D HSIC matrix"):
        layer_score_from_matrix([1.0, 2.0])


def test_constant_rows_contribute_zero() -> None:
    rng = np.random.default_rng(3)
    X = np.vstack([np.full(30, 2.5), rng.normal(size=(2, 30))])
    Y = rng.normal(size=(2, 30))
    for mode in MODES:
        h = hsic_matrix(X, Y, mode=mode)
        assert np.abs(h[0]).max() < 1e-15
        want, _, _ = reference_hsic(
            X, Y, standard=mode == "standard", sigma_rule="pairs" if mode == "standard" else mode
        )
        np.testing.assert_allclose(h, want, rtol=0, atol=1e-12 * np.abs(want).max())


def test_huge_x_over_sigma_falls_back_to_dense(caplog: pytest.LogCaptureFixture) -> None:
    X, Y = _data(12, 3, 3, 25)
    with caplog.at_level(logging.WARNING, logger="bridgex_chain.probing.hsic"):
        got = hsic_matrix(X, Y, sigma=0.05)
    assert "dense" in caplog.text
    want = hsic_matrix(X, Y, sigma=0.05, method="dense")
    np.testing.assert_array_equal(got, want)


def test_taylor_terms_bound_the_kernel_error() -> None:
    rng = np.random.default_rng(8)
    for t in (1e-6, 0.005, 0.3, 2.0, 9.0):
        m = taylor_terms(t, tol=1e-16)
        assert m is not None
        u = rng.uniform(-math.sqrt(t), math.sqrt(t), size=200)
        ks = np.arange(m)
        fact = np.array([math.factorial(int(k)) for k in ks], dtype=np.float64)
        F = np.exp(-(u**2) / 2)[:, None] * u[:, None] ** ks / np.sqrt(fact)
        err = np.abs(F @ F.T - np.exp(-(np.subtract.outer(u, u) ** 2) / 2)).max()
        assert err <= max(t**m / math.factorial(m), 1e-14)
        assert t**m / math.factorial(m) <= 1e-16 * min(1.0, t)
    assert taylor_terms(0.0) == 1
    assert taylor_terms(200.0, max_terms=64) is None


def test_zscore_rows_matches_torch_std_convention() -> None:
    z = zscore_rows([[1.0, 2.0, 3.0, 6.0]])
    a = np.array([1.0, 2.0, 3.0, 6.0])
    np.testing.assert_allclose(z[0], (a - a.mean()) / (a.std(ddof=1) + 1e-6))
    with pytest.raises(ProbeDataError):
        zscore_rows([[1.0]])


@pytest.mark.parametrize("mode", MODES)
def test_taylor_and_dense_methods_agree_on_z_scored_rows(mode: HSICMode) -> None:
    x = zscore_rows(np.random.default_rng(11).normal(size=(4, 15)))
    y = zscore_rows(np.random.default_rng(12).normal(size=(3, 15)))
    sigma = median_sigma(x, y, zscore=False)
    m = taylor_terms(float(max(np.max(x * x), np.max(y * y))) / sigma**2)
    assert m is not None
    taylor = hsic_taylor(x, y, sigma, m, mode, 2**20)
    dense = hsic_dense(x, y, sigma, mode, 2**20)
    assert taylor.shape == dense.shape == (4, 3)
    np.testing.assert_allclose(taylor, dense, rtol=1e-10, atol=0)
    # one row at a time (the smallest chunks) gives the same numbers
    np.testing.assert_allclose(hsic_dense(x, y, sigma, mode, 1), dense, rtol=1e-12, atol=0)
    np.testing.assert_allclose(hsic_taylor(x, y, sigma, m, mode, 1), taylor, rtol=1e-12, atol=0)


# --------------------------------------------------------------------------- resampled HSIC


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("max_bytes", [1 << 26, 1 << 12])  # one product; blocks of resamples
def test_resampled_hsic_equals_taylor_on_each_resample(mode: HSICMode, max_bytes: int) -> None:
    rng = np.random.default_rng(5)
    X, Y = rng.normal(size=(4, 40)), rng.normal(size=(3, 40)) + 0.3
    draws = rng.integers(0, 40, size=(7, 40))
    counts = np.stack([np.bincount(d, minlength=40) for d in draws])
    got = hsic_resampled(X, Y, counts, mode=mode, max_bytes=max_bytes)
    assert got is not None and got.shape == (7, 4, 3)
    x, y = zscore_rows(X), zscore_rows(Y)
    sigma = median_sigma(x, y, rule="pairs" if mode == "standard" else "reference", zscore=False)
    m = taylor_terms(float(max(np.max(x * x), np.max(y * y))) / sigma**2)
    assert m is not None
    for r, d in enumerate(draws):
        want = hsic_taylor(x[:, d], y[:, d], sigma, m, mode, 1 << 24)
        scale = float(np.abs(want).max())  # reference values cancel: compare to their scale
        np.testing.assert_allclose(got[r], want, rtol=1e-8, atol=1e-9 * scale)
    # no resampling at all (every prompt once) is the plain statistic
    ones = hsic_resampled(X, Y, np.ones((1, 40)), mode=mode)
    assert ones is not None
    plain = hsic_matrix(X, Y, mode=mode)
    np.testing.assert_allclose(ones[0], plain, rtol=1e-8, atol=1e-9 * float(np.abs(plain).max()))


def test_resampled_hsic_edge_cases() -> None:
    rng = np.random.default_rng(6)
    X = rng.normal(size=(2, 10))
    empty = hsic_resampled(X, X[:0], np.ones((3, 10)))
    assert empty is not None and empty.shape == (3, 2, 0)
    with pytest.raises(ProbeDataError, match="counts"):
        hsic_resampled(X, X, np.ones((3, 9)))
    # rows so alike that sigma is tiny: the Taylor expansion is unavailable
    near = np.stack([np.linspace(0, 1, 10), np.linspace(0, 1, 10) + 1e-9])
    assert hsic_resampled(near, near, np.ones((1, 10)), max_terms=2) is None
