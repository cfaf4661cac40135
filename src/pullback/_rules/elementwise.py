"""Derivative rules for NumPy's elementwise functions.

Arithmetic, powers, exponentials and logarithms, trigonometric and hyperbolic functions,
selection (maximum/minimum, clip, where), and -- in one list at the end -- the elementwise
functions that carry no gradient (rounding, comparisons, logic, bit operations).

Conventions fixed here (each is tested with exact values in tests/test_rules_elementwise.py):

* a tie in np.maximum / np.minimum / np.fmax / np.fmin sends the whole gradient to the FIRST
  argument; so does a NaN that the function returns from its first argument;
* np.absolute and np.fabs have gradient 0 at 0; np.sign has gradient zero (an array, not None);
  np.hypot has gradient 0 at the origin;
* np.clip sends the gradient to whichever of ``a``, ``a_min``, ``a_max`` it returns, and to
  ``a`` when ``a`` equals a bound;
* d(x ** y)/dy is ``x ** y * log(x)`` where x > 0 and 0 where x <= 0 (0 is the exact value at
  x == 0 for y > 0; for x < 0 the real power has no derivative in y);
  d(x ** 0)/dx is 0 at x == 0 (not 0 * inf).

Every rule is written with NumPy functions registered in this package, so the tape can
differentiate the rules again.
"""

import numpy as np

from .._registry import (defelementwise, defjvp, deflinear, defliteral, defvjp,
                         nondifferentiable, reads_only_shapes, unbroadcast)

_LN2 = float(np.log(2.0))
_LN10 = float(np.log(10.0))


def _tangent(ans, *args):
    """JVP through an argument that enters with derivative 1: its tangent, at the shape of ans."""
    return lambda t: np.broadcast_to(t, np.shape(ans))


def _negated_tangent(ans, *args):
    """JVP through an argument that enters with derivative -1."""
    return lambda t: -np.broadcast_to(t, np.shape(ans))


# --- arithmetic ------------------------------------------------------------------------------

defvjp(np.add, lambda ans, x, y: lambda g: unbroadcast(g, x), lambda ans, x, y: lambda g: unbroadcast(g, y))
defjvp(np.add, _tangent, _tangent)
defvjp(np.subtract, lambda ans, x, y: lambda g: unbroadcast(g, x), lambda ans, x, y: lambda g: unbroadcast(-g, y))
defjvp(np.subtract, _tangent, _negated_tangent)
reads_only_shapes(np.add, 0, 1)
reads_only_shapes(np.subtract, 0, 1)
defvjp(np.multiply, lambda ans, x, y: lambda g: unbroadcast(g * y, x), lambda ans, x, y: lambda g: unbroadcast(x * g, y))
deflinear(np.multiply, 0, 1)
# np.true_divide is np.divide.
defvjp(np.divide, lambda ans, x, y: lambda g: unbroadcast(g / y, x), lambda ans, x, y: lambda g: unbroadcast(-g * ans / y, y))
defjvp(np.divide, lambda ans, x, y: lambda t: t / y, lambda ans, x, y: lambda t: -t * ans / y)
defvjp(np.negative, lambda ans, x: lambda g: -g)
deflinear(np.negative)
defvjp(np.positive, lambda ans, x: lambda g: g)
deflinear(np.positive)
defvjp(np.conjugate, lambda ans, x: lambda g: np.conjugate(g))   # the identity on real arrays
deflinear(np.conjugate)

# np.mod is np.remainder: x - floor(x / y) * y, with NumPy's own floor_divide as the quotient
# so that the quotient is exactly the integer NumPy subtracted.
defvjp(np.remainder, lambda ans, x, y: lambda g: unbroadcast(g, x),
       lambda ans, x, y: lambda g: unbroadcast(-g * np.floor_divide(x, y), y))
defjvp(np.remainder, _tangent, lambda ans, x, y: lambda t: -t * np.floor_divide(x, y))


def _fmod_quotient(ans, x, y):
    """The integer n with fmod(x, y) == x - n * y (exact: fmod is computed without rounding)."""
    return np.rint((x - ans) / y)


defvjp(np.fmod, lambda ans, x, y: lambda g: unbroadcast(g, x),
       lambda ans, x, y: lambda g: unbroadcast(-g * _fmod_quotient(ans, x, y), y))
defjvp(np.fmod, _tangent, lambda ans, x, y: lambda t: -t * _fmod_quotient(ans, x, y))

# --- powers and roots ------------------------------------------------------------------------


