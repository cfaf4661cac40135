"""Derivative rules for differences, integrals and 1-d signal functions: diff, ediff1d,
trapezoid, convolve, correlate and interp.

diff, ediff1d, trapezoid (in y), convolve and correlate (in each argument) are linear, so their
VJPs are the adjoint maps: a difference's adjoint is minus a difference of the zero-padded
cotangent, a convolution's is a correlation with the other argument.  np.interp is piecewise
linear: at a breakpoint (x equal to one of xp) its derivative in x jumps; pullback takes the
slope of the segment to the right (x in [xp[j], xp[j + 1]) uses segment j), and the left one at
the last point.
"""

import math

import numpy as np

from .._registry import defjvp, deflinear, defvjp, unbroadcast
from .indexing import untake

__all__ = []

_NV = getattr(np, "_NoValue", object())


def _index(ndim, axis, sl):
    return (slice(None),) * axis + (sl,) + (slice(None),) * (ndim - axis - 1)


# --- diff and ediff1d --------------------------------------------------------------------------
# diff(c) = c[1:] - c[:-1]; its adjoint sends g to -diff(g padded with a zero at both ends).

def _undiff(g, n, axis):
    """The adjoint of ``np.diff(., n, axis)`` applied to ``g``."""
    for _ in range(n):
        g = -np.diff(g, axis=axis, prepend=0.0, append=0.0)
    return g


class _Diff:
    """np.diff(a, n, axis, prepend, append) is the n-th difference of the three joined along
    axis (a scalar prepend or append stands for one slice of that value)."""

    def __init__(self, a, n, axis, prepend, append):
        self.ndim = max(len(np.shape(a)), 1)
        self.axis = axis % self.ndim
        self.n, self.parts = n, (prepend, a, append)

    def _length(self, p):
        """How long ``p`` is along the axis (0 when it was not given)."""
        if p is _NV:
            return 0
        return 1 if np.ndim(p) == 0 else np.shape(p)[self.axis]

    def back(self, g, which):
        """The cotangent of the part ``which`` (0: prepend, 1: a, 2: append)."""
        part = self.parts[which]
        if self.n == 0:   # np.diff(a, 0) is a itself: prepend and append are not read
            return g if which == 1 else np.zeros(np.shape(part))
        full = _undiff(g, self.n, self.axis)
        start = sum(self._length(p) for p in self.parts[:which])
        piece = full[_index(self.ndim, self.axis, slice(start, start + self._length(part)))]
        return unbroadcast(piece, part) if np.ndim(part) == 0 else np.reshape(piece, np.shape(part))

    def forward(self, t, which):
        """The tangent of the result for a tangent ``t`` of part ``which``; the others hold still."""
        def zeros(p):
            return 0.0 if np.ndim(p) == 0 else np.zeros(np.shape(p))
        if self.n == 0:
            return t if which == 1 else np.zeros(np.shape(self.parts[1]))
        pieces = [t if i == which else zeros(p) for i, p in enumerate(self.parts)]
        kwargs = {k: v for k, v, p in zip(("prepend", None, "append"), pieces, self.parts)
                  if k is not None and p is not _NV}
        return np.diff(pieces[1], self.n, self.axis, **kwargs)


def _diff_rule(which, direction):
    def maker(ans, a, n=1, axis=-1, prepend=_NV, append=_NV):
        rule = _Diff(a, n, axis, prepend, append)
        if direction == "vjp":
            return lambda g: rule.back(g, which)
        return lambda t: rule.forward(t, which)
    return maker


defvjp(np.diff, _diff_rule(1, "vjp"), None, None, _diff_rule(0, "vjp"), _diff_rule(2, "vjp"))
defjvp(np.diff, _diff_rule(1, "jvp"), None, None, _diff_rule(0, "jvp"), _diff_rule(2, "jvp"))


# ediff1d(ary, to_end, to_begin) = concatenate([ravel(to_begin), diff(ravel(ary)),
# ravel(to_end)]): the cotangent is split back into the three pieces.
def _ediff1d_bounds(ary, to_begin):
    """Where the differences start in the result, and where they end."""
    head = 0 if to_begin is None else math.prod(np.shape(to_begin))
    return head, head + max(math.prod(np.shape(ary)) - 1, 0)


