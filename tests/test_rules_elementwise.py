"""Rules of pullback/_rules/elementwise.py: finite differences over tables of domains and shapes,
and exact values for the conventions at ties, kinks, zeros and bounds."""

import numpy as np
import pytest

import pullback as pb
from pullback._registry import lookup
from rulecheck import check_rule, shapes_binary, shapes_unary, uniform

# --- finite-difference tables ----------------------------------------------------------------

# (function, low, high): a domain on which the function is smooth.
UNARY = [
    (np.negative, -2, 2), (np.positive, -2, 2), (np.conjugate, -2, 2),
    (np.reciprocal, 0.5, 2), (np.reciprocal, -2, -0.5),
    (np.square, -2, 2), (np.sqrt, 0.5, 3), (np.cbrt, 0.3, 3), (np.cbrt, -3, -0.3),
    (np.absolute, 0.2, 2), (np.absolute, -2, -0.2), (np.fabs, 0.2, 2), (np.fabs, -2, -0.2),
    (np.sign, 0.2, 2), (np.sign, -2, -0.2),
    (np.exp, -2, 2), (np.exp2, -2, 2), (np.expm1, -2, 2),
    (np.log, 0.5, 3), (np.log2, 0.5, 3), (np.log10, 0.5, 3), (np.log1p, -0.5, 2),
    (np.sin, -3, 3), (np.cos, -3, 3), (np.tan, -1.2, 1.2),
    (np.arcsin, -0.9, 0.9), (np.arccos, -0.9, 0.9), (np.arctan, -3, 3),
    (np.sinh, -2, 2), (np.cosh, -2, 2), (np.tanh, -2, 2),
    (np.arcsinh, -3, 3), (np.arccosh, 1.1, 4), (np.arctanh, -0.9, 0.9),
    (np.deg2rad, -90, 90), (np.radians, -90, 90), (np.rad2deg, -2, 2), (np.degrees, -2, 2),
]

# (function, (low, high) of x, (low, high) of y).
BINARY = [
    (np.add, (-2, 2), (-2, 2)), (np.subtract, (-2, 2), (-2, 2)), (np.multiply, (-2, 2), (-2, 2)),
    (np.divide, (-2, 2), (0.5, 2)), (np.divide, (-2, 2), (-2, -0.5)),
    (np.power, (0.5, 2), (-2, 2)), (np.float_power, (0.5, 2), (-2, 2)),
    (np.logaddexp, (-3, 3), (-3, 3)), (np.logaddexp2, (-3, 3), (-3, 3)),
    (np.arctan2, (-2, 2), (0.5, 2)), (np.arctan2, (0.5, 2), (-2, 2)),
    (np.hypot, (0.5, 2), (-2, -0.5)),
    (np.maximum, (0, 1), (2, 3)), (np.maximum, (2, 3), (0, 1)),
    (np.minimum, (0, 1), (2, 3)), (np.minimum, (2, 3), (0, 1)),
    (np.fmax, (0, 1), (2, 3)), (np.fmax, (2, 3), (0, 1)),
    (np.fmin, (0, 1), (2, 3)), (np.fmin, (2, 3), (0, 1)),
    # x / y stays between two integers, away from the jumps of the quotient.
    (np.remainder, (5.2, 5.8), (2.0, 2.05)), (np.remainder, (5.2, 5.8), (-2.05, -2.0)),
    (np.remainder, (-5.8, -5.2), (2.0, 2.05)),
    (np.fmod, (5.2, 5.8), (2.0, 2.05)), (np.fmod, (5.2, 5.8), (-2.05, -2.0)),
    (np.fmod, (-5.8, -5.2), (2.0, 2.05)),
]


def _name(fun):
    return getattr(fun, "__name__", repr(fun))


@pytest.mark.parametrize("shape", shapes_unary(), ids=str)
@pytest.mark.parametrize("fun, lo, hi", [pytest.param(f, lo, hi, id=f"{_name(f)}[{lo},{hi}]")
                                         for f, lo, hi in UNARY])
def test_unary(fun, lo, hi, shape):
    rng = np.random.default_rng(7)
    check_rule(fun, uniform(rng, shape, lo, hi))


