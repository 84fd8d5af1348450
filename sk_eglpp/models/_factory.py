"""The stacked-hourglass regressor of the simulations and the labelling round."""

from ._regressor import HourglassRegressor

__all__ = ["pose_estimator"]


def pose_estimator(
    n_joints=14,
    *,
    in_channels=1,
    depth=3,
    n_features=16,
    max_epochs=8,
    dropout=0.0,
    loss_prediction=False,
    augment=False,
    flip_pairs=None,
    device="cpu",
):
    """The stacked-hourglass regressor of the pose simulations.

    Two stacks, Adam with learning rate 3e-3, batches of 8.

    Parameters
    ----------
    n_joints : int, default=14
    in_channels : int, default=1
    depth, n_features, dropout
        ``module__depth``, ``module__n_features``, ``module__dropout``.
    max_epochs : int, default=8
        Epochs of the base model's fit and of every cycle's continued training.
    loss_prediction : bool, default=False
        With the loss-prediction head (needed by ``learning_loss``).
    augment : bool, default=False
        Train with the stacked hourglass' augmentation: rotations of up to
        30 degrees, scales of 0.75-1.25 and, when ``flip_pairs`` is given,
        horizontal flips swapping those joints.
    flip_pairs : sequence of (int, int), default=None
        Left/right joint pairs (:data:`~sk_eglpp.models.LSP_FLIP_PAIRS` for
        the 14 LSP joints); ``None``: no flips.
    device : str, default="cpu"

    Returns
    -------
    estimator : HourglassRegressor
        Unfitted.

    Examples
    --------
    >>> pose_estimator(depth=1, n_features=8).get_params()["module__depth"]
    1
    """
    # dropout only when asked: the fingerprints of older output folders hold
    # no module__dropout
    extra = {"module__dropout": dropout} if dropout else {}
    if augment:
        extra.update(max_rotation=30.0, scale_range=(0.75, 1.25),
                     flip_pairs=flip_pairs)
    return HourglassRegressor(
        module__n_joints=n_joints,
        module__n_stacks=2,
        module__n_features=n_features,
        module__depth=depth,
        module__in_channels=in_channels,
        max_epochs=max_epochs,
        lr=3e-3,
        batch_size=8,
        device=device,
        loss_prediction=loss_prediction,
        **extra,
    )
