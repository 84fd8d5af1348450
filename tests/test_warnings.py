"""Warnings point at the user's line, through any depth of the package's stack."""

import warnings

import numpy as np
import pytest

from sk_eglpp._warnings import external_stacklevel, warn


def _caught(call):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        call()
    assert len(record) >= 1
    return record


def test_a_direct_warning_points_here():
    record = _caught(lambda: warn("careful", RuntimeWarning))
    assert record[0].filename == __file__
    assert record[0].category is RuntimeWarning


def test_outside_the_package_the_level_is_that_of_the_caller():
    assert external_stacklevel() == 1


def test_egl_pp_warnings_point_at_the_caller_of_select(fitted_small_hourglass,
                                                       small_pose):
    """Through validate_call, the strategy's layers and the neighbour search."""
    from sk_eglpp.query import EGLPlusPlusQuery

    X, y = small_pose
    strategy = EGLPlusPlusQuery(n_neighbors=30, perplexity=20.0)
    record = _caught(lambda: strategy.select(
        fitted_small_hourglass, X[8:12], n_instances=1, X_labelled=X[:8],
        y_labelled=y[:8],
    ))
    messages = [str(w.message) for w in record]
    assert any("n_neighbors=30" in m for m in messages)
    assert any("perplexity=20" in m for m in messages)
    assert {w.filename for w in record} == {__file__}


def test_pck_warning_points_at_the_caller():
    from sk_eglpp.metrics import pck

    y = np.full((2, 4), np.nan)
    record = _caught(lambda: pck(y, y))
    assert record[0].filename == __file__


@pytest.mark.parametrize("category", [UserWarning, RuntimeWarning])
def test_the_category_is_kept(category):
    assert _caught(lambda: warn("x", category))[0].category is category
