"""modAL committees as learners: labelled data, linear members, clear refusals."""

import math

import numpy as np
import pytest
import torch
from modAL.models import Committee, CommitteeRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch import NeuralNetRegressor

from sk_eglpp import (
    ActiveLearner,
    CoreSetQuery,
    EGLPlusPlusQuery,
    EMCMQuery,
    LearningLossQuery,
    LinearEGLQuery,
    MCDropoutQuery,
    MultiPeakEntropyQuery,
    RandomQuery,
    coreset,
    egl_linear,
)
from sk_eglpp.query._base import committee_labelled, resolve_learner


@pytest.fixture
def data():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 3))
    y = X @ [1.0, -1.0, 2.0] + 0.5 + 0.3 * rng.normal(size=60)
    return X, y


def _committee(X, y, estimators=None, strategy=coreset, splits=((0, 8), (4, 12))):
    if estimators is None:
        estimators = (LinearRegression(), Ridge(alpha=2.0))
    members = [
        ActiveLearner(est, X_training=X[a:b], y_training=y[a:b])
        for est, (a, b) in zip(estimators, splits, strict=True)
    ]
    return CommitteeRegressor(learner_list=members, query_strategy=strategy)


def _mean_model(committee):
    """f_z of a committee of linear models: its mean prediction, as a model."""
    model = LinearRegression()
    model.coef_ = np.mean([m.estimator.coef_ for m in committee], axis=0)
    model.intercept_ = np.mean([m.estimator.intercept_ for m in committee], axis=0)
    model.n_features_in_ = committee.learner_list[0].estimator.n_features_in_
    return model


def test_committee_labelled_is_the_union_of_the_members(data):
    X, y = data
    committee = _committee(X, y)
    X_lab, y_lab = committee_labelled(committee)
    # members hold rows 0-7 and 4-11: the union is rows 0-11, once each
    np.testing.assert_array_equal(X_lab, X[:12])
    np.testing.assert_array_equal(y_lab, y[:12])
    # members with the same set: that set, duplicates kept
    X_dup, y_dup = np.vstack([X[:5], X[:1]]), np.append(y[:5], y[0])
    same = CommitteeRegressor(learner_list=[
        ActiveLearner(LinearRegression(), X_training=X_dup, y_training=y_dup)
        for _ in range(3)
    ])
    X_lab, y_lab = committee_labelled(same)
    np.testing.assert_array_equal(X_lab, X_dup)
    np.testing.assert_array_equal(y_lab, y_dup)
    # after teach every member has the new rows: they are counted once
    committee.teach(X[20:23], y[20:23])
    X_lab, _ = committee_labelled(committee)
    assert len(X_lab) == 15
    # the keywords take precedence, as for a learner
    est, X_kw, _ = resolve_learner(committee, X[:2], y[:2])
    assert est is committee and len(X_kw) == 2


def test_coreset_uses_the_committees_labelled_data(data):
    X, y = data
    committee = _committee(X, y, strategy=CoreSetQuery())
    X_pool = X[30:]
    idx, X_sel = committee.query(X_pool, n_instances=4)
    # brute force with the union of the members' samples as centres
    centres = [list(c) for c in X[:12]]
    expected = []
    for _ in range(4):
        dists = [
            -1.0 if i in expected else min(math.dist(p, c) for c in centres)
            for i, p in enumerate(X_pool)
        ]
        best = int(np.argmax(dists))
        expected.append(best)
        centres.append(list(X_pool[best]))
    np.testing.assert_array_equal(idx, expected)
    np.testing.assert_array_equal(X_sel, X_pool[idx])


def test_random_query_accepts_committees(data):
    X, y = data
    committee = _committee(X, y, strategy=RandomQuery(random_state=0))
    idx, _ = committee.query(X[30:], n_instances=3)
    expected = RandomQuery(random_state=0).select(None, X[30:], 3)
    np.testing.assert_array_equal(idx, expected)


