"""PCK / PCKh against hand-computed values and a per-joint loop."""

import math

import numpy as np
import pytest
import sklearn
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.neighbors import KNeighborsRegressor

from sk_eglpp.metrics import (
    make_pck_scorer,
    make_pckh_scorer,
    pck,
    pck_scorer,
    pckh,
)


def _pck_reference(y_true, y_pred, alpha, torso):
    """Loop over samples and joints (torso = joint pair)."""
    t = np.asarray(y_true, float).reshape(len(y_true), -1, 2)
    p = np.asarray(y_pred, float).reshape(len(y_pred), -1, 2)
    hits = total = 0
    pairs = [torso] if np.ndim(torso) == 1 else torso
    for n in range(len(t)):
        size = math.nan
        for a, b in pairs:  # the first annotated pair
            if math.isnan(size):
                size = math.dist(t[n, a], t[n, b])
        if math.isnan(size) or size == 0:
            continue
        for j in range(t.shape[1]):
            if np.isnan(t[n, j]).any():
                continue
            total += 1
            d = math.dist(t[n, j], p[n, j])
            hits += d <= alpha * size  # NaN distance: False
    return hits / total


def _lsp_pose():
    """A 14-joint LSP pose: right shoulder (8) at (0, 0), left hip (3) at (30, 40)."""
    pose = np.zeros((14, 2))
    pose[:, 0] = np.arange(14) * 3.0
    pose[:, 1] = 100.0
    pose[8] = (0.0, 0.0)
    pose[3] = (30.0, 40.0)  # torso size 50 -> PCK@0.2 threshold 10 px
    return pose


def test_pck_hand_computed():
    truth = _lsp_pose()[None]
    pred = truth.copy()
    pred[0, 0] += (6.0, 8.0)  # distance 10: correct (<=)
    pred[0, 1] += (0.0, 10.5)  # 10.5: wrong
    pred[0, 2] += (40.0, 0.0)  # wrong
    truth_nan = truth.copy()
    truth_nan[0, 5] = np.nan  # ignored
    pred[0, 5] += 100.0  # would be wrong, but not annotated
    # 13 annotated joints, 2 wrong -> 11 / 13
    assert pck(truth_nan, pred) == pytest.approx(11 / 13)
    assert pck(truth_nan.reshape(1, -1), pred.reshape(1, -1)) == pytest.approx(11 / 13)
    # alpha 0.1 -> 5 px: joints 0, 1, 2 wrong -> 10 / 13
    assert pck(truth_nan, pred, alpha=0.1) == pytest.approx(10 / 13)


def test_pck_perfect_far_and_nan_prediction(rng):
    truth = _lsp_pose()[None] + rng.normal(0, 1, (5, 14, 2))
    assert pck(truth, truth) == 1.0
    assert pck(truth, truth + 1000.0) == 0.0
    pred = truth.copy()
    pred[:, 4] = np.nan  # a NaN prediction is a miss
    assert pck(truth, pred) == pytest.approx(13 / 14)


def test_pck_matches_reference(rng):
    truth = _lsp_pose()[None] + rng.normal(0, 5, (30, 14, 2))
    pred = truth + rng.normal(0, 6, truth.shape)
    truth[rng.random((30, 14)) < 0.2] = np.nan
    truth[0, 8] = np.nan  # right shoulder missing: other diagonal (9, 2)
    truth[1, [3, 2]] = np.nan  # both hips missing: sample 1 left out
    for alpha in (0.1, 0.2, 0.5):
        expected = _pck_reference(truth, pred, alpha, [(8, 3), (9, 2)])
        assert pck(truth, pred, alpha) == pytest.approx(expected)
        expected = _pck_reference(truth, pred, alpha, (8, 3))
        assert pck(truth, pred, alpha, torso=(8, 3)) == pytest.approx(expected)
        expected = _pck_reference(truth, pred, alpha, (12, 13))
        assert pck(truth, pred, alpha, torso=(12, 13)) == pytest.approx(expected)


def test_pck_torso_fallback_hand_computed():
    truth = _lsp_pose()[None].copy()
    truth[0, 9] = (0.0, 0.0)
    truth[0, 2] = (60.0, 80.0)  # other diagonal: 100 -> threshold 20 px
    pred = truth.copy()
    pred[0, 0] += (0.0, 15.0)  # wrong for torso 50, right for torso 100
    assert pck(truth, pred) == pytest.approx(13 / 14)
    truth[0, 8] = np.nan  # right shoulder not annotated: second diagonal
    pred[0, 8] = np.nan
    assert pck(truth, pred) == pytest.approx(1.0)
    assert pck(truth, pred, torso=[(8, 3), (0, 13)]) == pytest.approx(
        _pck_reference(truth, pred, 0.2, [(8, 3), (0, 13)])
    )


def test_pck_per_joint(rng):
    truth = _lsp_pose()[None] + rng.normal(0, 2, (10, 14, 2))
    pred = truth.copy()
    pred[:, 0] += 100.0
    pred[:5, 1] += 100.0
    per_joint = pck(truth, pred, average="joints")
    assert per_joint.shape == (14,)
    np.testing.assert_allclose(per_joint[:3], [0.0, 0.5, 1.0])


