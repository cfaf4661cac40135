"""Rules for reductions and scans: finite-difference tables over shapes, axes, keepdims and
ddof, plus exact-value tests for the conventions (tied extrema, zeros in prod / cumprod,
std of equal values) and for rejected keywords."""

import itertools
import warnings

import numpy as np
import pytest

import pullback as pb
from pullback._registry import lookup
from rulecheck import check_rule


def vjp(fun, *args, **kwargs):
    """The registry's VJP of ``fun`` for its first argument, at ``args``."""
    return lookup(fun).vjp_maker(0)(fun(*args, **kwargs), *args, **kwargs)


def jvp(fun, *args, **kwargs):
    return lookup(fun).jvp_maker(0)(fun(*args, **kwargs), *args, **kwargs)


def tape_vjp(fun, x, g, **kwargs):
    """The same gradient through the runtime tape (the tape runs the rules on Tensors)."""
    xt = pb.constant(x)
    with pb.GradientTape() as tape:
        tape.watch(xt)
        y = fun(xt, **kwargs)
    return tape.gradient(y, xt, output_gradients=pb.constant(g)).numpy()


def assert_vjp_equal(fun, x, g, expected, **kwargs):
    """Registry VJP and the tape's gradient equal ``expected`` exactly, without a floating-point
    warning on the way."""
    with np.errstate(all="raise"):
        np.testing.assert_array_equal(vjp(fun, x, **kwargs)(g), expected)
        np.testing.assert_array_equal(tape_vjp(fun, x, g, **kwargs), expected)


# --- finite-difference tables ----------------------------------------------------------------

# (shape, axis): scalar-ish, vector, matrix and 3-d, axis None / 0 / negative / tuple / ().
SHAPE_AXES = [
    ((), None), ((), 0), ((1,), 0), ((4,), None), ((4,), 0), ((4,), -1),
    ((3, 4), None), ((3, 4), 0), ((3, 4), -1), ((3, 4), (0, 1)), ((3, 4), ()),
    ((2, 3, 4), None), ((2, 3, 4), 0), ((2, 3, 4), -1), ((2, 3, 4), (0, 2)), ((2, 3, 4), (-1, 0)),
    ((2, 3, 4), (0, 1, 2)),
]


