"""How image batches become the network's input: the one uint8 rule.

Images may be kept as uint8 (0-255) to save memory (``load_lspet(...,
dtype="uint8")``); every place that feeds a batch to a network (the
regressor's training and prediction, EGL++'s gradients) converts it with
:func:`image_tensor`, so the rule lives here only.
"""

import torch

__all__ = ["image_tensor"]


def image_tensor(x, dtype=torch.float32):
    """A batch as the network reads it.

    Parameters
    ----------
    x : Tensor
    dtype : torch.dtype, default=torch.float32
        The floating dtype uint8 images are converted to.

    Returns
    -------
    Tensor
        uint8 images (0-255) as ``dtype`` in [0, 1]; any other tensor as it
        is.

    Examples
    --------
    >>> import torch
    >>> image_tensor(torch.tensor([0, 51, 255], dtype=torch.uint8)).tolist()
    [0.0, 0.20000000298023224, 1.0]
    >>> image_tensor(torch.tensor([0.5])).tolist()
    [0.5]
    """
    if isinstance(x, torch.Tensor) and x.dtype == torch.uint8:
        return x.to(dtype) / 255.0
    return x
