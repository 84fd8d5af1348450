"""Seeding and devices: the one place that seeds torch and resolves a device.

:func:`torch_seed` seeds torch's CPU generator (and the generator of the CUDA
device that the work runs on) inside :func:`torch.random.fork_rng`, so the
caller's RNG state is restored afterwards and nothing is seeded globally.
:func:`available_device` checks that a device exists on this machine.
torch is imported inside the functions: importing this module is cheap.
"""

import contextlib

__all__ = ["cuda_indices", "torch_seed", "available_device"]


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


def available_device(device):
    """Parse ``device`` and check that this machine has it.

    Parameters
    ----------
    device : str or torch.device
        ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``, ...

    Returns
    -------
    device : torch.device

    Raises
    ------
    ValueError
        When ``device`` is not a torch device, or names a device (CUDA, an
        index, MPS) this machine does not have; the message says why.

    Examples
    --------
    >>> available_device("cpu")
    device(type='cpu')
    >>> available_device("tpu")
    Traceback (most recent call last):
    ...
    ValueError: device 'tpu' is not a torch device (...)
    """
    import torch

    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise ValueError(f"device {device!r} is not a torch device ({exc})") from None
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            build = "built without CUDA" if torch.version.cuda is None else "no GPU"
            raise ValueError(
                f"device {device!r}: CUDA is not available on this machine "
                f"(torch {torch.__version__}, {build}); use 'cpu'"
            )
        if parsed.index is not None and parsed.index >= torch.cuda.device_count():
            raise ValueError(
                f"device {device!r}: this machine has "
                f"{torch.cuda.device_count()} CUDA device(s)"
            )
    elif parsed.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError(f"device {device!r}: MPS is not available on this machine")
    elif parsed.type != "cpu":
        raise ValueError(f"device {device!r}: only cpu, cuda and mps are supported")
    return parsed
