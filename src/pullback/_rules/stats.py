"""Derivative rules for sorting and order statistics: sort, partition, median, quantile,
percentile and their nan-variants; and for cov and corrcoef.

Sorting moves each element to another place, so the gradient goes back through the same
permutation.  Where values tie, which of the tied elements went where is a convention (the
values do not tell): pullback pairs them in a *stable* order -- the k-th of the tied values
in the output (from the left) takes the gradient of the k-th of them in the input.  A median
or quantile is a weighted sum of (at most) two order statistics of its slice, with NumPy's own
weights for every ``method=``; its gradient goes to the elements that hold those order
statistics (ties: the stable order again).

The rules are written with np.argsort (no gradient), np.take_along_axis and its adjoint
``untake``, np.moveaxis, np.reshape, arithmetic and sums, so the tape differentiates them
again.
"""

import math
import operator
import warnings

import numpy as np

from .._registry import defjvp, defvjp
from .indexing import untake

__all__ = []

_NV = getattr(np, "_NoValue", object())


def _refuse(name, what, fix):
    raise ValueError(f"pullback cannot differentiate np.{name} called with {what}: its "
                     f"derivative rule does not support it ({fix})")


# --- the sorting permutation -----------------------------------------------------------------

def _order(a, axis):
    """The permutation np.sort applies along ``axis``; ties keep their order (stable)."""
    return np.argsort(a, axis=axis, kind="stable")


def _unsort(g, order, axis):
    """The cotangent ``g`` of ``a`` permuted by ``order`` along ``axis``, sent back to ``a``'s
    places: the inverse permutation."""
    return np.take_along_axis(g, np.argsort(order, axis=axis), axis=axis)


def _sort_args(name, a, axis, order):
    """The array NumPy sorts and the axis: with axis=None, ``a`` flattened, along its axis."""
    if order is not None:
        _refuse(name, "order=", "sort a plain float array, not a structured one")
    return (np.reshape(a, (-1,)), -1) if axis is None else (a, axis)


def _sort_vjp(ans, a, axis=-1, kind=None, order=None, *, stable=None):
    flat, ax = _sort_args("sort", a, axis, order)
    perm = _order(flat, ax)
    return lambda g: np.reshape(_unsort(g, perm, ax), np.shape(a))


def _sort_jvp(ans, a, axis=-1, kind=None, order=None, *, stable=None):
    flat, ax = _sort_args("sort", a, axis, order)
    perm = _order(flat, ax)
    return lambda t: np.take_along_axis(np.reshape(t, np.shape(flat)), perm, axis=ax)


defvjp(np.sort, _sort_vjp)
defjvp(np.sort, _sort_jvp)


# np.partition returns a permutation of a too, but which one (outside the k-th places) is
# NumPy's choice: it is read off the result.  The k-th smallest of ans (stable) came from the
# k-th smallest of a (stable), so sorting both pairs every output place with its input.
def _partition_source(ans, a, axis):
    """For each place of ``ans``, the index along ``axis`` of the element of ``a`` it holds."""
    return np.take_along_axis(_order(a, axis), np.argsort(_order(ans, axis), axis=axis),
                              axis=axis)


def _partition_vjp(ans, a, kth, axis=-1, kind="introselect", order=None):
    flat, ax = _sort_args("partition", a, axis, order)
    source = _partition_source(ans, flat, ax)
    return lambda g: np.reshape(_unsort(g, source, ax), np.shape(a))


def _partition_jvp(ans, a, kth, axis=-1, kind="introselect", order=None):
    flat, ax = _sort_args("partition", a, axis, order)
    source = _partition_source(ans, flat, ax)
    return lambda t: np.take_along_axis(np.reshape(t, np.shape(flat)), source, axis=ax)


defvjp(np.partition, _partition_vjp, None)
defjvp(np.partition, _partition_jvp, None)


# --- median, quantile, percentile and their nan-variants -------------------------------------
# A slice's quantile is (1 - f) * s[lo] + f * s[lo + 1], s the slice sorted and f in [0, 1].
# For the continuous methods the virtual index h = slope * q + offset (clipped to the slice) is
# written out, so the rule is differentiable in q too; for the others NumPy's own quantile of
# the positions 0, 1, ..., n - 1 gives h = lo + f (constant in q: those methods jump).