@pytest.mark.parametrize("shapes", shapes_binary(), ids=str)
@pytest.mark.parametrize("fun, xdom, ydom", [pytest.param(f, xd, yd, id=f"{_name(f)}{xd}{yd}")
                                             for f, xd, yd in BINARY])
def test_binary(fun, xdom, ydom, shapes):
    rng = np.random.default_rng(11)
    check_rule(fun, uniform(rng, shapes[0], *xdom), uniform(rng, shapes[1], *ydom))


def test_mod_is_remainder_and_true_divide_is_divide():
    assert lookup(np.mod) is lookup(np.remainder)
    assert lookup(np.true_divide) is lookup(np.divide)
    assert lookup(np.abs) is lookup(np.absolute)


# --- exact values at the conventions ---------------------------------------------------------

def _grad(fun, args, argnum, g=None, **kwargs):
    """The gradient of <g, fun(*args)> wrt args[argnum] from the registry VJP; checked against
    the JVP with a one-hot sweep and, when the tape exists, against the tape.  For elementwise
    functions only."""
    prim = lookup(fun)
    ans = fun(*args, **kwargs)
    g = np.ones(np.shape(ans)) if g is None else np.asarray(g, dtype=float)
    vjp = np.asarray(prim.vjp_maker(argnum)(ans, *args, **kwargs)(g), dtype=float)
    x = np.asarray(args[argnum], dtype=float)
    jvp_maker = prim.jvp_maker(argnum)(ans, *args, **kwargs)
    from_jvp = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        t = np.zeros(x.shape)
        t[i] = 1.0
        # an elementwise tangent: positions the one-hot does not reach are 0 (not 0 * inf)
        tangent = np.where(np.broadcast_to(t, np.shape(ans)) == 0, 0.0, jvp_maker(t))
        from_jvp[i] = np.sum(g * tangent)
    np.testing.assert_array_equal(from_jvp, vjp)
    xt = pb.constant(x)
    targs = list(args)
    targs[argnum] = xt
    with pb.GradientTape() as tape:
        tape.watch(xt)
        y = fun(*targs, **kwargs)
    np.testing.assert_array_equal(tape.gradient(y, xt, output_gradients=pb.constant(g)).numpy(), vjp)
    return vjp


def _second(fun, args, argnum):
    """d2/dx2 of sum(fun(...)) wrt args[argnum], elementwise (for elementwise fun), through
    nested tapes."""
    x = np.asarray(args[argnum], dtype=float)
    xt = pb.constant(x)
    targs = list(args)
    targs[argnum] = xt
    with pb.GradientTape() as outer:
        outer.watch(xt)
        with pb.GradientTape() as inner:
            inner.watch(xt)
            y = np.sum(fun(*targs))
        s = np.sum(inner.gradient(y, xt))
    return outer.gradient(s, xt).numpy()


@pytest.mark.parametrize("fun", [np.maximum, np.minimum, np.fmax, np.fmin], ids=_name)
def test_tie_goes_to_first_argument(fun):
    x = np.array([1.0, 2.0, -3.0, 0.0])
    y = np.array([1.0, 2.0, -3.0, 0.0])
    g = np.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(_grad(fun, (x, y), 0, g), g)
    np.testing.assert_array_equal(_grad(fun, (x, y), 1, g), np.zeros(4))


@pytest.mark.parametrize("fun, gx, gy", [
    (np.maximum, [[2.0], [1.0]], [1.0, 2.0, 0.0]), (np.fmax, [[2.0], [1.0]], [1.0, 2.0, 0.0]),
    (np.minimum, [[2.0], [2.0]], [0.0, 0.0, 2.0]), (np.fmin, [[2.0], [2.0]], [0.0, 0.0, 2.0]),
], ids=str)
def test_max_min_ties_under_broadcasting(fun, gx, gy):
    x = np.array([[2.0], [1.0]])
    y = np.array([2.0, 3.0, 0.0])           # x[0] ties y[0]
    np.testing.assert_array_equal(_grad(fun, (x, y), 0), gx)
    np.testing.assert_array_equal(_grad(fun, (x, y), 1), gy)


