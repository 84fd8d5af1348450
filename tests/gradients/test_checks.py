"""Bad inputs: every mistake raises the documented error with a clear message.

The data (shapes, dtypes, index ranges, the selected parameters of the given
module) is checked by the gradient package itself; the parameters by the
public functions' tables, whose messages name the function.
"""

import numpy as np
import pytest
import torch
from torch import nn

from sk_eglpp.gradients import expected_gradient_norms, squared_gradient_norms


def test_bad_inputs(mlp_problem):
    module, X, bank, idx = mlp_problem
    with pytest.raises(ValueError, match=r"neighbor_indices must be in \[0, 5\]"):
        squared_gradient_norms(module, X, bank, idx + 6)
    with pytest.raises(ValueError, match="neighbor_indices must have shape"):
        squared_gradient_norms(module, X, bank, idx[:3])
    with pytest.raises(TypeError, match="neighbor_indices must hold integers"):
        squared_gradient_norms(module, X, bank, idx.astype(float))
    with pytest.raises(ValueError, match=r"shape of one target, \(batch, \*\(3,\)\)"):
        squared_gradient_norms(module, X, torch.zeros(6, 3), idx)
    with pytest.raises(ValueError, match="parameters must be one of"):
        squared_gradient_norms(module, X, bank, idx, parameters="weights")
    with pytest.raises(ValueError, match="must be parameters of the module"):
        squared_gradient_norms(
            module, X, bank, idx, parameters=[nn.Parameter(torch.zeros(2))]
        )
    with pytest.raises(ValueError, match="selects no parameter"):
        squared_gradient_norms(module, X, bank, idx, parameters=lambda m: [])
    with pytest.raises(TypeError, match="parameters must be one of"):
        squared_gradient_norms(module, X, bank, idx, parameters=3)
    with pytest.raises(TypeError, match="module must be a torch.nn.Module"):
        squared_gradient_norms(lambda x: x, X, bank, idx)
    with pytest.raises(ValueError, match="X contains NaN"):
        squared_gradient_norms(module, X * np.nan, bank, idx)
    with pytest.raises(ValueError, match="weight_bank must have one row per row"):
        squared_gradient_norms(module, X, bank, idx, weight_bank=torch.ones(2, 2))
    with pytest.raises(ValueError, match="does not broadcast"):
        squared_gradient_norms(module, X, bank, idx, weight_bank=torch.ones(6, 3))
    with pytest.raises(
        ValueError, match=r"^squared_gradient_norms: batch_size must be an int in"
    ):
        squared_gradient_norms(module, X, bank, idx, batch_size=0)
    with pytest.raises(TypeError, match="batch_size must be an int .* got 2.0"):
        squared_gradient_norms(module, X, bank, idx, batch_size=2.0)
    with pytest.raises(TypeError, match="reduction must be one of .* got None"):
        squared_gradient_norms(module, X, bank, idx, reduction=None)
    with pytest.raises(ValueError, match="n_jobs must be a non-zero int"):
        squared_gradient_norms(module, X, bank, idx, n_jobs=0)
    with pytest.raises(ValueError, match="method must be 'exact'"):
        squared_gradient_norms(module, X, bank, idx, method="lowrank")
    with pytest.raises(ValueError, match="reduction must be one of"):
        squared_gradient_norms(module, X, bank, idx, reduction="max")
    q = np.ones(idx.shape)
    with pytest.raises(ValueError, match="method must be one of"):
        expected_gradient_norms(module, X, bank, idx, q, method="fast")
    with pytest.raises(
        ValueError,
        match=r"^expected_gradient_norms: energy must be a finite real number in "
        r"\(0, 1\], got 0",
    ):
        expected_gradient_norms(module, X, bank, idx, q, method="lowrank", energy=0)
    with pytest.raises(TypeError, match="energy must be a finite real number"):
        expected_gradient_norms(module, X, bank, idx, q, method="lowrank",
                                energy="high")
    with pytest.raises(ValueError, match="probabilities must have the shape"):
        expected_gradient_norms(module, X, bank, idx, q[:, :2])
    for method in ("exact", "lowrank"):
        with pytest.raises(ValueError, match="non-negative"):
            expected_gradient_norms(module, X, bank, idx, -q, method=method)
        with pytest.raises(ValueError, match="non-negative"):
            expected_gradient_norms(module, X, bank, idx, q * np.nan, method=method)


@pytest.mark.parametrize("func", [squared_gradient_norms, expected_gradient_norms])
@pytest.mark.parametrize(
    "name, value, error, message",
    [
        ("module", "net", TypeError, r"module must be a torch.nn.Module, got 'net'"),
        ("batch_size", True, TypeError, r"batch_size must be an int in \[1, inf\), "
         r"got True \(bool\)\."),
        ("batch_size", 0, ValueError, r"batch_size must be an int in \[1, inf\)"),
        ("n_jobs", 1.5, TypeError, r"n_jobs must be a non-zero int .*got 1\.5"),
        ("verbose", "yes", TypeError, r"verbose must be an int in \[0, inf\) or a "
         r"bool, got 'yes' \(str\)\."),
        ("verbose", -1, ValueError, r"verbose must be"),
        ("reduction", None, TypeError, r"reduction must be one of \['sum', 'mean'\], "
         r"got None \(NoneType\)\."),
        ("parameters", 3, TypeError, r"parameters must be one of \['default', "
         r"'all', 'last'\], a callable or a list, got 3 \(int\)\."),
        ("device", "tpu", ValueError, r"device must be .*got 'tpu' \(str\)"),
        ("device", 0.0, TypeError, r"device must be .*got 0\.0 \(float\)"),
        ("method", None, TypeError, r"method must be .*got None \(NoneType\)\."),
    ],
)
def test_parameter_table_errors_name_the_function(
    mlp_problem, func, name, value, error, message
):
    """Each parameter is checked before any work: a value of the wrong type is
    a TypeError, a bad value of the right type a ValueError (a bool is not an
    int), and the message names the function, the parameter and the value."""
    module, X, bank, idx = mlp_problem
    args = [module, X, bank, idx]
    if func is expected_gradient_norms:
        args.append(np.ones(idx.shape))
    kwargs = {name: value}
    if name == "module":
        args[0], kwargs = value, {}
    with pytest.raises(error, match=rf"^{func.__name__}: {message}"):
        func(*args, **kwargs)


def test_method_of_the_per_pair_norms_is_exact_only(mlp_problem):
    """``squared_gradient_norms`` accepts ``method="exact"`` only; the message
    for ``"lowrank"`` points to ``expected_gradient_norms``."""
    module, X, bank, idx = mlp_problem
    np.testing.assert_array_equal(
        squared_gradient_norms(module, X, bank, idx, method="exact"),
        squared_gradient_norms(module, X, bank, idx),
    )
    with pytest.raises(
        ValueError,
        match=r"^squared_gradient_norms: method must be 'exact' \(.*"
        r"expected_gradient_norms has method='lowrank'\), got 'lowrank'",
    ):
        squared_gradient_norms(module, X, bank, idx, method="lowrank")


def test_expected_norms_bad_energy_and_probabilities(mlp_problem):
    module, X, bank, idx = mlp_problem
    q = np.ones(idx.shape)
    with pytest.raises(
        TypeError, match=r"^expected_gradient_norms: energy must be .*got True"
    ):
        expected_gradient_norms(module, X, bank, idx, q, method="lowrank", energy=True)
    with pytest.raises(
        TypeError, match=r"^expected_gradient_norms: probabilities must be an array"
    ):
        expected_gradient_norms(module, X, bank, idx, None)
