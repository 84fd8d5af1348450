"""Ready-made experiments: the problems that ``sk-eglpp simulate`` runs.

Each builder returns the keyword arguments of :func:`simulate` for a preset
(:data:`POSE_PRESETS`, :data:`TOY_PRESETS`) with any setting overridden, so
that ``simulate(**problem, output_dir=..., random_state=...)`` runs from
Python the experiment the command line runs.
"""

from numbers import Integral, Real

import numpy as np

from .._param_validation import (
    POSITIVE_INT,
    InstanceOf,
    Interval,
    StrOptions,
    check_params,
    validate_params,
)
from ..models import LSP_FLIP_PAIRS, pose_estimator

__all__ = [
    "POSE_PRESETS",
    "TOY_PRESETS",
    "pose_estimator",  # re-exported: sk_eglpp.simulation.pose_estimator
    "pose_problem",
    "toy_problem",
]

_PAPER_STRATEGIES = ("egl_pp", "random_query", "coreset", "multipeak_entropy",
                     "learning_loss")

#: the pose presets of ``sk-eglpp simulate --preset``: data, network and protocol
POSE_PRESETS = {
    # the main job: about 5 minutes on a 2-core CPU
    "default": dict(
        n_pool=300, n_test=100, n_initial=40, budget=20, n_cycles=3, n_runs=3,
        image_size=64, depth=3, n_features=16, max_epochs=8, dropout=0.0,
        gray=True, augment=False, strategies=_PAPER_STRATEGIES, fidelity=False,
    ),
    # a smoke test: under 2 minutes
    "quick": dict(
        n_pool=160, n_test=60, n_initial=32, budget=16, n_cycles=2, n_runs=2,
        image_size=32, depth=2, n_features=8, max_epochs=8, dropout=0.0,
        gray=True, augment=False, strategies=_PAPER_STRATEGIES, fidelity=False,
    ),
    # the synthetic selection benchmark: sized for a base model near PCK@0.2
    # 0.5 and curves still rising over the cycles; under an hour on 2 cores
    "benchmark": dict(
        n_pool=1200, n_test=300, n_initial=400, budget=200, n_cycles=3, n_runs=5,
        image_size=32, depth=1, n_features=16, max_epochs=20, dropout=0.1,
        gray=True, augment=False, strategies=_PAPER_STRATEGIES + ("mc_dropout",),
        fidelity=True,
    ),
    # the real-data selection benchmark on LSPET (``--data lspet``): colour
    # 64-pixel crops, no augmentation; about an hour on 2 cores (see the user
    # guide's "Real data")
    "lspet": dict(
        n_pool=2000, n_test=1000, n_initial=500, budget=250, n_cycles=3, n_runs=5,
        image_size=64, depth=3, n_features=16, max_epochs=10, dropout=0.0,
        gray=False, augment=False, strategies=_PAPER_STRATEGIES, fidelity=True,
    ),
}


#: the toy-regression presets of ``sk-eglpp simulate --task toy-regression``: a
#: linear problem with heavy-tailed (Student t, 3 dof) inputs, ridge regression
TOY_PRESETS = {
    "default": dict(
        n_pool=1000, n_test=1000, n_initial=12, budget=4, n_cycles=8, n_runs=10,
        n_features=10, strategies=("egl_linear", "emcm", "random_query"),
        fidelity=False,
    ),
    "quick": dict(
        n_pool=300, n_test=300, n_initial=12, budget=4, n_cycles=3, n_runs=5,
        n_features=10, strategies=("egl_linear", "emcm", "random_query"),
        fidelity=False,
    ),
}

#: the settings of the presets that are booleans
_FLAGS = ("gray", "augment", "fidelity")

#: the settings of the presets that are positive integers
_COUNTS = (
    "n_pool", "n_test", "n_initial", "budget", "n_cycles", "n_runs", "image_size",
    "depth", "n_features", "max_epochs",
)

