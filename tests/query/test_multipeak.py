"""Tests of MultiPeakEntropyQuery against hand-computed values and a slow loop."""

import math

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.linear_model import LinearRegression

from sk_eglpp import ActiveLearner, MultiPeakEntropyQuery, multipeak_entropy
from sk_eglpp.query import STRATEGIES
from sk_eglpp.query._multipeak import heatmap_peaks


class HeatmapModel(RegressorMixin, BaseEstimator):
    """Stand-in whose 'predicted' heatmaps are the input images themselves."""

    def fit(self, X, y):
        self.fitted_ = True
        return self

    def predict(self, X):
        return np.zeros((len(X), 2 * X.shape[1]))

    def predict_heatmaps(self, X):
        return np.asarray(X, dtype=np.float64)


def gaussian(h, w, centre, sigma=1.0, amp=1.0):
    yy, xx = np.mgrid[:h, :w]
    return amp * np.exp(-((yy - centre[0]) ** 2 + (xx - centre[1]) ** 2) / sigma**2)


def slow_peaks(hm, min_distance, n_peaks, threshold_rel, threshold_abs):
    """Peak values of one map by an explicit scan of every window."""
    h, w = hm.shape
    low, high = hm.min(), hm.max()
    found = []
    for i in range(h):
        for j in range(w):
            v = hm[i, j]
            if v <= low:
                continue
            if threshold_rel is not None and v < threshold_rel * high:
                continue
            if threshold_abs is not None and v < threshold_abs:
                continue
            ok = True
            for a in range(max(0, i - min_distance), min(h, i + min_distance + 1)):
                for b in range(max(0, j - min_distance), min(w, j + min_distance + 1)):
                    u = hm[a, b]
                    if u > v or (u == v and a * w + b < i * w + j):
                        ok = False
            if ok:
                found.append(v)
    found.sort(reverse=True)
    return found if n_peaks is None else found[:n_peaks]


def slow_entropy(values):
    if not values:
        return 0.0
    z = sum(math.exp(v) for v in values)
    return -sum(math.exp(v) / z * math.log(math.exp(v) / z) for v in values)


def slow_scores(H, aggregate="sum", **params):
    out = []
    for sample in H:
        ent = [slow_entropy(slow_peaks(hm, **params)) for hm in sample]
        out.append({"sum": sum, "mean": np.mean, "max": max}[aggregate](ent))
    return np.array(out)


def test_one_clean_peak_scores_lower_than_two_equal_peaks():
    n_joints, h, w = 3, 16, 16
    one = np.stack([gaussian(h, w, (4 + j, 5)) for j in range(n_joints)])
    two = np.stack(
        [
            gaussian(h, w, (4 + j, 3)) + gaussian(h, w, (4 + j, 12))
            for j in range(n_joints)
        ]
    )
    H = np.stack([one, two])
    for aggregate, expected in [("sum", n_joints * math.log(2)), ("mean", math.log(2)),
                                ("max", math.log(2))]:
        scores = MultiPeakEntropyQuery(aggregate=aggregate).score(HeatmapModel(), H)
        np.testing.assert_allclose(scores, [0.0, expected], atol=1e-12)
        assert scores[0] < scores[1]


def test_hand_computed_value():
    hm = np.zeros((1, 2, 12, 12))
    hm[0, 0, 2, 2], hm[0, 0, 2, 9], hm[0, 0, 9, 5] = 1.0, 0.5, 0.25  # three peaks
    hm[0, 1, 6, 6] = 0.8  # a single peak
    # softmax over (1, 0.5, 0.25): weights e^1, e^0.5, e^0.25
    e = [math.e, math.e**0.5, math.e**0.25]
    p = [v / sum(e) for v in e]
    h3 = -sum(q * math.log(q) for q in p)
    # by hand: p = (0.4810, 0.2918, 0.2272), -sum p ln p = 0.3520 + 0.3594 + 0.3367
    assert abs(h3 - 1.0481) < 1e-4
    strategy = MultiPeakEntropyQuery(min_distance=2, n_peaks=5, threshold_rel=None)
    np.testing.assert_allclose(strategy.score(HeatmapModel(), hm), [h3], rtol=1e-12)
    # at most two peaks: softmax over (1, 0.5)
    p2 = 1 / (1 + math.exp(-0.5))
    h2 = -(p2 * math.log(p2) + (1 - p2) * math.log(1 - p2))
    strategy.set_params(n_peaks=2)
    np.testing.assert_allclose(strategy.score(HeatmapModel(), hm), [h2], rtol=1e-12)
    # a relative threshold of 0.3 drops the 0.25 peak
    strategy.set_params(n_peaks=None, threshold_rel=0.3)
    np.testing.assert_allclose(strategy.score(HeatmapModel(), hm), [h2], rtol=1e-12)
    strategy.set_params(threshold_rel=None, threshold_abs=0.6)
    np.testing.assert_allclose(strategy.score(HeatmapModel(), hm), [0.0], atol=1e-15)


def test_min_distance_and_plateaus():
    hm = np.zeros((1, 9, 9))
    hm[0, 4, 2], hm[0, 4, 5] = 1.0, 0.9  # 3 pixels apart
    np.testing.assert_array_equal(heatmap_peaks(hm, min_distance=3, n_peaks=2),
                                  [[1.0, -np.inf]])
    np.testing.assert_array_equal(heatmap_peaks(hm, min_distance=2, n_peaks=2),
                                  [[1.0, 0.9]])
    plateau = np.zeros((1, 9, 9))
    plateau[0, 3:5, 3:5] = 1.0
    np.testing.assert_array_equal(heatmap_peaks(plateau, min_distance=1, n_peaks=3),
                                  [[1.0, -np.inf, -np.inf]])
    # a constant map has no peak, so its entropy is zero
    assert MultiPeakEntropyQuery().score(HeatmapModel(), np.ones((1, 1, 5, 5)))[0] == 0


