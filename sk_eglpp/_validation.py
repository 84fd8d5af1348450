"""Data checks: the arrays a callable receives (pools, labelled sets, keypoints).

Every check raises ``ValueError`` / ``TypeError`` with a message that says what
was expected and what was got. None of them modifies its input. Parameters
(sizes, flags, options, seeds, devices) are not checked here but by the one
parameter-validation mechanism, :mod:`sk_eglpp._param_validation`.
"""

import numbers

import numpy as np

__all__ = [
    "check_pool",
    "check_labelled",
    "check_n_instances",
    "top_indices",
    "top_k_rows",
    "check_keypoints",
]


def check_pool(X, *, name="X_pool", accept_sparse=False, dtype="numeric",
               allow_nd=True):
    """Validate a pool (or any sample array) without copying it needlessly.

    Parameters
    ----------
    X : array-like or sparse matrix of shape (n_samples, ...)
        Samples. Images ``(n, c, h, w)`` are accepted as they are.
    name : str, default="X_pool"
        Name used in error messages.
    accept_sparse : bool, default=False
        Whether scipy sparse matrices are accepted (linear strategies). CSR
        and CSC are kept; other formats (COO, ...) are converted to CSR.
    dtype : str, type or list of types, default="numeric"
        Passed to :func:`sklearn.utils.check_array`. ``"numeric"`` keeps float32
        images float32 and converts integers and objects to float64.
    allow_nd : bool, default=True
        Whether samples of more than one dimension (images) are accepted;
        ``False`` requires a 2-D array (embeddings).

    Returns
    -------
    X : ndarray or sparse matrix
        The validated samples; the input itself when no conversion was needed.

    Examples
    --------
    >>> import numpy as np
    >>> check_pool(np.zeros((3, 2))).shape
    (3, 2)
    >>> check_pool(np.zeros((0, 2)))
    Traceback (most recent call last):
    ...
    ValueError: X_pool must contain at least one sample, got an array of shape (0, 2).
    """
    if X is None:
        raise ValueError(f"{name} must be an array of samples, got None.")
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) >= 1 and shape[0] == 0:
        raise ValueError(
            f"{name} must contain at least one sample, got an array of shape "
            f"{tuple(shape)}."
        )
    # imported here: scikit-learn's import costs ~1 s, and sk_eglpp.neighbors
    # should import numpy only
    from sklearn.utils.validation import check_array

    try:
        # COO (and other formats) become CSR: the strategies slice rows.
        X = check_array(
            X,
            accept_sparse=accept_sparse and ["csr", "csc"],
            dtype=dtype,
            allow_nd=allow_nd,
            ensure_all_finite=True,
            ensure_2d=False,
            ensure_min_samples=1,
            input_name=name,
        )
    except TypeError as exc:  # sparse where dense is required, object arrays
        raise TypeError(f"{name}: {exc}") from exc
    except ValueError as exc:  # e.g. strings that are not numbers
        _reraise_with_name(exc, name)
    if X.ndim < 2:
        images = " or an image batch (n_samples, channels, height, width)"
        raise ValueError(
            f"{name} must be 2-D (n_samples, n_features)"
            f"{images if allow_nd else ''}, got an array of shape "
            f"{X.shape}. Reshape a single feature with X.reshape(-1, 1)."
        )
    return X


def _reraise_with_name(exc, name):
    """Re-raise a conversion error of ``check_array`` naming the input.

    scikit-learn names the input in its own messages ("Input X_pool contains
    NaN."), numpy does not ("could not convert string to float: 'a'").
    """
    message = str(exc)
    if name in message:
        raise exc
    if "convert" in message.lower() or "literal" in message:
        raise ValueError(
            f"{name} must hold numbers (a numeric array-like), got values that "
            f"cannot be converted: {message}"
        ) from exc
    raise ValueError(f"{name}: {message}") from exc


def check_labelled(X, y, *, accept_sparse=False, allow_nan_y=False):
    """Validate a labelled set: samples and targets of the same length.

    Parameters
    ----------
    X : array-like of shape (n_samples, ...)
        Labelled samples.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Their targets.
    accept_sparse : bool, default=False
        Whether scipy sparse matrices are accepted for ``X``.
    allow_nan_y : bool, default=False
        Whether NaN marks missing targets (unannotated joints).

    Returns
    -------
    X, y : arrays
        ``y`` is at least 1-D float.

    Examples
    --------
    >>> import numpy as np
    >>> X, y = check_labelled(np.ones((2, 3)), [1.0, 2.0])
    >>> y
    array([1., 2.])
    """
    X = check_pool(X, name="X_labelled", accept_sparse=accept_sparse)
    if y is None:
        raise ValueError("y_labelled must be given with X_labelled, got None.")
    from sklearn.utils.validation import check_array

    try:
        y = check_array(
            y,
            dtype="numeric",
            ensure_2d=False,
            allow_nd=True,
            ensure_all_finite="allow-nan" if allow_nan_y else True,
            input_name="y_labelled",
        )
    except ValueError as exc:  # e.g. strings that are not numbers
        _reraise_with_name(exc, "y_labelled")
    if y.shape[0] != X.shape[0]:
        raise ValueError(
            f"X_labelled and y_labelled must have the same number of samples, "
            f"got {X.shape[0]} and {y.shape[0]}."
        )
    return X, y


