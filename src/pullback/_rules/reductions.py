"""Derivative rules for NumPy reductions and scans: sum, mean, prod, max/min, var/std, ptp,
average, the nan-variants, cumsum and cumprod.

Every reduction accepts NumPy's own signature (axis None / int / negative / tuple, keepdims,
dtype, ddof).  Keywords whose derivative is not implemented (``out=``, ``where=``,
``initial=``, var's ``mean=``, average's ``returned=True``) raise a ValueError naming the
function and the keyword, never a silently wrong gradient.

Conventions worth knowing (tested with exact values in tests/test_rules_reductions.py):

* max/min/amax/amin/nanmax/nanmin/ptp: tied extrema share the gradient evenly (two equal
  maxima get g/2 each); the JVP is the mean of the tangents at the tied positions.
* prod and cumprod never divide by the input: gradients are built from exclusive products
  (cumprods from both ends, and a linear scan for cumprod), so they are exact with any number
  of zeros, and so are their higher derivatives (the rules are compositions of differentiable
  NumPy calls, with no masks on the input).
* std where the standard deviation is exactly 0 (all values equal): gradient 0, not NaN.
"""

import math
import operator

import numpy as np

from .._registry import defjvp, defvjp, reads_only_shapes, unbroadcast

# NumPy's marker for "keyword not passed"; wrappers such as np.average forward it explicitly.
_NV = getattr(np, "_NoValue", object())

_HINTS = {
    "out": "assign the returned value instead",
    "where": "mask the input with np.where first",
    "initial": "combine the initial value with the result separately",
    "mean": "let NumPy compute the mean",
    "returned": "compute the sum of weights with np.sum separately",
}


# --- argument handling (plain Python on shapes and flags) -----------------------------------

def _reject(name, **given):
    """Raise for keywords pullback has no derivative for, rather than ignore them."""
    for key, passed in given.items():
        if passed:
            raise ValueError(
                f"pullback cannot differentiate np.{name} called with {key}=: the {key!r} keyword "
                f"is not supported by its derivative rule ({_HINTS[key]})")


def _shape(x):
    """``np.shape(x)``, read straight off arrays, Tensors and stand-ins (no dispatch)."""
    try:
        return x.shape
    except AttributeError:
        return np.shape(x)


def _flag(keepdims):
    return False if keepdims is _NV else bool(keepdims)


def _axes(a, axis):
    """The reduced axes as a sorted tuple of non-negative ints (NumPy ignores axis on 0-d)."""
    ndim = len(_shape(a))
    if axis is None:
        return tuple(range(ndim))
    if ndim == 0:
        return ()
    axis = axis if isinstance(axis, (tuple, list)) else (axis,)
    return tuple(sorted({operator.index(ax) % ndim for ax in axis}))


def _masked(where):
    """Whether ``where=`` selects anything less than every element (True is NumPy's default)."""
    return where is not _NV and not (np.ndim(where) == 0 and bool(where))


def _reduction(name, a, axis, keepdims, out, initial=_NV, where=_NV):
    _reject(name, out=out is not None, initial=initial is not _NV, where=_masked(where))
    return _axes(a, axis), _flag(keepdims)


def _count(a, axes):
    """How many elements each reduced slice has."""
    shape = _shape(a)
    return math.prod([shape[ax] for ax in axes])


def _moments(name, a, axis, keepdims, out, where, mean, ddof, correction):
    """Reduced axes, keepdims and the divisor n - ddof of var/std."""
    _reject(name, out=out is not None, where=_masked(where), mean=mean is not _NV)
    if correction is not _NV:
        ddof = correction
    axes = _axes(a, axis)
    return axes, _flag(keepdims), _count(a, axes) - ddof


# --- broadcasting a reduced value back over the reduced axes --------------------------------

def _kept(v, a, axes, keepdims):
    """``v`` (a reduction of ``a`` over ``axes``) reshaped as if computed with keepdims=True.
    A number stands for the same value everywhere (the generated code's 0.0, an adjoint
    nothing added into): it broadcasts as it is."""
    kept = tuple([1 if i in axes else n for i, n in enumerate(_shape(a))])
    if keepdims or _shape(v) == kept or np.ndim(v) == 0:
        return v
    return np.reshape(v, kept)


