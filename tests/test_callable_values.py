"""Functions made from differentiated values and called with constant arguments (found by a
QA hunt: the source engine took such calls for constants, a zero gradient, or emitted a call
of a nested function it never defined, a NameError).  Each is now refused by the source engine
at the user's line, so mode='auto' runs the tape, which gets them right."""

import functools

import numpy as np
import pytest

import pullback as pb


def apply(fn, c):
    return fn(c)


def make_scaler(s):
    def scale(c):
        return s * c
    return scale


def list_of_lambdas(x):
    fs = [lambda c: x * c]
    return np.sum(fs[0](3.0))


def dict_of_lambdas(x):
    fs = {"k": lambda c: x * c}
    return np.sum(fs["k"](3.0))


def conditional_lambda(x):
    h = (lambda c: x * c) if x.size > 1 else (lambda c: c)
    return np.sum(h(3.0))


def closure_from_helper(x):
    return np.sum(make_scaler(x)(3.0))


def lambda_passed_to_helper(x):
    h = lambda c: x * c  # noqa: E731
    return np.sum(apply(h, 3.0))


def aliased_lambda(x):
    h = lambda c: x * c  # noqa: E731
    g = h
    return np.sum(g(3.0))


def nested_def_returns_lambda(x):
    def outer():
        return lambda c: c * x
    return np.sum(outer()(3.0))


def partial_of_x(x):
    return np.sum(functools.partial(np.multiply, x)(3.0))


def with_eval(x):
    return np.sum(eval("x * 3.0"))


def with_locals(x):
    return np.sum(locals()["x"] * 3.0)


def with_vars(x):
    y = x * 3.0
    return np.sum(vars()["y"])


def called_directly(x):
    h = lambda c: x * c  # noqa: E731 (followed: called by its name)
    return np.sum(h(3.0))


CASES = [list_of_lambdas, dict_of_lambdas, conditional_lambda, closure_from_helper,
         lambda_passed_to_helper, aliased_lambda, nested_def_returns_lambda, partial_of_x,
         with_eval, with_locals, with_vars]
X = np.array([1.0, 2.0])


@pytest.mark.parametrize("f", CASES, ids=[f.__name__ for f in CASES])
def test_refused_by_the_source_engine_and_right_on_the_tape(f):
    with pytest.raises(pb.TransformError) as err:
        pb.grad(f, mode="source")(X)
    assert err.value.filename == __file__
    assert f.__code__.co_firstlineno < err.value.lineno <= f.__code__.co_firstlineno + 4
    df = pb.grad(f, mode="auto")
    got = df(X)
    assert df.mode == "tape"
    want = (f(X + np.array([1e-6, 0.0])) - f(X - np.array([1e-6, 0.0]))) / 2e-6
    np.testing.assert_allclose(got, [want, want], rtol=1e-6)
    np.testing.assert_allclose(got, pb.grad(f, mode="tape")(X))


def test_a_nested_function_called_by_its_name_is_followed():
    df = pb.grad(called_directly, mode="auto")
    np.testing.assert_allclose(df(X), [3.0, 3.0])
    assert df.mode == "source"
