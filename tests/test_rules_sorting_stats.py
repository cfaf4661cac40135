"""Rules for sorting, order statistics, differences, statistics and 1-d signal functions:
np.sort, partition, diff, ediff1d, median, quantile, percentile and their nan-variants, cov,
corrcoef, nanvar, nanstd, convolve, correlate, interp, trapezoid, sinc, cumulative_sum,
cumulative_prod, select and choose.

* Finite-difference tables through ``check_rule`` (the VJP and the JVP against central
  differences, the tape and the source engine against the VJP, and second order on nested
  tapes).
* User functions through both engines: ``mode="source"`` against ``mode="tape"`` and against
  central differences, and ``mode="auto"`` served by generated code.
* The conventions at ties and kinks, checked against the gradient at a nearby point where the
  convention's side holds strictly (no expected numbers written by hand).
* Refusals, with messages that say what, why and the fix.

Finite differences are taken away from kinks, where the derivative jumps: inputs to sort,
partition, median and quantile are a random permutation of 0..n-1 plus noise in [0, 0.3), so
values are distinct and at least 0.7 apart (a step of 1e-6 never reorders them); quantile
levels make q (n - 1) (and h for the other methods) non-integer; interp's x stays at least 0.05
away from every point xp.
"""

import math
import warnings

import numpy as np
import pytest

import pullback as pb
from pullback._registry import lookup
from rulecheck import check_rule


def separated(rng, shape):
    """Distinct values at least 0.7 apart, in random order."""
    n = math.prod(shape)
    return (rng.permutation(n) + rng.uniform(0.0, 0.3, n)).reshape(shape) - n / 2


def with_nans(rng, shape, k=3):
    a = separated(rng, shape)
    a.flat[rng.choice(a.size, k, replace=False)] = np.nan
    return a


def vjp(fun, argnum, *args, **kwargs):
    return lookup(fun).vjp_maker(argnum)(fun(*args, **kwargs), *args, **kwargs)


RNG = np.random.default_rng(20261125)
X3 = separated(RNG, (2, 3, 4))
XN = with_nans(RNG, (3, 5))
AXIS_KEEPDIMS = [(None, False), (None, True), (0, False), (1, True), (-1, False), ((0, 2), True),
                 ((0, 2), False)]


# --- finite-difference tables ------------------------------------------------------------------

def _sorting_cases():
    for axis in [-1, 0, 1, None]:
        yield np.sort, (X3,), {"axis": axis}
        yield np.partition, (X3, 1), {"axis": axis}
    yield np.sort, (X3[0, 0],), {}
    yield np.partition, (X3[0, 0], [0, 2]), {}
    for axis, keepdims in AXIS_KEEPDIMS:
        kw = {"axis": axis, "keepdims": keepdims}
        yield np.median, (X3,), kw
        yield np.quantile, (X3, 0.37), kw
        yield np.quantile, (X3, np.array([0.13, 0.71])), kw
        yield np.percentile, (X3, np.array([[13.0], [71.0]])), kw
    yield np.median, (np.float64(2.5),), {}
    yield np.median, (X3[0, 0, :1],), {}
    for axis, keepdims in [(None, False), (0, True), (1, False)]:
        kw = {"axis": axis, "keepdims": keepdims}
        yield np.nanmedian, (XN,), kw
        yield np.nanquantile, (XN, np.array([0.13, 0.71])), kw
        yield np.nanpercentile, (XN, 37.0), kw


METHODS = ["linear", "hazen", "weibull", "median_unbiased", "normal_unbiased",
           "interpolated_inverted_cdf", "lower", "higher", "nearest", "midpoint",
           "inverted_cdf", "averaged_inverted_cdf", "closest_observation"]


def _method_cases():
    # n = 3 along axis 1: q (n - 1) and the other methods' virtual indices are not integers;
    # 0.03 and 0.97 are clipped to the ends by some methods (derivative 0 in q).
    q = np.array([0.03, 0.37, 0.71, 0.97])
    for method in METHODS:
        yield np.quantile, (X3, q), {"axis": 1, "method": method}
        yield np.nanpercentile, (XN, 100 * q), {"axis": 1, "method": method}