def _expand(g, a, axes, keepdims):
    """The cotangent of a reduction of ``a`` broadcast back to ``a``'s shape.  (A rule that
    multiplies it by an array of ``a``'s shape uses ``_kept`` instead: the product broadcasts.)"""
    return np.broadcast_to(_kept(g, a, axes, keepdims), _shape(a))


def _centered(a, axes):
    return a - np.mean(a, axis=axes, keepdims=True)


# --- shifts and scans along one axis (getitem, concatenate and arithmetic only) --------------

def _index(ndim, axis, sl):
    return (slice(None),) * axis + (sl,) + (slice(None),) * (ndim - axis - 1)


def _flip(y, axis):
    return y[_index(np.ndim(y), axis, slice(None, None, -1))]


def _shift(y, axis, d, fill):
    """``y`` moved ``d`` places along ``axis`` (towards the end if d > 0), ``fill`` (0 or 1)
    coming in at the other end; requires |d| <= length."""
    shape = np.shape(y)
    n = shape[axis]
    if n == 0:
        return y
    pad = (np.ones if fill else np.zeros)(shape[:axis] + (abs(d),) + shape[axis + 1:],
                                          dtype=getattr(y, "dtype", float))
    if d > 0:
        return np.concatenate([pad, y[_index(len(shape), axis, slice(0, n - d))]], axis=axis)
    return np.concatenate([y[_index(len(shape), axis, slice(-d, n))], pad], axis=axis)


def _scan(a, b, axis, reverse=False):
    """The linear recurrence s[i] = b[i] + a[i] * s[i-1] along ``axis`` (s[i+1] if reverse),
    by log2(n) doubling steps (Hillis-Steele): no division and no in-place writes, so it is
    exact with zeros and differentiable again."""
    n = np.shape(b)[axis]
    d = 1
    while d < n:
        step = -d if reverse else d
        b = b + a * _shift(b, axis, step, 0)
        if 2 * d < n:
            a = a * _shift(a, axis, step, 1)
        d *= 2
    return b


def _exclusive_prod(y, axis):
    """Product of all other elements of ``y`` along ``axis``, without dividing."""
    if np.shape(y)[axis] == 0:
        return np.ones(np.shape(y))
    left = _shift(np.cumprod(y, axis=axis), axis, 1, 1)
    right = _flip(_shift(np.cumprod(_flip(y, axis), axis=axis), axis, 1, 1), axis)
    return left * right


def _others(a, axes):
    """d prod(a, axes) / d a: the product of every other element of the reduced block.

    With axes = (first, *rest), the other elements of an element's block are those of its own
    rest-slice (``_others(a, rest)``) plus the whole rest-slices at the other indices along
    ``first`` (the exclusive product along ``first`` of ``prod(a, rest)``)."""
    if not axes:
        return np.ones(np.shape(a))
    first, rest = axes[0], axes[1:]
    if not rest:
        return _exclusive_prod(a, first)
    return _exclusive_prod(np.prod(a, axis=rest, keepdims=True), first) * _others(a, rest)


# --- sum and mean ----------------------------------------------------------------------------

def _sum_vjp(ans, a, axis=None, dtype=None, out=None, keepdims=_NV, initial=_NV, where=_NV):
    axes, keep = _reduction("sum", a, axis, keepdims, out, initial, where)
    return lambda g: _expand(g, a, axes, keep)


def _sum_jvp(ans, a, axis=None, dtype=None, out=None, keepdims=_NV, initial=_NV, where=_NV):
    axes, keep = _reduction("sum", a, axis, keepdims, out, initial, where)
    return lambda t: np.sum(t, axis=axes, dtype=dtype, keepdims=keep)


defvjp(np.sum, _sum_vjp)
defjvp(np.sum, _sum_jvp)
reads_only_shapes(np.sum, 0)