def check_n_instances(n_instances, n_pool):
    """Check the number of samples to query against the pool size.

    Examples
    --------
    >>> check_n_instances(2, 5)
    2
    >>> check_n_instances(6, 5)
    Traceback (most recent call last):
    ...
    ValueError: n_instances must be in [1, 5], got 6.
    """
    if n_pool < 1:
        raise ValueError(
            f"X_pool must contain at least one sample to query from, got {n_pool}."
        )
    if isinstance(n_instances, bool) or not isinstance(n_instances, numbers.Integral):
        raise TypeError(
            f"n_instances must be an integer, got {n_instances!r} "
            f"({type(n_instances).__name__})."
        )
    if not 1 <= n_instances <= n_pool:
        raise ValueError(f"n_instances must be in [1, {n_pool}], got {n_instances}.")
    return int(n_instances)


def labelled_targets(y_labelled, n_outputs):
    """``y_labelled`` as float64 rows of ``n_outputs`` columns, the model's.

    Examples
    --------
    >>> labelled_targets([1.0, 2.0], 1).shape
    (2, 1)
    >>> labelled_targets([[1.0, 2.0]], 1)
    Traceback (most recent call last):
    ...
    ValueError: The model predicts 1 output(s) per sample but y_labelled has 2.
    """
    y = np.asarray(y_labelled, dtype=np.float64)
    y = y.reshape(y.shape[0], -1)
    if y.shape[1] != n_outputs:
        raise ValueError(
            f"The model predicts {n_outputs} output(s) per sample but y_labelled "
            f"has {y.shape[1]}."
        )
    return y


def top_indices(scores, n_instances):
    """Indices of the ``n_instances`` largest scores, largest first.

    Ties are broken by the lower index, so the selection is deterministic.

    Examples
    --------
    >>> top_indices(np.array([0.1, 0.5, 0.5, 0.2]), 3)
    array([1, 2, 3])
    """
    scores = np.asarray(scores)
    n_instances = check_n_instances(n_instances, scores.shape[0])
    if not np.all(np.isfinite(scores)):
        raise ValueError(
            f"scores must be finite to rank them, got {np.sum(~np.isfinite(scores))} "
            "non-finite values."
        )
    return top_k_rows(scores[None, :], n_instances)[0]


def top_k_rows(values, k):
    """Column indices of the ``k`` largest entries of every row, largest first.

    The one top-k rule of the package (strategies' top-B, EGL++'s top-K
    neighbours): ties are broken by the lower index. It runs in ``O(n_cols)``
    per row plus a sort of the ``k`` chosen entries.

    Parameters
    ----------
    values : ndarray of shape (n_rows, n_cols)
        Finite values.
    k : int
        In ``[1, n_cols]`` (not checked here).

    Returns
    -------
    indices : ndarray of shape (n_rows, k)

    Examples
    --------
    >>> top_k_rows(np.array([[0.1, 0.5, 0.5, 0.2], [3.0, 1.0, 3.0, 3.0]]), 2)
    array([[1, 2],
           [0, 2]])
    """
    n_rows, n_cols = values.shape
    if k == n_cols:
        return np.argsort(-values, axis=1, kind="stable")
    # Threshold = k-th largest value; take everything above it, then the
    # lowest-index entries equal to it until k are chosen.
    kth = np.partition(values, n_cols - k, axis=1)[:, n_cols - k]
    above = values > kth[:, None]
    equal = values == kth[:, None]
    needed = k - above.sum(axis=1)
    take_equal = equal & (np.cumsum(equal, axis=1) <= needed[:, None])
    chosen = np.nonzero(above | take_equal)[1].reshape(n_rows, k)
    order = np.argsort(-np.take_along_axis(values, chosen, axis=1), axis=1,
                       kind="stable")
    return np.take_along_axis(chosen, order, axis=1)


def as_float_array(a, name, what="numbers"):
    """``np.asarray(a, float64)`` with an error naming ``name`` when it fails."""
    try:
        return np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} must hold {what}, got values that cannot be converted to "
            f"float: {exc}"
        ) from exc


def check_keypoints(keypoints, name="keypoints", *, allow_inf=False):
    """Keypoints ``(n, 2 * n_joints)`` or ``(n, n_joints, 2)`` as float64 ``(n, J, 2)``.

    Parameters
    ----------
    keypoints : array-like
        Pixel coordinates ``x0, y0, x1, y1, ...``; NaN marks a joint that is
        not annotated.
    name : str, default="keypoints"
        Name used in error messages.
    allow_inf : bool, default=False
        Whether infinite coordinates are accepted (predictions: a miss).

    Returns
    -------
    keypoints : ndarray of shape (n, n_joints, 2), float64

    Examples
    --------
    >>> check_keypoints([[1.0, 2.0, np.nan, np.nan]]).shape
    (1, 2, 2)
    """
    kp = as_float_array(
        keypoints,
        name,
        "numbers (pixel coordinates, NaN for a joint that is not annotated)",
    )
    if kp.ndim == 2:
        if kp.shape[1] % 2:
            raise ValueError(
                f"{name} of shape (n_samples, 2 * n_joints) must have an even "
                f"number of columns (x0, y0, x1, y1, ...), got shape {kp.shape}."
            )
        kp = kp.reshape(kp.shape[0], kp.shape[1] // 2, 2)
    elif kp.ndim != 3 or kp.shape[2] != 2:
        raise ValueError(
            f"{name} must have shape (n_samples, 2 * n_joints) or "
            f"(n_samples, n_joints, 2), got shape {kp.shape}."
        )
    if not allow_inf and np.isinf(kp).any():
        raise ValueError(
            f"{name} must be finite or NaN (joint not annotated), got "
            f"{int(np.isinf(kp).sum())} infinite coordinate(s)."
        )
    return kp