#: what the counts and flags of a preset may be (overrides are checked)
_SETTING_CONSTRAINTS = {
    **{name: [POSITIVE_INT] for name in _COUNTS},
    **{name: ["boolean"] for name in _FLAGS},
}

#: the real pose data sets, by their name in ``pose_problem(data=...)``
_POSE_DATA = ("synthetic", "lsp", "lspet", "mpii")

#: the constraints of the arguments the problem builders share
_STRATEGIES = [
    None,
    InstanceOf(str, list, tuple, dict,
               description="a strategy name, a list or a dict of strategies"),
]
_DATA_SEED = [Interval(Integral, 0, 2**32 - 1, closed="both")]


def _preset_settings(presets, preset, strategies, overrides, caller):
    """A preset's settings with the overrides applied, checked."""
    settings = dict(presets[preset])
    unknown = sorted(set(overrides) - set(settings))
    if unknown:
        raise TypeError(
            f"Unknown settings {unknown}; the presets have {sorted(settings)}."
        )
    settings.update(overrides)
    check_params(
        {name: settings[name] for name in _SETTING_CONSTRAINTS if name in settings},
        _SETTING_CONSTRAINTS,
        caller,
    )
    for name in _COUNTS:
        if name in settings:
            settings[name] = int(settings[name])
    if strategies is not None:
        settings["strategies"] = strategies
    names = settings["strategies"]
    if isinstance(names, str):
        names = [names]
    settings["strategies"] = dict(names) if isinstance(names, dict) else list(names)
    return settings


def _protocol(settings):
    """The arguments of :func:`simulate` that a preset fixes besides the data."""
    return {
        key: settings[key]
        for key in ("strategies", "n_initial", "budget", "n_cycles", "n_runs",
                    "fidelity")
    }


def _fitting_depth(depth, image_size):
    """``depth`` lowered until ``image_size`` is a multiple of the network's
    size multiple (``4 * 2 ** depth``)."""
    while depth > 1 and image_size % (4 * 2**depth):
        depth -= 1
    return depth


def _needs_loss_head(strategies):
    """Whether Learning Loss is among the strategies (by registry name, as a
    list entry or a dict value, or as an object)."""
    from ..query import LearningLossQuery

    chosen = list(strategies.values()) if isinstance(strategies, dict) else strategies
    return any(
        s == "learning_loss" or isinstance(s, LearningLossQuery) for s in chosen
    )


def _load_pose_data(data, data_dir, settings, max_samples, test_size,
                    random_state):
    """A real data set split at random into a test set and a pool.

    The first ``n_test`` images of a permutation seeded by ``random_state``
    are the test set and the next ``n_pool`` (all the rest when fewer) the
    pool; with ``test_size``, that fraction is the test set and the rest the
    pool.
    """
    from ..datasets import load_lsp, load_lspet, load_mpii

    if data_dir is None:
        raise ValueError(f"data={data!r} needs data_dir, the data set's folder.")
    if test_size is not None:
        test_size = float(test_size)
    loader = {"lsp": load_lsp, "lspet": load_lspet, "mpii": load_mpii}[data]
    loaded = loader(data_dir, image_size=settings["image_size"],
                    as_gray=settings["gray"], max_samples=max_samples)
    X, y = loaded[0], loaded[1]
    order = np.random.default_rng(random_state).permutation(len(X))
    if test_size is not None:
        n_test = max(1, int(round(test_size * len(X))))
        test, pool = order[:n_test], order[n_test:]
    else:
        n_test = settings["n_test"]
        if n_test >= len(X):
            raise ValueError(
                f"n_test must leave images for the pool: {data} has {len(X)} "
                f"images, got n_test={n_test}."
            )
        test, pool = order[:n_test], order[n_test : n_test + settings["n_pool"]]
    return X[pool], y[pool], X[test], y[test]


