"""modAL's ``ActiveLearner`` with what current scikit-learn broke repaired."""


import numpy as np
from modAL.models import ActiveLearner as _ModalActiveLearner
from modAL.uncertainty import uncertainty_sampling
from modAL.utils.data import data_vstack
from sklearn.utils import check_array, check_consistent_length

__all__ = ["ActiveLearner"]


class ActiveLearner(_ModalActiveLearner):
    """:class:`modAL.models.ActiveLearner` that works on scikit-learn >= 1.8.

    modAL-python (0.4.1 and 0.4.2.1) validates taught data with
    ``check_X_y(..., force_all_finite=...)``; scikit-learn 1.8 removed that
    argument (it is ``ensure_all_finite`` since 1.6), so modAL's ``fit`` and
    ``teach`` raise ``TypeError``. This subclass performs the same checks with
    the new argument and changes nothing else: ``query``, ``predict`` and
    ``score`` are modAL's own. It also keeps ``force_all_finite`` out of the
    estimator's ``fit`` keywords, where modAL 0.4.2.1's constructor puts it.

    Parameters
    ----------
    estimator : estimator
        The model; fitted on ``X_training`` / ``y_training`` when they are given.
    query_strategy : callable
        A strategy such as :data:`sk_eglpp.egl_pp`.
    X_training, y_training : array-like, default=None
        Initial labelled data.
    bootstrap_init : bool, default=False
        Fit the initial model on a bootstrap sample (modAL's option).
    on_transformed : bool, default=False
        modAL's option (strategies of this package ignore it: a pipeline is
        always scored in the space of its final step).
    force_all_finite : bool, default=True
        Reject NaN / inf in taught data. Set it to ``False`` to teach keypoints
        with unannotated (NaN) joints: ``y`` may then hold NaN (never inf), which
        modAL's own check rejects whatever this flag says.
    **fit_kwargs
        Passed to the estimator's ``fit``.

    See Also
    --------
    modAL.models.ActiveLearner : the class this one repairs.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from sk_eglpp import ActiveLearner, random_query
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(20, 2)), rng.normal(size=20)
    >>> learner = ActiveLearner(LinearRegression(), random_query,
    ...                         X_training=X[:5], y_training=y[:5])
    >>> learner.teach(X[5:7], y[5:7])
    >>> learner.X_training.shape
    (7, 2)
    """

    def __init__(
        self,
        estimator,
        query_strategy=uncertainty_sampling,
        X_training=None,
        y_training=None,
        bootstrap_init=False,
        on_transformed=False,
        force_all_finite=True,
        **fit_kwargs,
    ):
        # modAL checks the strategy with ``assert`` (silently skipped under
        # ``python -O``); a user mistake deserves a TypeError that says so.
        if not callable(query_strategy):
            raise TypeError(
                "query_strategy must be a callable such as sk_eglpp.egl_pp (or "
                "sk_eglpp.query.get_strategy(name)), got "
                f"{query_strategy!r} ({type(query_strategy).__name__})."
            )
        # modAL 0.4.2.1 passes force_all_finite on to the estimator's fit when it
        # fits the initial data: construct without data, then fit here.
        super().__init__(
            estimator,
            query_strategy,
            on_transformed=on_transformed,
            force_all_finite=force_all_finite,
            **fit_kwargs,
        )
        self.force_all_finite = force_all_finite
        self.X_training, self.y_training = X_training, y_training
        if X_training is not None:
            self._fit_to_known(bootstrap=bootstrap_init, **fit_kwargs)

    def _check_X_y(self, X, y):
        # modAL's check_X_y(..., force_all_finite=...) with the new keyword. X and
        # y are checked separately because check_X_y always rejects NaN in y,
        # while unannotated joints are NaN keypoints (force_all_finite=False).
        finite = self.force_all_finite
        check_array(
            X,
            accept_sparse=True,
            ensure_2d=False,
            allow_nd=True,
            dtype=None,
            ensure_all_finite=finite,
            input_name="X",
        )
        check_array(
            y,
            accept_sparse=True,
            ensure_2d=False,
            allow_nd=True,
            dtype=None,
            ensure_all_finite=True if finite else "allow-nan",
            input_name="y",
        )
        check_consistent_length(X, y)

    def _add_training_data(self, X, y):
        self._check_X_y(X, y)
        if self.X_training is None:
            self.X_training, self.y_training = X, y
            return
        try:
            X_training = data_vstack((self.X_training, X))
            y_training = data_vstack((self.y_training, y))
        except ValueError as exc:
            raise ValueError(
                "The new training data and labels must have the same dimensions as "
                f"the known ones: X {np.shape(self.X_training)[1:]} and y "
                f"{np.shape(self.y_training)[1:]}, got X {np.shape(X)[1:]} and y "
                f"{np.shape(y)[1:]}."
            ) from exc
        self.X_training, self.y_training = X_training, y_training

    def fit(self, X, y, bootstrap=False, **fit_kwargs):
        """Fit the estimator on ``X, y`` and make them the known data."""
        self._check_X_y(X, y)
        self.X_training, self.y_training = X, y
        return self._fit_to_known(bootstrap=bootstrap, **fit_kwargs)

    def _fit_on_new(self, X, y, bootstrap=False, **fit_kwargs):
        self._check_X_y(X, y)
        if bootstrap:
            # modAL's behaviour (global RNG), kept to change nothing but the check
            idx = np.random.choice(X.shape[0], X.shape[0], replace=True)
            X, y = X[idx], y[idx]
        self.estimator.fit(X, y, **fit_kwargs)
        return self

    def teach(self, X, y, bootstrap=False, only_new=False, **fit_kwargs):
        """Add ``X, y`` to the known data and refit.

        With ``only_new=True`` the estimator is fitted on ``X, y`` alone (for
        warm-started networks); the data is still added to the known data.
        """
        self._add_training_data(X, y)
        if only_new:
            self._fit_on_new(X, y, bootstrap=bootstrap, **fit_kwargs)
        else:
            self._fit_to_known(bootstrap=bootstrap, **fit_kwargs)