def _statistics_cases():
    x, y, v = RNG.normal(size=(3, 6)), RNG.normal(size=(2, 6)), RNG.normal(size=6)
    for args, kw in [((x,), {}), ((x,), {"ddof": 0}), ((x,), {"bias": True}),
                     ((x.T,), {"rowvar": False}), ((x, y), {}), ((x.T, y.T), {"rowvar": False}),
                     ((v,), {}), ((v, 0.3 * v + RNG.normal(size=6)), {}), ((x, v), {"ddof": 2}),
                     # 1-d arrays and a y of one row are not transposed by rowvar=False
                     ((v, RNG.normal(size=6)), {"rowvar": False}),
                     ((RNG.normal(size=(4, 4)), RNG.normal(size=(1, 4))), {"rowvar": False})]:
        yield np.cov, args, kw
        yield np.corrcoef, args, {k: w for k, w in kw.items() if k == "rowvar"}
    plain = RNG.normal(size=(3, 4))
    for fun in (np.nanvar, np.nanstd):
        for a in (plain, XN):
            for axis in (None, 0, 1):
                for ddof in (0, 1):
                    yield fun, (a,), {"axis": axis, "ddof": ddof, "keepdims": axis == 1}
    yield np.nanvar, (XN,), {"axis": 1, "correction": 1}


def _difference_cases():
    x = RNG.normal(size=(3, 5))
    for n, axis in [(0, -1), (1, 0), (1, -1), (2, 0), (3, -1)]:
        yield np.diff, (x, n, axis), {}
        yield np.diff, (x, n, axis, RNG.normal(size=(3, 5)), RNG.normal(size=(3, 5))), {}
        yield np.diff, (x, n, axis, 0.7, RNG.normal(size=(3, 5))), {}
    yield np.diff, (x,), {"axis": 0, "n": 2}
    yield np.diff, (RNG.normal(size=6), 2, 0, RNG.normal(size=2), 1.5), {}
    yield np.ediff1d, (x,), {}
    yield np.ediff1d, (x, RNG.normal(size=2), RNG.normal(size=(3,))), {}
    yield np.ediff1d, (x, 0.5, RNG.normal(size=(1, 2))), {}
    yield np.ediff1d, (RNG.normal(size=1), RNG.normal(size=2)), {}
    for fun in (np.cumulative_sum, np.cumulative_prod):
        for include_initial in (False, True):
            yield fun, (x[0],), {"include_initial": include_initial}
            for axis in (0, -1):
                yield fun, (x,), {"axis": axis, "include_initial": include_initial}


def _signal_cases():
    # 'same' windows differ between the two functions when v is the longer: every pair there
    for n, m in [(5, 3), (3, 5), (4, 4), (6, 2), (2, 6), (2, 5), (4, 7), (1, 4), (7, 1)]:
        for mode in ("same",) + (("full", "valid") if (n, m) in [(5, 3), (2, 5), (7, 1)] else ()):
            a, v = RNG.normal(size=n), RNG.normal(size=m)
            yield np.convolve, (a, v, mode), {}
            yield np.correlate, (a, v), {"mode": mode}
    yield np.convolve, (RNG.normal(size=5), RNG.normal(size=3)), {}
    yield np.correlate, (RNG.normal(size=5), RNG.normal(size=3), 1), {}
    y = RNG.normal(size=(3, 5))
    for axis in (0, -1):
        length = y.shape[axis]
        yield np.trapezoid, (y,), {"axis": axis}
        yield np.trapezoid, (y, None, 0.3, axis), {}
        yield np.trapezoid, (y, np.cumsum(RNG.uniform(0.5, 1, length))), {"axis": axis}
        yield np.trapezoid, (y, np.cumsum(RNG.uniform(0.5, 1, y.shape), axis=axis)), {"axis": axis}
    yield np.trapezoid, (y[0], np.cumsum(RNG.uniform(0.5, 1, 5))), {}
    # with x given NumPy does not read dx (the tape, which sees no use of it, says None)
    yield np.trapezoid, (y[0], np.cumsum(RNG.uniform(0.5, 1, 5)), 0.3), {"argnums": (0, 1)}
    xp = np.arange(6.0) + RNG.uniform(0.0, 0.3, 6)
    x = np.floor(RNG.uniform(-1.0, 7.0, (3, 4))) + RNG.uniform(0.35, 0.65, (3, 4))
    fp = RNG.normal(size=6)
    yield np.interp, (x, xp, fp), {}
    yield np.interp, (2.5, xp, fp), {}
    yield np.interp, (x, xp, fp, -2.0, 3.0), {"argnums": (0, 1, 2)}   # left, right: below
    yield np.interp, (x, xp, fp), {"right": 3.0}
    for x in (RNG.uniform(-3, 3, (2, 3)), 0.7, np.array([0.0, 1e-3, -2e-3, 0.0101, 0.5]), 0.0):
        yield np.sinc, (x,), {}


