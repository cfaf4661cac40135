"""Generated code computes scalars with Python floats and the math module (fast), which raise
where NumPy returns inf or nan and warns.  Found by a QA hunt: the gradient raised
ZeroDivisionError / "math domain error" where the user's NumPy function and the tape give
inf or nan.  pb.grad now runs the code again with NumPy's scalars there; each case agrees with
the tape."""

import warnings

import numpy as np
import pytest

import pullback as pb


def l2(w):
    return np.sqrt(np.sum(w ** 2))


def logsum(w):
    return np.log(np.sum(np.exp(w)))


def log_(s):
    return np.log(s)


def root(s):
    return np.power(s, 0.5)


def reciprocal(s):
    return np.reciprocal(s)


def mismatched(s, x, y):
    return np.sin(s) * np.sum(x * y)


@pytest.fixture(autouse=True)
def quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def same(got, want):
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(np.nan_to_num(got), np.nan_to_num(want))


@pytest.mark.parametrize("mode", ["source", "auto"])
@pytest.mark.parametrize("f, x", [(l2, np.zeros(3)), (logsum, np.array([-800.0, -900.0]))],
                         ids=["norm at zero", "log of an underflowed sum"])
def test_arrays_reduced_to_a_singular_scalar(mode, f, x):
    same(pb.grad(f, mode=mode)(x), pb.grad(f, mode="tape")(x))


@pytest.mark.parametrize("f", [log_, root, reciprocal])
def test_python_floats_at_a_singular_point(f):
    df = pb.grad(f, mode="source")
    regular = df(0.5)                     # generated, and kept for floats on the fast path
    assert regular == pytest.approx(float(pb.grad(f, mode="tape")(0.5)), rel=1e-12)
    same(df(0.0), pb.grad(f, mode="tape")(0.0))
    same(df(0.0), pb.grad(f, mode="tape")(0.0))   # the fast path's way there
    assert df(0.5) == regular


def test_another_value_error_still_raises():
    df = pb.grad(mismatched, mode="source")
    assert df(0.5, np.ones(2), np.ones(2)) == pytest.approx(2.0 * np.cos(0.5))
    with pytest.raises(ValueError, match="broadcast"):
        df(0.5, np.ones(3), np.ones(2))
