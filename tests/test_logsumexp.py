"""The shift of a stable logsumexp is held constant (``_source._logsumexp``): exactly the
pattern whose derivative through the shift is identically zero, nothing near it.  Every case,
detached or not, is checked against central differences and the tape."""

import numpy as np
import pytest

import pullback as pb


def lse_rows(x):
    m = np.max(x, axis=1, keepdims=True)
    lse = m + np.log(np.sum(np.exp(x - m), axis=1, keepdims=True))
    return np.sum(lse * np.arange(1.0, x.shape[0] + 1)[:, None])


def lse_scalar(x):
    m = np.max(x)
    return np.log(np.sum(np.exp(x - m))) + m


def lse_amax_last_axis(x):
    m = np.amax(x, axis=-1, keepdims=True)
    return np.sum(m + np.log(np.sum(np.exp(x - m), axis=-1, keepdims=True)))


def cross_entropy(logits, y):
    m = np.max(logits, axis=1, keepdims=True)
    lse = m + np.log(np.sum(np.exp(logits - m), axis=1, keepdims=True))
    return np.mean(lse - np.sum(y * logits, axis=1, keepdims=True))


DETACHED = [lse_rows, lse_scalar, lse_amax_last_axis]


# --- near misses: the derivative through m is not zero, or not only through lse -------------

def shift_read_again(x):
    m = np.max(x, axis=1, keepdims=True)
    lse = m + np.log(np.sum(np.exp(x - m), axis=1, keepdims=True))
    return np.sum(lse + m * m)


def other_axis(x):
    m = np.max(x, axis=1, keepdims=True)
    return np.sum(m + np.log(np.sum(np.exp(x - m), axis=0, keepdims=True)))


def shifted_values_read_again(x):
    m = np.max(x, axis=1, keepdims=True)
    z = x - m
    lse = m + np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return np.sum(lse) + np.sum(z * z)


def log_read_again(x):
    m = np.max(x, axis=1, keepdims=True)
    l = np.log(np.sum(np.exp(x - m), axis=1, keepdims=True))
    return np.sum(m + l) + np.sum(l ** 2)


def shift_of_another_array(x):
    m = np.max(x * 2.0, axis=1, keepdims=True)
    return np.sum(m + np.log(np.sum(np.exp(x - m), axis=1, keepdims=True)))


def shift_times_two(x):
    m = np.max(x, axis=1, keepdims=True)
    return np.sum(2.0 * m + np.log(np.sum(np.exp(x - m), axis=1, keepdims=True)))


KEPT = [shift_read_again, other_axis, shifted_values_read_again, log_read_again,
        shift_of_another_array, shift_times_two]


def _x(seed, shape=(5, 4)):
    return np.random.default_rng(seed).standard_normal(shape)


def _fd(fn, x, direction, eps=1e-6):
    return (fn(x + eps * direction) - fn(x - eps * direction)) / (2 * eps)


def _check(fn, x):
    g = pb.grad(fn, mode="source")(x)
    t = pb.grad(fn, mode="tape")(x)
    np.testing.assert_allclose(g, t, rtol=1e-10, atol=1e-13)
    d = np.random.default_rng(1).standard_normal(x.shape)
    assert np.sum(g * d) == pytest.approx(_fd(fn, x, d), rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("fn", DETACHED + KEPT, ids=lambda f: f.__name__)
@pytest.mark.parametrize("seed", [0, 1])
def test_gradient_matches_finite_differences_and_tape(fn, seed):
    _check(fn, _x(seed))


@pytest.mark.parametrize("fn", DETACHED, ids=lambda f: f.__name__)
def test_the_shift_of_a_stable_logsumexp_gets_no_gradient_code(fn):
    df = pb.grad(fn, mode="source")
    df(_x(0))
    assert "vjp_max" not in df.source and "vjp_amax" not in df.source
    assert "bm" not in df.source  # no adjoint of m at all


@pytest.mark.parametrize("fn", KEPT, ids=lambda f: f.__name__)
def test_near_misses_are_differentiated_as_written(fn):
    df = pb.grad(fn, mode="source")
    df(_x(0))
    assert "bm" in df.source


def test_ties_in_the_max_change_nothing():
    x = np.array([[1.0, 3.0, 3.0, 0.5], [2.0, 2.0, 2.0, 2.0]])
    g = pb.grad(lse_rows, mode="source")(x)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    softmax = e / e.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(g, softmax * np.array([[1.0], [2.0]]), rtol=1e-14)


def test_cross_entropy_gradient_is_softmax_minus_labels():
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((8, 5))
    y = np.eye(5)[rng.integers(0, 5, 8)]
    df = pb.grad(cross_entropy, mode="source")
    g = df(logits, y)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(g, (e / e.sum(axis=1, keepdims=True) - y) / 8, rtol=1e-13)
    assert "vjp_max" not in df.source
