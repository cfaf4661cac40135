"""QA findings about conversions and names around them, each checked against central finite
differences in every mode: ``np.asarray(x)`` and its kin as the first line of a function; a
complex intermediate (refused, never a wrong sign); ``pb.random`` and ``pb.linspace`` with
Variables; ``pb.grad`` of a NumPy function itself; ``pb.nn`` / ``pb.math`` inside
``mode="source"``; ``x.view()`` on the tape."""

import warnings

import numpy as np
import pytest

import pullback as pb

MODES = ("source", "tape", "auto")
X = np.array([0.7, -1.3, 2.1])


def fd_grad(f, x, h=1e-6):
    """Central finite differences of scalar ``f`` at array or float ``x``."""
    x = np.asarray(x, dtype=float)
    g = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        e = np.zeros(x.shape)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


# --- 1. np.asarray(x) and its kin: the value itself (or a copy) -----------------------------

def as_array(x):
    x = np.asarray(x)
    return np.sum(np.sin(x) * x)


def as_array_float(x):
    x = np.asarray(x, dtype=float)
    return np.sum(np.sin(x) * x)


def as_anyarray(x):
    x = np.asanyarray(x)
    return np.sum(x ** 3)


def as_array_copy(x):
    y = np.array(x, dtype=np.float64)
    return np.sum(np.exp(y) * x)


def as_type(x):
    y = x.astype(np.float64)
    return np.sum(y * y * x)


def as_contiguous(x):
    y = np.ascontiguousarray(x)
    return np.sum(np.tanh(y) * x)


def as_fortran(x):
    y = np.asfortranarray(x)
    return np.sum(np.cos(y))


@pytest.mark.parametrize("fn", [as_array, as_array_float, as_anyarray, as_array_copy, as_type,
                                as_contiguous, as_fortran],
                         ids=lambda f: f.__name__)
@pytest.mark.parametrize("mode", MODES)
def test_conversions_of_a_differentiated_array_keep_its_gradient(fn, mode):
    df = pb.grad(fn, mode=mode)
    np.testing.assert_allclose(df(X), fd_grad(fn, X), rtol=1e-7, atol=1e-9)
    if mode != "tape":
        assert df.mode == "source", df.fallback_reason


@pytest.mark.parametrize("mode", MODES)
def test_asarray_of_a_float_argument_works_in_every_mode(mode):
    df = pb.grad(as_array, mode=mode)
    np.testing.assert_allclose(df(0.4), fd_grad(as_array, 0.4), rtol=1e-7)


def test_asarray_generates_plain_code():
    df = pb.grad(as_array, mode="source")
    df(X)
    assert "np.asarray(x)" in df.source and "rule(" not in df.source


def scaled_by(x, y):
    x = np.asarray(x)
    return np.sum(np.tanh(x) * y)


def test_asarray_keeps_the_layout_the_generated_code_is_specialized_to():
    x, y = X, X[::-1].copy()
    df = pb.grad(scaled_by, mode="source")
    np.testing.assert_allclose(df(x, y), fd_grad(lambda v: scaled_by(v, y), x), rtol=1e-7)
    assert "unbroadcast" not in df.source   # x and y have the same shape: nothing to sum


def test_a_cast_to_float32_keeps_the_gradient_of_float32_values():
    x32 = X.astype(np.float32)
    expected = 2 * x32.astype(np.float64)
    for mode in ("source", "tape"):
        np.testing.assert_allclose(pb.grad(lambda x: np.sum(np.asarray(x, dtype="float32")
                                                            ** 2), mode=mode)(X),
                                   expected, rtol=1e-6)


def int_part(x):
    k = np.asarray(x, dtype=int)
    return np.sum(k * x) + np.sum(x.astype(np.int64) * x) + np.sum(np.array(x, dtype=int) * x)


@pytest.mark.parametrize("mode", MODES)
def test_a_conversion_to_an_integer_dtype_is_a_constant(mode):
    # as int(v): constant where differentiable, so finite differences see only the factor x
    df = pb.grad(int_part, mode=mode)
    np.testing.assert_allclose(df(X), fd_grad(int_part, X), rtol=1e-7)


def to_complex(x):
    return np.sum(np.abs(np.asarray(x, dtype=complex)))


def to_unknown(x, dt):
    return np.sum(np.asarray(x, dtype=dt) ** 2)