def _mean_vjp(ans, a, axis=None, dtype=None, out=None, keepdims=_NV, *, where=_NV):
    axes, keep = _reduction("mean", a, axis, keepdims, out, where=where)
    return lambda g: _expand(g / _count(a, axes), a, axes, keep)


def _mean_jvp(ans, a, axis=None, dtype=None, out=None, keepdims=_NV, *, where=_NV):
    axes, keep = _reduction("mean", a, axis, keepdims, out, where=where)
    return lambda t: np.mean(t, axis=axes, dtype=dtype, keepdims=keep)


defvjp(np.mean, _mean_vjp)
defjvp(np.mean, _mean_jvp)
reads_only_shapes(np.mean, 0)


def _nansum_vjp(ans, a, axis=None, dtype=None, out=None, keepdims=_NV, initial=_NV, where=_NV):
    axes, keep = _reduction("nansum", a, axis, keepdims, out, initial, where)
    return lambda g: np.where(np.isnan(a), 0.0, _kept(g, a, axes, keep))


def _nansum_jvp(ans, a, axis=None, dtype=None, out=None, keepdims=_NV, initial=_NV, where=_NV):
    axes, keep = _reduction("nansum", a, axis, keepdims, out, initial, where)
    return lambda t: np.sum(np.where(np.isnan(a), 0.0, t), axis=axes, dtype=dtype, keepdims=keep)


defvjp(np.nansum, _nansum_vjp)
defjvp(np.nansum, _nansum_jvp)


# An all-NaN slice has count 0: its gradient is NaN, as its value is.
def _nanmean_vjp(ans, a, axis=None, dtype=None, out=None, keepdims=_NV, *, where=_NV):
    axes, keep = _reduction("nanmean", a, axis, keepdims, out, where=where)
    count = np.sum(np.logical_not(np.isnan(a)), axis=axes, keepdims=True)
    return lambda g: np.where(np.isnan(a), 0.0, _kept(g, a, axes, keep) / count)


def _nanmean_jvp(ans, a, axis=None, dtype=None, out=None, keepdims=_NV, *, where=_NV):
    axes, keep = _reduction("nanmean", a, axis, keepdims, out, where=where)
    count = np.sum(np.logical_not(np.isnan(a)), axis=axes, keepdims=keep)
    return lambda t: np.sum(np.where(np.isnan(a), 0.0, t), axis=axes, keepdims=keep) / count


defvjp(np.nanmean, _nanmean_vjp)
defjvp(np.nanmean, _nanmean_jvp)


def _average_args(a, axis, weights, returned, keepdims):
    """Reduced axes, keepdims, and two maps for the weights: ``to_a`` reshapes a weights-shaped
    array to broadcast against ``a`` (NumPy lays 1-d / partial weights along ``axis`` in the
    order given), ``back`` returns a gradient of that shape to the weights' own shape."""
    _reject("average", returned=bool(returned))
    axes, keep = _axes(a, axis), _flag(keepdims)
    if weights is None or np.shape(weights) == np.shape(a):
        return axes, keep, (lambda w: w), (lambda gw: gw)
    given = [operator.index(ax) % np.ndim(a) for ax in (axis if isinstance(axis, tuple) else (axis,))]
    perm = tuple(int(i) for i in np.argsort(given))
    kept = tuple(n if i in axes else 1 for i, n in enumerate(np.shape(a)))
    if perm == tuple(range(len(perm))):
        return axes, keep, (lambda w: np.reshape(w, kept)), (lambda gw: np.reshape(gw, np.shape(weights)))
    inverse = tuple(int(i) for i in np.argsort(perm))
    sorted_shape = tuple(np.shape(weights)[p] for p in perm)
    return (axes, keep, (lambda w: np.reshape(np.transpose(w, perm), kept)),
            (lambda gw: np.transpose(np.reshape(gw, sorted_shape), inverse)))


def _average_vjp_a(ans, a, axis=None, weights=None, returned=False, *, keepdims=_NV):
    axes, keep, to_a, _ = _average_args(a, axis, weights, returned, keepdims)
    if weights is None:
        return lambda g: _expand(g / _count(a, axes), a, axes, keep)
    w = to_a(weights)
    return lambda g: _expand(g, a, axes, keep) * (w / np.sum(w, axis=axes, keepdims=True))


