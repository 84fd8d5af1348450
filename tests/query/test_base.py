"""What every strategy shares: the utilities of a selection and the tags."""

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from sk_eglpp.query import (
    STRATEGIES,
    BaseQueryStrategy,
    QueryTags,
    get_query_tags,
    get_strategy,
    select_with_utilities,
)

TABULAR = ["egl_linear", "emcm", "random_query", "coreset", "greedy_sampling",
           "greedy_sampling_x", "greedy_sampling_y"]
NETWORK = ["egl_pp", "multipeak_entropy", "random_query", "coreset"]


@pytest.fixture(scope="module")
def ridge_problem():
    """(model, X_pool, X_labelled, y_labelled): a ridge fitted on 12 of 40
    samples of a noisy linear function, the other 28 the pool."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = X @ [1.0, -2.0, 0.5] + rng.normal(scale=0.1, size=40)
    model = Ridge(alpha=1.0).fit(X[:12], y[:12])
    return model, X[12:], X[:12], y[:12]


def _seeded(name):
    strategy = get_strategy(name)
    if "random_state" in strategy.get_params():
        strategy.set_params(random_state=0)
    return strategy


@pytest.mark.parametrize("name", TABULAR)
def test_return_utilities_gives_the_selection_and_every_pool_score(ridge_problem, name):
    """The indices equal select's; the utilities equal score's, one per sample."""
    model, X_pool, X_lab, y_lab = ridge_problem
    kwargs = dict(X_labelled=X_lab, y_labelled=y_lab)
    indices, utilities = _seeded(name).select(
        model, X_pool, n_instances=5, return_utilities=True, **kwargs
    )
    plain = _seeded(name).select(model, X_pool, n_instances=5, **kwargs)
    scores = _seeded(name).score(model, X_pool, **kwargs)
    np.testing.assert_array_equal(indices, plain)
    assert utilities.shape == (len(X_pool),)
    np.testing.assert_array_equal(utilities, scores)


@pytest.mark.parametrize("name", NETWORK)
def test_return_utilities_on_a_network(fitted_small_hourglass, small_pose, name):
    X, y = small_pose
    kwargs = dict(X_labelled=X[:8], y_labelled=y[:8])
    indices, utilities = _seeded(name).select(
        fitted_small_hourglass, X[8:], n_instances=4, return_utilities=True, **kwargs
    )
    plain = _seeded(name).select(fitted_small_hourglass, X[8:], n_instances=4,
                                 **kwargs)
    np.testing.assert_array_equal(indices, plain)
    assert utilities.shape == (len(X) - 8,) and np.all(np.isfinite(utilities))


def test_top_selection_takes_the_largest_utilities(ridge_problem):
    model, X_pool, X_lab, y_lab = ridge_problem
    indices, utilities = get_strategy("egl_linear").select(
        model, X_pool, n_instances=6, return_utilities=True,
        X_labelled=X_lab, y_labelled=y_lab,
    )
    np.testing.assert_array_equal(indices, np.argsort(-utilities, kind="stable")[:6])


@pytest.mark.parametrize("bad, error", [(1, TypeError), ("yes", TypeError),
                                        (None, TypeError)])
def test_return_utilities_must_be_a_bool(ridge_problem, bad, error):
    model, X_pool, _, _ = ridge_problem
    with pytest.raises(error, match=r"^RandomQuery: return_utilities must be a bool"):
        get_strategy("random_query").select(model, X_pool, return_utilities=bad)


def test_shared_default_instances_return_utilities_without_keeping_them(ridge_problem):
    """The module-level instances keep no diagnostics, but still return them."""
    model, X_pool, X_lab, y_lab = ridge_problem
    _, utilities = STRATEGIES["egl_linear"].select(
        model, X_pool, n_instances=2, return_utilities=True,
        X_labelled=X_lab, y_labelled=y_lab,
    )
    assert utilities.shape == (len(X_pool),)
    with pytest.raises(AttributeError, match="keeps no diagnostics"):
        STRATEGIES["egl_linear"].scores_  # noqa: B018


def test_select_with_utilities_for_objects_and_bare_callables(ridge_problem):
    model, X_pool, X_lab, y_lab = ridge_problem

    def first_rows(learner, X, n_instances=1, **kwargs):
        return np.arange(n_instances), np.zeros(n_instances)  # modAL 0.4.2 form

    indices, utilities = select_with_utilities(first_rows, model, X_pool, 3)
    np.testing.assert_array_equal(indices, [0, 1, 2])
    assert utilities is None

    class OnlySelect:
        def select(self, learner, X, n_instances=1, **kwargs):
            return np.arange(n_instances)[::-1]

    indices, utilities = select_with_utilities(OnlySelect(), model, X_pool, 2)
    np.testing.assert_array_equal(indices, [1, 0])
    assert utilities is None
    indices, utilities = select_with_utilities(
        get_strategy("emcm"), model, X_pool, 2, X_labelled=X_lab, y_labelled=y_lab
    )
    assert utilities.shape == (len(X_pool),)


EXPECTED_MODEL = {
    "egl_pp": "network", "multipeak_entropy": "network",
    "learning_loss": "network", "mc_dropout": "network",
    "egl_linear": "linear", "emcm": "linear",
    "random_query": "any", "coreset": "any", "greedy_sampling": "any",
    "greedy_sampling_x": "any", "greedy_sampling_y": "any",
}


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_tags_of_every_builtin_strategy(name):
    tags = get_query_tags(name)
    strategy = STRATEGIES[name]
    assert isinstance(tags, QueryTags)
    assert tags == get_query_tags(strategy) == get_query_tags(get_strategy(name))
    assert tags.model == EXPECTED_MODEL[name]
    assert tags.batch == ("batch" in strategy.get_params())
    assert tags.committee == strategy._accept_committee
    assert tags.sparse == strategy._accept_sparse


def test_the_tags_say_which_strategies_take_committees_and_sparse_pools():
    committee = {n for n in STRATEGIES if get_query_tags(n).committee}
    sparse = {n for n in STRATEGIES if get_query_tags(n).sparse}
    assert committee == {"egl_linear", "emcm", "random_query", "coreset"}
    assert sparse == {"egl_linear", "emcm", "random_query"}
    assert {n for n in STRATEGIES if get_query_tags(n).batch} == {
        "egl_pp", "egl_linear", "emcm"
    }


def test_tags_of_a_user_strategy_and_a_bare_callable():
    class FarFromLabelled(BaseQueryStrategy):
        _needs_labelled = True
        _parameter_constraints = {}

        def _score(self, context):  # pragma: no cover - not called
            return np.zeros(context.n_pool)

    assert get_query_tags(FarFromLabelled()) == QueryTags(needs_labelled=True)
    assert get_query_tags(lambda learner, X, n_instances=1: [0]) == QueryTags()


@pytest.mark.parametrize("bad, error, match", [
    ("fast_egl", ValueError, "Unknown strategy 'fast_egl'"),
    (3, TypeError, "strategy must be a strategy object, a name or a callable, got int"),
])
def test_get_query_tags_rejects(bad, error, match):
    with pytest.raises(error, match=match):
        get_query_tags(bad)


@pytest.mark.parametrize(
    "name, error, match",
    [
        ("nope", ValueError, r"Unknown strategy 'nope'; expected one of \["),
        ("EGL_PP", ValueError, "Unknown strategy 'EGL_PP'"),
        ("", ValueError, "Unknown strategy ''"),
        (3, TypeError, r"get_strategy: name must be a str, got 3 \(int\)"),
        (None, TypeError, r"name must be a str, got None \(NoneType\)"),
    ],
)
def test_unknown_strategy_names(name, error, match):
    with pytest.raises(error, match=match):
        get_strategy(name)


def test_every_listed_name_gives_a_fresh_copy():
    for name in STRATEGIES:
        strategy = get_strategy(name)
        assert strategy is not STRATEGIES[name]
        assert type(strategy) is type(STRATEGIES[name])


def test_a_subclass_overriding_select_without_utilities_still_selects(ridge_problem):
    """An older user subclass whose select lacks return_utilities keeps working."""
    from sk_eglpp.query import RandomQuery

    class OwnSelect(RandomQuery):
        def select(self, learner, X_pool, n_instances=1, **kwargs):
            return super().select(learner, X_pool, n_instances=n_instances, **kwargs)

    model, X_pool, _, _ = ridge_problem
    indices, utilities = select_with_utilities(OwnSelect(random_state=0), model,
                                               X_pool, 3)
    assert indices.shape == (3,) and utilities is None


def test_select_with_utilities_rejects_what_cannot_select(ridge_problem):
    model, X_pool, _, _ = ridge_problem
    with pytest.raises(TypeError, match="strategy must be a strategy object with "
                                        r"select\(\) or a callable, got int"):
        select_with_utilities(3, model, X_pool, 1)