def test_a_conversion_the_source_engine_cannot_type_is_refused_at_the_users_line():
    with pytest.raises(pb.TransformError, match="real values only") as err:
        pb.grad(to_complex, mode="source")(X)
    assert err.value.filename == __file__ and "complex" in err.value.text
    with pytest.raises(pb.TransformError, match="which dtype") as err:
        pb.grad(to_unknown, mode="source")(X, float)
    assert err.value.filename == __file__
    df = pb.grad(to_unknown)   # auto: the tape, which sees the dtype
    np.testing.assert_allclose(df(X, float), 2 * X)
    assert df.mode == "tape" and "which dtype" in df.fallback_reason


def writes_through_asarray(x):
    y = np.asarray(x)          # NumPy: y is x itself, so the write shows in x
    y[0] = 3.0 * x[1]
    return np.sum(x ** 2)


def test_asarray_is_the_array_itself_on_the_tape():
    expected = fd_grad(lambda v: writes_through_asarray(v.copy()), X)
    np.testing.assert_allclose(pb.grad(writes_through_asarray, mode="tape")(X), expected,
                               rtol=1e-7, atol=1e-9)
    with pytest.raises(pb.TransformError, match="view"):
        pb.grad(writes_through_asarray, mode="source")(X)
    np.testing.assert_allclose(pb.grad(writes_through_asarray)(X), expected, rtol=1e-7,
                               atol=1e-9)


def converts_a_list_argument(p):
    a = np.array(p, dtype=float)
    return np.sum(a ** 2 * np.asarray(p))


def test_a_differentiated_list_converted_whole():
    # its leaves got no gradient (zeros, silently); now followed (docs/source-engine.md)
    p = [0.5, -1.5]
    expected = fd_grad(lambda v: converts_a_list_argument(list(v)), np.array(p))
    for mode in MODES:
        np.testing.assert_allclose(pb.grad(converts_a_list_argument, mode=mode)(p), expected,
                                   rtol=1e-7)


def astype_without_a_copy(x):
    y = x.astype(float, copy=False)   # NumPy: x itself, so the write below goes into x
    y[0] = 2.0 * y[1]
    return np.sum(x ** 2)


def test_a_conversion_that_may_not_copy_is_refused_by_the_source_engine():
    with pytest.raises(pb.TransformError, match="copy="):
        pb.grad(astype_without_a_copy, mode="source")(X)
    expected = fd_grad(lambda v: astype_without_a_copy(v.copy()), X)
    for mode in ("tape", "auto"):
        np.testing.assert_allclose(pb.grad(astype_without_a_copy, mode=mode)(X), expected,
                                   rtol=1e-7, atol=1e-9)


# --- 6. complex intermediates: refused, never a wrong number --------------------------------

def abs_of_complex_sum(x):
    return np.abs(np.sum(x * 1j))


def phase_times_x(x):
    return np.sum(np.abs(np.exp(1j * x) * x))


def squared_modulus(x):
    z = x * (1.0 + 2.0j)
    return np.real(np.sum(z * np.conj(z)))


@pytest.mark.parametrize("fn", [abs_of_complex_sum, phase_times_x, squared_modulus],
                         ids=lambda f: f.__name__)
@pytest.mark.parametrize("mode", MODES)
def test_a_complex_intermediate_is_refused_in_every_mode(fn, mode):
    df = pb.grad(fn, mode=mode)
    for args in ((X,), (0.8,), (0.8,)):   # twice a float: the fast path checks too
        with warnings.catch_warnings():
            warnings.simplefilter("error")   # no ComplexWarning: refused before any cast
            with pytest.raises(TypeError, match="real values only"):
                df(*args)


def test_the_gradient_tape_refuses_a_complex_value_made_from_a_watched_one():
    x = pb.constant(X)
    with pb.GradientTape() as tape:
        tape.watch(x)
        with pytest.raises(TypeError, match="real values only"):
            np.sum(x * 1j)


# --- 2. pb.random and pb.linspace with Variables ---------------------------------------------

def _tape_grads(fn, *values):
    vs = [pb.Variable(v) for v in values]
    with pb.GradientTape() as tape:
        y = fn(*vs)
    return [float(g) for g in tape.gradient(y, vs)]


def _fd_partials(fn, *values, h=1e-6):
    out = []
    for i in range(len(values)):
        up, down = list(values), list(values)
        up[i] += h
        down[i] -= h
        out.append((float(fn(*up)) - float(fn(*down))) / (2 * h))
    return out


