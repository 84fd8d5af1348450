"""Seeding: the one place that seeds torch (devices: ``_param_validation``).

:func:`torch_seed` seeds torch's CPU generator (and the generator of the CUDA
device that the work runs on) inside :func:`torch.random.fork_rng`, so the
caller's RNG state is restored afterwards and nothing is seeded globally.
torch is imported inside the functions: importing this module is cheap.
"""

import contextlib

__all__ = ["cuda_indices", "torch_seed"]


def cuda_indices(device):
    """The CUDA device indices whose generators work on ``device`` draws from.

    Parameters
    ----------
    device : None, str or torch.device
        Where the work runs; ``None`` means the CPU.

    Returns
    -------
    indices : list of int
        ``[]`` for the CPU (and other non-CUDA devices) or when CUDA is not
        available; otherwise the one index of ``device`` (the current CUDA
        device when ``device`` names none).

    Examples
    --------
    >>> cuda_indices("cpu")
    []
    >>> cuda_indices(None)
    []
    """
    if device is None:
        return []
    import torch

    device = torch.device(device)
    if device.type != "cuda" or not torch.cuda.is_available():
        return []
    return [device.index if device.index is not None else torch.cuda.current_device()]


@contextlib.contextmanager
def torch_seed(seed, device=None):
    """Run a block with torch seeded by ``seed``, restoring the RNG state after.

    Parameters
    ----------
    seed : int
        The seed of torch's CPU generator (and of ``device``'s, for CUDA).
    device : None, str or torch.device, default=None
        The device the block draws random numbers on besides the CPU.

    Examples
    --------
    >>> import torch
    >>> before = torch.random.get_rng_state()
    >>> with torch_seed(0):
    ...     a = torch.rand(2)
    >>> with torch_seed(0):
    ...     b = torch.rand(2)
    >>> bool(torch.equal(a, b)), bool(torch.equal(before, torch.random.get_rng_state()))
    (True, True)
    """
    import torch

    with torch.random.fork_rng(devices=cuda_indices(device)):
        torch.manual_seed(int(seed))
        yield
