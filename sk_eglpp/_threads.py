"""Thread counts of torch, BLAS and OpenMP, set for a block of work.

One rule for every long job of the package (``simulate``, the labelling round
of ``select_for_annotation``, the CLI's selection map): the job takes
``n_threads`` (default 1) and runs under :class:`thread_limits`. On a
processor of one kind, the results of a job are reproducible for a seed and
a thread count: torch's CPU kernels split sums differently for other counts,
and training amplifies the rounding differences.
"""

import sys

__all__ = ["thread_limits"]


class thread_limits:
    """Torch, BLAS and OpenMP thread counts set for a block (``None``: as is).

    Parameters
    ----------
    n_threads : int or None
        Threads of torch's intra-op pool and of the BLAS / OpenMP libraries
        (through threadpoolctl) inside the block; both are restored after it.

    Examples
    --------
    >>> import torch
    >>> before = torch.get_num_threads()
    >>> with thread_limits(1):
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == before
    True
    """

    def __init__(self, n_threads):
        self.n_threads = n_threads

    def __enter__(self):
        self._torch = self._blas = None
        if self.n_threads is None:
            return self
        from threadpoolctl import threadpool_limits

        self._blas = threadpool_limits(limits=self.n_threads)
        torch = sys.modules.get("torch")  # a net's job has imported it
        if torch is not None:
            self._torch = torch.get_num_threads()
            torch.set_num_threads(self.n_threads)
        return self

    def __exit__(self, *exc):
        if self._torch is not None:
            sys.modules["torch"].set_num_threads(self._torch)
        if self._blas is not None:
            self._blas.restore_original_limits()
        return False
