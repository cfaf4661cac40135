"""Arguments that hold a function (``rk4(f, y0)``, ``act=np.tanh``): the source engine
generates code for the function passed, as for a module-level helper, keyed on it in the cache.
Each case is checked against central finite differences and the tape."""

import math

import numpy as np
import pytest

import pullback as pb

EPS = 1e-6


def central(fun, x):
    x = np.asarray(x, dtype=float)
    g = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        e = np.zeros(x.shape)
        e[i] = EPS
        g[i] = (fun(x + e) - fun(x - e)) / (2 * EPS)
    return g


def decay(y, k):
    return -k * y + np.sin(y)


def spring(y, k):
    return k * np.cos(y) - y ** 3


def euler(y0, k, f, n, dt):
    y = y0
    for i in range(n):
        y = y + dt * f(y, k)
    return np.sum(y ** 2)


def dense(W, x, act=np.tanh):
    return np.sum(act(x @ W) ** 2)


def scaled(w, f=math.sin):
    return f(w) * w


def passes_on(x, f):
    return _inner(x, f)


def _inner(x, g):
    return np.sum(g(x) * x)


def _layer(x, act=np.tanh):
    return act(x) * 2.0


def default_in_helper(x):
    return np.sum(_layer(x) + _layer(x, np.sin))


def reassigns(x, f):
    if x.shape[0] > 5:
        f = np.cos
    return np.sum(f(x))


def make_rhs(c):
    def rhs(y, k):
        return c * np.tanh(k * y)
    return rhs


@pb.primitive
def softsign(x):
    return x / (1.0 + np.abs(x))


pb.defvjp(softsign, lambda ans, x: lambda g: g / (1.0 + np.abs(x)) ** 2)

square = lambda z: z * z  # noqa: E731  (a lambda passed as a function argument)

Y0 = np.array([0.5, -1.0, 0.25])
X = np.array([[0.3, -0.2], [0.1, 0.4]])
V = np.array([0.7, -1.3])


def check(f, args, wrt=0):
    """Source and auto gradients of f against finite differences and the tape."""
    df = pb.grad(f, wrt=wrt, mode="auto")
    got = df(*args)
    assert df.mode == "source", df.fallback_reason
    source = pb.grad(f, wrt=wrt, mode="source")(*args)
    tape = pb.grad(f, wrt=wrt, mode="tape")(*args)

    def at(x):
        call = list(args)
        call[wrt] = x
        return f(*call)

    want = central(at, args[wrt])
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(source, tape, rtol=1e-10, atol=1e-12)
    return df


@pytest.mark.parametrize("rhs", [decay, spring, make_rhs(0.5)], ids=["decay", "spring", "closure"])
def test_an_integrator_taking_the_right_hand_side(rhs):
    check(euler, (Y0, 0.3, rhs, 6, 0.1), wrt=0)
    check(euler, (Y0, 0.3, rhs, 6, 0.1), wrt=1)


def test_another_function_generates_anew():
    """The cache holds the function: a second one must not reuse the first one's code (the
    arguments' types alone are the same)."""
    df = pb.grad(euler, wrt=1, mode="source")
    for rhs in (decay, spring, decay):
        got = df(Y0, 0.3, rhs, 4, 0.1)
        want = central(lambda k: euler(Y0, float(k), rhs, 4, 0.1), 0.3)
        np.testing.assert_allclose(got, want, rtol=1e-6)
    assert "# f is decay (test_function_arguments.py" in df.source


@pytest.mark.parametrize("act", [None, np.sin, square, softsign],
                         ids=["default", "ufunc", "lambda", "primitive"])
def test_an_activation_argument(act):
    args = (X, V) if act is None else (X, V, act)
    df = check(dense, args)
    name = "numpy.tanh" if act is None else "act is"
    assert name in df.source


def test_python_floats_and_a_math_function():
    """The fast path for float arguments keys on types: it must not serve a function it was
    not generated for."""
    df = pb.grad(scaled, mode="source")
    for f, derivative in ((math.sin, lambda w: math.sin(w) + w * math.cos(w)),
                          (math.cos, lambda w: math.cos(w) - w * math.sin(w)),
                          (math.sin, lambda w: math.sin(w) + w * math.cos(w))):
        assert df(0.7, f) == pytest.approx(derivative(0.7), rel=1e-12)
        assert df(0.7, f) == pytest.approx(derivative(0.7), rel=1e-12)   # the fast path
    assert df(0.7) == pytest.approx(math.sin(0.7) + 0.7 * math.cos(0.7), rel=1e-12)


def test_a_function_passed_on_to_a_helper():
    check(passes_on, (V, np.sin))
    check(passes_on, (V, decay.__globals__["square"]))


def test_a_helper_with_a_function_default():
    check(default_in_helper, (V,))


def test_a_reassigned_function_argument_is_refused():
    with pytest.raises(pb.TransformError, match="a name the function assigns") as err:
        pb.grad(reassigns, mode="source")(V, np.sin)
    assert err.value.lineno == reassigns.__code__.co_firstlineno + 3
    df = pb.grad(reassigns, mode="auto")
    np.testing.assert_allclose(df(V, np.sin), np.cos(V))
    assert df.mode == "tape"


def pooled(W, x, pool=np.mean):
    return pool(np.tanh(x @ W)) * 2.0


@pytest.mark.parametrize("pool", [np.mean, np.max, np.sum, np.median],
                         ids=lambda f: f.__name__)
def test_a_numpy_function_that_is_no_ufunc(pool):
    """np.mean and NumPy's other functions are dispatcher objects, not Python functions: they
    were refused as "known only when the code runs" (found by helper-24)."""
    check(pooled, (X, V, pool))