def signed(rng, shape):
    """Values of both signs bounded away from 0 (prod's derivative is well conditioned)."""
    a = rng.uniform(0.5, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    return float(a) if shape == () else a


def plain(rng, shape):
    a = rng.uniform(-2.0, 2.0, size=shape)
    return float(a) if shape == () else a


def with_nan(rng, shape):
    """A NaN in every slice but never a whole slice of NaNs along the last axis."""
    a = np.array(plain(rng, shape))
    if a.ndim:
        a[(0,) * a.ndim] = np.nan
    return a if a.ndim else float(a)


# (function, input generator, ddof values to try); one line per primitive.
REDUCTIONS = [
    (np.sum, plain, [None]),
    (np.mean, plain, [None]),
    (np.prod, signed, [None]),
    (np.max, plain, [None]),
    (np.min, plain, [None]),
    (np.amax, plain, [None]),
    (np.amin, plain, [None]),
    (np.ptp, plain, [None]),
    (np.var, plain, [0, 1]),
    (np.std, plain, [0, 1]),
    (np.average, plain, [None]),
    (np.nansum, plain, [None]),
    (np.nansum, with_nan, [None]),
    (np.nanmean, plain, [None]),
    (np.nanmean, with_nan, [None]),
    (np.nanprod, signed, [None]),
    (np.nanmax, with_nan, [None]),
    (np.nanmin, with_nan, [None]),
]


def _reduction_cases():
    for (fun, gen, ddofs), (shape, axis), keepdims in itertools.product(
            REDUCTIONS, SHAPE_AXES, [False, True]):
        for ddof in ddofs:
            kwargs = {"axis": axis, "keepdims": keepdims}
            if ddof is not None:
                kwargs["ddof"] = ddof
            x = gen(np.random.default_rng(len(shape)), shape)
            try:
                with np.errstate(all="raise"), warnings.catch_warnings():
                    warnings.simplefilter("error")
                    fun(x, **kwargs)
            except (ValueError, FloatingPointError, RuntimeWarning):
                # NumPy rejects it (axis on a 0-d var) or the value is undefined (n <= ddof,
                # an all-NaN slice): no derivative to check.
                continue
            yield pytest.param(fun, x, kwargs, id=f"{fun.__name__}-{gen.__name__}-{shape}-{kwargs}")


@pytest.mark.parametrize("fun, x, kwargs", list(_reduction_cases()))
def test_reduction_matches_finite_differences(fun, x, kwargs):
    check_rule(fun, x, **kwargs)


SCAN_SHAPE_AXES = [
    ((), None), ((), 0), ((1,), 0), ((4,), None), ((4,), 0), ((4,), -1), ((9,), 0),
    ((3, 4), None), ((3, 4), 0), ((3, 4), -1), ((3, 9), 1),
    ((2, 3, 4), None), ((2, 3, 4), 1), ((2, 3, 4), -1), ((2, 3, 4), -3),
]


@pytest.mark.parametrize("fun, gen", [(np.cumsum, plain), (np.cumprod, signed)])
@pytest.mark.parametrize("shape, axis", SCAN_SHAPE_AXES)
def test_scan_matches_finite_differences(fun, gen, shape, axis):
    check_rule(fun, gen(np.random.default_rng(3), shape), axis=axis)


def test_positional_arguments_and_dtype():
    rng = np.random.default_rng(7)
    x = rng.uniform(-2, 2, (3, 4))
    check_rule(np.sum, x, 1, np.float64, None, True)
    check_rule(np.mean, x, -1, np.float64)
    check_rule(np.var, x, 0, None, None, 1, True)
    check_rule(np.std, x, None, np.float64, None, 1)
    check_rule(np.var, x, axis=1, correction=1)
    check_rule(np.max, x, 0, None, True)
    check_rule(np.cumsum, x, 0, np.float64)
    check_rule(np.cumprod, x, -1, np.float64)


# np.average with weights, differentiated in both the values and the weights (positional).
AVERAGE_WEIGHTED = [
    ((4,), None, (4,), False),
    ((3, 4), None, (3, 4), False),
    ((3, 4), 1, (4,), True),
    ((3, 4), -2, (3,), False),
    ((2, 3, 4), (0, 2), (2, 4), False),
    ((2, 3, 4), (2, 0), (4, 2), True),
    ((2, 3, 4), 1, (2, 3, 4), True),
]


@pytest.mark.parametrize("shape, axis, wshape, keepdims", AVERAGE_WEIGHTED)
def test_weighted_average(shape, axis, wshape, keepdims):
    rng = np.random.default_rng(11)
    x = rng.uniform(-2, 2, shape)
    w = rng.uniform(0.5, 2.0, wshape)
    check_rule(np.average, x, axis, w, keepdims=keepdims)


# --- prod and cumprod: exact with zeros (no division by the input) ---------------------------

PROD_EXACT = [
    ([2.0, 0.0, 3.0], None, False, [0.0, 6.0, 0.0]),
    ([0.0, 2.0, 0.0, 5.0], None, False, [0.0, 0.0, 0.0, 0.0]),
    ([0.0], None, False, [1.0]),
    ([[2.0, 0.0, 3.0], [0.0, 4.0, 0.0]], 1, False, [[0.0, 6.0, 0.0], [0.0, 0.0, 0.0]]),
    ([[2.0, 0.0, 3.0], [0.0, 4.0, 0.0]], -1, True, [[0.0, 6.0, 0.0], [0.0, 0.0, 0.0]]),
    ([[2.0, 0.0, 3.0], [5.0, 4.0, 0.0]], 0, False, [[5.0, 4.0, 0.0], [2.0, 0.0, 3.0]]),
    ([[2.0, 0.0, 3.0], [5.0, 4.0, 7.0]], None, False, [[0.0, 840.0, 0.0], [0.0, 0.0, 0.0]]),
    ([[[2.0, 0.0], [3.0, 1.0]], [[5.0, 4.0], [0.0, 7.0]]], (0, 2), True,
     [[[0.0, 40.0], [0.0, 0.0]], [[0.0, 0.0], [21.0, 0.0]]]),
]


@pytest.mark.parametrize("x, axis, keepdims, expected", PROD_EXACT)
def test_prod_is_exact_with_zeros(x, axis, keepdims, expected):
    x = np.array(x)
    ans = np.prod(x, axis=axis, keepdims=keepdims)
    assert_vjp_equal(np.prod, x, np.ones(np.shape(ans)), expected, axis=axis, keepdims=keepdims)
    with np.errstate(all="raise"):
        tangents = [jvp(np.prod, x, axis=axis, keepdims=keepdims)(e)
                    for e in np.eye(x.size).reshape((x.size,) + x.shape)]
    # JVP along each unit direction: column of the Jacobian, summed = the same gradient.
    np.testing.assert_array_equal(np.reshape([np.sum(t) for t in tangents], x.shape), expected)


def _cumprod_jacobian(x):
    """dy[i]/dx[k] = prod(x[j] for j <= i, j != k), by brute force (exact for small integers)."""
    n = len(x)
    return np.array([[np.prod([x[j] for j in range(i + 1) if j != k]) if k <= i else 0.0
                      for k in range(n)] for i in range(n)])


@pytest.mark.parametrize("x", [[2.0, 0.0, 3.0, 4.0], [2.0, 0.0, 3.0, 0.0, 5.0],
                               [0.0, 0.0, 2.0], [3.0, 2.0, 5.0, 7.0, 0.0, 2.0, 3.0, 1.0, 2.0]])
def test_cumprod_is_exact_with_zeros(x):
    x = np.array(x)
    jac = _cumprod_jacobian(x)
    for row, e in zip(jac, np.eye(len(x))):
        assert_vjp_equal(np.cumprod, x, e, row)
    with np.errstate(all="raise"):
        cols = [jvp(np.cumprod, x)(e) for e in np.eye(len(x))]
    np.testing.assert_array_equal(np.transpose(cols), jac)


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_cumprod_matrix_with_zeros_along_axis(axis):
    x = np.array([[2.0, 0.0, 3.0], [0.0, 4.0, 0.0], [5.0, 6.0, 1.0]])
    g = np.arange(1.0, 10.0).reshape(3, 3)
    flat = axis is None
    lines = [x.ravel()] if flat else list(np.moveaxis(x, axis, -1).reshape(-1, 3))
    gs = [g.ravel()] if flat else list(np.moveaxis(g, axis, -1).reshape(-1, 3))
    expected = np.array([gl @ _cumprod_jacobian(xl) for xl, gl in zip(lines, gs)])
    expected = expected.reshape(3, 3) if flat else np.moveaxis(expected.reshape(3, 3), -1, axis)
    assert_vjp_equal(np.cumprod, x, np.reshape(g, np.shape(np.cumprod(x, axis=axis))), expected,
                     axis=axis)


def _hessian_by_tape(fun, x):
    rows = []
    for e in np.eye(x.size):
        xt = pb.constant(x)
        with pb.GradientTape() as outer:
            outer.watch(xt)
            with pb.GradientTape() as inner:
                inner.watch(xt)
                y = fun(xt)
            s = np.sum(inner.gradient(y, xt) * e)
        rows.append(outer.gradient(s, xt).numpy())
    return np.array(rows)


def _prefix_prod_hessian(x, m):
    """Hessian of prod(x[:m]): H[i, j] = product of the other factors (i != j < m), else 0."""
    n = len(x)
    return np.array([[np.prod([x[k] for k in range(m) if k not in (i, j)])
                      if i != j and max(i, j) < m else 0.0 for j in range(n)] for i in range(n)])


# (function of x, the primitive, its cotangent seed, prefix length m): each is prod(x[:m]).
SECOND_ORDER = [
    (np.prod, np.prod, 1.0, 4),
    (lambda x: np.sum(np.cumprod(x) * np.eye(4)[3]), np.cumprod, np.eye(4)[3], 4),
    (lambda x: np.sum(np.cumprod(x) * np.eye(4)[2]), np.cumprod, np.eye(4)[2], 3),
]


@pytest.mark.parametrize("fun, prim, seed, m", SECOND_ORDER)
@pytest.mark.parametrize("x", [[2.0, 0.0, 3.0, 5.0], [2.0, 0.0, 3.0, 0.0], [0.0, 0.0, 3.0, 5.0]])
def test_second_derivative_exact_with_zeros(fun, prim, seed, m, x):
    """The rules never mask the input, so differentiating them again is exact at zeros."""
    x = np.array(x)
    hess = _prefix_prod_hessian(x, m)
    # The VJP is a polynomial in x: central differences of it are exact up to rounding.
    fd = np.array([(vjp(prim, x + 1e-3 * e)(seed) - vjp(prim, x - 1e-3 * e)(seed)) / 2e-3
                   for e in np.eye(4)])
    np.testing.assert_allclose(fd, hess, atol=1e-9)
    np.testing.assert_allclose(_hessian_by_tape(fun, x), hess, atol=1e-12)


# --- max / min: tied extrema share the gradient evenly ---------------------------------------

TIES = [
    (np.max, [1.0, 3.0, 3.0, 2.0], None, False, [0.0, 0.5, 0.5, 0.0]),
    (np.amax, [3.0, 3.0, 3.0], 0, True, [1 / 3, 1 / 3, 1 / 3]),
    (np.min, [1.0, 3.0, 1.0, 2.0], -1, False, [0.5, 0.0, 0.5, 0.0]),
    (np.amin, [[1.0, 1.0], [0.0, 5.0]], None, False, [[0.0, 0.0], [1.0, 0.0]]),
    (np.max, [[1.0, 4.0, 4.0], [2.0, 2.0, 0.0]], 1, False, [[0.0, 0.5, 0.5], [0.5, 0.5, 0.0]]),
    (np.max, [[1.0, 4.0, 4.0], [2.0, 2.0, 0.0]], 1, True, [[0.0, 0.5, 0.5], [0.5, 0.5, 0.0]]),
    (np.min, [[1.0, 4.0, 4.0], [1.0, 2.0, 4.0]], 0, True, [[0.5, 0.0, 0.5], [0.5, 1.0, 0.5]]),
    (np.amax, [[[1.0, 2.0], [2.0, 0.0]], [[2.0, 1.0], [2.0, 2.0]]], (0, 2), False,
     [[[0.0, 0.5], [1 / 3, 0.0]], [[0.5, 0.0], [1 / 3, 1 / 3]]]),
    (np.nanmax, [np.nan, 3.0, 3.0], None, False, [0.0, 0.5, 0.5]),
    (np.nanmin, [[np.nan, 1.0], [1.0, 1.0]], None, True, [[0.0, 1 / 3], [1 / 3, 1 / 3]]),
]


@pytest.mark.parametrize("fun, x, axis, keepdims, expected", TIES)
def test_tied_extrema_share_the_gradient(fun, x, axis, keepdims, expected):
    x = np.array(x)
    shape = np.shape(fun(x, axis=axis, keepdims=keepdims))
    np.testing.assert_allclose(vjp(fun, x, axis=axis, keepdims=keepdims)(np.ones(shape)),
                               expected, rtol=1e-15)
    np.testing.assert_allclose(tape_vjp(fun, x, np.ones(shape), axis=axis, keepdims=keepdims),
                               expected, rtol=1e-15)
    # The JVP is the transpose: the mean of the tangents at the tied positions.
    t = np.arange(1.0, x.size + 1).reshape(x.shape)
    np.testing.assert_allclose(jvp(fun, x, axis=axis, keepdims=keepdims)(t),
                               np.sum(np.array(expected) * t, axis=axis, keepdims=keepdims),
                               rtol=1e-15)


def test_tie_weights_scale_the_cotangent():
    x = np.array([[5.0, 5.0, 1.0], [0.0, 7.0, 7.0]])
    assert_vjp_equal(np.max, x, np.array([2.0, -4.0]), [[1.0, 1.0, 0.0], [0.0, -2.0, -2.0]], axis=1)


def test_ptp_ties_and_flat_slices():
    x = np.array([[1.0, 3.0, 3.0, 1.0], [2.0, 2.0, 2.0, 2.0]])
    assert_vjp_equal(np.ptp, x, np.ones(2), [[-0.5, 0.5, 0.5, -0.5], [0.0, 0.0, 0.0, 0.0]], axis=1)


def test_max_of_nan_is_nan():
    with np.errstate(invalid="ignore"):
        grad = vjp(np.max, np.array([1.0, np.nan]))(1.0)
    assert np.isnan(grad).all()


# --- var / std at equal values ---------------------------------------------------------------

@pytest.mark.parametrize("fun", [np.var, np.std])
@pytest.mark.parametrize("ddof", [0, 1])
def test_moments_of_equal_values_have_zero_gradient(fun, ddof):
    """std's derivative does not exist where all values are equal; pullback returns 0 there
    (see reductions._std_slope), and var's derivative is 0 there."""
    x = np.array([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]])
    with np.errstate(all="raise"):
        grad = vjp(fun, x, axis=1, ddof=ddof)(np.ones(2))
        tangent = jvp(fun, x, axis=1, ddof=ddof)(np.ones_like(x))
    assert_vjp_equal(fun, x, np.ones(2), grad, axis=1, ddof=ddof)
    np.testing.assert_array_equal(grad[0], [0.0, 0.0, 0.0])
    assert np.all(np.isfinite(grad[1])) and np.any(grad[1] != 0)
    assert tangent[0] == 0.0