@validate_params(
    {
        "preset": [StrOptions(sorted(POSE_PRESETS))],
        "strategies": _STRATEGIES,
        "device": ["device"],
        "random_state": _DATA_SEED,
        "data": [StrOptions(_POSE_DATA)],
        "data_dir": [None, "path"],
        "max_samples": [None, POSITIVE_INT],
        "test_size": [None, Interval(Real, 0, 1, closed="neither")],
    }
)
def pose_problem(preset="default", *, strategies=None, device="cpu",
                 random_state=0, data="synthetic", data_dir=None,
                 max_samples=None, test_size=None, **overrides):
    """The pose simulation of ``sk-eglpp simulate --preset PRESET``.

    A stacked-hourglass regressor (:func:`pose_estimator`) scored with PCK
    (its ``score``) on the embedded synthetic pose data, or on LSP / LSPET /
    MPII read from a local folder.

    Parameters
    ----------
    preset : {"default", "quick", "benchmark", "lspet"}, default="default"
        A key of :data:`POSE_PRESETS`. ``"benchmark"`` is the synthetic
        selection benchmark: 400 initial images, 3 cycles of 200, 5 runs, the
        paper's five strategies and ``mc_dropout``, with fidelity measures.
        ``"lspet"`` is the real-data selection benchmark (with
        ``data="lspet"``): a fixed test set of 1,000 LSPET images and a pool
        of 2,000 others, colour 64-pixel crops, 500 initial images, 3 cycles
        of 250, 5 runs, the paper's five strategies, with fidelity measures.
    strategies : list of str or dict, default=None
        Instead of the preset's strategies. The loss-prediction head is added
        to the network when ``learning_loss`` is among them.
    device : str or torch.device, default="cpu"
        Torch device of the network.
    random_state : int, default=0
        Seed of the synthetic data (of the pool / test split for real data).
    data : {"synthetic", "lsp", "lspet", "mpii"}, default="synthetic"
        The images: the embedded generator, or a data set read from
        ``data_dir`` (in grey level when the preset's ``gray`` is true). Of a
        real data set, ``n_test`` images drawn at random (seeded by
        ``random_state``) are the test set and the next ``n_pool`` the pool.
    data_dir : str or path-like, default=None
        The folder of a real data set (its own annotation files and images).
    max_samples : int, default=None
        Read at most this many images of a real data set.
    test_size : float, default=None
        Instead of ``n_test`` and ``n_pool``: the fraction of a real data set
        held out as the test set, in (0, 1), the rest being the pool.
    **overrides
        Any key of the preset (e.g. ``n_runs=2``, ``max_epochs=5``,
        ``gray=False``, ``augment=True``). When ``depth`` is not given, the
        preset's depth is lowered as far as ``image_size`` needs (a multiple
        of ``4 * 2 ** depth``). ``augment`` flips (swapping the LSP joints)
        only real data, whose joints are the 14 LSP joints; the synthetic
        images are rotated and scaled only.

    Returns
    -------
    problem : dict
        Keyword arguments of :func:`simulate` (``estimator``, ``strategies``,
        ``X``, ``y``, ``X_test``, ``y_test``, ``n_initial``, ``budget``,
        ``n_cycles``, ``n_runs``, ``fidelity``): ``simulate(**problem,
        output_dir=..., random_state=...)`` runs it.
    sequences : ndarray of shape (n_pool,) or None
        The synthetic video sequence of every pool image (for
        :func:`plot_selection_map`); ``None`` for real data.

    See Also
    --------
    toy_problem : the linear toy problem.

    Examples
    --------
    >>> problem, sequences = pose_problem("quick", n_pool=40, n_test=10)
    >>> problem["X"].shape, problem["n_initial"], problem["strategies"][0]
    ((40, 1, 32, 32), 32, 'egl_pp')
    """
    from ..datasets import make_pose_dataset

    settings = _preset_settings(
        POSE_PRESETS, preset, strategies, overrides, "pose_problem"
    )
    if "depth" not in overrides:
        settings["depth"] = _fitting_depth(settings["depth"], settings["image_size"])
    if data == "synthetic":
        X, y, sequences = make_pose_dataset(
            settings["n_pool"] + settings["n_test"],
            image_size=settings["image_size"],
            return_sequences=True,
            random_state=random_state,
        )
        n_pool = settings["n_pool"]
        X_pool, y_pool, X_test, y_test = X[:n_pool], y[:n_pool], X[n_pool:], y[n_pool:]
        sequences = sequences[:n_pool]
    else:
        X_pool, y_pool, X_test, y_test = _load_pose_data(
            data, data_dir, settings, max_samples, test_size, random_state,
        )
        sequences = None
    estimator = pose_estimator(
        y_pool.shape[1] // 2,
        in_channels=X_pool.shape[1],
        depth=settings["depth"],
        n_features=settings["n_features"],
        max_epochs=settings["max_epochs"],
        dropout=settings["dropout"],
        loss_prediction=_needs_loss_head(settings["strategies"]),
        augment=settings["augment"],
        flip_pairs=None if data == "synthetic" else LSP_FLIP_PAIRS,
        device=device,
    )
    problem = dict(
        estimator=estimator, X=X_pool, y=y_pool, X_test=X_test, y_test=y_test,
        **_protocol(settings),
    )
    return problem, sequences