def _selection_cases():
    x = RNG.normal(size=(3, 4))
    conds = [x < -0.5, x > 0.5]
    idx = RNG.integers(0, 3, size=(3, 4))
    choices = [RNG.normal(size=(3, 4)), RNG.normal(size=(4,)), RNG.normal(size=(3, 4))]
    # default is not among the arguments np.select dispatches on: a GradientTape cannot see it
    # alone (pb.grad's tape and source engine can: selected_default below)
    yield np.select, (conds, choices[:2], RNG.normal(size=(3, 1))), {"argnums": (1,)}
    yield np.select, (conds, [choices[0], 2.0], 0.5), {"argnums": (1,)}
    yield np.select, (conds, choices[:2]), {}
    yield np.choose, (idx, choices), {}
    yield np.choose, (idx + 2, choices), {"mode": "wrap"}
    yield np.choose, (idx * 2, choices), {"mode": "clip"}


def _ids(cases):
    return [pytest.param(f, a, k, id=f"{f.__name__}-{i}") for i, (f, a, k) in enumerate(cases)]


@pytest.mark.parametrize("fun, args, kwargs", _ids(
    list(_sorting_cases()) + list(_method_cases()) + list(_statistics_cases())
    + list(_difference_cases()) + list(_signal_cases()) + list(_selection_cases())))
def test_rule_matches_finite_differences(fun, args, kwargs):
    check_rule(fun, *args, **kwargs)


# --- the two engines on user functions ---------------------------------------------------------

KERNEL = np.array([0.25, 0.5, 0.25])
XP = np.linspace(0.0, 1.0, 5)


def top3(x):
    return np.sum(np.sort(x)[-3:] ** 2)


def smoothness(x):
    return np.sum(np.diff(x) ** 2) + np.sum(np.ediff1d(x, None, x[:2]) ** 2)


def column_medians(x):
    return np.sum(np.median(x, axis=0) ** 2) + np.sum(np.nanmedian(x, axis=1, keepdims=True))


def spreads(x):
    qs = np.quantile(x, [0.13, 0.87], axis=1)
    return np.sum((qs[1] - qs[0]) ** 2) + np.sum(np.percentile(x, 37.0, axis=0))


def smoothed(x):
    return np.sum(np.convolve(x, KERNEL, mode="same") ** 2)


def matched(x, k):
    return np.sum(np.correlate(x, k, "full") * np.arange(9.0))


def resampled(fp, x):
    return np.sum(np.interp(x, XP, fp) ** 2) + np.trapezoid(fp ** 2, XP)


def correlations(x):
    return np.sum(np.cov(x)) + np.sum(np.corrcoef(x) ** 2) + np.sum(np.sinc(x))


def scans(x):
    return (np.sum(np.cumulative_prod(x, include_initial=True))
            + np.sum(np.cumulative_sum(x) ** 2) + np.nanstd(x) + np.nanvar(x, ddof=1))


def masked(x, y):
    picked = np.select([x < 0.0, x > 1.0], [x * y, np.sin(y)], x ** 2)
    chosen = np.choose(np.arange(x.size) % 2, [x, y])
    return np.sum(picked ** 2) + np.sum(np.partition(x, 2)[:3] ** 2) + np.sum(chosen * x)


def interp_ends(left, right):
    x = np.array([-1.0, 0.3, 0.55, 2.0])
    return np.sum(np.interp(x, XP, np.cos(XP), left, right) ** 2)