@pytest.mark.parametrize("fun, x, y, to_x", [
    (np.maximum, np.nan, 1.0, 1.0), (np.maximum, 1.0, np.nan, 0.0),
    (np.minimum, np.nan, 1.0, 1.0), (np.minimum, 1.0, np.nan, 0.0),
    (np.fmax, np.nan, 1.0, 0.0), (np.fmax, 1.0, np.nan, 1.0),
    (np.fmin, np.nan, 1.0, 0.0), (np.fmin, 1.0, np.nan, 1.0),
], ids=str)
def test_nan_gradient_goes_to_the_returned_argument(fun, x, y, to_x):
    assert _grad(fun, (x, y), 0) == to_x
    assert _grad(fun, (x, y), 1) == 1.0 - to_x


@pytest.mark.parametrize("fun", [np.absolute, np.fabs], ids=_name)
def test_abs_at_zero_is_zero(fun):
    x = np.array([-2.0, 0.0, 3.0, -0.0])
    np.testing.assert_array_equal(_grad(fun, (x,), 0), [-1.0, 0.0, 1.0, 0.0])
    np.testing.assert_array_equal(_second(fun, (np.array([-2.0, 3.0]),), 0), [0.0, 0.0])


def test_sign_has_zero_gradient():
    x = np.array([[-2.0, 0.0, 3.0]])
    vjp = lookup(np.sign).vjp_maker(0)(np.sign(x), x)(np.ones((1, 3)))
    assert vjp is not None
    np.testing.assert_array_equal(vjp, np.zeros((1, 3)))
    np.testing.assert_array_equal(_grad(np.sign, (x,), 0), np.zeros((1, 3)))


def test_hypot_at_origin_is_zero():
    x = np.array([0.0, 3.0])
    y = np.array([0.0, 4.0])
    np.testing.assert_array_equal(_grad(np.hypot, (x, y), 0), [0.0, 0.6])
    np.testing.assert_array_equal(_grad(np.hypot, (x, y), 1), [0.0, 0.8])


# --- power -----------------------------------------------------------------------------------

@pytest.mark.parametrize("fun", [np.power, np.float_power], ids=_name)
@pytest.mark.parametrize("exponent", [2, 3, 2.0, 3.0, np.array([2.0, 3.0, 4.0])], ids=repr)
def test_power_negative_base_integer_exponent_wrt_base(fun, exponent):
    x = np.array([-2.0, -0.5, -1.5])
    got = _grad(fun, (x, exponent), 0)
    np.testing.assert_allclose(got, exponent * x ** (np.asarray(exponent) - 1), rtol=1e-15)
    assert np.all(np.isfinite(got))
    check_rule(fun, x, exponent, argnums=(0,))


@pytest.mark.parametrize("fun", [np.power, np.float_power], ids=_name)
def test_power_at_zero_base(fun):
    x = np.zeros(5)
    y = np.array([0.0, 0.5, 1.0, 2.0, 3.0])
    # d/dy 0 ** y is 0 for y > 0 (0 ** y == 0 there), and taken as 0 at y == 0.
    np.testing.assert_array_equal(_grad(fun, (x, y), 1), np.zeros(5))
    # d/dx x ** y at x == 0: 0 for y == 0, inf for 0 < y < 1, 1 for y == 1, 0 for y > 1.
    with np.errstate(divide="ignore", invalid="ignore"):   # the inf is the exact value
        np.testing.assert_array_equal(_grad(fun, (x, y), 0), [0.0, np.inf, 1.0, 0.0, 0.0])


@pytest.mark.parametrize("fun", [np.power, np.float_power], ids=_name)
def test_power_second_derivative_at_zero_base(fun):
    x = np.zeros(3)
    # d2/dx2 x ** y at 0 for y = 0, 1, 3: all 0 (not 0 * inf).
    np.testing.assert_array_equal(_second(fun, (x, np.array([0.0, 1.0, 3.0])), 0), np.zeros(3))
    # d2/dx2 x ** 2 == 2 everywhere, 0 included.
    np.testing.assert_allclose(_second(fun, (x, 2.0), 0), [2.0, 2.0, 2.0], rtol=1e-9)