def _power_dbase(ans, x, y):
    """y * x ** (y - 1); where x == y == 0 that is 0 * inf, but d(x ** 0)/dx is 0: use base 1 there."""
    safe = np.where(np.logical_and(np.equal(x, 0), np.equal(y, 0)), 1.0, x)
    return y * np.power(safe, y - 1)


def _power_dexponent(ans, x, y):
    """x ** y * log(x) for x > 0, else 0.  Recomputed on a base of 1 (not taken from ans) where
    x <= 0, so that differentiating this rule again meets no 0 * inf."""
    positive = np.greater(x, 0)
    safe = np.where(positive, x, 1.0)
    return np.where(positive, np.power(safe, y) * np.log(safe), 0.0)


defelementwise(np.power, _power_dbase, _power_dexponent)
# With a nonzero exponent written in the source, the 0 ** 0 guard cannot apply: x ** 2 -> 2 * x.
defliteral(np.power, 0, 1, lambda ans, x, y: y * x ** (y - 1))


def _float_power_dbase(ans, x, y):
    """As _power_dbase, in np.float_power."""
    safe = np.where(np.logical_and(np.equal(x, 0), np.equal(y, 0)), 1.0, x)
    return y * np.float_power(safe, y - 1)


def _float_power_dexponent(ans, x, y):
    """As _power_dexponent, in np.float_power."""
    positive = np.greater(x, 0)
    safe = np.where(positive, x, 1.0)
    return np.where(positive, np.float_power(safe, y) * np.log(safe), 0.0)


defelementwise(np.float_power, _float_power_dbase, _float_power_dexponent)

defelementwise(np.reciprocal, lambda ans, x: -ans * ans)
defelementwise(np.square, lambda ans, x: 2 * x)
defelementwise(np.sqrt, lambda ans, x: 0.5 / ans)
defelementwise(np.cbrt, lambda ans, x: 1 / (3 * ans * ans))

# --- sign and magnitude ----------------------------------------------------------------------
# np.abs is np.absolute.  np.sign(0) == 0 gives the gradient 0 at the kink.
defelementwise(np.absolute, lambda ans, x: np.sign(x))
defelementwise(np.fabs, lambda ans, x: np.sign(x))
# sign is piecewise constant: a zero gradient (not "no gradient"), so abs is twice differentiable.
defvjp(np.sign, lambda ans, x: lambda g: np.zeros(np.shape(x)))
defjvp(np.sign, lambda ans, x: lambda t: np.zeros(np.shape(ans)))

# --- exponentials and logarithms -------------------------------------------------------------

defelementwise(np.exp, lambda ans, x: ans)
defelementwise(np.exp2, lambda ans, x: ans * _LN2)
defelementwise(np.expm1, lambda ans, x: ans + 1)
defelementwise(np.log, lambda ans, x: 1 / x)
defelementwise(np.log2, lambda ans, x: 1 / (x * _LN2))
defelementwise(np.log10, lambda ans, x: 1 / (x * _LN10))
defelementwise(np.log1p, lambda ans, x: 1 / (1 + x))
# exp(x) / (exp(x) + exp(y)) written as exp(x - ans): never overflows.
defelementwise(np.logaddexp, lambda ans, x, y: np.exp(x - ans), lambda ans, x, y: np.exp(y - ans))
defelementwise(np.logaddexp2, lambda ans, x, y: np.exp2(x - ans), lambda ans, x, y: np.exp2(y - ans))

# --- trigonometric and hyperbolic ------------------------------------------------------------

defelementwise(np.sin, lambda ans, x: np.cos(x))
defelementwise(np.cos, lambda ans, x: -np.sin(x))
defelementwise(np.tan, lambda ans, x: 1 + ans * ans)
defelementwise(np.arcsin, lambda ans, x: 1 / np.sqrt(1 - x * x))
defelementwise(np.arccos, lambda ans, x: -1 / np.sqrt(1 - x * x))
defelementwise(np.arctan, lambda ans, x: 1 / (1 + x * x))
defelementwise(np.sinh, lambda ans, x: np.cosh(x))
defelementwise(np.cosh, lambda ans, x: np.sinh(x))
defelementwise(np.tanh, lambda ans, x: 1 - ans * ans)
defelementwise(np.arcsinh, lambda ans, x: 1 / np.sqrt(x * x + 1))
defelementwise(np.arccosh, lambda ans, x: 1 / np.sqrt(x * x - 1))
defelementwise(np.arctanh, lambda ans, x: 1 / (1 - x * x))
# arctan2(y, x) is the angle of the point (x, y).
defelementwise(np.arctan2, lambda ans, y, x: x / (x * x + y * y), lambda ans, y, x: -y / (x * x + y * y))