def selected_default(d):
    x = np.linspace(-1.0, 2.0, 6)
    return np.sum(np.select([x < 0.0, x > 1.0], [x, 2 * x], d) ** 2)


def interp_points(xp):
    return np.sum(np.interp(np.array([0.1, 0.4, 0.8]), xp, np.sin(xp)) ** 2)


def _fd(fun, args, pos, rng):
    """The directional derivative of ``fun`` in argument ``pos`` by central differences."""
    v = rng.standard_normal(np.shape(args[pos]))
    eps = 1e-6
    plus, minus = list(args), list(args)
    plus[pos] = args[pos] + eps * v
    minus[pos] = args[pos] - eps * v
    return v, (fun(*plus) - fun(*minus)) / (2 * eps)


USER_FUNCTIONS = [
    (top3, lambda r: (separated(r, (7,)),)),
    (smoothness, lambda r: (r.normal(size=7),)),
    (column_medians, lambda r: (separated(r, (5, 4)),)),
    (spreads, lambda r: (separated(r, (3, 6)),)),
    (smoothed, lambda r: (r.normal(size=7),)),
    (matched, lambda r: (r.normal(size=7), r.normal(size=3))),
    (resampled, lambda r: (r.normal(size=5), np.array([0.07, 0.33, 0.41, 0.9]))),
    (correlations, lambda r: (r.normal(size=(3, 6)),)),
    (scans, lambda r: (r.normal(size=6),)),
    (masked, lambda r: (r.uniform(-1.0, 2.0, 8) + 0.05, r.normal(size=8))),
    (interp_ends, lambda r: (r.normal(), r.normal())),
    (selected_default, lambda r: (r.normal(size=6),)),
    (interp_points, lambda r: (np.array([0.0, 0.27, 0.5, 0.72, 1.0]),)),
]


