"""Conditional neighbour probabilities (paper Eq. 8) and top-K neighbours."""

import re
import warnings

import numpy as np
import pytest
from sklearn.manifold._utils import _binary_search_perplexity

from sk_eglpp.neighbors import conditional_probabilities, top_k_neighbors


def brute_force_sqdist(A, B):
    return ((A[:, None, :] - B[None, :, :]) ** 2).sum(axis=-1)


def row_perplexity(P):
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(P > 0, P * np.log2(P), 0.0)
    return 2 ** (-terms.sum(axis=1))


@pytest.mark.parametrize(
    "n_query, n_ref, d, scale, perplexity",
    [(40, 25, 3, 1.0, 5.0), (120, 60, 16, 10.0, 20.0), (30, 29, 2, 0.01, 28.0)],
)
def test_equals_sklearn_binary_search(rng, n_query, n_ref, d, scale, perplexity):
    # scikit-learn's routine drops column i when n_ref >= n_query (square
    # self-distances), so only n_ref < n_query shapes are comparable.
    H_query = rng.normal(size=(n_query, d)) * scale
    H_ref = rng.normal(size=(n_ref, d)) * scale
    sqdist = brute_force_sqdist(H_query, H_ref).astype(np.float32)
    expected = _binary_search_perplexity(sqdist, perplexity, 0)
    P = conditional_probabilities(H_query, H_ref, perplexity=perplexity)
    assert P.shape == (n_query, n_ref) and P.dtype == np.float64
    np.testing.assert_allclose(P, expected, rtol=0, atol=1e-5)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(row_perplexity(P), perplexity, rtol=1e-4)


def test_gaussian_form_of_eq8(rng):
    """Each row is exp(-beta_i d_ij) normalised, for some beta_i > 0."""
    H_query, H_ref = rng.normal(size=(5, 4)), rng.normal(size=(12, 4))
    P = conditional_probabilities(H_query, H_ref, perplexity=4.0)
    D = brute_force_sqdist(H_query, H_ref)
    # log p_ij - log p_ik = -beta_i (d_ij - d_ik): constant ratio per row.
    beta = -(np.log(P) - np.log(P[:, :1]))[:, 1:] / (D - D[:, :1])[:, 1:]
    np.testing.assert_allclose(beta, beta[:, :1] * np.ones_like(beta), rtol=1e-8)
    assert np.all(beta > 0)


@pytest.mark.parametrize("chunk_size", [1, 7, 64, 100])
def test_chunked_equals_unchunked(rng, chunk_size):
    H_query, H_ref = rng.normal(size=(300, 33)), rng.normal(size=(70, 33))
    full = conditional_probabilities(H_query, H_ref, chunk_size=1024)
    P = conditional_probabilities(H_query, H_ref, chunk_size=chunk_size)
    np.testing.assert_array_equal(P, full)
    idx_full, prob_full = top_k_neighbors(H_query, H_ref, 9, chunk_size=1024)
    idx, prob = top_k_neighbors(H_query, H_ref, 9, chunk_size=chunk_size)
    np.testing.assert_array_equal(idx, idx_full)
    np.testing.assert_array_equal(prob, prob_full)


@pytest.mark.parametrize("renormalize", [False, True])
def test_top_k_equals_brute_force(rng, renormalize):
    # Coarse coordinates on a grid create exact ties in the distances.
    H_query = rng.integers(0, 3, size=(50, 2)).astype(float)
    H_ref = rng.integers(0, 3, size=(20, 2)).astype(float)
    P = conditional_probabilities(H_query, H_ref, perplexity=6.0)
    K = 7
    idx, prob = top_k_neighbors(
        H_query, H_ref, K, perplexity=6.0, renormalize=renormalize, chunk_size=16
    )
    assert idx.dtype == np.int64 and idx.shape == (50, K) and prob.shape == (50, K)
    for i in range(50):
        order = sorted(range(20), key=lambda j: (-P[i, j], j))[:K]
        np.testing.assert_array_equal(idx[i], order)
        expected = P[i, order]
        if renormalize:
            expected = expected / expected.sum()
        np.testing.assert_allclose(prob[i], expected, rtol=1e-12)
    if renormalize:
        np.testing.assert_allclose(prob.sum(axis=1), 1.0, rtol=1e-12)
    else:
        assert np.all(prob.sum(axis=1) <= 1.0 + 1e-12)
    idx_all, _ = top_k_neighbors(H_query, H_ref, 20, perplexity=6.0)
    assert all(sorted(row) == list(range(20)) for row in idx_all.tolist())


