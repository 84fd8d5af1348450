"""The driver: plans the computation, builds the cotangents, runs the batches.

:func:`squared_gradient_norms` and :func:`expected_gradient_norms` check their
parameters, make a private eval-mode copy of the module and choose the engine
(:class:`_Plan`), split the batches into joblib tasks and, per batch, build
the output gradients to back-propagate: one per (input, target) pair
(``"exact"``) or the leading singular directions of their weighted matrix
(``"lowrank"``).
"""

import copy
import ctypes
import functools
import os
import sys
import threading
from numbers import Real

import numpy as np
import torch
from joblib import Parallel, delayed, effective_n_jobs
from torch import nn

from .._param_validation import (
    N_JOBS,
    POSITIVE_INT,
    VERBOSE,
    InstanceOf,
    Interval,
    StrOptions,
    validate_params,
)
from .._progress import progress
from ._backprop import Problem
from ._checks import (
    METHODS,
    PARAMETER_KEYWORDS,
    REDUCTIONS,
    ExactMethod,
    check_inputs,
    check_probabilities,
    select_parameters,
)
from ._layerwise import is_fast_module, layerwise_batch
from ._per_input import per_input_batch

__all__ = ["expected_gradient_norms", "squared_gradient_norms"]


class _Plan:
    """A private eval-mode copy of the module and the engine to use on it.

    The copy keeps the caller's module untouched (mode, ``requires_grad``
    flags, parameters, buffers and ``.grad``), and is what joblib workers get.
    """

    def __init__(self, module, parameters, device):
        selected = select_parameters(module, parameters)
        names = [name for name, _ in module.named_parameters()]
        by_id = {id(p): name for name, p in module.named_parameters()}
        chosen = {by_id[id(p)] for p in selected}
        work = copy.deepcopy(module).to(device)
        work.eval()
        for m in work.modules():
            if (
                isinstance(m, nn.modules.batchnorm._BatchNorm)
                and m.running_mean is not None
                and m.running_var is not None
            ):
                m.forward = functools.partial(_frozen_batch_norm, m)
        params = dict(work.named_parameters())
        owners = {}
        for m in work.modules():
            for p in m.parameters(recurse=False):
                owners.setdefault(id(p), []).append(m)
        self.params = [params[n] for n in names if n in chosen]
        # Layerwise engine: every selected parameter is the weight or bias of
        # exactly one supported layer, and used only there.
        self.layers = []
        fast = True
        for p in self.params:
            mods = owners.get(id(p), [])
            if len(mods) != 1 or not is_fast_module(mods[0]):
                fast = False
                break
            if all(m is not mods[0] for m, _, _ in self.layers):
                self.layers.append((mods[0], False, False))
        if fast:
            ids = {id(p) for p in self.params}
            self.layers = [
                (m, id(m.weight) in ids, m.bias is not None and id(m.bias) in ids)
                for m, _, _ in self.layers
            ]
        else:
            self.layers = []
        self.fast = fast
        for p in work.parameters():
            p.requires_grad_(False)
        if not fast:
            for p in self.params:
                p.requires_grad_(True)
        self.work = work
        self.device = device


def _frozen_batch_norm(module, x):
    """An eval-mode BatchNorm layer as the elementwise ops it amounts to.

    ``(x - running_mean) * weight / sqrt(running_var + eps) + bias``, with the
    same values as ``F.batch_norm`` in eval mode up to rounding, and with
    gradients for ``weight`` and ``bias`` when they are selected. Under
    ``torch.func.vmap`` (the batched backward pass) these ops need no copies,
    where the batching rule of BatchNorm's own backward moves the cotangents'
    axis and copies them twice per layer.
    """
    shape = (1, -1) + (1,) * (x.ndim - 2)
    scale = torch.rsqrt(module.running_var + module.eps)
    if module.weight is not None:
        scale = scale * module.weight
    out = (x - module.running_mean.reshape(shape)) * scale.reshape(shape)
    if module.bias is not None:
        out = out + module.bias.reshape(shape)
    return out