@pytest.mark.parametrize(
    "params",
    [
        dict(min_distance=1, n_peaks=None, threshold_rel=None, threshold_abs=None),
        dict(min_distance=2, n_peaks=5, threshold_rel=0.1, threshold_abs=None),
        dict(min_distance=3, n_peaks=2, threshold_rel=0.5, threshold_abs=0.2),
    ],
)
@pytest.mark.parametrize("aggregate", ["sum", "mean", "max"])
def test_matches_slow_reference_on_random_heatmaps(params, aggregate):
    rng = np.random.default_rng(0)
    H = rng.random((4, 3, 10, 11))
    H[1] = np.round(H[1], 1)  # many ties and plateaus
    expected = slow_scores(H, aggregate=aggregate, **params)
    got = MultiPeakEntropyQuery(aggregate=aggregate, batch_size=3, **params).score(
        HeatmapModel(), H
    )
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


def test_select_and_batch_size_invariance():
    rng = np.random.default_rng(1)
    H = rng.random((20, 2, 8, 8))
    a = MultiPeakEntropyQuery(batch_size=1).score(HeatmapModel(), H)
    b = MultiPeakEntropyQuery(batch_size=256).score(HeatmapModel(), H)
    np.testing.assert_allclose(a, b, rtol=1e-13)
    idx = MultiPeakEntropyQuery().select(HeatmapModel(), H, 5)
    np.testing.assert_array_equal(idx, np.argsort(-a, kind="stable")[:5])


def test_modal_loop_with_stand_in():
    rng = np.random.default_rng(2)
    X = rng.random((40, 2, 8, 8)).astype(np.float32)
    y = rng.random((40, 4))
    learner = ActiveLearner(
        HeatmapModel(), multipeak_entropy, X_training=X[:4], y_training=y[:4]
    )
    pool = np.arange(4, 40)
    for _ in range(3):
        idx, X_sel = learner.query(X[pool], n_instances=3)
        assert len(set(idx.tolist())) == 3 and np.all((idx >= 0) & (idx < len(pool)))
        np.testing.assert_array_equal(X_sel, X[pool][idx])
        learner.teach(X[pool][idx], y[pool][idx])
        pool = np.delete(pool, idx)
    assert learner.X_training.shape[0] == 13


def test_params_and_registry():
    s = MultiPeakEntropyQuery(min_distance=3, aggregate="max")
    assert clone(s).get_params()["aggregate"] == "max"
    assert STRATEGIES["multipeak_entropy"] is multipeak_entropy


def test_bad_inputs():
    H = np.random.default_rng(3).random((5, 2, 6, 6))
    model = HeatmapModel()
    with pytest.raises(ValueError, match="needs a model with predict_heatmaps"):
        MultiPeakEntropyQuery().score(LinearRegression(), np.zeros((5, 2)))
    with pytest.raises(ValueError, match=r"shape \(5, n_joints, height, width\)"):
        MultiPeakEntropyQuery().score(model, np.zeros((5, 36)))
    with pytest.raises(ValueError, match="aggregate must be one of"):
        MultiPeakEntropyQuery(aggregate="median").score(model, H)
    with pytest.raises(ValueError, match=r"min_distance must be an int .* got 0"):
        MultiPeakEntropyQuery(min_distance=0).score(model, H)
    with pytest.raises(TypeError, match=r"n_peaks must be an int .* got 2.5"):
        MultiPeakEntropyQuery(n_peaks=2.5).score(model, H)
    with pytest.raises(TypeError, match="threshold_rel must be a finite real number"):
        MultiPeakEntropyQuery(threshold_rel="high").score(model, H)
    with pytest.raises(ValueError, match=r"n_instances must be in \[1, 5\], got 6"):
        MultiPeakEntropyQuery().select(model, H, 6)
    bad = H.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        MultiPeakEntropyQuery().select(model, bad, 1)


# -- with the stacked-hourglass regressor ------------------------------------


def test_hourglass_scores_equal_slow_reference_on_its_heatmaps(
    small_pose, fitted_small_hourglass
):
    X, _ = small_pose
    net = fitted_small_hourglass
    scores = MultiPeakEntropyQuery(batch_size=5).score(net, X[8:])
    heatmaps = net.predict_heatmaps(X[8:]).astype(np.float64)
    expected = slow_scores(
        heatmaps, min_distance=2, n_peaks=5, threshold_rel=0.1, threshold_abs=None
    )
    np.testing.assert_allclose(scores, expected, rtol=1e-10)


def test_flat_and_tied_heatmaps(strict_numerics):
    """Constant maps have no peak (entropy 0); k equal peaks give log(k)."""

    class Heatmaps:
        def __init__(self, maps):
            self.maps = maps

        def predict_heatmaps(self, X):
            return self.maps[np.asarray(X, dtype=int)[:, 0]]

    maps = np.zeros((4, 2, 9, 9))
    maps[1] = 1e-12  # constant, tiny
    maps[2] = 1e12  # constant, huge
    maps[3, :, 1, 1] = maps[3, :, 7, 7] = maps[3, :, 1, 7] = 1e12  # 3 equal peaks
    strategy = MultiPeakEntropyQuery()
    X_pool = np.arange(4.0)[:, None]
    with strict_numerics():
        scores = strategy.score(Heatmaps(maps), X_pool)
    np.testing.assert_allclose(scores, [0.0, 0.0, 0.0, 2 * np.log(3)])
