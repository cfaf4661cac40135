"""QA findings on the transforms (vjp, jvp, jacobian, hessian, hvp) and pb.grad's edges, each
checked against central finite differences on every engine."""

import numpy as np
import pytest

import pullback as pb

MODES = ["auto", "source", "tape"]
EPS = 1e-6


def fd_jacobian(fun, x):
    """Central differences of ``fun`` (array or tuple of arrays out) at float array ``x``:
    ``out.shape + x.shape`` per output, on copies of ``x`` (fun may write into them)."""
    x = np.asarray(x, dtype=float)
    columns = []
    for i in np.ndindex(x.shape):
        e = np.zeros(x.shape)
        e[i] = EPS
        plus, minus = fun(x.copy() + e), fun(x.copy() - e)
        if isinstance(plus, tuple):
            columns.append(tuple((np.asarray(p) - np.asarray(m)) / (2 * EPS)
                                 for p, m in zip(plus, minus)))
        else:
            columns.append((np.asarray(plus) - np.asarray(minus)) / (2 * EPS))

    def assemble(cols):
        out = np.stack(cols, axis=-1)
        return out.reshape(out.shape[:-1] + x.shape)
    if columns and isinstance(columns[0], tuple):
        return tuple(assemble([c[k] for c in columns]) for k in range(len(columns[0])))
    return assemble(columns)


def close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-7)


# --- 5. pb.grad of None, a str or a bool ------------------------------------------------------

def returns_none(x):
    np.sum(x ** 2)


def returns_str(x):
    return "loss"


def returns_bool(x):
    return np.sum(x) > 0


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fn", [returns_none, returns_str, returns_bool])
def test_grad_of_an_output_that_is_no_real_number_raises(mode, fn):
    expected = pb.TransformError if fn is returns_none and mode == "source" else ValueError
    with pytest.raises(expected, match="return"):
        pb.grad(fn, mode=mode)(np.array([1.0, 2.0]))


# --- 6. GradientTape.jacobian of an empty target ----------------------------------------------

def test_tape_jacobian_and_batch_jacobian_of_an_empty_target_are_empty_arrays():
    x = pb.constant(np.zeros(0))
    with pb.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * 2
    assert tape.jacobian(y, x).shape == (0, 0)
    batch = pb.constant(np.zeros((3, 0)))
    with pb.GradientTape() as tape:
        tape.watch(batch)
        z = batch * 2
    assert tape.batch_jacobian(z, batch).shape == (3, 0, 0)


# --- 7. Tensor arguments outside any tape get arrays ---------------------------------------------

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("make", [pb.constant, pb.Variable])
def test_grad_of_a_tensor_argument_outside_a_tape_is_an_array(mode, make):
    def f(x):
        return np.sum(np.sin(x) * x)

    x = np.array([0.5, 1.5])
    g = pb.grad(f, mode=mode)(make(x))
    assert type(g) is np.ndarray
    close(g, fd_jacobian(f, x))
