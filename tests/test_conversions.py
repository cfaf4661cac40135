"""Conversions of differentiated values: the ones that keep the value keep the gradient
(``float(v)``, ``np.float64(v)``); the ones that keep only its integer part have gradient zero
(``int(v)``, ``round(v)``); the rest are refused, never made constants without a word
(``np.float32(v)``, ``complex(v)``, ``sorted(v)``, ``list(v)``: they dropped the gradient)."""

import numpy as np
import pytest

import pullback as pb


def through_float64(w, x0):
    return np.tanh(w) * np.float64(x0) + np.double(w * x0)


def through_float(w, x0):
    return np.tanh(w) * float(x0)


def through_int(w, x0):
    return np.tanh(w) * x0 + int(x0 * 10.0 + 0.5) * w   # constant near x0 = 0.33


@pytest.mark.parametrize("fn", [through_float64, through_float, through_int],
                         ids=lambda f: f.__name__)
def test_conversions_that_keep_the_value_keep_the_gradient(fn):
    w, x0, h = 0.9, 0.33, 1e-6
    got = pb.grad(fn, wrt=(0, 1), mode="source")(w, x0)
    fd = ((fn(w + h, x0) - fn(w - h, x0)) / (2 * h), (fn(w, x0 + h) - fn(w, x0 - h)) / (2 * h))
    np.testing.assert_allclose(got, fd, rtol=1e-6)
    df = pb.grad(fn, wrt=(0, 1))
    np.testing.assert_allclose(df(w, x0), got, rtol=1e-12)
    assert df.mode == "source", df.fallback_reason


def through_float32(w, x0):
    return np.tanh(w) * np.float32(x0)


def through_complex(w, x0):
    return np.tanh(w) * complex(x0).real


def through_sorted(x):
    return np.sum(np.array(sorted(x)) * np.arange(3.0))


def through_tuple(x):
    a, b, c = tuple(x)
    return a * b + c


@pytest.mark.parametrize("fn, args", [(through_float32, (0.9, 0.3)), (through_complex, (0.9, 0.3)),
                                      (through_sorted, (np.array([0.3, -0.1, 0.5]),)),
                                      (through_tuple, (np.array([0.3, -0.1, 0.5]),))],
                         ids=lambda v: getattr(v, "__name__", ""))
def test_conversions_that_would_drop_the_gradient_are_refused(fn, args):
    wrt = tuple(range(len(args)))
    with pytest.raises(pb.TransformError, match=r"cannot differentiate through"):
        pb.grad(fn, wrt=wrt, mode="source")(*args)
    if fn is through_complex:   # the tape too: complex() of a differentiated Tensor
        with pytest.raises(TypeError, match="converted to a Python complex"):
            pb.grad(fn, wrt=wrt, mode="tape")(*args)


def through_item(x):
    return x[0].item() * x[1]


def through_tolist(x):
    return np.sum(np.array(x.tolist()) * x)


@pytest.mark.parametrize("fn", [through_item, through_tolist], ids=lambda f: f.__name__)
@pytest.mark.parametrize("mode", ["tape", "auto"])
def test_the_tape_refuses_to_turn_a_differentiated_tensor_into_python_numbers(fn, mode):
    """``.item()`` and ``.tolist()`` dropped the gradient of what they converted."""
    with pytest.raises(TypeError, match=r"converted to Python numbers|converted to a Python "
                                        r"number"):
        pb.grad(fn, mode=mode)(np.array([0.3, -0.1, 0.5]))


def through_numpy_method(x):
    return x[0].numpy() * x[1]


def test_the_tape_refuses_numpy_of_a_differentiated_tensor_inside_pb_grad():
    with pytest.raises(TypeError, match=r"converted to NumPy with .numpy\(\)"):
        pb.grad(through_numpy_method, mode="tape")(np.array([0.3, -0.1, 0.5]))