@pytest.mark.parametrize("fun", [np.power, np.float_power], ids=_name)
def test_power_exponent_gradient_is_zero_for_negative_base(fun):
    x = np.array([-2.0, -1.0, 2.0])
    y = np.array([3.0, 2.0, 3.0])
    np.testing.assert_allclose(_grad(fun, (x, y), 1), [0.0, 0.0, 8.0 * np.log(2.0)], rtol=1e-15)


def test_power_python_int_exponent_of_zero_base():
    # the polynomial term x ** 0 with x == 0 has gradient 0, not nan
    assert _grad(np.power, (np.array([0.0, 2.0]), 0), 0).tolist() == [0.0, 0.0]


# --- clip ------------------------------------------------------------------------------------

A = np.array([[-2.5, -0.3, 0.4], [1.7, 2.6, -1.4]])


@pytest.mark.parametrize("lo, hi", [
    (None, 1.0), (-1.0, None), (-1.0, 1.0),
    (np.array([-1.0, -0.5, 0.0]), np.array([[1.0], [2.0]])),
    (None, np.array([[1.0], [2.0]])), (np.array([-1.0, -0.5, 0.0]), None),
    (np.array([-1.0, -0.5, 0.0]), 1.0),
], ids=str)
def test_clip(lo, hi):
    ans = np.clip(A, lo, hi)
    assert np.any(ans != A)                  # some values are clipped ...
    assert np.any(ans == A)                  # ... and some are not
    check_rule(np.clip, A, lo, hi)


def test_clip_scalar_a_with_array_bounds():
    check_rule(np.clip, 0.3, np.array([-1.0, 0.5, -0.2]), np.array([[1.0], [0.1]]))


def test_clip_keyword_bounds():
    check_rule(np.clip, A, min=-1.0, max=1.0)
    np.testing.assert_array_equal(_grad(np.clip, (A,), 0, min=-1.0, max=1.0),
                                  [[0.0, 1.0, 1.0], [0.0, 0.0, 0.0]])


def test_clip_exact_values_and_ties():
    a = np.array([-3.0, -1.0, 0.0, 1.0, 3.0])
    g = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    # equal to a bound: the gradient goes to a
    np.testing.assert_array_equal(_grad(np.clip, (a, -1.0, 1.0), 0, g), [0.0, 2.0, 3.0, 4.0, 0.0])
    assert _grad(np.clip, (a, -1.0, 1.0), 1, g) == 1.0
    assert _grad(np.clip, (a, -1.0, 1.0), 2, g) == 5.0
    lo = np.array([-1.0, -2.0, -1.0, 0.0, 4.0])
    np.testing.assert_array_equal(_grad(np.clip, (a, lo, None), 1, g), [1.0, 0.0, 0.0, 0.0, 5.0])
    np.testing.assert_array_equal(_grad(np.clip, (a, lo, None), 0, g), [0.0, 2.0, 3.0, 4.0, 0.0])


def test_clip_crossed_bounds_return_a_max():
    # NumPy returns a_max everywhere when a_min > a_max; so does the gradient.
    a = np.array([-3.0, 0.0, 3.0])
    assert np.all(np.clip(a, 1.0, -1.0) == -1.0)
    np.testing.assert_array_equal(_grad(np.clip, (a, 1.0, -1.0), 0), [0.0, 0.0, 0.0])
    assert _grad(np.clip, (a, 1.0, -1.0), 1) == 0.0
    assert _grad(np.clip, (a, 1.0, -1.0), 2) == 3.0
    # a_min == a_max: a tie with a goes to a, the rest to the bound that is returned
    np.testing.assert_array_equal(_grad(np.clip, (a, 0.0, 0.0), 0), [0.0, 1.0, 0.0])
    assert _grad(np.clip, (a, 0.0, 0.0), 1) == 1.0
    assert _grad(np.clip, (a, 0.0, 0.0), 2) == 1.0


# --- where -----------------------------------------------------------------------------------

@pytest.mark.parametrize("cshape, xshape, yshape", [
    ((2, 3), (2, 3), (2, 3)), ((2, 3), (3,), (2, 1)), ((3,), (2, 3), ()), ((2, 1), (3,), (2, 3)),
    ((), (3,), (2, 3)),
], ids=str)
def test_where(cshape, xshape, yshape):
    rng = np.random.default_rng(3)
    cond = rng.uniform(size=cshape) > 0.5 if cshape else True
    check_rule(np.where, cond, uniform(rng, xshape, -2, 2), uniform(rng, yshape, -2, 2))