def test_std_gradient_values():
    x = np.array([1.0, 2.0, 6.0])          # mean 3, deviations -2, -1, 3; sum of squares 14
    for ddof in (0, 1):
        s = np.sqrt(14.0 / (3 - ddof))
        np.testing.assert_allclose(vjp(np.std, x, ddof=ddof)(1.0),
                                   np.array([-2.0, -1.0, 3.0]) / ((3 - ddof) * s), rtol=1e-14)


# --- scans with axis None flatten ------------------------------------------------------------

def test_cumsum_axis_none_flattens():
    x = np.arange(6.0).reshape(2, 3)
    assert_vjp_equal(np.cumsum, x, np.ones(6), [[6.0, 5.0, 4.0], [3.0, 2.0, 1.0]])
    assert_vjp_equal(np.cumsum, x, np.ones((2, 3)), [[2.0] * 3, [1.0] * 3], axis=0)
    assert_vjp_equal(np.cumprod, x + 1, np.ones(6), [[873.0, 436.0, 290.0], [216.0, 168.0, 120.0]])
    np.testing.assert_array_equal(jvp(np.cumsum, x)(np.ones((2, 3))), np.arange(1.0, 7.0))


# --- keywords the rules do not support raise, naming the function and the keyword -----------

REJECTED = [
    (np.sum, {"where": np.array([True, False, True])}, "where"),
    (np.sum, {"initial": 1.0}, "initial"),
    (np.sum, {"out": np.zeros(())}, "out"),
    (np.mean, {"where": np.array([True, False, True])}, "where"),
    (np.prod, {"initial": 2.0}, "initial"),
    (np.max, {"initial": 10.0}, "initial"),
    (np.amin, {"where": np.array([True, False, True]), "initial": 9.0}, "initial"),
    (np.var, {"mean": np.array(2.0)}, "mean"),
    (np.std, {"where": np.array([True, False, True])}, "where"),
    (np.nansum, {"initial": 1.0}, "initial"),
    (np.cumsum, {"out": np.zeros(3)}, "out"),
    (np.cumprod, {"out": np.zeros(3)}, "out"),
    (np.average, {"returned": True}, "returned"),
]


@pytest.mark.parametrize("fun, kwargs, keyword", REJECTED)
def test_unsupported_keywords_raise(fun, kwargs, keyword):
    x = np.array([1.0, 2.0, 3.0])
    ans = fun(x, **kwargs)
    for maker in (lookup(fun).vjp_maker(0), lookup(fun).jvp_maker(0)):
        with pytest.raises(ValueError, match=rf"np\.{fun.__name__} .*{keyword}="):
            maker(ans, x, **kwargs)


@pytest.mark.parametrize("where", [True, np.True_, np.array(True)])
def test_where_true_is_accepted(where):
    check_rule(np.sum, np.array([1.0, 2.0, 3.0]), where=where)
