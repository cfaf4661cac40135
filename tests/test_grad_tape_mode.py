"""pb.grad(mode="tape"): the runtime tape behind the same API, including writes into arrays."""

import numpy as np
import pytest

import pullback as pb
from corpus_helpers import fill_with_plain_numpy


def fill(x, w):
    buf = np.zeros(len(x))
    for i in range(len(x)):
        buf[i] = np.sin(x[i] * w)
    return np.sum(buf ** 2)


def slices_and_copies(x):
    out = np.empty_like(x)
    out[:] = 0.0
    out[1:] = x[:-1] * 2.0
    y = x.copy()
    y[0] = out[2] ** 2
    return np.sum(out * y)


def writes_its_argument(x):
    x[0] = 0.0
    return np.sum(x ** 2)


def numeric(f, args, index):
    x = np.asarray(args[index], dtype=float)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = 1e-6
        plus, minus = list(args), list(args)
        plus[index], minus[index] = x + e, x - e
        g[i] = (f(*[np.copy(a) for a in plus]) - f(*[np.copy(a) for a in minus])) / 2e-6
    return g


@pytest.mark.parametrize("f, args", [
    (fill, (np.array([0.3, -1.0, 2.0]), 0.7)),
    (slices_and_copies, (np.array([0.5, -1.5, 2.0, 1.0]),)),
    (writes_its_argument, (np.array([1.0, 2.0, 3.0]),)),
])
def test_writes_into_arrays_are_recorded(f, args):
    before = [np.copy(a) for a in args]
    tape = pb.grad(f, mode="tape")(*args)
    source = pb.grad(f, mode="source")(*args)
    for a, b in zip(args, before):
        np.testing.assert_array_equal(a, b)  # arguments untouched
    np.testing.assert_allclose(tape, numeric(f, args, 0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(tape, source, rtol=1e-12, atol=1e-14)


def test_a_write_the_tape_cannot_see_is_refused_not_dropped():
    with pytest.raises(TypeError, match="silently drop"):
        pb.grad(fill_with_plain_numpy, mode="tape")(np.array([1.0, 2.0]))


def test_tape_mode_reports_itself():
    df = pb.grad(fill, mode="tape")
    df(np.array([0.1, 0.2]), 1.0)
    assert df.mode == "tape" and "mode='tape'" in df.fallback_reason