def test_where_exact_values():
    cond = np.array([[True, False, True], [False, False, True]])
    x = np.array([1.0, 2.0, 3.0])
    y = 5.0
    g = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    np.testing.assert_array_equal(_grad(np.where, (cond, x, y), 1, g), [1.0, 0.0, 9.0])
    assert _grad(np.where, (cond, x, y), 2, g) == 11.0
    assert lookup(np.where).vjp_maker(0) is None


# --- non-differentiable ----------------------------------------------------------------------

NONDIFFERENTIABLE = [
    np.floor, np.ceil, np.trunc, np.rint, np.round, np.around, np.fix,
    np.floor_divide, np.heaviside,
    np.greater, np.greater_equal, np.less, np.less_equal, np.equal, np.not_equal,
    np.logical_and, np.logical_or, np.logical_not, np.logical_xor,
    np.isnan, np.isinf, np.isfinite, np.signbit,
    np.bitwise_and, np.bitwise_or, np.bitwise_xor, np.bitwise_not, np.invert,
    np.left_shift, np.right_shift, np.gcd, np.lcm,
]


@pytest.mark.parametrize("fun", NONDIFFERENTIABLE, ids=_name)
def test_nondifferentiable(fun):
    assert lookup(fun).differentiable is False


@pytest.mark.parametrize("fun", [np.remainder, np.mod, np.fmod, np.sign, np.absolute, np.clip, np.where],
                         ids=_name)
def test_differentiable_despite_kinks(fun):
    assert lookup(fun).differentiable is True


@pytest.mark.parametrize("exponent", [2, 3, -1, 0.5, 1, 2.5])
def test_power_literal_form_agrees_with_the_general_partial(exponent):
    from pullback._registry import lookup
    prim = lookup(np.power)
    x = np.array([0.5, 1.5, 3.0])
    ans = x ** exponent
    general = prim.partials[0](ans, x, exponent)
    literal = prim.literal_partials[(0, 1)](ans, x, exponent)
    np.testing.assert_allclose(literal, general, rtol=1e-15)


@pytest.mark.parametrize("exponent", [2, 3, -1, 0.5, 2.5, 1.0])
def test_the_tape_takes_the_literal_form_for_a_nonzero_python_exponent(exponent, monkeypatch):
    """``x ** 2`` on the tape: the general partial (with its 0 ** 0 guard) is not called, and
    the gradient is the literal one, at 0 too for a positive integer exponent."""
    prim = lookup(np.power)
    general = prim.partials[0]
    calls = []

    def counting(ans, x, y):
        calls.append(y)
        return general(ans, x, y)

    monkeypatch.setattr(prim, "partials", (counting,) + tuple(prim.partials[1:]))
    prim.tape_vjps.clear()
    try:
        x0 = np.array([0.0, 0.5, 1.5, 3.0]) if exponent in (2, 3) else np.array([0.5, 1.5, 3.0])
        x = pb.Variable(x0)
        with pb.GradientTape() as tape:
            y = np.sum(x ** exponent)
        got = tape.gradient(y, x).numpy()
        assert calls == []
        np.testing.assert_allclose(got, exponent * x0 ** (exponent - 1), rtol=1e-14)
    finally:
        prim.tape_vjps.clear()


def test_the_tape_keeps_the_guarded_partial_for_a_zero_or_tensor_exponent():
    x = pb.Variable(np.array([0.0, 2.0]))
    with pb.GradientTape() as tape:
        y = np.sum(x ** 0)
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [0.0, 0.0])  # not 0 * inf
    e = pb.Variable(np.array(2.0))
    with pb.GradientTape() as tape:
        y = np.sum(x ** e)
    gx, ge = tape.gradient(y, [x, e])
    np.testing.assert_allclose(gx.numpy(), [0.0, 4.0])
    np.testing.assert_allclose(ge.numpy(), 4.0 * np.log(2.0))