def _over_hypot(v, ans):
    """v / hypot, with 0 at the origin (a kink, like abs at 0) instead of 0 / 0."""
    return v / np.where(np.equal(ans, 0), 1.0, ans)


defelementwise(np.hypot, lambda ans, x, y: _over_hypot(x, ans), lambda ans, x, y: _over_hypot(y, ans))

# Angle conversions are multiplications by a constant: each is its own VJP.
defvjp(np.deg2rad, lambda ans, x: lambda g: np.deg2rad(g))
deflinear(np.deg2rad)
defvjp(np.radians, lambda ans, x: lambda g: np.radians(g))
deflinear(np.radians)
defvjp(np.rad2deg, lambda ans, x: lambda g: np.rad2deg(g))
deflinear(np.rad2deg)
defvjp(np.degrees, lambda ans, x: lambda g: np.degrees(g))
deflinear(np.degrees)

# np.sinc(x) = sin(pi x) / (pi x).  d/dx = pi (u cos u - sin u) / u**2 with u = pi x, which
# cancels badly near 0: there (|u| < 0.01) its Taylor series, -u/3 + u**3/30 - u**5/840, is
# used instead, so the derivative is 0 at 0 and the second derivative -pi**2/3, exactly.
_SINC_SERIES = 0.01


def _sinc_partial(ans, x):
    u = np.pi * x
    near = np.less(np.absolute(u), _SINC_SERIES)
    safe = np.where(near, 1.0, u)        # the unused branch never divides by 0
    exact = (safe * np.cos(safe) - np.sin(safe)) / (safe * safe)
    series = u * (-1 / 3 + u * u * (1 / 30 - u * u / 840))
    return np.pi * np.where(near, series, exact)


defelementwise(np.sinc, _sinc_partial)

# --- selection: maximum, minimum, clip, where ------------------------------------------------
# The partials are masks of the argument that was returned; a tie goes to the first argument,
# and so does a NaN that the function propagated from it.


def _maximum_first(ans, x, y):
    """Where np.maximum returns x: x >= y, or x is NaN."""
    return np.logical_or(np.greater_equal(x, y), np.isnan(x))


defelementwise(np.maximum, _maximum_first, lambda ans, x, y: np.logical_not(_maximum_first(ans, x, y)))


def _minimum_first(ans, x, y):
    """Where np.minimum returns x: x <= y, or x is NaN."""
    return np.logical_or(np.less_equal(x, y), np.isnan(x))


defelementwise(np.minimum, _minimum_first, lambda ans, x, y: np.logical_not(_minimum_first(ans, x, y)))


def _fmax_first(ans, x, y):
    """Where np.fmax returns x: x >= y, or y is NaN (fmax ignores a NaN)."""
    return np.logical_or(np.greater_equal(x, y), np.isnan(y))


defelementwise(np.fmax, _fmax_first, lambda ans, x, y: np.logical_not(_fmax_first(ans, x, y)))


def _fmin_first(ans, x, y):
    """Where np.fmin returns x: x <= y, or y is NaN."""
    return np.logical_or(np.less_equal(x, y), np.isnan(y))


defelementwise(np.fmin, _fmin_first, lambda ans, x, y: np.logical_not(_fmin_first(ans, x, y)))


def _clip_masks(a, a_min=None, a_max=None, out=None, *, min=None, max=None, **kwargs):
    """Where np.clip returns a, a_min and a_max (three masks); a_min/a_max may come as min=/max=.

    np.clip(a, lo, hi) is np.minimum(hi, np.maximum(a, lo)): lo is returned where a < lo <= hi,
    hi where it is below max(a, lo) (so everywhere when lo > hi), and a elsewhere -- including
    where a equals a bound.
    """
    lo = min if a_min is None else a_min
    hi = max if a_max is None else a_max
    if lo is None:
        lo_wins, hi_wins = False, np.greater(a, hi)
    elif hi is None:
        lo_wins, hi_wins = np.less(a, lo), False
    else:
        lo_wins = np.logical_and(np.less(a, lo), np.less_equal(lo, hi))
        hi_wins = np.logical_or(np.logical_and(np.greater_equal(a, lo), np.greater(a, hi)),
                                np.logical_and(np.less(a, lo), np.greater(lo, hi)))
    a_wins = np.logical_not(np.logical_or(lo_wins, hi_wins))
    return a_wins, lo_wins, hi_wins