def _ediff1d_vjp_ary(ans, ary, to_end=None, to_begin=None):
    start, stop = _ediff1d_bounds(ary, to_begin)
    if math.prod(np.shape(ary)) == 0:
        return lambda g: np.zeros(np.shape(ary))
    return lambda g: np.reshape(_undiff(g[start:stop], 1, 0), np.shape(ary))


def _ediff1d_vjp_end(ans, ary, to_end=None, to_begin=None):
    _, stop = _ediff1d_bounds(ary, to_begin)
    return lambda g: np.reshape(g[stop:], np.shape(to_end))


def _ediff1d_vjp_begin(ans, ary, to_end=None, to_begin=None):
    start, _ = _ediff1d_bounds(ary, to_begin)
    return lambda g: np.reshape(g[:start], np.shape(to_begin))


def _zeros_or_none(v):
    return None if v is None else np.zeros(np.shape(v))


defvjp(np.ediff1d, _ediff1d_vjp_ary, _ediff1d_vjp_end, _ediff1d_vjp_begin)
defjvp(np.ediff1d,
       lambda ans, ary, to_end=None, to_begin=None: lambda t: np.ediff1d(t, _zeros_or_none(to_end), _zeros_or_none(to_begin)),
       lambda ans, ary, to_end=None, to_begin=None: lambda t: np.ediff1d(np.zeros(np.shape(ary)), t, _zeros_or_none(to_begin)),
       lambda ans, ary, to_end=None, to_begin=None: lambda t: np.ediff1d(np.zeros(np.shape(ary)), _zeros_or_none(to_end), t))


# --- trapezoid ---------------------------------------------------------------------------------
# trapezoid(y, x, dx, axis) = sum(d * m) along axis: d = diff(x) (or dx) the panels' widths, m =
# (y[1:] + y[:-1]) / 2 their mean heights.  In y: each point weighs half the widths on its two
# sides.  In x: d/dx[k] = m[k - 1] - m[k] (the adjoint of diff).  In dx: sum(m).

class _Trapezoid:
    def __init__(self, y, x, dx, axis):
        self.ndim = len(np.shape(y))
        self.axis = axis % self.ndim
        self.n = np.shape(y)[self.axis]
        self.y, self.x, self.dx = y, x, dx
        if x is None:
            self.d = dx
        elif np.ndim(x) == 1:   # laid along axis
            self.d = np.reshape(np.diff(x), self._along(self.n - 1))
        else:
            self.d = np.diff(x, axis=self.axis)

    def _along(self, n):
        shape = [1] * self.ndim
        shape[self.axis] = n
        return tuple(shape)

    def _slice(self, v, start, stop):
        return v[_index(self.ndim, self.axis, slice(start, stop))]

    def means(self):
        return (self._slice(self.y, 1, self.n) + self._slice(self.y, 0, self.n - 1)) / 2

    def back_y(self, g):
        panels = np.shape(self._slice(self.y, 1, self.n))
        d = np.broadcast_to(self.d, np.broadcast_shapes(panels, np.shape(self.d)))
        edge = np.zeros(np.shape(d)[:self.axis] + (1,) + np.shape(d)[self.axis + 1:])
        weights = (np.concatenate([edge, d], axis=self.axis)
                   + np.concatenate([d, edge], axis=self.axis)) / 2
        return unbroadcast(np.expand_dims(g, self.axis) * weights, self.y)

    def back_x(self, g):
        gd = np.expand_dims(g, self.axis) * self.means()
        if np.ndim(self.x) == 1:
            return _undiff(np.reshape(unbroadcast(gd, self._along(self.n - 1)), (-1,)), 1, 0)
        shape = list(np.shape(self.x))
        shape[self.axis] -= 1
        return unbroadcast(_undiff(unbroadcast(gd, tuple(shape)), 1, self.axis), self.x)

    def back_dx(self, g):
        if self.x is not None:   # NumPy reads dx only without x
            return np.zeros(np.shape(self.dx))
        return unbroadcast(np.expand_dims(g, self.axis) * self.means(), self.dx)

    def forward_x(self, t):
        d = np.reshape(np.diff(t), self._along(self.n - 1)) if np.ndim(self.x) == 1 else \
            np.diff(t, axis=self.axis)
        return np.sum(d * self.means(), axis=self.axis)

    def forward_dx(self, t):
        if self.x is not None:
            return np.zeros(np.shape(np.sum(self.means(), axis=self.axis)))
        return np.sum(t * self.means(), axis=self.axis)