def _exact_cotangents(problem, idx):
    def build(outputs, rows=slice(None)):
        return problem.residual_grads(outputs, idx[rows])

    return build


def _lowrank_cotangents(problem, idx, q, energy):
    """Output-gradient vectors ``s_r v_r`` of the truncated SVD of every sample's
    ``[sqrt(q_k) g_k]`` matrix (as rows of the eigen-decomposition of its Gram)."""

    def build(outputs, rows=slice(None)):
        cots = problem.residual_grads(outputs, idx[rows])
        K, b = cots[0].shape[:2]
        sizes = [c[0, 0].numel() for c in cots]
        C = torch.cat([c.reshape(K, b, -1) for c in cots], dim=2).transpose(0, 1)
        C = C * q[rows].sqrt().to(C.dtype).unsqueeze(-1)  # (b, K, D)
        gram = (C.double() @ C.double().transpose(1, 2)).cpu()
        evals, evecs = torch.linalg.eigh(gram)  # ascending
        evals = evals.flip(-1).clamp_min(0.0)
        evecs = evecs.flip(-1)
        total = evals.sum(dim=1, keepdim=True)
        cum = evals.cumsum(dim=1)
        # Smallest rank whose directions carry ``energy`` of ||C||_F^2.
        rank = (cum < energy * total * (1 - 1e-12)).sum(dim=1) + 1
        rank = rank.clamp(max=K)
        R = int(rank.max())
        keep = (torch.arange(R) < rank[:, None]).to(evecs.dtype)  # (b, R)
        U = (evecs[:, :, :R] * keep[:, None, :]).to(device=C.device, dtype=C.dtype)
        vectors = U.transpose(1, 2) @ C  # (b, R, D)
        out, start = [], 0
        for c, size in zip(cots, sizes, strict=True):
            part = vectors[:, :, start : start + size].transpose(0, 1)
            out.append(part.reshape(R, b, *c.shape[2:]))
            start += size
        return out

    return build


_MALLOC_TRIM = []  # glibc's malloc_trim, looked up on first use ([None] if absent)


def _release_freed_memory():
    """Return the C heap's freed pages to the operating system (glibc only).

    The activations of a batch, freed by torch, otherwise stay in the resident
    memory of the process. loky (joblib's default backend) takes a worker
    whose resident memory grew by more than 300 MB since its first task for a
    leak and replaces it with a fresh process (when psutil is installed),
    which must import torch again.
    """
    if not _MALLOC_TRIM:
        trim = None
        if sys.platform.startswith("linux"):
            try:
                trim = ctypes.CDLL("libc.so.6").malloc_trim
            except (OSError, AttributeError):
                trim = None
        _MALLOC_TRIM.append(trim)
    if _MALLOC_TRIM[0] is not None:
        _MALLOC_TRIM[0](0)