def _average_jvp_a(ans, a, axis=None, weights=None, returned=False, *, keepdims=_NV):
    axes, keep, to_a, _ = _average_args(a, axis, weights, returned, keepdims)
    if weights is None:
        return lambda t: np.mean(t, axis=axes, keepdims=keep)
    w = to_a(weights)
    return lambda t: np.sum(t * (w / np.sum(w, axis=axes, keepdims=True)), axis=axes, keepdims=keep)


# d average / d w = (a - average) / sum(w), summed over the axes the weights broadcast along.
def _average_spread(ans, a, axes, keep, w):
    return (a - _kept(ans, a, axes, keep)) / np.sum(w, axis=axes, keepdims=True)


def _average_vjp_w(ans, a, axis=None, weights=None, returned=False, *, keepdims=_NV):
    axes, keep, to_a, back = _average_args(a, axis, weights, returned, keepdims)
    w = to_a(weights)
    spread = _average_spread(ans, a, axes, keep, w)
    return lambda g: back(unbroadcast(_expand(g, a, axes, keep) * spread, w))


def _average_jvp_w(ans, a, axis=None, weights=None, returned=False, *, keepdims=_NV):
    axes, keep, to_a, _ = _average_args(a, axis, weights, returned, keepdims)
    spread = _average_spread(ans, a, axes, keep, to_a(weights))
    return lambda t: np.sum(to_a(t) * spread, axis=axes, keepdims=keep)


defvjp(np.average, _average_vjp_a, None, _average_vjp_w)
defjvp(np.average, _average_jvp_a, None, _average_jvp_w)


# --- prod ------------------------------------------------------------------------------------

def _prod_vjp(ans, a, axis=None, dtype=None, out=None, keepdims=_NV, initial=_NV, where=_NV):
    axes, keep = _reduction("prod", a, axis, keepdims, out, initial, where)
    others = _others(a, axes)
    return lambda g: _expand(g, a, axes, keep) * others


def _prod_jvp(ans, a, axis=None, dtype=None, out=None, keepdims=_NV, initial=_NV, where=_NV):
    axes, keep = _reduction("prod", a, axis, keepdims, out, initial, where)
    others = _others(a, axes)
    return lambda t: np.sum(t * others, axis=axes, keepdims=keep)


defvjp(np.prod, _prod_vjp)
defjvp(np.prod, _prod_jvp)


# NaNs count as 1 in np.nanprod, so they get gradient 0 and the others see a factor 1.
def _nanprod_vjp(ans, a, axis=None, dtype=None, out=None, keepdims=_NV, initial=_NV, where=_NV):
    axes, keep = _reduction("nanprod", a, axis, keepdims, out, initial, where)
    nan = np.isnan(a)
    others = _others(np.where(nan, 1.0, a), axes)
    return lambda g: np.where(nan, 0.0, _expand(g, a, axes, keep) * others)


def _nanprod_jvp(ans, a, axis=None, dtype=None, out=None, keepdims=_NV, initial=_NV, where=_NV):
    axes, keep = _reduction("nanprod", a, axis, keepdims, out, initial, where)
    nan = np.isnan(a)
    others = _others(np.where(nan, 1.0, a), axes)
    return lambda t: np.sum(np.where(nan, 0.0, t * others), axis=axes, keepdims=keep)


defvjp(np.nanprod, _nanprod_vjp)
defjvp(np.nanprod, _nanprod_jvp)


# --- max, min and friends: ties share the gradient evenly ------------------------------------

def _share(ans, a, axes, keep):
    """1/k at each of the k positions equal to the extremum of their slice, 0 elsewhere.
    NaN never equals the extremum: a NaN max gives a NaN gradient (0/0), like its value."""
    hit = np.equal(a, _kept(ans, a, axes, keep))
    return hit / np.sum(hit, axis=axes, keepdims=True)