def _trapezoid_rule(part):
    def maker(ans, y, x=None, dx=1.0, axis=-1):
        return getattr(_Trapezoid(y, x, dx, axis), part)
    return maker


def _trapezoid_jvp_y(fun):
    def maker(ans, y, x=None, dx=1.0, axis=-1):   # linear in y
        return lambda t: fun(t, x, dx, axis)
    return maker


# np.trapezoid is NumPy 2's name; np.trapz the older one (removed in NumPy 2.4).
for _fun in (getattr(np, "trapezoid", None), getattr(np, "trapz", None)):
    if _fun is not None:
        defvjp(_fun, _trapezoid_rule("back_y"), _trapezoid_rule("back_x"),
               _trapezoid_rule("back_dx"))
        defjvp(_fun, _trapezoid_jvp_y(_fun), _trapezoid_rule("forward_x"),
               _trapezoid_rule("forward_dx"))
del _fun


# --- convolve and correlate --------------------------------------------------------------------
# full = convolve(a, v, 'full') has length n + m - 1; 'same' and 'valid' return a window of it.
# d full / d a is the correlation of the cotangent with v: convolve's adjoint in a is
# correlate(g_full, v, 'valid'), in v correlate(g_full, a, 'valid').  correlate(a, v) is
# convolve(a, v[::-1]) on real arrays, with its own 'same' window when v is the longer one.

def _window(mode, n, m, correlate):
    """Where the ``mode`` result starts in the 'full' one, and its length."""
    if mode == "full":
        return 0, n + m - 1
    short = min(n, m)
    if mode == "valid":
        return short - 1, max(n, m) - short + 1
    if mode == "same":
        if correlate and m > n:
            return short // 2, max(n, m)
        return (short - 1) // 2, max(n, m)
    raise ValueError(f"np.convolve / np.correlate: mode must be 'full', 'same' or 'valid', "
                     f"not {mode!r}")


def _mode(mode):
    """The mode's name (NumPy also takes 0, 1, 2 for 'valid', 'same', 'full')."""
    return mode if isinstance(mode, str) else ("valid", "same", "full")[mode]


def _full_cotangent(g, a, v, mode, correlate):
    """The cotangent of the 'full' result: ``g`` at its window, zeros elsewhere."""
    n, m = np.shape(a)[0], np.shape(v)[0]
    start, length = _window(_mode(mode), n, m, correlate)
    return np.pad(g, (start, n + m - 1 - start - length))


def _convolve_vjp_a(ans, a, v, mode="full"):
    return lambda g: np.correlate(_full_cotangent(g, a, v, mode, False), v, "valid")


def _convolve_vjp_v(ans, a, v, mode="full"):
    return lambda g: np.correlate(_full_cotangent(g, a, v, mode, False), a, "valid")


defvjp(np.convolve, _convolve_vjp_a, _convolve_vjp_v)
deflinear(np.convolve, 0, 1)


def _correlate_vjp_a(ans, a, v, mode="valid"):
    return lambda g: np.correlate(_full_cotangent(g, a, v, mode, True), np.flip(v), "valid")


def _correlate_vjp_v(ans, a, v, mode="valid"):
    return lambda g: np.flip(np.correlate(_full_cotangent(g, a, v, mode, True), a, "valid"))


defvjp(np.correlate, _correlate_vjp_a, _correlate_vjp_v)
deflinear(np.correlate, 0, 1)