@pytest.mark.parametrize("fun, make", USER_FUNCTIONS, ids=[f.__name__ for f, _ in USER_FUNCTIONS])
def test_source_and_tape_agree_with_finite_differences(fun, make):
    rng = np.random.default_rng(5)
    args = make(rng)
    if fun is masked:   # keep x away from the conditions' thresholds 0 and 1
        args = (np.where(np.abs(args[0] - 0.5) > 0.45, args[0], 0.5), args[1])
    wrt = tuple(range(len(args)))
    source = pb.grad(fun, wrt=wrt, mode="source")(*args)
    auto = pb.grad(fun, wrt=wrt)
    served = auto(*args)
    assert auto.mode == "source" and auto.fallback_reason is None
    tape = pb.grad(fun, wrt=wrt, mode="tape")(*args)
    for pos in wrt:
        np.testing.assert_allclose(served[pos], source[pos], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(source[pos], tape[pos], rtol=1e-10, atol=1e-12)
        v, fd = _fd(fun, args, pos, rng)
        np.testing.assert_allclose(np.sum(source[pos] * v), fd, rtol=1e-6, atol=1e-7)


def test_generated_code_reads_like_the_rules():
    df = pb.grad(top3, mode="source")
    df(separated(np.random.default_rng(1), (6,)))
    assert "np.sort(x)" in df.source and "sort_vjp(None, x)" in df.source
    df = pb.grad(smoothed, mode="source")
    df(np.arange(5.0))
    assert "convolve_vjp_a(None, x, KERNEL, mode='same')" in df.source


# --- conventions at ties and kinks --------------------------------------------------------------
# At a tie the gradient is the one of the side where the stable order holds strictly: nudge
# each value up by a tiny multiple of its position, and the rule must not change.

def _stable_side(x):
    return x + 1e-9 * np.arange(x.size).reshape(x.shape)


TIES = [
    (np.sort, (np.array([3.0, 1.0, 3.0, 2.0, 1.0]),), {}),
    (np.sort, (np.array([[2.0, 2.0, 1.0], [0.0, 5.0, 0.0]]),), {"axis": 0}),
    (np.sort, (np.array([[2.0, 2.0, 1.0], [0.0, 5.0, 0.0]]),), {"axis": None}),
    (np.partition, (np.array([3.0, 1.0, 3.0, 2.0, 1.0, 3.0]), 2), {}),
    (np.median, (np.array([1.0, 2.0, 2.0, 5.0]),), {}),
    (np.median, (np.array([2.0, 2.0, 2.0]),), {}),
    (np.median, (np.array([[4.0, 1.0, 4.0], [4.0, 4.0, 0.0]]),), {"axis": 1}),
    (np.quantile, (np.array([1.0, 1.0, 1.0, 3.0, 3.0]), 0.3), {}),
    (np.nanmedian, (np.array([np.nan, 2.0, 2.0, 2.0]),), {}),
]


@pytest.mark.parametrize("fun, args, kwargs", TIES, ids=[f"{f.__name__}-{i}" for i, (f, _, _) in
                                                         enumerate(TIES)])
def test_ties_follow_the_stable_order(fun, args, kwargs):
    x = args[0]
    g = np.random.default_rng(2).standard_normal(np.shape(fun(*args, **kwargs)))
    at_tie = vjp(fun, 0, *args, **kwargs)(g)
    nudged = (_stable_side(x),) + args[1:]
    np.testing.assert_allclose(at_tie, vjp(fun, 0, *nudged, **kwargs)(g), rtol=1e-6, atol=1e-12)
    # the tied elements get the whole gradient between them, each exactly one share
    assert np.isclose(np.nansum(at_tie), np.sum(g))


def test_sort_gradient_is_a_permutation_of_the_cotangent():
    x = np.array([2.0, 2.0, 2.0, 1.0])
    g = np.array([1.0, 10.0, 100.0, 1000.0])
    np.testing.assert_array_equal(np.sort(vjp(np.sort, 0, x)(g)), np.sort(g))


def test_interp_takes_the_right_hand_slope_at_a_breakpoint():
    xp = np.array([0.0, 1.0, 3.0, 4.0])
    fp = np.array([0.0, 2.0, 1.0, 5.0])
    for point, side in [(1.0, +1), (3.0, +1), (0.0, +1), (4.0, -1)]:
        at = vjp(np.interp, 0, point, xp, fp)(1.0)
        beside = vjp(np.interp, 0, point + side * 1e-3, xp, fp)(1.0)
        assert at == pytest.approx(beside, rel=1e-12)


def test_quantile_level_on_an_order_statistic_takes_the_right_hand_derivative():
    x = separated(np.random.default_rng(3), (5,))
    for q in (0.25, 0.5, 0.0):    # q (n - 1) = 1, 2, 0: exactly an order statistic
        at = vjp(np.quantile, 1, x, q)(1.0)
        assert at == pytest.approx(vjp(np.quantile, 1, x, q + 1e-9)(1.0), rel=1e-9)
    # at q = 1 there is no right-hand side: the left one
    assert vjp(np.quantile, 1, x, 1.0)(1.0) == pytest.approx(vjp(np.quantile, 1, x, 1 - 1e-9)(1.0))


def test_quantile_methods_that_jump_have_no_slope_in_q():
    x = separated(np.random.default_rng(4), (6,))
    for method in ("lower", "higher", "nearest", "midpoint", "inverted_cdf"):
        assert vjp(np.quantile, 1, x, 0.37, method=method)(1.0) == 0.0


def _second_derivative_on_tape(fun, x0):
    x = pb.constant(x0)
    with pb.GradientTape() as outer:
        outer.watch(x)
        with pb.GradientTape() as inner:
            inner.watch(x)
            y = fun(x)
        g = inner.gradient(y, x)
    return float(g), float(outer.gradient(g, x))


def test_sinc_is_smooth_at_zero_to_second_order():
    first, second = _second_derivative_on_tape(np.sinc, 0.0)
    h = 1e-4
    fd = (_second_derivative_on_tape(np.sinc, h)[0] - _second_derivative_on_tape(np.sinc, -h)[0]) / (2 * h)
    assert first == 0.0 and second == pytest.approx(fd, rel=1e-7)
    # on both sides of the switch to the series the derivative agrees (to the closed form's
    # rounding there, about 1e-16 / 0.01 ** 2)
    edge = 0.01 / np.pi
    left = vjp(np.sinc, 0, np.array([edge * (1 - 1e-12)]))(1.0)
    right = vjp(np.sinc, 0, np.array([edge * (1 + 1e-12)]))(1.0)
    np.testing.assert_allclose(left, right, rtol=1e-10)


def test_nan_variants_give_nans_no_gradient():
    x = XN
    for fun in (np.nanmedian, np.nanvar, np.nanstd):
        grad = vjp(fun, 0, x, axis=1)(np.ones(3))
        np.testing.assert_array_equal(grad[np.isnan(x)], 0.0)
        assert np.all(np.isfinite(grad))


def test_nanstd_of_equal_values_has_zero_gradient():
    x = np.array([[2.0, np.nan, 2.0], [1.0, 2.0, np.nan]])
    with np.errstate(all="raise"):
        grad = vjp(np.nanstd, 0, x, axis=1)(np.ones(2))
    np.testing.assert_array_equal(grad[0], 0.0)


# --- refusals -------------------------------------------------------------------------------

REFUSED = [
    (np.median, (np.arange(3.0),), {"out": np.zeros(())}, "out="),
    (np.quantile, (np.arange(3.0), 0.5), {"weights": np.ones(3), "method": "inverted_cdf"},
     "weights="),
    (np.percentile, (np.arange(3.0), 50.0), {"out": np.zeros(())}, "out="),
    (np.interp, (0.5, np.array([0.0, 1.0]), np.array([1.0, 2.0])), {"period": 3.0}, "period="),
    (np.interp, (0.5, np.array([0.0]), np.array([1.0])), {}, "at least two points"),
    (np.cov, (np.ones((2, 3)) + np.eye(2, 3),), {"fweights": np.array([1, 2, 1])}, "fweights="),
    (np.nanvar, (np.arange(3.0),), {"mean": np.array(1.0)}, "mean="),
    (np.nanstd, (np.arange(3.0),), {"where": np.array([True, False, True])}, "where="),
    (np.cumulative_sum, (np.arange(3.0),), {"out": np.zeros(3)}, "out="),
]


@pytest.mark.parametrize("fun, args, kwargs, what", REFUSED,
                         ids=[f"{f.__name__}-{w}" for f, _, _, w in REFUSED])
def test_unsupported_arguments_are_refused_with_the_fix(fun, args, kwargs, what):
    ans = fun(*args, **kwargs)
    for maker in (lookup(fun).vjp_maker(0), lookup(fun).jvp_maker(0)):
        with pytest.raises(ValueError, match=what) as err:
            maker(ans, *args, **kwargs)
        message = str(err.value)   # what (the function and the argument), why, and a fix
        assert f"np.{fun.__name__}" in message and "(" in message and len(message) > 80


def test_sort_of_a_structured_order_is_refused():
    with pytest.raises(ValueError, match="order="):
        lookup(np.sort).vjp_maker(0)(None, np.arange(3.0), order="x")


def test_the_refusal_reaches_the_user_in_both_engines():
    def f(x):
        return np.interp(0.5, np.array([0.0, 1.0]), x, period=2.0)
    for mode in ("source", "tape"):
        with pytest.raises(ValueError, match="period="):
            pb.grad(f, mode=mode)(np.array([1.0, 2.0]))


# --- np.diff(a, 0) is a itself: a write into it writes into a -----------------------------------

def _diff_zero_written(x):
    y = np.diff(x, 0)
    y[0] = 3.0
    return np.sum(x * y)


def _diff_order_written(x, n):
    y = np.diff(x, n=n)
    y[0] = 3.0
    return np.sum(x[1:] * y)


def _diff_written(x):
    y = np.diff(x)
    y[0] = 3.0
    return np.sum(x[1:] * y)


@pytest.mark.parametrize("fun, args", [(_diff_zero_written, (np.array([1.0, 2.0, 3.0]),)),
                                       (_diff_order_written, (np.array([1.0, 2.0, 3.0]), 1))])
def test_a_write_into_a_diff_of_order_zero_is_refused(fun, args):
    """np.diff(x, 0) returns x: the write changes x too, which generated code would not see (it
    gave a wrong gradient, silently); an order that is not a nonzero literal may be 0."""
    with pytest.raises(pb.TransformError, match="may be a view"):
        pb.grad(fun, mode="source")(*args)


def test_a_write_into_a_diff_of_order_one_is_followed():
    x = np.array([1.0, 2.0, 4.0, 7.0])
    got = pb.grad(_diff_written, mode="source")(x)
    v, fd = _fd(_diff_written, (x,), 0, np.random.default_rng(6))
    assert np.sum(got * v) == pytest.approx(fd, rel=1e-7)


@pytest.mark.parametrize("method", METHODS)
def test_quantile_gradient_weighs_the_order_statistics_numpy_returns(method):
    """At every level, kinks included (q (n - 1) an integer for n = 11 and q = 0, 0.1, ...):
    the gradient is a set of nonnegative weights summing to 1 (a quantile moves with a shift of
    all values) that reproduces NumPy's value (a quantile is positively homogeneous, so it is
    its gradient dotted with the input)."""
    x = separated(np.random.default_rng(8), (11,))
    for per in np.arange(0.0, 101.0, 10.0):
        grad = vjp(np.percentile, 0, x, per, method=method)(1.0)
        assert np.all(grad >= 0) and np.sum(grad) == pytest.approx(1.0, rel=1e-12)
        assert np.dot(grad, x) == pytest.approx(np.percentile(x, per, method=method),
                                                rel=1e-12, abs=1e-12)


def test_an_all_nan_slice_gets_zero_gradient_as_in_nanmean():
    x = np.array([[np.nan, np.nan, np.nan], [1.0, np.nan, 2.0]])
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # NumPy warns of the all-NaN slice
        for fun in (np.nanmean, np.nanmedian, np.nanvar, np.nanstd):
            grad = vjp(fun, 0, x, axis=1)(np.ones(2))
            np.testing.assert_array_equal(grad[np.isnan(x)], 0.0)
            grad_q = vjp(np.nanquantile, 0, x, np.array([0.2, 0.6]), axis=1)(np.ones((2, 2)))
            np.testing.assert_array_equal(grad_q[np.isnan(x)], 0.0)


@pytest.mark.parametrize("method", ["lower", "higher", "nearest", "linear"])
def test_percentile_level_is_divided_as_numpy_divides_it(method):
    """57 / 100 * 100 is 57 but 57 * 0.01 * 100 is 57.00000000000001: the rule must land on the
    order statistic NumPy returns."""
    x = separated(np.random.default_rng(9), (101,))
    grad = vjp(np.percentile, 0, x, 57.0, method=method)(1.0)
    assert np.dot(grad, x) == pytest.approx(np.percentile(x, 57.0, method=method), rel=1e-12)


def test_overwrite_input_is_refused_in_both_engines():
    """np.median(x, overwrite_input=True) may reorder x in place: the rule would read the
    reordered x and send each gradient to the wrong element (both engines did, silently)."""
    def f(x):
        return np.median(x, overwrite_input=True) * 2 + np.sum(x * np.arange(5.0))
    for mode in ("source", "tape"):
        with pytest.raises(ValueError, match="overwrite_input=True"):
            pb.grad(f, mode=mode)(np.array([5.0, 1.0, 4.0, 2.0, 3.0]))


def _scalar_statistics(x):
    return np.median(x) ** 2 + np.nanstd(x) + np.nanvar(x) * np.nanmedian(x)


def test_a_full_median_or_nan_moment_is_known_to_be_a_number():
    """Without an axis these return one number, as np.sum does: the generated code needs no
    check of the output and no unbroadcast."""
    x = separated(np.random.default_rng(10), (7,))
    df = pb.grad(_scalar_statistics, mode="source")
    got = df(x)
    assert "seed(" not in df.source and "unbroadcast(" not in df.source
    np.testing.assert_allclose(got, pb.grad(_scalar_statistics, mode="tape")(x), rtol=1e-12)


def test_trapezoid_spacing_is_unread_when_points_are_given():
    def area(dx, y):
        return np.trapezoid(y, np.array([0.0, 0.5, 2.0]), dx)
    y = np.array([1.0, 3.0, 2.0])
    assert vjp(np.trapezoid, 2, y, np.array([0.0, 0.5, 2.0]), 0.3)(1.0) == 0.0
    assert pb.grad(area, mode="source")(0.3, y) == 0.0