def test_pck_default_torso_other_joint_counts(rng):
    # 16 joints (MPII order): right shoulder 12, left hip 3
    truth = rng.normal(0, 20, (8, 16, 2))
    pred = truth + rng.normal(0, 4, truth.shape)
    assert pck(truth, pred) == pytest.approx(_pck_reference(truth, pred, 0.2, (12, 3)))
    # 5 joints: bounding-box diagonal of the ground truth
    truth = np.array([[[0.0, 0.0], [30.0, 40.0], [10.0, 10.0], [5.0, 5.0], [1, 1]]])
    pred = truth.copy()
    pred[0, 2] += (0.0, 10.0)  # 10 <= 0.2 * 50
    pred[0, 3] += (0.0, 10.1)  # miss
    assert pck(truth, pred) == pytest.approx(4 / 5)
    assert pck(truth, pred, torso="bbox") == pytest.approx(4 / 5)


def test_pck_nothing_to_score_warns():
    truth = np.full((2, 14, 2), np.nan)
    with pytest.warns(UserWarning, match="no annotated joint") as record:
        assert math.isnan(pck(truth, np.zeros_like(truth)))
    assert record[0].filename == __file__  # the warning points at the caller


def test_pckh_hand_computed():
    truth = np.array([[[0.0, 0.0], [10.0, 10.0], [20.0, 20.0], [np.nan, np.nan]]])
    pred = truth.copy()
    pred[0, 0] += (3.0, 0.0)  # threshold 0.5 * 0.6 * 10 = 3: correct
    pred[0, 1] += (0.0, 3.1)  # wrong
    pred[0, 3] = (0.0, 0.0)  # not annotated
    boxes = np.array([[5.0, 5.0, 11.0, 13.0]])  # diagonal 10
    assert pckh(truth, pred, boxes) == pytest.approx(2 / 3)
    assert pckh(truth, pred, boxes, alpha=1.0) == pytest.approx(1.0)
    assert pckh(truth, truth + 100, boxes) == 0.0
    assert pckh(truth, np.nan_to_num(truth), boxes) == 1.0


def test_errors():
    with pytest.raises(ValueError, match="same samples and joints"):
        pck(np.zeros((2, 28)), np.zeros((2, 26)))
    with pytest.raises(ValueError, match="even number of columns"):
        pck(np.zeros((2, 27)), np.zeros((2, 27)))
    with pytest.raises(ValueError, match=r"alpha must be .* in \(0, inf\)"):
        pck(np.zeros((2, 28)), np.zeros((2, 28)), alpha=0)
    with pytest.raises(ValueError, match=r"torso joints must be in \[0, 13\]"):
        pck(np.zeros((2, 28)), np.zeros((2, 28)), torso=(0, 14))
    with pytest.raises(ValueError, match="torso must be a pair"):
        pck(np.zeros((2, 28)), np.zeros((2, 28)), torso="hips")
    with pytest.raises(ValueError, match="torso pairs must hold two joints"):
        pck(np.zeros((2, 28)), np.zeros((2, 28)), torso=[(1, 2, 3)])
    with pytest.raises(TypeError, match="torso must be a pair of joint indices"):
        pck(np.zeros((2, 28)), np.zeros((2, 28)), torso=[(1, None)])
    with pytest.raises(ValueError, match=r"average must be one of \['all', 'joints'\]"):
        pck(np.ones((2, 28)), np.ones((2, 28)), torso="bbox", average="mean")
    with pytest.raises(
        ValueError, match=r"head_boxes must have shape \(n_samples, 4\)"
    ):
        pckh(np.zeros((2, 4)), np.zeros((2, 4)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match="at least one sample"):
        pck(np.zeros((0, 28)), np.zeros((0, 28)))


@pytest.mark.parametrize(
    "call, message, error",
    [
        (lambda y: pck(y, y, alpha=True), r"^pck: alpha must be a finite real "
         r"number in \(0, inf\), got True \(bool\)\.", TypeError),
        (lambda y: pck(y, y, alpha=np.inf), r"^pck: alpha must be .*got inf",
         ValueError),
        (lambda y: pck(y, y, average=None), r"^pck: average must be one of "
         r"\['all', 'joints'\], got None \(NoneType\)\.", TypeError),
        (lambda y: pckh(y, y, np.zeros((2, 4)), alpha="0.5"),
         r"^pckh: alpha must be .*got '0\.5' \(str\)\.", TypeError),
        (lambda y: pckh(y, y, np.zeros((2, 4)), average="mean"),
         r"^pckh: average must be one of", ValueError),
        (lambda y: make_pck_scorer(alpha=0), r"^make_pck_scorer: alpha must be",
         ValueError),
        (lambda y: make_pckh_scorer(alpha=None), r"^make_pckh_scorer: alpha must be",
         TypeError),
    ],
)
def test_parameter_errors_name_the_function(call, message, error):
    """Bad parameters fail before any work, the scorers' when they are made; a
    bool is not a number."""
    with pytest.raises(error, match=message):
        call(np.zeros((2, 28)))


def _tabular_pose_data(rng, n=40):
    X = rng.normal(size=(n, 3))
    base = _lsp_pose().ravel()
    y = base + 10 * X @ rng.normal(size=(3, 28))
    return X, y


def test_pck_scorer_in_grid_search(rng):
    X, y = _tabular_pose_data(rng)
    search = GridSearchCV(
        KNeighborsRegressor(), {"n_neighbors": [1, 3]}, scoring=pck_scorer, cv=2
    ).fit(X, y)
    assert 0.0 <= search.best_score_ <= 1.0
    est = KNeighborsRegressor(n_neighbors=3).fit(X, y)
    assert pck_scorer(est, X, y) == pytest.approx(pck(y, est.predict(X)))
    strict = make_pck_scorer(alpha=0.01)
    assert strict(est, X, y) <= pck_scorer(est, X, y)


def test_pckh_scorer_with_metadata_routing(rng):
    X, y = _tabular_pose_data(rng)
    boxes = np.tile([0.0, 0.0, 30.0, 40.0], (len(X), 1))
    with sklearn.config_context(enable_metadata_routing=True):
        scorer = make_pckh_scorer(alpha=0.5)
        scores = cross_validate(
            KNeighborsRegressor(n_neighbors=2),
            X,
            y,
            cv=2,
            scoring=scorer,
            params={"head_boxes": boxes},
        )["test_score"]
    est = KNeighborsRegressor(n_neighbors=2).fit(X[20:], y[20:])
    assert scores[0] == pytest.approx(pckh(y[:20], est.predict(X[:20]), boxes[:20]))


def _noisy_keypoints():
    """(y_true, y_pred): 4 samples of 14 joints, predictions off by about 2."""
    rng = np.random.default_rng(1)
    y_true = rng.uniform(0, 30, size=(4, 28))
    return y_true, y_true + rng.normal(scale=2.0, size=y_true.shape)


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda t, p: (t, p[:2]), ValueError, "must hold the same samples and joints"),
        (lambda t, p: (t[:, :5], p[:, :5]), ValueError, "even number of columns"),
        (lambda t, p: (t[:0], p[:0]), ValueError, "at least one sample, got 0"),
        (lambda t, p: (t[0], p[0]), ValueError, r"got shape \(28,\)"),
        (lambda t, p: (np.full_like(t, np.inf), p), ValueError,
         "y_true must be finite or NaN"),
        (lambda t, p: (np.full(t.shape, "a", dtype=object), p), ValueError,
         "y_true must hold numbers"),
        (lambda t, p: (t, np.full(p.shape, "a", dtype=object)), ValueError,
         "y_pred must hold numbers"),
    ],
)
def test_pck_rejects(make, error, match):
    with pytest.raises(error, match=match):
        pck(*make(*_noisy_keypoints()))