# method -> (alpha, beta) of Hyndman and Fan's continuous family: h = n q + alpha + q (1 -
# alpha - beta) - 1.
_CONTINUOUS = {"linear": (1.0, 1.0), "interpolated_inverted_cdf": (0.0, 1.0),
               "hazen": (0.5, 0.5), "weibull": (0.0, 0.0),
               "median_unbiased": (1 / 3, 1 / 3), "normal_unbiased": (3 / 8, 3 / 8)}
_STEPS = ("inverted_cdf", "averaged_inverted_cdf", "closest_observation", "lower", "higher",
          "nearest", "midpoint")


class _Quantile:
    """The order statistics one quantile-like call combines, and with which weights.

    ``flat``: ``a`` with the reduced axes moved last and merged, shape ``rest + (n,)``;
    ``perm``: its sorting permutation.  Each result is ``w_lo * s[lo] + w_hi * s[hi]`` with
    ``s`` the sorted slice; ``lo``, ``hi``, the weights and ``dq`` (d result / d q) have shape
    ``rest + (Q,)``, the Q levels of q last (a few numbers per result, whatever the slice
    length)."""

    def __init__(self, name, a, q, axis, out, overwrite, method, keepdims, weights, nan,
                 per=1):
        if out is not None:
            _refuse(name, "out=", "assign the returned value instead")
        if overwrite:
            _refuse(name, "overwrite_input=True", "NumPy may then reorder the input in place, "
                                                  "where no gradient can follow it; drop it")
        if weights is not None:
            _refuse(name, "weights=", "use the unweighted quantile, or np.average for a "
                                      "weighted mean")
        if method not in _CONTINUOUS and method not in _STEPS:
            _refuse(name, f"method={method!r}", "use one of NumPy's methods, such as 'linear'")
        shape = np.shape(a)
        ndim = len(shape)
        self.axes = _reduced_axes(axis, ndim)
        self.last = tuple(range(ndim - len(self.axes), ndim))
        self.shape = shape
        self.rest = tuple(n for i, n in enumerate(shape) if i not in self.axes)
        n = math.prod(shape[ax] for ax in self.axes)
        moved = np.moveaxis(a, self.axes, self.last)
        self.moved_shape = np.shape(moved)
        self.flat = np.reshape(moved, self.rest + (n,))
        self.perm = _order(self.flat, -1)
        self.qshape = np.shape(q)
        keep = False if keepdims is _NV else bool(keepdims)
        self.out_shape = self.qshape + (
            tuple(1 if i in self.axes else m for i, m in enumerate(shape)) if keep else self.rest)
        # the levels along a last axis, divided as NumPy divides a percentile's
        levels = np.reshape(np.reshape(q, (-1,)) / per, (1,) * len(self.rest) + (-1,))
        self._weigh(levels, n, method, nan, per)

    def _weigh(self, q, n, method, nan, per):
        count = (np.sum(np.logical_not(np.isnan(self.flat)), axis=-1, keepdims=True) if nan
                 else np.full(self.rest + (1,), n))
        top = np.maximum(count - 1, 0)
        if method in _CONTINUOUS:
            alpha, beta = _CONTINUOUS[method]
            slope = count - 1 if method == "linear" else count + 1 - alpha - beta
            raw = q * slope + (alpha - 1 if method != "linear" else 0.0)
            h = np.clip(raw, 0, top)
            inside = np.logical_and(np.greater_equal(raw, 0), np.less_equal(raw, top))
        else:
            h = _step_index(q, n, count, method)
            slope, inside = 0.0, False
        # indices carry no gradient (np.floor has none; h may be a Tensor on a second pass)
        lo = np.asarray(np.minimum(np.floor(h), np.maximum(count - 2, 0))).astype(np.intp)
        self.lo, self.hi = lo, np.minimum(lo + 1, n - 1)
        frac = h - lo
        live = np.greater(count, 0)   # an all-NaN slice: NaNs get 0 (as in np.nanmean)
        self.w_lo, self.w_hi = (1 - frac) * live, frac * live
        s = np.take_along_axis(self.flat, self.perm, axis=-1)
        s = np.where(np.isnan(s), 0.0, s)     # the NaNs sorted last are never lo or hi
        gap = np.take_along_axis(s, self.hi, axis=-1) - np.take_along_axis(s, self.lo, axis=-1)
        self.dq = gap * slope * inside / per

    def _levels_last(self, g):
        """A result-shaped array with its q axes merged and moved last: ``rest + (Q,)``."""
        return np.moveaxis(np.reshape(g, (-1,) + self.rest), 0, -1)

    def _levels_first(self, v):
        """The inverse of _levels_last: the result's own shape."""
        return np.reshape(np.moveaxis(v, -1, 0), self.out_shape)

    def back(self, g):
        """The cotangent of the result sent back to ``a``."""
        g = self._levels_last(g)
        shape = np.shape(self.flat)
        on_sorted = (_put_along_last(g * self.w_lo, self.lo, shape)
                     + _put_along_last(g * self.w_hi, self.hi, shape))
        moved = np.reshape(_unsort(on_sorted, self.perm, -1), self.moved_shape)
        return np.moveaxis(moved, self.last, self.axes)

    def forward(self, t):
        """The tangent of the result for a tangent ``t`` of ``a``."""
        flat = np.reshape(np.moveaxis(t, self.axes, self.last), np.shape(self.flat))
        on_sorted = np.take_along_axis(flat, self.perm, axis=-1)
        return self._levels_first(self.w_lo * np.take_along_axis(on_sorted, self.lo, axis=-1)
                                  + self.w_hi * np.take_along_axis(on_sorted, self.hi, axis=-1))

    def back_q(self, g):
        rest = tuple(range(len(self.rest)))
        return np.reshape(np.sum(self._levels_last(g) * self.dq, axis=rest), self.qshape)

    def forward_q(self, t):
        return self._levels_first(np.reshape(t, (1,) * len(self.rest) + (-1,)) * self.dq)