@validate_params(
    {
        "preset": [StrOptions(sorted(TOY_PRESETS))],
        "strategies": _STRATEGIES,
        "random_state": _DATA_SEED,
    }
)
def toy_problem(preset="default", *, strategies=None, random_state=0, **overrides):
    """The toy regression of ``sk-eglpp simulate --task toy-regression``.

    A linear problem with heavy-tailed inputs (Student t with 3 degrees of
    freedom, standard normal coefficients and noise) and ridge regression
    (``alpha=1e-2``) in a :class:`~sklearn.preprocessing.StandardScaler`
    pipeline, scored with the negated RMSE.

    Parameters
    ----------
    preset : {"default", "quick"}, default="default"
        A key of :data:`TOY_PRESETS`.
    strategies : list of str or dict, default=None
        Instead of the preset's strategies.
    random_state : int, default=0
        Seed of the data.
    **overrides
        Any key of the preset (e.g. ``n_runs=2``, ``n_features=5``).

    Returns
    -------
    problem : dict
        Keyword arguments of :func:`simulate` (``estimator``, ``strategies``,
        ``X``, ``y``, ``X_test``, ``y_test``, ``n_initial``, ``budget``,
        ``n_cycles``, ``n_runs``, ``fidelity``, ``scoring``).

    See Also
    --------
    pose_problem : the pose problem.

    Examples
    --------
    >>> from sk_eglpp.simulation import simulate, toy_problem
    >>> problem = toy_problem("quick", n_runs=2)
    >>> problem["X"].shape, problem["scoring"]
    ((300, 10), 'neg_root_mean_squared_error')
    >>> results = simulate(**problem, random_state=0)
    >>> results.strategies
    ['egl_linear', 'emcm', 'random_query']
    """
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    settings = _preset_settings(
        TOY_PRESETS, preset, strategies, overrides, "toy_problem"
    )
    rng = np.random.default_rng(random_state)
    n_pool = settings["n_pool"]
    n = n_pool + settings["n_test"]
    n_features = settings["n_features"]
    X = rng.standard_t(3, size=(n, n_features))
    coef = rng.normal(size=n_features)
    y = X @ coef + rng.normal(scale=1.0, size=n)
    return dict(
        estimator=make_pipeline(StandardScaler(), Ridge(alpha=1e-2)),
        X=X[:n_pool], y=y[:n_pool], X_test=X[n_pool:], y_test=y[n_pool:],
        scoring="neg_root_mean_squared_error",
        **_protocol(settings),
    )