def _run_batches(plan, X, idx, problem, q, settings, n_threads):
    """Squared norms of one contiguous share of the batches (a joblib task).

    ``n_threads`` is set for tasks of a parallel run. A task run in a
    process's main thread (loky workers) sets the torch threads of its process
    and gives its freed heap memory back to the system at the end (see
    :func:`_release_freed_memory`); it owns the plan it was sent. A task run in
    another thread (threading backend, dask workers) leaves the shared thread
    setting alone and works on its own copy of the module: other threads may
    share the plan, and the forward hooks must see this task's calls only.
    """
    old_threads = torch.get_num_threads()
    worker_process = (
        n_threads is not None and threading.current_thread() is threading.main_thread()
    )
    if worker_process:
        torch.set_num_threads(n_threads)
    elif n_threads is not None:
        plan = copy.deepcopy(plan)
    try:
        device = plan.device
        # Only the rows of the banks this share refers to travel to the device.
        used, local = torch.unique(idx, return_inverse=True)
        problem = Problem(
            problem.target_bank[used].to(device),
            None
            if problem.weight_bank is None
            else problem.weight_bank[used].to(device),
            problem.reduction,
        )
        local = local.to(device)
        target_shape = problem.target_bank.shape[1:]
        results = []
        batch_size = settings["batch_size"]
        for s in range(0, X.shape[0], batch_size):
            xb = X[s : s + batch_size].to(device)
            ib = local[s : s + batch_size]
            if settings["method"] == "exact":
                cot_fn = _exact_cotangents(problem, ib)
            else:
                cot_fn = _lowrank_cotangents(
                    problem, ib, q[s : s + batch_size].to(device), settings["energy"]
                )
            if plan.fast:
                norms = layerwise_batch(
                    plan.work, plan.layers, xb, cot_fn, target_shape
                )
            else:
                norms = per_input_batch(
                    plan.work, plan.params, xb, cot_fn, target_shape
                )
            if settings["method"] != "exact":
                norms = norms.sum(dim=1, keepdim=True)
            results.append(norms.detach().cpu().double())
        return torch.cat(results).numpy()
    finally:
        torch.set_num_threads(old_threads)
        if worker_process:  # the batches' activations are freed by now
            _release_freed_memory()