def _extremum_rules(name):
    def vjp(ans, a, axis=None, out=None, keepdims=_NV, initial=_NV, where=_NV):
        axes, keep = _reduction(name, a, axis, keepdims, out, initial, where)
        share = _share(ans, a, axes, keep)
        return lambda g: _kept(g, a, axes, keep) * share

    def jvp(ans, a, axis=None, out=None, keepdims=_NV, initial=_NV, where=_NV):
        axes, keep = _reduction(name, a, axis, keepdims, out, initial, where)
        share = _share(ans, a, axes, keep)
        return lambda t: np.sum(t * share, axis=axes, keepdims=keep)
    return vjp, jvp


for _fun in (np.max, np.min, np.amax, np.amin, np.nanmax, np.nanmin):
    _vjp, _jvp = _extremum_rules(_fun.__name__)
    defvjp(_fun, _vjp)
    defjvp(_fun, _jvp)
del _fun, _vjp, _jvp


def _ptp_vjp(ans, a, axis=None, out=None, keepdims=_NV):
    axes, keep = _reduction("ptp", a, axis, keepdims, out)
    mx, mn = np.max(a, axis=axes, keepdims=True), np.min(a, axis=axes, keepdims=True)
    share = _share(mx, a, axes, True) - _share(mn, a, axes, True)
    return lambda g: _kept(g, a, axes, keep) * share


def _ptp_jvp(ans, a, axis=None, out=None, keepdims=_NV):
    axes, keep = _reduction("ptp", a, axis, keepdims, out)
    mx, mn = np.max(a, axis=axes, keepdims=True), np.min(a, axis=axes, keepdims=True)
    share = _share(mx, a, axes, True) - _share(mn, a, axes, True)
    return lambda t: np.sum(t * share, axis=axes, keepdims=keep)


defvjp(np.ptp, _ptp_vjp)
defjvp(np.ptp, _ptp_jvp)


# --- var and std -----------------------------------------------------------------------------

def _var_vjp(ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=_NV, *, where=_NV,
             mean=_NV, correction=_NV):
    axes, keep, dof = _moments("var", a, axis, keepdims, out, where, mean, ddof, correction)
    return lambda g: _kept(g, a, axes, keep) * (2 * _centered(a, axes) / dof)


def _var_jvp(ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=_NV, *, where=_NV,
             mean=_NV, correction=_NV):
    axes, keep, dof = _moments("var", a, axis, keepdims, out, where, mean, ddof, correction)
    return lambda t: np.sum(t * (2 * _centered(a, axes) / dof), axis=axes, keepdims=keep)


defvjp(np.var, _var_vjp)
defjvp(np.var, _var_jvp)


def _std_slope(ans, a, axes, keep, dof):
    """d std / d a = (a - mean) / (dof * std).  Where std is exactly 0 (all values equal) the
    derivative does not exist (a cone point, like |x| at 0): we return 0 there, as np.sign(0)
    does for |x|, instead of NumPy's 0/0 = NaN, so a constant slice does not poison training.
    The unused branch divides by 1, so no NaN reaches higher derivatives either."""
    s = _kept(ans, a, axes, keep)
    flat = np.equal(s, 0)
    return np.where(flat, 0.0, _centered(a, axes) / (dof * np.where(flat, 1.0, s)))


def _std_vjp(ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=_NV, *, where=_NV,
             mean=_NV, correction=_NV):
    axes, keep, dof = _moments("std", a, axis, keepdims, out, where, mean, ddof, correction)
    slope = _std_slope(ans, a, axes, keep, dof)
    return lambda g: _expand(g, a, axes, keep) * slope


def _std_jvp(ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=_NV, *, where=_NV,
             mean=_NV, correction=_NV):
    axes, keep, dof = _moments("std", a, axis, keepdims, out, where, mean, ddof, correction)
    slope = _std_slope(ans, a, axes, keep, dof)
    return lambda t: np.sum(t * slope, axis=axes, keepdims=keep)


defvjp(np.std, _std_vjp)
defjvp(np.std, _std_jvp)


# --- cumsum and cumprod ----------------------------------------------------------------------