@pytest.mark.parametrize("scale", [1e-12, 1.0, 1e12])
def test_scale_invariant_and_warning_free(rng, scale):
    H_query, H_ref = rng.normal(size=(30, 5)), rng.normal(size=(40, 5))
    reference = conditional_probabilities(H_query, H_ref, perplexity=10.0)
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        # Far from the origin too: the distances must not cancel out.
        offset = 1e3 * scale
        P = conditional_probabilities(
            H_query * scale + offset, H_ref * scale + offset, perplexity=10.0
        )
    assert np.all(np.isfinite(P))
    np.testing.assert_allclose(row_perplexity(P), 10.0, rtol=1e-4)
    np.testing.assert_allclose(P, reference, atol=1e-4)


def test_degenerate_inputs(rng):
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        # All reference embeddings identical: uniform is the only answer.
        P = conditional_probabilities(
            rng.normal(size=(4, 3)), np.ones((10, 3)), perplexity=5.0
        )
        np.testing.assert_array_equal(P, np.full((4, 10), 0.1))
        # Query equal to 4 duplicated reference points, target below 4: the
        # limit is uniform over the tied nearest points.
        H_ref = np.repeat(rng.normal(size=(5, 3)), 4, axis=0)
        P = conditional_probabilities(H_ref[[0, 4]], H_ref, perplexity=3.0)
        np.testing.assert_allclose(P[0, :4], 0.25)
        np.testing.assert_allclose(P[1, 4:8], 0.25)
        assert P[:, 8:].max() == 0.0
        # Duplicates with a reachable target: ties get equal probabilities.
        P = conditional_probabilities(H_ref[:3] + 0.3, H_ref, perplexity=8.0)
        assert np.all(np.isfinite(P))
        np.testing.assert_allclose(row_perplexity(P), 8.0, rtol=1e-4)
        blocks = P.reshape(3, 5, 4)
        np.testing.assert_allclose(blocks, blocks[:, :, :1] * np.ones((1, 1, 4)))
        # Huge distances: rows are not stuck at uniform.
        H_ref = np.array([[0.0], [1e150], [2e150], [3e150]])
        P = conditional_probabilities(np.array([[1.1e150]]), H_ref, perplexity=1.5)
        np.testing.assert_allclose(row_perplexity(P), 1.5, rtol=1e-4)
        assert np.argmax(P[0]) == 1
        # A single reference point.
        P = conditional_probabilities(np.zeros((2, 2)), np.ones((1, 2)), perplexity=1.0)
        np.testing.assert_array_equal(P, np.ones((2, 1)))


