"""The arrays pb.grad returns are the caller's to change: never one of the arguments, a view of
one, or another returned gradient (generated code may compute d/dx sum(x * w) as ``w``
itself).  Found by a QA hunt: an in-place SGD step changed the other parameter."""

import numpy as np
import pytest

import pullback as pb

MODES = ["source", "auto", "tape"]


def product(x, y):
    return np.sum(x * y)


def shared(x, y, w):
    return np.sum(x * w) + np.sum(y * w)


def head_times(x, y):
    return np.sum(x[:2] * y)


def tree(p):
    return np.sum(p["a"] * p["b"])


def _arrays():
    return np.array([1.0, 2.0]), np.array([3.0, 4.0]), np.array([5.0, 6.0])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("call", [1, 2], ids=["first call", "cached call"])
def test_an_sgd_step_changes_only_its_own_parameter(mode, call):
    df = pb.grad(product, wrt=(0, 1), mode=mode)
    for _ in range(call):
        x, y, _w = _arrays()
        gx, gy = df(x, y)
    x -= 0.1 * gx
    y -= 0.1 * gy
    np.testing.assert_allclose(x, [0.7, 1.6])
    np.testing.assert_allclose(y, [2.9, 3.8])


@pytest.mark.parametrize("mode", MODES)
def test_two_gradients_are_two_arrays(mode):
    x, y, w = _arrays()
    gx, gy = pb.grad(shared, wrt=(0, 1), mode=mode)(x, y, w)
    gx += 1.0
    np.testing.assert_allclose(gy, [5.0, 6.0])
    np.testing.assert_allclose(w, [5.0, 6.0])
    g0, g1 = pb.grad(product, wrt=(0, 0), mode=mode)(x, y)
    g0 *= 0.0
    np.testing.assert_allclose(g1, y)


@pytest.mark.parametrize("mode", MODES)
def test_a_gradient_that_is_a_view_of_an_argument(mode):
    x, y = np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0])
    gy = pb.grad(head_times, wrt=1, mode=mode)(x, y)
    gy[:] = 0.0
    np.testing.assert_allclose(x, [1.0, 2.0, 3.0])


@pytest.mark.parametrize("mode", MODES)
def test_the_leaves_of_a_dict_gradient(mode):
    p = {"a": np.array([1.0, 2.0]), "b": np.array([3.0, 4.0])}
    g = pb.grad(tree, mode=mode)(p)
    g["a"] *= 0.0
    np.testing.assert_allclose(p["b"], [3.0, 4.0])
    np.testing.assert_allclose(g["b"], p["a"])


# --- one array given as two arguments ------------------------------------------------------------

def writes_first(a, b):
    a[0] = b[1] * 3.0
    return np.sum(a * b)


def reads_both(a, b):
    return np.sum(a * b)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("second", [lambda x: x, lambda x: x[::-1]], ids=["same", "view"])
def test_one_array_as_two_arguments_written_into_is_refused(mode, second):
    """In NumPy the write into a shows through b; pb.grad copies each argument, so it gave the
    value and gradient of another function (19 where f(x, x) is 49), silently."""
    x = np.array([1.0, 2.0, 3.0])
    df = pb.value_and_grad(writes_first, wrt=(0, 1), mode=mode)
    with pytest.raises(ValueError, match="'a' and 'b' are one array"):
        df(x, second(x))
    value, _ = df(x, x.copy())   # and the fast path does not skip the check afterwards
    assert value == writes_first(x.copy(), x.copy())
    with pytest.raises(ValueError, match="'a' and 'b' are one array"):
        df(x, second(x))
    np.testing.assert_allclose(x, [1.0, 2.0, 3.0])


@pytest.mark.parametrize("mode", MODES)
def test_one_array_as_two_arguments_only_read(mode):
    x = np.array([1.0, 2.0, 3.0])
    ga, gb = pb.grad(reads_both, wrt=(0, 1), mode=mode)(x, x)
    np.testing.assert_allclose(ga, x)
    np.testing.assert_allclose(gb, x)
