"""The source engine knows NumPy's functions by identity, never by name: a user's primitive
called `sum` or `add` gets none of the shortcuts np.sum and np.add get."""

import namesakes
import numpy as np
import pytest

import pullback as pb


def through_sum(w, x):
    s = namesakes.sum(x)
    return np.sum(s * w)


def through_add(w, x):
    return np.sum(namesakes.add(x, w) ** 2)


@pytest.mark.parametrize("mode", ["source", "tape"])
def test_a_primitive_named_sum_is_not_a_reduction(mode):
    x = np.array([1.0, 2.0, 3.0])
    gw, gx = pb.grad(through_sum, wrt=(0, 1), mode=mode)(2.0, x)
    assert float(gw) == pytest.approx(1.0 + 3.0 + 6.0)
    np.testing.assert_allclose(gx, [6.0, 4.0, 2.0])


@pytest.mark.parametrize("mode", ["source", "tape"])
def test_a_primitive_named_add_is_not_elementwise(mode):
    x = np.array([1.0, -2.0])
    gw, gx = pb.grad(through_add, wrt=(0, 1), mode=mode)(0.5, x)
    assert float(gw) == pytest.approx(2 * np.sum(x + 0.5))
    np.testing.assert_allclose(gx, 2 * (x + 0.5))
    assert pb.check_grads(lambda w: through_add(w, x), (0.5,))