def _scan_axis(name, a, axis, out):
    """The scanned axis, and whether NumPy flattens first (axis None, or any axis of a 0-d)."""
    _reject(name, out=out is not None)
    if axis is None or np.ndim(a) == 0:
        return 0, True
    return operator.index(axis) % np.ndim(a), False


def _cumsum_vjp(ans, a, axis=None, dtype=None, out=None):
    ax, flat = _scan_axis("cumsum", a, axis, out)
    if flat:
        return lambda g: np.reshape(_flip(np.cumsum(_flip(g, 0)), 0), np.shape(a))
    return lambda g: _flip(np.cumsum(_flip(g, ax), axis=ax), ax)


def _cumsum_jvp(ans, a, axis=None, dtype=None, out=None):
    ax, flat = _scan_axis("cumsum", a, axis, out)
    return lambda t: np.cumsum(t, axis=None if flat else ax, dtype=dtype)


defvjp(np.cumsum, _cumsum_vjp)
defjvp(np.cumsum, _cumsum_jvp)


# y[i] = y[i-1] * a[i].  VJP: grad[k] = y[k-1] * s[k] with s[k] = g[k] + a[k+1] * s[k+1] (a
# reverse linear scan); JVP: dy[i] = y[i-1] * t[i] + a[i] * dy[i-1] (a forward scan).  Neither
# divides by a, so both are exact with zeros, and the scans differentiate again exactly.
def _cumprod_vjp(ans, a, axis=None, dtype=None, out=None):
    ax, flat = _scan_axis("cumprod", a, axis, out)
    x = np.reshape(a, (-1,)) if flat else a
    before = _shift(ans, ax, 1, 1)
    after = _shift(x, ax, -1, 0)
    if flat:
        return lambda g: np.reshape(before * _scan(after, g, ax, reverse=True), np.shape(a))
    return lambda g: before * _scan(after, g, ax, reverse=True)


def _cumprod_jvp(ans, a, axis=None, dtype=None, out=None):
    ax, flat = _scan_axis("cumprod", a, axis, out)
    x = np.reshape(a, (-1,)) if flat else a
    before = _shift(ans, ax, 1, 1)
    return lambda t: _scan(x, before * (np.reshape(t, (-1,)) if flat else t), ax)


defvjp(np.cumprod, _cumprod_vjp)
defjvp(np.cumprod, _cumprod_jvp)


# --- nanvar and nanstd: var and std of the values that are not NaN -------------------------
# NaNs get gradient 0 (an all-NaN slice too, as in np.nanmean); each slice has its own count.
# A slice with count <= ddof has a NaN or infinite value and gradient, like var of too few
# values.

def _nan_moments(name, a, axis, keepdims, out, where, mean, ddof, correction):
    """Reduced axes, keepdims, the NaN mask, the values centered on their nanmean (0 at NaNs)
    and the divisor count - ddof of each slice (keepdims shape)."""
    _reject(name, out=out is not None, where=_masked(where), mean=mean is not _NV)
    if correction is not _NV:
        ddof = correction
    axes = _axes(a, axis)
    nan = np.isnan(a)
    count = np.sum(np.logical_not(nan), axis=axes, keepdims=True)
    kept = np.where(nan, 0.0, a)
    centered = np.where(nan, 0.0, a - np.sum(kept, axis=axes, keepdims=True) / count)
    return axes, _flag(keepdims), centered, count - ddof


def _nanvar_vjp(ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=_NV, *, where=_NV,
                mean=_NV, correction=_NV):
    axes, keep, centered, dof = _nan_moments("nanvar", a, axis, keepdims, out, where, mean,
                                             ddof, correction)
    nan = np.isnan(a)
    return lambda g: np.where(nan, 0.0, _kept(g, a, axes, keep) * (2 * centered / dof))


def _nanvar_jvp(ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=_NV, *, where=_NV,
                mean=_NV, correction=_NV):
    axes, keep, centered, dof = _nan_moments("nanvar", a, axis, keepdims, out, where, mean,
                                             ddof, correction)
    nan = np.isnan(a)
    return lambda t: np.sum(np.where(nan, 0.0, t * (2 * centered / dof)), axis=axes,
                            keepdims=keep)