@pytest.mark.parametrize("cls", [LinearEGLQuery, EMCMQuery])
def test_linear_strategies_score_the_committees_mean_model(data, cls):
    X, y = data
    strategy = cls(n_estimators=5, random_state=0)
    committee = _committee(X, y, strategy=strategy)
    X_pool = X[30:]
    mean_model = _mean_model(committee)
    # the mean of linear members is the committee's prediction
    np.testing.assert_allclose(mean_model.predict(X_pool), committee.predict(X_pool))
    scores = strategy.score(committee, X_pool)
    expected = cls(n_estimators=5, random_state=0).score(
        mean_model, X_pool, X_labelled=X[:12], y_labelled=y[:12]
    )
    np.testing.assert_allclose(scores, expected, rtol=1e-12)
    idx, _ = committee.query(X_pool, n_instances=3)
    np.testing.assert_array_equal(idx, np.argsort(-expected, kind="stable")[:3])


def test_module_level_egl_linear_with_a_committee(data):
    X, y = data
    committee = _committee(X, y, strategy=egl_linear)
    idx, _ = committee.query(X[30:], n_instances=2)
    assert idx.shape == (2,)


def test_classification_committee_for_coreset(data):
    X, y = data
    labels = (y > np.median(y)).astype(int)
    committee = Committee(
        learner_list=[
            ActiveLearner(LogisticRegression(), X_training=X[:10],
                          y_training=labels[:10]),
            ActiveLearner(LogisticRegression(), X_training=X[5:15],
                          y_training=labels[5:15]),
        ],
        query_strategy=CoreSetQuery(),
    )
    idx, _ = committee.query(X[30:], n_instances=2)
    expected = CoreSetQuery().select(
        LogisticRegression(), X[30:], 2, X_labelled=X[:15], y_labelled=labels[:15]
    )
    np.testing.assert_array_equal(idx, expected)


@pytest.mark.parametrize(
    "estimators, match",
    [
        ((LinearRegression(), KNeighborsRegressor(n_neighbors=2)),
         r"every member .* got KNeighborsRegressor for learner_list\[1\]"),
        ((make_pipeline(StandardScaler(), LinearRegression()), LinearRegression()),
         r"no pipeline\), got Pipeline for learner_list\[0\]"),
    ],
)
def test_linear_strategies_refuse_non_linear_members(data, estimators, match):
    X, y = data
    committee = _committee(X, y, estimators=estimators)
    with pytest.raises(TypeError, match=match):
        LinearEGLQuery().select(committee, X[30:], 2)


class _TinyNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(3, 1)
        self.drop = torch.nn.Dropout(0.2)

    def forward(self, x):
        return self.lin(self.drop(x))


@pytest.mark.parametrize(
    "strategy",
    [EGLPlusPlusQuery(), MCDropoutQuery(), LearningLossQuery(),
     MultiPeakEntropyQuery()],
    ids=lambda s: type(s).__name__,
)
def test_network_strategies_refuse_committees(data, strategy):
    X, y = data
    X, y = X.astype(np.float32), y.astype(np.float32).reshape(-1, 1)
    nets = [
        NeuralNetRegressor(_TinyNet, max_epochs=1, train_split=None, verbose=0)
        for _ in range(2)
    ]
    committee = _committee(X, y, estimators=nets)
    with pytest.raises(TypeError, match="needs a single model, got a modAL "
                                        "CommitteeRegressor"):
        strategy(committee, X[30:], 2)
    with pytest.raises(TypeError, match="CommitteeRegressor"):
        strategy.score(committee, X[30:])


class _Committee0421(CommitteeRegressor):
    """modAL 0.4.2.1's committee query: unpacks ``(indices, utilities)``."""

    def query(self, X_pool, return_metrics=False, *query_args, **query_kwargs):
        indices, metrics = self.query_strategy(self, X_pool, *query_args,
                                               **query_kwargs)
        out = (indices, X_pool[indices])
        return out + (metrics,) if return_metrics else out


def test_committee_in_modal_0421_convention_gets_utilities(data):
    X, y = data
    strategy = LinearEGLQuery(n_estimators=4, random_state=1)
    plain = _committee(X, y, strategy=strategy)
    committee = _Committee0421(learner_list=plain.learner_list,
                               query_strategy=strategy)
    idx, X_sel, utilities = committee.query(X[30:], n_instances=3,
                                            return_metrics=True)
    np.testing.assert_allclose(utilities, strategy.score(committee, X[30:])[idx])
    np.testing.assert_array_equal(X_sel, X[30:][idx])
