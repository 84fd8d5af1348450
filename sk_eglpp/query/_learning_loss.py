"""Learning Loss: query the samples with the largest predicted loss."""

import numpy as np

from ._base import BaseQueryStrategy, shared_default

__all__ = ["LearningLossQuery", "learning_loss"]

_HOW_TO = (
    "build the regressor with loss_prediction=True (e.g. "
    "HourglassRegressor(loss_prediction=True)) and fit it"
)


class LearningLossQuery(BaseQueryStrategy):
    """Learning Loss query strategy (Yoo & Kweon, 2019).

    A loss-prediction module, trained jointly with the model, predicts the
    loss the model would incur on a sample; the samples with the largest
    predicted losses are queried. The strategy reads the predictions from the
    model's ``predict_loss(X) -> (n_samples,)``, which
    :class:`~sk_eglpp.HourglassRegressor` provides when built with
    ``loss_prediction=True``.

    Attributes
    ----------
    scores_ : ndarray of shape (n_pool,)
        Predicted losses from the last call (not kept by the shared default
        instance; see :class:`~sk_eglpp.query.BaseQueryStrategy`).

    See Also
    --------
    sk_eglpp.HourglassRegressor : ``loss_prediction``, ``loss_prediction_margin``,
        ``loss_prediction_weight`` and ``loss_prediction_stop_epoch`` set up and
        train the loss-prediction head.
    MultiPeakEntropyQuery : another baseline of the EGL++ paper.

    Notes
    -----
    The predicted losses are trained with a pairwise ranking loss, so only
    their order is meaningful; the selection is the top ``n_instances`` of
    them (ties: lower index first). A ``ValueError`` telling how to build the
    model is raised when it has no loss-prediction head.

    The strategy has no parameters, hence no ``random_state``, ``n_jobs`` or
    ``device``: the predicted losses are deterministic (the model predicts
    them on its own ``device``) and so is their top-``n_instances`` with the
    tie rule above.

    References
    ----------
    .. [1] D. Yoo and I. S. Kweon, "Learning Loss for Active Learning",
       CVPR 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_eglpp import LearningLossQuery
    >>> class Model:
    ...     def predict_loss(self, X):
    ...         return np.asarray(X)[:, 0] ** 2
    >>> X_pool = np.array([[0.5], [-2.0], [1.0]])
    >>> LearningLossQuery().select(Model(), X_pool, n_instances=2)
    array([1, 2])
    """

    #: y is never read, so unannotated (NaN) joints are fine
    _allow_nan_y = True
    _model = "network"
    _parameter_constraints = {}

    def _score(self, context):
        estimator = context.estimator
        name = type(estimator).__name__
        if not hasattr(estimator, "predict_loss"):
            raise ValueError(
                f"LearningLossQuery needs a model with predict_loss(X), got {name}; "
                f"{_HOW_TO}."
            )
        if getattr(estimator, "loss_prediction", True) is False:
            raise ValueError(
                f"LearningLossQuery needs a loss-prediction head, but this {name} "
                f"has loss_prediction=False; {_HOW_TO}."
            )
        losses = np.asarray(estimator.predict_loss(context.X_pool), dtype=np.float64)
        if losses.shape != (context.n_pool,):
            raise ValueError(
                f"predict_loss must return an array of shape ({context.n_pool},), "
                f"got shape {losses.shape}."
            )
        if not np.all(np.isfinite(losses)):
            raise ValueError("predict_loss returned non-finite values.")
        return losses


#: default :class:`LearningLossQuery` instance
learning_loss = shared_default(LearningLossQuery())