defvjp(np.nanvar, _nanvar_vjp)
defjvp(np.nanvar, _nanvar_jvp)


def _nanstd_slope(ans, a, axes, keep, centered, dof):
    """As _std_slope: 0 where the slice's values are all equal (std exactly 0)."""
    s = _kept(ans, a, axes, keep)
    flat = np.equal(s, 0)
    return np.where(flat, 0.0, centered / (dof * np.where(flat, 1.0, s)))


def _nanstd_vjp(ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=_NV, *, where=_NV,
                mean=_NV, correction=_NV):
    axes, keep, centered, dof = _nan_moments("nanstd", a, axis, keepdims, out, where, mean,
                                             ddof, correction)
    slope = _nanstd_slope(ans, a, axes, keep, centered, dof)
    nan = np.isnan(a)
    return lambda g: np.where(nan, 0.0, _kept(g, a, axes, keep) * slope)


def _nanstd_jvp(ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=_NV, *, where=_NV,
                mean=_NV, correction=_NV):
    axes, keep, centered, dof = _nan_moments("nanstd", a, axis, keepdims, out, where, mean,
                                             ddof, correction)
    slope = _nanstd_slope(ans, a, axes, keep, centered, dof)
    nan = np.isnan(a)
    return lambda t: np.sum(np.where(nan, 0.0, t * slope), axis=axes, keepdims=keep)


defvjp(np.nanstd, _nanstd_vjp)
defjvp(np.nanstd, _nanstd_jvp)


# --- cumulative_sum and cumulative_prod (NumPy 2.1+): cumsum / cumprod, with an optional
# leading 0 / 1 (include_initial) that carries no gradient -----------------------------------

def _cumulative_axis(name, x, axis, out):
    _reject(name, out=out is not None)
    if axis is None:
        if np.ndim(x) > 1:
            raise ValueError(f"np.{name}: axis is required for arrays of more than 1 dimension")
        return 0
    return operator.index(axis) % max(np.ndim(x), 1)


def _drop_initial(g, ax, include_initial):
    if not include_initial:
        return g
    n = np.shape(g)[ax]
    return g[_index(np.ndim(g), ax, slice(1, n))]


def _cumulative_sum_vjp(ans, x, *, axis=None, dtype=None, out=None, include_initial=False):
    ax = _cumulative_axis("cumulative_sum", x, axis, out)
    return lambda g: _flip(np.cumsum(_flip(_drop_initial(g, ax, include_initial), ax), axis=ax), ax)


def _cumulative_sum_jvp(ans, x, *, axis=None, dtype=None, out=None, include_initial=False):
    _cumulative_axis("cumulative_sum", x, axis, out)
    return lambda t: np.cumulative_sum(t, axis=axis, dtype=dtype, include_initial=include_initial)


def _cumulative_prod_vjp(ans, x, *, axis=None, dtype=None, out=None, include_initial=False):
    ax = _cumulative_axis("cumulative_prod", x, axis, out)
    scan = _cumprod_vjp(_drop_initial(ans, ax, include_initial), x, ax)
    return lambda g: scan(_drop_initial(g, ax, include_initial))


def _cumulative_prod_jvp(ans, x, *, axis=None, dtype=None, out=None, include_initial=False):
    ax = _cumulative_axis("cumulative_prod", x, axis, out)
    scan = _cumprod_jvp(_drop_initial(ans, ax, include_initial), x, ax)
    if not include_initial:
        return scan
    shape = np.shape(x)
    initial = np.zeros(shape[:ax] + (1,) + shape[ax + 1:])   # the leading 1 does not move
    return lambda t: np.concatenate([initial, scan(t)], axis=ax)


if hasattr(np, "cumulative_sum"):
    defvjp(np.cumulative_sum, _cumulative_sum_vjp)
    defjvp(np.cumulative_sum, _cumulative_sum_jvp)
    defvjp(np.cumulative_prod, _cumulative_prod_vjp)
    defjvp(np.cumulative_prod, _cumulative_prod_jvp)
