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