@pytest.mark.parametrize("fn", [
    lambda m, s: pb.reduce_sum(pb.random.normal((5,), mean=m, stddev=s, seed=3) ** 2),
    lambda a, b: pb.reduce_sum(pb.random.uniform((2, 3), minval=a, maxval=b, seed=4) ** 3),
    lambda a, b: pb.reduce_sum(pb.linspace(a, b, 6) ** 2),
], ids=["normal", "uniform", "linspace"])
def test_random_and_linspace_pass_gradients_to_their_parameters(fn):
    assert float(fn(pb.Variable(0.5), pb.Variable(2.0))) == float(fn(0.5, 2.0))  # same values
    np.testing.assert_allclose(_tape_grads(fn, 0.5, 2.0), _fd_partials(fn, 0.5, 2.0), rtol=1e-6)


# --- 3. pb.grad of a NumPy function itself ---------------------------------------------------

@pytest.mark.parametrize("fn", [np.sum, np.mean, np.prod, np.linalg.norm],
                         ids=lambda f: f.__name__)
@pytest.mark.parametrize("mode", MODES)
def test_grad_of_a_numpy_function_uses_its_rule(fn, mode):
    df = pb.grad(fn, mode=mode)
    if mode == "source":   # no source to generate code from, and source mode never falls back
        with pytest.raises(pb.TransformError, match="derivative rule.*mode='auto'"):
            df(X)
        return
    np.testing.assert_allclose(df(X), fd_grad(fn, X), rtol=1e-7)
    if mode != "tape":
        assert "derivative rule" in df.fallback_reason


# --- 4. pb.nn / pb.math inside mode="source" ------------------------------------------------

def with_sigmoid(a):
    return np.sum(pb.nn.sigmoid(a) * a)


def with_square(a):
    return pb.reduce_sum(pb.math.square(a))


@pytest.mark.parametrize("fn, numpy", [(with_sigmoid, "np.exp(-x)"), (with_square, "np.sum(")],
                         ids=["nn.sigmoid", "reduce_sum"])
def test_tensor_names_are_refused_at_the_users_line_with_the_numpy_to_write(fn, numpy):
    with pytest.raises(pb.TransformError, match="TensorFlow-style") as err:
        pb.grad(fn, mode="source")(X)
    assert err.value.filename == __file__ and numpy in str(err.value)
    assert err.value.lineno == fn.__code__.co_firstlineno + 1
    df = pb.grad(fn)            # auto: the tape runs them
    np.testing.assert_allclose(df(X), fd_grad(lambda v: float(fn(v)), X), rtol=1e-7)
    assert df.mode == "tape"


# --- 5. x.view() on the tape -----------------------------------------------------------------

def through_view(x):
    y = (x * 2.0).view()
    return np.sum(y ** 2 * x)


def written_through_view(x):
    b = np.zeros(3)
    b[:] = x
    v = b.view()
    v += x                     # NumPy: writes into b
    return np.sum(b * x)


@pytest.mark.parametrize("fn", [through_view, written_through_view], ids=lambda f: f.__name__)
@pytest.mark.parametrize("mode", MODES)
def test_view_is_followed_in_every_mode(fn, mode):
    if mode == "source" and fn is written_through_view:   # a write through a view: refused
        with pytest.raises(pb.TransformError, match="view"):
            pb.grad(fn, mode=mode)(X)
        return
    np.testing.assert_allclose(pb.grad(fn, mode=mode)(X), fd_grad(fn, X), rtol=1e-7)


def reinterpreted(x):
    return np.sum(x.view(np.int64) * x)


@pytest.mark.parametrize("mode", MODES)
def test_view_as_another_dtype_of_a_differentiated_value_is_refused(mode):
    with pytest.raises((TypeError, pb.TransformError), match="reinterprets the bytes"):
        pb.grad(reinterpreted, mode=mode)(X)


@pytest.mark.parametrize("mode", ["auto", "tape"])
def test_grad_of_a_ufunc_and_of_a_partial_of_one(mode):
    """pb.grad(np.sin) raised "cannot specify both 'signature' and 'dtype'" (every default of
    the ufunc's signature was passed by keyword), and on Python 3.10, which gives a ufunc no
    signature, pb.grad(np.sin) and pb.grad(functools.partial(np.multiply, 2.0)) raised."""
    import functools
    assert pb.grad(np.sin, mode=mode)(0.5) == pytest.approx(np.cos(0.5), rel=1e-12)
    assert pb.grad(functools.partial(np.multiply, 2.0), mode=mode)(0.5) == 2.0