def test_pck_documented_results():
    pd = pytest.importorskip("pandas")
    y_true, y_pred = _noisy_keypoints()
    expected = pck(y_true, y_pred)
    assert pck(pd.DataFrame(y_true), pd.DataFrame(y_pred)) == expected
    assert pck(y_true.astype(np.float32), y_pred) == pytest.approx(expected)
    with np.errstate(all="raise"):
        assert pck(y_true, np.full_like(y_pred, np.inf)) == 0.0  # inf: a miss
        assert pck(y_true, np.full_like(y_pred, np.nan)) == 0.0  # NaN: a miss
        assert pck(y_true, np.full_like(y_pred, 1e308)) == 0.0  # no overflow
    with pytest.warns(UserWarning, match="no annotated joint"):
        assert np.isnan(pck(np.full_like(y_true, np.nan), y_pred))
    for alpha, error in ((0, ValueError), (float("nan"), ValueError),
                         ("0.2", TypeError), (True, TypeError)):
        with pytest.raises(error, match="alpha must be"):
            pck(y_true, y_pred, alpha=alpha)
    with pytest.raises(ValueError, match=r"torso joints must be in \[0, 13\]"):
        pck(y_true, y_pred, torso=(0, 99))
    with pytest.raises(
        ValueError, match=r"^pck: average must be one of \['all', 'joints'\]"
    ):
        pck(y_true, y_pred, average="x")
    with pytest.raises(TypeError, match="average must be one of"):
        pck(y_true, y_pred, average=None)


def test_pckh_rejects():
    y_true, y_pred = _noisy_keypoints()
    boxes = np.tile([0.0, 0.0, 6.0, 8.0], (4, 1))
    assert 0.0 <= pckh(y_true, y_pred, boxes) <= 1.0
    with pytest.raises(ValueError, match=r"head_boxes must have shape .* got \(3, 4\)"):
        pckh(y_true, y_pred, boxes[:3])
    with pytest.raises(ValueError, match="head_boxes must be finite or NaN"):
        pckh(y_true, y_pred, np.full((4, 4), np.inf))
    with pytest.raises(ValueError, match="head_boxes must hold numbers"):
        pckh(y_true, y_pred, [["a"] * 4] * 4)
    with pytest.warns(UserWarning, match="no annotated joint"):
        assert np.isnan(pckh(y_true, y_pred, np.full((4, 4), np.nan)))