# --- interp ------------------------------------------------------------------------------------
# Inside [xp[0], xp[-1]], interp(x) = (1 - w) fp[j] + w fp[j + 1] with w = (x - xp[j]) / (xp[j + 1]
# - xp[j]) and j the segment x lies in (x in [xp[j], xp[j + 1]); the last point in the last
# segment).  Below xp[0] it is fp[0] (or left), above xp[-1] fp[-1] (or right).
# d/dx = s, the segment's slope; d/dfp[j] = 1 - w, d/dfp[j + 1] = w; d/dxp[j] = -s (1 - w),
# d/dxp[j + 1] = -s w (moving the points and x together changes nothing).

class _Interp:
    def __init__(self, x, xp, fp, left, right, period):
        if period is not None:
            raise ValueError(
                "pullback cannot differentiate np.interp called with period=: its derivative "
                "rule does not support it (wrap x into [xp[0], xp[0] + period) and extend xp, fp "
                "by one period yourself, then call np.interp without period)")
        if np.ndim(xp) != 1 or np.shape(xp)[0] < 2:
            raise ValueError(
                "pullback differentiates np.interp with at least two points xp (with one, the "
                "result is a constant fp[0]); pass two or more increasing points")
        k = np.shape(xp)[0]
        self.x, self.xp, self.fp, self.left, self.right = x, xp, fp, left, right
        self.k = k
        self.j = np.clip(np.searchsorted(xp, x, side="right") - 1, 0, k - 2)
        self.below = np.less(x, xp[0])
        self.above = np.greater(x, xp[k - 1])
        self.inside = np.logical_not(np.logical_or(self.below, self.above))
        x0, x1 = np.take(xp, self.j), np.take(xp, self.j + 1)
        self.w = np.where(self.inside, (x - x0) / (x1 - x0), 0.0)
        self.slope = np.where(self.inside, (np.take(fp, self.j + 1) - np.take(fp, self.j))
                              / (x1 - x0), 0.0)

    def back_x(self, g):
        return g * self.slope

    def back_fp(self, g):
        """Each output's cotangent to the two values it interpolates, or to fp's ends outside
        (when left / right are not given)."""
        to_lo = g * np.where(self.inside, 1 - self.w, 0.0)
        to_hi = g * self.w
        if self.left is None:
            to_lo = to_lo + g * self.below          # j is 0 there
        if self.right is None:
            to_hi = to_hi + g * self.above          # j + 1 is k - 1 there
        shape = (self.k,)
        return untake(np.ravel(to_lo), np.ravel(self.j), shape) + \
            untake(np.ravel(to_hi), np.ravel(self.j + 1), shape)

    def back_xp(self, g):
        shape = (self.k,)
        lo = -g * self.slope * (1 - self.w)
        hi = -g * self.slope * self.w
        return untake(np.ravel(lo), np.ravel(self.j), shape) + \
            untake(np.ravel(hi), np.ravel(self.j + 1), shape)

    def back_left(self, g):
        return unbroadcast(g * self.below, self.left)

    def back_right(self, g):
        return unbroadcast(g * self.above, self.right)

    def forward_x(self, t):
        return t * self.slope

    def forward_fp(self, t):
        return np.interp(self.x, self.xp, t, None if self.left is None else 0.0,
                         None if self.right is None else 0.0)

    def forward_xp(self, t):
        return -self.slope * ((1 - self.w) * np.take(t, self.j) + self.w * np.take(t, self.j + 1))

    def forward_left(self, t):
        return t * self.below

    def forward_right(self, t):
        return t * self.above


def _interp_rule(part):
    def maker(ans, x, xp, fp, left=None, right=None, period=None):
        return getattr(_Interp(x, xp, fp, left, right, period), part)
    return maker


defvjp(np.interp, *(_interp_rule(f"back_{p}") for p in ("x", "xp", "fp", "left", "right")))
defjvp(np.interp, *(_interp_rule(f"forward_{p}") for p in ("x", "xp", "fp", "left", "right")))