def test_perplexity_above_n_ref_warns_and_is_uniform(rng):
    H_query, H_ref = rng.normal(size=(3, 2)), rng.normal(size=(5, 2))
    with pytest.warns(UserWarning, match="larger than the number of reference"):
        P = conditional_probabilities(H_query, H_ref, perplexity=20.0)
    np.testing.assert_allclose(P, 0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        P = conditional_probabilities(H_query, H_ref, perplexity=5.0)
    np.testing.assert_allclose(P, 0.2, rtol=1e-6)


def test_perplexity_warning_points_at_the_caller(rng):
    H_query, H_ref = rng.normal(size=(3, 2)), rng.normal(size=(5, 2))
    for func, args in (
        (conditional_probabilities, ()),
        (top_k_neighbors, (2,)),
    ):
        with pytest.warns(UserWarning, match="larger than the number") as record:
            func(H_query, H_ref, *args, perplexity=20.0)
        assert record[0].filename == __file__


def test_inputs_not_modified(rng):
    H_query, H_ref = rng.normal(size=(6, 3)), rng.normal(size=(8, 3))
    copies = H_query.copy(), H_ref.copy()
    top_k_neighbors(H_query, H_ref, 3, perplexity=2.0)
    np.testing.assert_array_equal(H_query, copies[0])
    np.testing.assert_array_equal(H_ref, copies[1])


def test_bad_inputs(rng):
    H_query, H_ref = rng.normal(size=(4, 3)), rng.normal(size=(6, 3))
    with pytest.raises(ValueError, match="H_query with 3 and H_ref with 2"):
        conditional_probabilities(H_query, H_ref[:, :2])
    with pytest.raises(ValueError, match=r"H_query must be 2-D \(n_samples, n_f"):
        conditional_probabilities(H_query[0], H_ref)
    with pytest.raises(ValueError, match="Found array with dim 3"):
        conditional_probabilities(H_query, H_ref[None])
    with pytest.raises(ValueError, match="H_ref must contain at least one sample"):
        top_k_neighbors(H_query, H_ref[:0], 1)
    with pytest.raises(ValueError, match="NaN"):
        conditional_probabilities(H_query * np.nan, H_ref)
    with pytest.raises(ValueError, match="infinity"):
        top_k_neighbors(H_query, np.where(np.eye(6, 3) > 0, np.inf, H_ref), 2)
    positive = r"must be a finite real number in \(0, inf\)"
    with pytest.raises(
        ValueError, match="^conditional_probabilities: perplexity " + positive
    ):
        conditional_probabilities(H_query, H_ref, perplexity=0)
    with pytest.raises(ValueError, match=r"n_neighbors must be in \[1, 6\], got 7"):
        top_k_neighbors(H_query, H_ref, 7)
    with pytest.raises(
        ValueError, match=r"^top_k_neighbors: n_neighbors must be an int in \[1, inf"
    ):
        top_k_neighbors(H_query, H_ref, 0)
    with pytest.raises(TypeError, match="n_neighbors must be an int .* got 2.0"):
        top_k_neighbors(H_query, H_ref, 2.0)
    with pytest.raises(ValueError, match=r"chunk_size must be an int .* got 0"):
        conditional_probabilities(H_query, H_ref, chunk_size=0)
    with pytest.raises(ValueError, match="tol " + positive + ", got -1.0"):
        conditional_probabilities(H_query, H_ref, tol=-1.0)
    with pytest.raises(TypeError, match="renormalize must be a bool"):
        top_k_neighbors(H_query, H_ref, 2, renormalize="yes")


@pytest.mark.parametrize("scale", [1e200, 1e155, 1e-170, 1e-300])
def test_extreme_scales_equal_the_unscaled_result(rng, scale):
    """Eq. 8 is invariant to a common scaling of the distances, at any scale."""
    H_query, H_ref = rng.normal(size=(30, 4)), rng.normal(size=(20, 4))
    idx, prob = top_k_neighbors(H_query, H_ref, 5, perplexity=6.0, chunk_size=7)
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        idx_s, prob_s = top_k_neighbors(
            H_query * scale, H_ref * scale, 5, perplexity=6.0, chunk_size=7
        )
        P_s = conditional_probabilities(H_query * scale, H_ref * scale, perplexity=6.0)
    np.testing.assert_array_equal(idx_s, idx)
    np.testing.assert_allclose(prob_s, prob, rtol=1e-10, atol=1e-14)
    P = conditional_probabilities(H_query, H_ref, perplexity=6.0)
    np.testing.assert_allclose(P_s, P, rtol=1e-10, atol=1e-14)
    # and the unscaled result is scikit-learn's (n_ref < n_query: comparable)
    expected = _binary_search_perplexity(
        brute_force_sqdist(H_query, H_ref).astype(np.float32), 6.0, 0
    )
    np.testing.assert_allclose(P_s, expected, atol=1e-5)


def test_parameter_types_raise_type_errors(rng):
    H_query, H_ref = rng.normal(size=(4, 3)), rng.normal(size=(6, 3))
    with pytest.raises(TypeError, match="perplexity must be a finite real number"):
        conditional_probabilities(H_query, H_ref, perplexity="5")
    with pytest.raises(TypeError, match="tol must be a finite real number"):
        top_k_neighbors(H_query, H_ref, 2, tol=None)


@pytest.mark.parametrize(
    "func, name, value, error",
    [
        ("top_k_neighbors", "n_neighbors", True, TypeError),
        ("top_k_neighbors", "renormalize", 1, TypeError),
        ("top_k_neighbors", "max_iter", 0, ValueError),
        ("conditional_probabilities", "chunk_size", False, TypeError),
        ("conditional_probabilities", "max_iter", 2.0, TypeError),
        ("conditional_probabilities", "perplexity", np.nan, ValueError),
        ("conditional_probabilities", "tol", True, TypeError),
    ],
)
def test_parameter_errors_name_the_function(rng, func, name, value, error):
    """A bool is not a number, NaN not a finite one; the message names the
    function, the parameter and what was got."""
    H_query, H_ref = rng.normal(size=(4, 3)), rng.normal(size=(6, 3))
    call = {"top_k_neighbors": top_k_neighbors,
            "conditional_probabilities": conditional_probabilities}[func]
    args = (H_query, H_ref) + ((2,) if func == "top_k_neighbors" else ())
    kwargs = {name: value}
    if name == "n_neighbors":
        args, kwargs = (H_query, H_ref, value), {}
    got = f"got {value!r} ({type(value).__name__})."
    with pytest.raises(error, match=rf"^{func}: {name} must be .*" + re.escape(got)):
        call(*args, **kwargs)


def test_one_top_k_rule_for_rows_and_for_a_selection(rng):
    """top_k_rows (EGL++'s neighbours) and top_indices (a strategy's top-B) are
    one rule: the k largest, ties to the lower index, against a brute force."""
    from sk_eglpp._validation import top_indices, top_k_rows

    values = rng.integers(0, 4, size=(50, 12)).astype(float)  # many ties
    for k in (1, 5, 12):
        expected = np.array(
            [sorted(range(12), key=lambda j, r=row: (-r[j], j))[:k] for row in values]
        )
        np.testing.assert_array_equal(top_k_rows(values, k), expected)
        for row, exp in zip(values, expected, strict=True):
            np.testing.assert_array_equal(top_indices(row, k), exp)