def _put_along_last(g, index, shape):
    """Zeros of ``shape`` with ``g`` added at ``index`` along the last axis: the adjoint of
    ``np.take_along_axis(., index, axis=-1)`` (repeated indices add up)."""
    ndim = len(shape)
    grid = tuple(np.reshape(np.arange(n), (1,) * i + (n,) + (1,) * (ndim - i - 1))
                 for i, n in enumerate(shape[:-1]))
    return untake(g, grid + (index,), shape)


def _reduced_axes(axis, ndim):
    if axis is None or ndim == 0:
        return tuple(range(ndim))
    axis = axis if isinstance(axis, (tuple, list)) else (axis,)
    return tuple(sorted({operator.index(ax) % ndim for ax in axis}))


def _step_index(q, n, count, method):
    """lo + f for the methods that jump in q, read off NumPy's quantile of the positions
    0, 1, ..., count - 1 of each slice (NaN past the count).  ``q`` has the levels along its
    last axis, ``count`` shape ``rest + (1,)``; the result has shape ``rest + (Q,)``."""
    places = np.where(np.arange(n) < count, np.arange(n, dtype=float), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # an all-NaN slice: NaN, as its value
        h = np.nanquantile(places, np.reshape(q, (-1,)), axis=-1, method=method)
    return np.moveaxis(np.reshape(h, (-1,) + np.shape(count)[:-1]), 0, -1)


def _quantile_rules(name, nan, per):
    """VJPs and JVPs in ``a`` and ``q`` of np.quantile, np.percentile (q in percent) and their
    nan-variants (NaNs left out of each slice)."""
    def rule(a, q, axis, out, overwrite_input, method, keepdims, weights):
        return _Quantile(name, a, q, axis, out, overwrite_input, method, keepdims, weights,
                         nan, per)

    def vjp_a(ans, a, q, axis=None, out=None, overwrite_input=False, method="linear",
              keepdims=_NV, *, weights=None):
        return rule(a, q, axis, out, overwrite_input, method, keepdims, weights).back

    def vjp_q(ans, a, q, axis=None, out=None, overwrite_input=False, method="linear",
              keepdims=_NV, *, weights=None):
        return rule(a, q, axis, out, overwrite_input, method, keepdims, weights).back_q

    def jvp_a(ans, a, q, axis=None, out=None, overwrite_input=False, method="linear",
              keepdims=_NV, *, weights=None):
        return rule(a, q, axis, out, overwrite_input, method, keepdims, weights).forward

    def jvp_q(ans, a, q, axis=None, out=None, overwrite_input=False, method="linear",
              keepdims=_NV, *, weights=None):
        return rule(a, q, axis, out, overwrite_input, method, keepdims, weights).forward_q
    return vjp_a, vjp_q, jvp_a, jvp_q


for _fun, _nan, _per in ((np.quantile, False, 1), (np.percentile, False, 100),
                         (np.nanquantile, True, 1), (np.nanpercentile, True, 100)):
    _vjp_a, _vjp_q, _jvp_a, _jvp_q = _quantile_rules(_fun.__name__, _nan, _per)
    defvjp(_fun, _vjp_a, _vjp_q)
    defjvp(_fun, _jvp_a, _jvp_q)
del _fun, _nan, _per, _vjp_a, _vjp_q, _jvp_a, _jvp_q


def _median_rules(name, nan):
    """np.median and np.nanmedian: the linear quantile at q = 0.5."""
    def rule(a, axis, out, overwrite_input, keepdims):
        return _Quantile(name, a, 0.5, axis, out, overwrite_input, "linear", keepdims, None, nan)

    def vjp(ans, a, axis=None, out=None, overwrite_input=False, keepdims=_NV):
        return rule(a, axis, out, overwrite_input, keepdims).back

    def jvp(ans, a, axis=None, out=None, overwrite_input=False, keepdims=_NV):
        return rule(a, axis, out, overwrite_input, keepdims).forward
    return vjp, jvp


for _fun, _nan in ((np.median, False), (np.nanmedian, True)):
    _vjp, _jvp = _median_rules(_fun.__name__, _nan)
    defvjp(_fun, _vjp)
    defjvp(_fun, _jvp)
del _fun, _nan, _vjp, _jvp


# --- cov and corrcoef ------------------------------------------------------------------------
# np.cov works on X, the variables as rows (m, then y's rows): C = Xc Xc^T / f with Xc = X minus
# its row means and f = N - ddof.  Its VJP in X is (G + G^T) Xc / f (Xc's rows sum to 0, so
# the centering needs no term of its own).  R = corrcoef = C / (s s^T), s = sqrt(diag C).

def _cov_turns_one_row():
    """Whether np.cov(m, rowvar=False) transposes an m of one row (NumPy 2.4 does: it asks
    m.ndim != 1; older versions asked X.shape[0] != 1, as they still do for y)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.ndim(np.cov(np.array([[0.0, 1.0, 2.0]]), rowvar=False)) == 2


_COV_TURNS_ONE_ROW = _cov_turns_one_row()


class _Cov:
    """The data matrix np.cov forms from m and y, and the way back to their shapes."""

    def __init__(self, name, m, y, rowvar, bias=False, ddof=None, fweights=None,
                 aweights=None):
        if fweights is not None or aweights is not None:
            _refuse(name, "fweights= or aweights=",
                    "weight the observations yourself: Xc = X - np.average(X, axis=1, "
                    "weights=w, keepdims=True), then (Xc * w) @ Xc.T / ...")
        if np.ndim(m) > 2 or (y is not None and np.ndim(y) > 2):
            raise ValueError(f"np.{name}: m and y have at most 2 dimensions")
        self.name, self.m, self.y, self.rowvar = name, m, y, rowvar
        parts = [self._rows(m, 0)] + ([] if y is None else [self._rows(y, 1)])
        self.sizes = [np.shape(p)[0] for p in parts]
        self.X = parts[0] if y is None else np.concatenate(parts, axis=0)
        count = np.shape(self.X)[1]
        self.f = count - (ddof if ddof is not None else (0 if bias else 1))
        self.Xc = self.X - np.mean(self.X, axis=1, keepdims=True)

    def _turned(self, v, which):
        """Whether np.cov takes ``v`` (m: 0, y: 1) transposed: with rowvar=False a 2-d array
        is, except a y of one row (and an m of one row, in the NumPy versions that say so)."""
        if self.rowvar or np.ndim(v) < 2:
            return False
        return np.shape(v)[0] != 1 or (which == 0 and _COV_TURNS_ONE_ROW)

    def _rows(self, v, which):
        if np.ndim(v) < 2:
            return np.reshape(v, (1, -1))
        return np.transpose(v) if self._turned(v, which) else v

    def _back_rows(self, gX, which):
        v = (self.m, self.y)[which]
        start = sum(self.sizes[:which])
        g = gX[start:start + self.sizes[which]]
        if self._turned(v, which):
            g = np.transpose(g)
        return np.reshape(g, np.shape(v))

    def back(self, G, which):
        """The cotangent of the (variables x variables) covariance sent to m (0) or y (1)."""
        p = np.shape(self.X)[0]
        G = np.reshape(G, (p, p))
        return self._back_rows((G + np.transpose(G)) @ self.Xc / self.f, which)

    def tangent(self, t, which):
        """The tangent of the (unsqueezed) covariance for a tangent ``t`` of m or y."""
        zero = [np.zeros(np.shape(v)) for v in (self.m, self.y) if v is not None]
        zero[which] = t
        rows = [self._rows(v, i) for i, v in enumerate(zero)]
        dX = rows[0] if len(rows) == 1 else np.concatenate(rows, axis=0)
        dXc = dX - np.mean(dX, axis=1, keepdims=True)
        dC = dXc @ np.transpose(self.Xc)
        return (dC + np.transpose(dC)) / self.f


def _cov_rule(which, direction):
    def maker(ans, m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None,
              *, dtype=None):
        rule = _Cov("cov", m, y, rowvar, bias, ddof, fweights, aweights)
        if direction == "vjp":
            return lambda g: rule.back(g, which)
        return lambda t: np.squeeze(rule.tangent(t, which))   # np.cov squeezes its result
    return maker


defvjp(np.cov, _cov_rule(0, "vjp"), _cov_rule(1, "vjp"))
defjvp(np.cov, _cov_rule(0, "jvp"), _cov_rule(1, "jvp"))


class _Corrcoef(_Cov):
    """R_ij = C_ij / (s_i s_j): d R / d C_kl = [k, l = i, j] / (s_i s_j), and through s_k,
    - R_ij / (2 C_kk) for each of i, j equal to k."""

    def __init__(self, x, y, rowvar):
        super().__init__("corrcoef", x, y, rowvar)
        C = self.Xc @ np.transpose(self.Xc) / self.f
        self.var = np.diagonal(C)
        s = np.sqrt(self.var)
        self.scale = s[:, None] * s[None, :]
        self.R = C / self.scale

    def back_r(self, G, which):
        p = np.shape(self.X)[0]
        if p == 1:   # one variable: R = C / C = 1, a constant
            return np.zeros(np.shape((self.m, self.y)[which]))
        G = np.reshape(G, (p, p))
        weighted = G * self.R
        through_s = (np.sum(weighted, axis=1) + np.sum(weighted, axis=0)) / (2 * self.var)
        return self.back(G / self.scale - np.diag(through_s), which)

    def tangent_r(self, t, which):
        dC = self.tangent(t, which)
        dvar = np.diagonal(dC)
        if np.shape(self.X)[0] == 1:
            return np.zeros(())
        half = dvar / (2 * self.var)
        return dC / self.scale - self.R * (half[:, None] + half[None, :])


def _corrcoef_rule(which, direction):
    def maker(ans, x, y=None, rowvar=True, *, dtype=None):
        rule = _Corrcoef(x, y, rowvar)
        if direction == "vjp":
            return lambda g: rule.back_r(g, which)
        return lambda t: rule.tangent_r(t, which)
    return maker


defvjp(np.corrcoef, _corrcoef_rule(0, "vjp"), _corrcoef_rule(1, "vjp"))
defjvp(np.corrcoef, _corrcoef_rule(0, "jvp"), _corrcoef_rule(1, "jvp"))