defvjp(np.clip, lambda ans, a, *args, **kwargs: lambda g: unbroadcast(g * _clip_masks(a, *args, **kwargs)[0], a),
       lambda ans, a, a_min, *args, **kwargs: lambda g: unbroadcast(g * _clip_masks(a, a_min, *args, **kwargs)[1], a_min),
       lambda ans, a, a_min, a_max, *args, **kwargs: lambda g: unbroadcast(g * _clip_masks(a, a_min, a_max, *args, **kwargs)[2], a_max))
defjvp(np.clip, lambda ans, a, *args, **kwargs: lambda t: t * _clip_masks(a, *args, **kwargs)[0],
       lambda ans, a, a_min, *args, **kwargs: lambda t: t * _clip_masks(a, a_min, *args, **kwargs)[1],
       lambda ans, a, a_min, a_max, *args, **kwargs: lambda t: t * _clip_masks(a, a_min, a_max, *args, **kwargs)[2])

# The condition selects; it has no gradient.
defvjp(np.where, None, lambda ans, c, x, y: lambda g: unbroadcast(np.where(c, g, 0.0), x),
       lambda ans, c, x, y: lambda g: unbroadcast(np.where(c, 0.0, g), y))
defjvp(np.where, None, lambda ans, c, x, y: lambda t: np.where(c, t, np.zeros(np.shape(ans))),
       lambda ans, c, x, y: lambda t: np.where(c, np.zeros(np.shape(ans)), t))


# np.select(condlist, choicelist, default) takes each element from the first choice whose
# condition holds, else from default; np.choose(a, choices) from choices[a].  The cotangent goes
# to the choice each element came from (the conditions and a carry none).

def _selected(condlist, k):
    """Which choice np.select takes at each element: its index, or k for the default."""
    return np.select([np.asarray(c) for c in condlist], list(range(k)), default=k)


def _select_vjp_choices(ans, condlist, choicelist, default=0):
    which = _selected(condlist, len(choicelist))
    return lambda g: [unbroadcast(g * np.equal(which, k), c) for k, c in enumerate(choicelist)]


def _select_vjp_default(ans, condlist, choicelist, default=0):
    which = _selected(condlist, len(choicelist))
    return lambda g: unbroadcast(g * np.equal(which, len(choicelist)), default)


def _select_jvp_default(ans, condlist, choicelist, default=0):
    taken = np.equal(_selected(condlist, len(choicelist)), len(choicelist))
    return lambda t: np.broadcast_to(t * taken, np.shape(ans))


defvjp(np.select, None, _select_vjp_choices, _select_vjp_default)
defjvp(np.select, None,
       lambda ans, condlist, choicelist, default=0: lambda t: np.broadcast_to(np.select(condlist, t, 0.0), np.shape(ans)),
       _select_jvp_default)


def _chosen(a, n, mode):
    """The index into choices that np.choose uses at each element, per its ``mode``."""
    a = np.asarray(a)
    if mode == "wrap":
        return np.mod(a, n)
    if mode == "clip":
        return np.clip(a, 0, n - 1)
    return a


def _choose_vjp(ans, a, choices, out=None, mode="raise"):
    which = _chosen(a, len(choices), mode)
    return lambda g: [unbroadcast(g * np.equal(which, k), c) for k, c in enumerate(choices)]


defvjp(np.choose, None, _choose_vjp)
defjvp(np.choose, None, lambda ans, a, choices, out=None, mode="raise": lambda t: np.choose(a, t, mode=mode))

# =============================================================================================
# --- NON-DIFFERENTIABLE elementwise functions ------------------------------------------------
# Piecewise constant (rounding, floor division, heaviside) or not real-valued (comparisons,
# logic, tests, bit operations): their results carry no gradient.  np.bitwise_not is np.invert.
# =============================================================================================
nondifferentiable(
    np.floor, np.ceil, np.trunc, np.rint, np.round, np.around, np.fix,
    np.floor_divide, np.heaviside,
    np.greater, np.greater_equal, np.less, np.less_equal, np.equal, np.not_equal,
    np.logical_and, np.logical_or, np.logical_not, np.logical_xor,
    np.isnan, np.isinf, np.isfinite, np.signbit,
    np.bitwise_and, np.bitwise_or, np.bitwise_xor, np.invert, np.left_shift, np.right_shift,
    np.gcd, np.lcm,
)