def _compute(
    module,
    X,
    target_bank,
    neighbor_indices,
    probabilities,
    *,
    weight_bank,
    parameters,
    batch_size,
    n_jobs,
    device,
    method,
    energy,
    reduction,
    verbose,
):
    """Squared norms (n_samples, K), or (n_samples, 1) for ``"lowrank"``.

    The parameters are those of the public functions, already checked by
    their tables; ``probabilities`` is used by ``method="lowrank"`` only.
    """
    batch_size, verbose = int(batch_size), int(verbose)
    X, target_bank, idx, weight_bank, device = check_inputs(
        module, X, target_bank, neighbor_indices, weight_bank, device
    )
    q = None
    if probabilities is not None:
        q = torch.as_tensor(check_probabilities(probabilities, idx.shape))
    plan = _Plan(module, parameters, device)
    problem = Problem(target_bank, weight_bank, reduction)
    settings = {"batch_size": batch_size, "method": method, "energy": energy}

    n = X.shape[0]
    n_batches = -(-n // batch_size)
    n_workers = min(effective_n_jobs(n_jobs), n_batches)
    # Whole batches go to the tasks, so every sample is computed in the same
    # batch whatever n_jobs is; more tasks than workers for a progress bar.
    n_tasks = n_workers if not verbose else min(n_batches, 4 * n_workers)
    bounds = np.linspace(0, n_batches, n_tasks + 1).round().astype(int) * batch_size
    bounds = np.minimum(bounds, n)
    n_threads = None
    if n_workers > 1:
        n_threads = max(1, (os.cpu_count() or 1) // n_workers)
    tasks = (
        delayed(_run_batches)(
            plan,
            X[a:b],
            idx[a:b],
            problem,
            None if q is None else q[a:b],
            settings,
            n_threads,
        )
        for a, b in zip(bounds[:-1], bounds[1:], strict=True)
        if b > a
    )
    if n_workers == 1 and not verbose:
        parts = [_run_batches(plan, X, idx, problem, q, settings, None)]
    else:
        parallel = Parallel(n_jobs=n_jobs, return_as="generator")
        parts = parallel(tasks)
        parts = list(progress(parts, verbose, total=n_tasks, desc="gradient norms"))
    return np.concatenate(parts)


#: the parameters both public functions take, checked alike
_SHARED_PARAMETERS = {
    "module": [InstanceOf(nn.Module, description="a torch.nn.Module")],
    "X": ["array-like"],
    "target_bank": ["array-like"],
    "neighbor_indices": ["array-like"],
    "weight_bank": ["array-like", None],
    "parameters": [StrOptions(PARAMETER_KEYWORDS), callable, "iterable"],
    "batch_size": [POSITIVE_INT],
    "n_jobs": N_JOBS,
    "device": ["device"],
    "reduction": [StrOptions(REDUCTIONS)],
    "verbose": VERBOSE,
}


@validate_params({**_SHARED_PARAMETERS, "method": [ExactMethod()]})
def squared_gradient_norms(
    module,
    X,
    target_bank,
    neighbor_indices,
    *,
    weight_bank=None,
    parameters="default",
    batch_size=16,
    n_jobs=None,
    device="cpu",
    method="exact",
    reduction="sum",
    verbose=False,
):
    """Squared gradient norms of the loss for every (input, neighbour target) pair.

    For every input ``X[i]`` and each of its K targets
    ``t = target_bank[neighbor_indices[i, k]]``, the squared L2 norm of the
    gradient, with respect to the selected parameters, of the squared loss

    ``L(x, t) = sum over outputs o of module(x) of sum(w * (o - t) ** 2)``

    with ``w = weight_bank[neighbor_indices[i, k]]`` (or 1), in eval mode (with
    per-output targets, output ``s`` is compared with ``t[s]``). These
    are the ``||grad_theta l(x_i, y_j)||^2`` of EGL++ (paper Algorithm 1, Eq. 7).

    Parameters
    ----------
    module : torch.nn.Module
        The model. ``module(x)`` returns a tensor ``(b, *out)`` or a list/tuple
        of such tensors (e.g. one heatmap tensor per hourglass stack), each
        compared with the same target. It is not modified: the computation runs
        on an eval-mode copy (BatchNorm statistics frozen, dropout off).
    X : array-like or Tensor of shape (n_samples, ...)
        The inputs (e.g. the pool), in the module's input layout.
    target_bank : array-like or Tensor of shape (m, *out) or (m, n_outputs, *out)
        Candidate targets (e.g. the labelled set's rendered heatmaps): one
        tensor compared with every output of the module, or one per output
        (e.g. every stack's predicted heatmaps of a neighbour, EGL++'s
        ``target="output"``).
    neighbor_indices : array-like of int of shape (n_samples, K)
        Rows of ``target_bank`` paired with each input.
    weight_bank : array-like or Tensor of shape (m, ...), default=None
        Loss weights of each target, broadcastable to the shape of
        ``target_bank`` (e.g. zero for unannotated joints). None means 1.
    parameters : {"default", "all", "last"}, callable or list, default="default"
        Which parameters the gradient is taken over: ``"default"`` the weights
        and biases of the Linear, Conv1d/2d/3d and ConvTranspose1d/2d/3d
        modules (the paper's theta; BatchNorm excluded), ``"all"`` every
        parameter with ``requires_grad``, ``"last"`` the weight and bias of the
        last such module in registration order, a callable
        ``module -> iterable of parameters``, or an iterable of the module's
        parameters.
    batch_size : int, default=16
        Inputs per forward pass. Memory grows with
        ``batch_size * K * (sum of the selected layers' output sizes)``; the K
        targets are back-propagated in several passes over the same forward
        graph when that would exceed about 256 MiB of float32.
    n_jobs : int, default=None
        Number of joblib workers over contiguous shares of the batches (None
        means 1 unless in a :func:`joblib.parallel_config` context). Each
        worker uses ``cpu_count // n_workers`` torch threads. Every sample is
        computed in the same batch whatever ``n_jobs``, so results are
        identical as long as the number of torch threads does not change the
        rounding of the operations (they are identical with one thread per
        worker).
    device : str or torch.device, default="cpu"
        Where the copy of the module and the inputs go (e.g. ``"cuda"``); a
        device this machine does not have raises ``ValueError``.
    method : {"exact"}, default="exact"
        Per-pair norms are computed exactly, so ``"exact"`` is the only value
        (any other raises ``ValueError``); the low-rank approximation,
        ``method="lowrank"``, exists for the expected norm only, in
        :func:`expected_gradient_norms`.
    reduction : {"sum", "mean"}, default="sum"
        ``"mean"`` divides the loss by the number of outputs times the number
        of elements of one output (the norms by its square).
    verbose : int, default=False
        0 (or ``False``) is silent; 1 or more (or ``True``) shows a progress
        bar (tqdm).

    Returns
    -------
    norms : ndarray of shape (n_samples, K), dtype float64
        ``norms[i, k] = ||grad L(X[i], target_bank[neighbor_indices[i, k]])||^2``.

    See Also
    --------
    expected_gradient_norms : The probability-weighted sum over the K targets.

    Notes
    -----
    ``dL/do = 2 w (o - t_k)`` is linear in the residual, so one forward pass
    per input serves all K targets: the K output gradients are
    back-propagated together (``torch.autograd.grad`` under
    ``torch.func.vmap``, on a private eval-mode copy of the module whose
    BatchNorm layers run as the elementwise affine map they amount to). With
    the default selection (and any selection made only of Linear / Conv /
    ConvTranspose weights and biases, each used by its own module only) a
    batch of ``batch_size`` inputs shares each forward and backward pass and
    the norms are assembled per layer from the layer's input and output
    gradient, by the explicit product or by the Gram ("ghost norm") identity,
    whichever is cheaper for the layer's shape. Other selections (e.g.
    ``"all"`` with BatchNorm affine parameters) take the gradients of the
    parameters themselves, one input at a time. Both are exact; the results
    agree with a per-pair ``loss.backward()`` loop to floating point rounding.

    One caveat of float32: a batched forward pass may round differently from a
    single-input one, and where a max-pooling window holds a near-tie (or a
    ReLU input is within rounding of zero) the gradient can then be routed
    differently, so for such inputs the batched norm can differ from the
    batch-size-1 norm by more than rounding. In float64, or with
    ``batch_size=1``, the two agree to rounding.

    Squared norms are computed in the model's precision and kept when finite
    and not tiny; otherwise (gradients beyond about 1e±19 in float32) they are
    computed again from factors scaled to unit magnitude and rescaled in
    float64, so they neither overflow nor underflow.

    The per-layer engine assumes that a selected Linear / Conv parameter acts
    only through its module's ``forward`` (a parameter registered in several
    modules, i.e. tied weights, sends the computation to the per-input engine;
    one used functionally elsewhere is not detected).

    References
    ----------
    .. [1] Shukla, "EGL++: Extending Expected Gradient Length to Active
       Learning for Human Pose Estimation", Algorithm 1.
    .. [2] Goodfellow, "Efficient Per-Example Gradient Computations", 2015
       (the per-layer factorisation of per-sample gradients).

    Examples
    --------
    >>> import torch
    >>> from sk_eglpp.gradients import squared_gradient_norms
    >>> module = torch.nn.Linear(2, 1)
    >>> with torch.no_grad():
    ...     _ = module.weight.fill_(1.0), module.bias.fill_(0.0)
    >>> X = torch.tensor([[1.0, 2.0]])          # output 3
    >>> targets = torch.tensor([[3.0], [2.0]])  # residuals 0 and 1
    >>> squared_gradient_norms(module, X, targets, [[0, 1]])
    array([[ 0., 24.]])
    """
    return _compute(
        module,
        X,
        target_bank,
        neighbor_indices,
        None,
        weight_bank=weight_bank,
        parameters=parameters,
        batch_size=batch_size,
        n_jobs=n_jobs,
        device=device,
        method="exact",
        energy=1.0,
        reduction=reduction,
        verbose=verbose,
    )


@validate_params({
    **_SHARED_PARAMETERS,
    "probabilities": ["array-like"],
    "method": [StrOptions(METHODS)],
    "energy": [Interval(Real, 0, 1, closed="right")],
})
def expected_gradient_norms(
    module,
    X,
    target_bank,
    neighbor_indices,
    probabilities,
    *,
    weight_bank=None,
    parameters="default",
    batch_size=16,
    n_jobs=None,
    device="cpu",
    method="exact",
    energy=0.99,
    reduction="sum",
    verbose=False,
):
    """Expected squared gradient length of every input (paper Eq. 7).

    ``score_i = sum_k q_ik ||grad L(X[i], target_bank[neighbor_indices[i, k]])||^2``
    with ``q_ik = probabilities[i, k]`` (e.g. the neighbour probabilities of
    :func:`sk_eglpp.neighbors.top_k_neighbors`).

    Parameters
    ----------
    module, X, target_bank, neighbor_indices
        As in :func:`squared_gradient_norms`.
    probabilities : array-like of shape (n_samples, K)
        Non-negative weights ``q_ik`` of the pairs.
    weight_bank, parameters, batch_size, n_jobs, device, reduction, verbose
        As in :func:`squared_gradient_norms`.
    method : {"exact", "lowrank"}, default="exact"
        ``"exact"``: the weighted sum of the exact per-pair norms.
        ``"lowrank"``: with ``J`` the Jacobian of the outputs with respect to
        the parameters and ``g_k`` the output gradient of pair k, the score is
        ``||J^T C^T||_F^2`` with ``C = [sqrt(q_k) g_k]`` (K rows). Keeping only
        the leading singular directions of ``C`` that carry a fraction
        ``energy`` of ``||C||_F^2`` needs one back-propagated vector per kept
        direction instead of K.
    energy : float, default=0.99
        Fraction of ``||C||_F^2`` kept by ``method="lowrank"``, in (0, 1].
        ``energy=1`` is exact up to rounding.

    Returns
    -------
    scores : ndarray of shape (n_samples,), dtype float64

    Notes
    -----
    Error bound of ``method="lowrank"``: with ``C = U S V^T``, the score is
    ``sum_r s_r^2 ||J^T v_r||^2``; dropping the directions ``r > m`` removes
    ``sum_{r>m} s_r^2 ||J^T v_r||^2 <= (1 - energy) ||C||_F^2 ||J||_2^2``. The
    approximation never exceeds the exact score. The singular directions come
    from the ``K x K`` Gram matrix ``C C^T`` (float64), so the output size does
    not enter the decomposition.

    See Also
    --------
    squared_gradient_norms : The per-pair norms.

    Examples
    --------
    >>> import torch
    >>> from sk_eglpp.gradients import expected_gradient_norms
    >>> module = torch.nn.Linear(2, 1)
    >>> with torch.no_grad():
    ...     _ = module.weight.fill_(1.0), module.bias.fill_(0.0)
    >>> X = torch.tensor([[1.0, 2.0]])
    >>> targets = torch.tensor([[3.0], [2.0]])
    >>> expected_gradient_norms(module, X, targets, [[0, 1]], [[0.5, 0.25]])
    array([6.])
    >>> expected_gradient_norms(module, X, targets, [[0, 1]], [[0.5, 0.25]],
    ...                         method="lowrank")
    array([6.])
    """
    if probabilities is None:
        raise TypeError(
            "expected_gradient_norms: probabilities must be an array of shape "
            "(n_samples, K), got None."
        )
    common = dict(
        weight_bank=weight_bank,
        parameters=parameters,
        batch_size=batch_size,
        n_jobs=n_jobs,
        device=device,
        reduction=reduction,
        verbose=verbose,
    )
    if method == "exact":
        q = check_probabilities(probabilities, np.shape(neighbor_indices))
        norms = _compute(
            module,
            X,
            target_bank,
            neighbor_indices,
            None,
            method="exact",
            energy=1.0,
            **common,
        )
        return np.sum(q * norms, axis=1)
    scores = _compute(
        module,
        X,
        target_bank,
        neighbor_indices,
        probabilities,
        method=method,
        energy=float(energy),
        **common,
    )
    return scores[:, 0]
