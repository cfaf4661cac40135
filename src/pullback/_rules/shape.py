"""Rules for NumPy's shape functions: reshaping, transposing, joining, splitting, tiling,
flipping, diagonals and padding, plus the shape queries and constructors that carry no gradient.

Every differentiable function here is linear in its array argument(s), so each JVP is the
function itself applied to the tangent (``deflinear``) and each VJP is the adjoint map: the
inverse permutation for a rearrangement, a split for a join, a sum for a copy.
"""

import itertools
import math

import numpy as np

from .._errors import NoGradientRuleError
from .._registry import (deflinear, defjvp, defjvp_argnum, defvjp, defvjp_argnum,
                         nondifferentiable, unbroadcast)
from .indexing import untake

__all__ = []


# --- shape queries and constructors: no gradient -----------------------------------------------
# Their results are integers, booleans or new constants, whatever values their arguments hold.

nondifferentiable(
    np.shape, np.ndim, np.size, np.result_type, np.iscomplexobj, np.isrealobj,
    np.argmax, np.argmin, np.nanargmax, np.nanargmin, np.argsort, np.argpartition, np.lexsort,
    np.argwhere, np.nonzero,
    np.flatnonzero, np.searchsorted, np.digitize, np.unravel_index, np.ravel_multi_index,
    np.count_nonzero, np.any, np.all, np.isclose, np.allclose, np.array_equal, np.array_equiv,
    np.zeros_like, np.ones_like, np.empty_like,
)


# --- helpers shared by the rules below ---------------------------------------------------------
# Sizes come from np.shape, which gives plain ints even for Tensors.

def _ndim(x):
    return len(np.shape(x))


def _size(x):
    return math.prod(np.shape(x))


def _memory_order(order, fun):
    """The index order a reshape-like VJP uses; 'A' and 'K' depend on memory layout, which the
    tape does not preserve, so they have no rule rather than a silently wrong one."""
    if order in ("C", "F"):
        return order
    raise NoGradientRuleError(
        f"pullback has no derivative rule for numpy.{fun}(..., order={order!r}): it depends on "
        f"the memory layout; use order='C' or order='F'")


def _inverse_permutation(axes, ndim):
    inverse = [0] * ndim
    for i, axis in enumerate(axes):
        inverse[int(axis) % ndim] = i
    return tuple(inverse)


def _negated(shift):
    return -shift if np.shape(shift) == () else tuple(-int(s) for s in shift)


def _atleast_shape(shape, nd):
    """The shape ``np.atleast_{nd}d`` gives an array of ``shape``."""
    shape = tuple(shape)
    if len(shape) >= nd:
        return shape
    if nd == 3 and len(shape) >= 1:  # (n,) -> (1, n, 1) and (m, n) -> (m, n, 1)
        return ((1,) if len(shape) == 1 else ()) + shape + (1,)
    return (1,) * (nd - len(shape)) + shape


def _split_back(g, arrays, axis, lengths):
    """``g`` split along ``axis`` into pieces of ``lengths``, each reshaped to its array's shape:
    the VJP of every join (concatenate, stack, hstack, ...)."""
    bounds = list(itertools.accumulate(lengths))[:-1]
    return [np.reshape(p, np.shape(x)) for p, x in zip(np.split(g, bounds, axis), arrays)]


def _undiagonal(g, shape, offset, axis1, axis2):
    """Zeros of ``shape`` with ``g`` (diagonals along its last axis) placed on the ``offset``
    diagonal of ``axis1``, ``axis2``: the adjoint of ``np.diagonal``."""
    axis1, axis2 = axis1 % len(shape), axis2 % len(shape)
    rest = tuple(n for i, n in enumerate(shape) if i not in (axis1, axis2))
    length = np.shape(g)[-1]
    rows = np.arange(length) + max(-offset, 0)
    cols = np.arange(length) + max(offset, 0)
    placed = untake(g, (slice(None),) * len(rest) + (rows, cols),
                    rest + (shape[axis1], shape[axis2]))
    return np.moveaxis(placed, (-2, -1), (axis1, axis2))


# --- reshaping ---------------------------------------------------------------------------------

def _reshape_vjp(ans, a, shape=None, order="C", copy=None):
    order = _memory_order(order, "reshape")
    return lambda g: np.reshape(g, np.shape(a), order=order)


def _ravel_vjp(ans, a, order="C"):
    order = _memory_order(order, "ravel")
    return lambda g: np.reshape(g, np.shape(a), order=order)


defvjp(np.reshape, _reshape_vjp)
deflinear(np.reshape)
defvjp(np.ravel, _ravel_vjp)
deflinear(np.ravel)
defvjp(np.squeeze, lambda ans, a, axis=None: lambda g: np.reshape(g, np.shape(a)))
deflinear(np.squeeze)
defvjp(np.expand_dims, lambda ans, a, axis: lambda g: np.reshape(g, np.shape(a)))
deflinear(np.expand_dims)
defvjp(np.broadcast_to, lambda ans, array, shape, subok=False: lambda g: unbroadcast(g, array))
deflinear(np.broadcast_to)
defvjp(np.copy, lambda ans, a, order="K", subok=False: lambda g: g)
deflinear(np.copy)


# --- permuting axes ----------------------------------------------------------------------------

def _transpose_vjp(ans, a, axes=None):
    if axes is None:
        return lambda g: np.transpose(g)
    inverse = _inverse_permutation(axes, _ndim(a))
    return lambda g: np.transpose(g, inverse)


defvjp(np.transpose, _transpose_vjp)  # np.permute_dims is the same function
deflinear(np.transpose)
defvjp(np.swapaxes, lambda ans, a, axis1, axis2: lambda g: np.swapaxes(g, axis1, axis2))
deflinear(np.swapaxes)
defvjp(np.moveaxis, lambda ans, a, source, destination: lambda g: np.moveaxis(g, destination, source))
deflinear(np.moveaxis)
defvjp(np.matrix_transpose, lambda ans, x: lambda g: np.matrix_transpose(g))
deflinear(np.matrix_transpose)


# --- flipping and rotating: permutations, so the VJP is the inverse permutation --------------

defvjp(np.flip, lambda ans, m, axis=None: lambda g: np.flip(g, axis))
deflinear(np.flip)
defvjp(np.fliplr, lambda ans, m: lambda g: np.fliplr(g))
deflinear(np.fliplr)
defvjp(np.flipud, lambda ans, m: lambda g: np.flipud(g))
deflinear(np.flipud)
defvjp(np.roll, lambda ans, a, shift, axis=None: lambda g: np.roll(g, _negated(shift), axis))
deflinear(np.roll)
defvjp(np.rot90, lambda ans, m, k=1, axes=(0, 1): lambda g: np.rot90(g, -k, axes))
deflinear(np.rot90)


# --- promoting to at least n dimensions (variadic: one output per argument) ------------------

def _atleast_vjp(argnum, ans, *arys):
    if len(arys) == 1:
        return lambda g: np.reshape(g, np.shape(arys[0]))
    return lambda g: np.reshape(g[argnum], np.shape(arys[argnum]))


def _atleast_jvp(fun):
    def maker(argnum, ans, *arys):
        if len(arys) == 1:
            return lambda t: fun(t)
        # one tangent per output; the other arguments' outputs do not move
        return lambda t: tuple(fun(t) if i == argnum else np.zeros_like(a) for i, a in enumerate(ans))
    return maker


for _fun in (np.atleast_1d, np.atleast_2d, np.atleast_3d):
    defvjp_argnum(_fun, _atleast_vjp)
    defjvp_argnum(_fun, _atleast_jvp(_fun))


# --- joining: a sequence argument, so the VJP returns one gradient per element --------------

def _concatenate_vjp(ans, arrays, axis=0, out=None, dtype=None, casting="same_kind"):
    if axis is None:  # the arrays are flattened first
        return lambda g: _split_back(g, arrays, 0, [_size(x) for x in arrays])
    return lambda g: _split_back(g, arrays, axis, [np.shape(x)[axis] for x in arrays])


defvjp(np.concatenate, _concatenate_vjp)  # np.concat is the same function
deflinear(np.concatenate)
defvjp(np.stack, lambda ans, arrays, axis=0, out=None, dtype=None, casting="same_kind": lambda g: _split_back(g, arrays, axis, [1] * len(arrays)))
deflinear(np.stack)


def _hstack_vjp(ans, tup, dtype=None, casting="same_kind"):
    axis = 0 if _ndim(tup[0]) <= 1 else 1  # 1-d inputs are joined end to end, others by column
    return lambda g: _split_back(g, tup, axis, [_atleast_shape(np.shape(x), 1)[axis] for x in tup])


defvjp(np.hstack, _hstack_vjp)
deflinear(np.hstack)
defvjp(np.vstack, lambda ans, tup, dtype=None, casting="same_kind": lambda g: _split_back(g, tup, 0, [_atleast_shape(np.shape(x), 2)[0] for x in tup]))
deflinear(np.vstack)
defvjp(np.dstack, lambda ans, tup: lambda g: _split_back(g, tup, 2, [_atleast_shape(np.shape(x), 3)[2] for x in tup]))
deflinear(np.dstack)
# column_stack turns 0-d and 1-d inputs into one column each
defvjp(np.column_stack, lambda ans, tup: lambda g: _split_back(g, tup, 1, [np.shape(x)[1] if _ndim(x) >= 2 else 1 for x in tup]))
deflinear(np.column_stack)


def _append_vjp(argnum):
    def maker(ans, arr, values, axis=None):
        if axis is None:  # both are flattened first
            return lambda g: _split_back(g, (arr, values), 0, [_size(arr), _size(values)])[argnum]
        return lambda g: _split_back(g, (arr, values), axis, [np.shape(arr)[axis], np.shape(values)[axis]])[argnum]
    return maker


# append is linear in each argument separately (not multilinear): the other one's tangent is 0
defvjp(np.append, _append_vjp(0), _append_vjp(1))
defjvp(np.append,
       lambda ans, arr, values, axis=None: lambda t: np.append(t, np.zeros_like(values), axis),
       lambda ans, arr, values, axis=None: lambda t: np.append(np.zeros_like(arr), t, axis))


# --- filling: np.full, np.full_like and np.linspace carry their values' gradients ------------
# The shape (or the array whose shape is copied) carries none; the fill value is broadcast, so
# its gradient is the cotangent summed back to its shape.

def _full_vjp(ans, shape, fill_value, *args, **kwargs):
    return lambda g: unbroadcast(g, fill_value)


defvjp(np.full, None, _full_vjp)
deflinear(np.full, 1)
defvjp(np.full_like, None, _full_vjp)
deflinear(np.full_like, 1)


def _fractions(ans, num, endpoint, axis):
    """``t`` with ``linspace(start, stop) == start + (stop - start) * t``, shaped to broadcast
    along the output's ``axis``."""
    t = np.linspace(0.0, 1.0, num, endpoint=endpoint)
    shape = [1] * _ndim(ans)
    shape[axis % len(shape)] = num
    return np.reshape(t, shape), axis % len(shape)


def _linspace_part(end):
    """The VJP (``end`` 0: start, 1: stop) of np.linspace: the cotangent weighted by how far
    along each point is, summed over the points."""
    def maker(ans, start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
        if retstep:
            raise NotImplementedError("np.linspace(..., retstep=True) has no derivative rule; "
                                      "compute the step as (stop - start) / (num - 1)")
        t, axis = _fractions(ans, num, endpoint, axis)
        weight = t if end else 1.0 - t
        return lambda g: unbroadcast(np.sum(g * weight, axis=axis), (start, stop)[end])
    return maker


def _linspace_tangent(end):
    def maker(ans, start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
        t, axis = _fractions(ans, num, endpoint, axis)
        weight = t if end else 1.0 - t
        ends = np.broadcast_shapes(np.shape(start), np.shape(stop))   # one point's shape
        return lambda tan: np.expand_dims(np.broadcast_to(tan, ends), axis) * weight
    return maker


defvjp(np.linspace, _linspace_part(0), _linspace_part(1))
defjvp(np.linspace, _linspace_tangent(0), _linspace_tangent(1))


# --- splitting: several outputs, so the VJP receives one cotangent per piece -----------------

defvjp(np.split, lambda ans, ary, indices_or_sections, axis=0: lambda g: np.concatenate(list(g), axis))
deflinear(np.split)
defvjp(np.array_split, lambda ans, ary, indices_or_sections, axis=0: lambda g: np.concatenate(list(g), axis))
deflinear(np.array_split)
defvjp(np.hsplit, lambda ans, ary, indices_or_sections: lambda g: np.concatenate(list(g), 1 if _ndim(ary) > 1 else 0))
deflinear(np.hsplit)
defvjp(np.vsplit, lambda ans, ary, indices_or_sections: lambda g: np.concatenate(list(g), 0))
deflinear(np.vsplit)
defvjp(np.dsplit, lambda ans, ary, indices_or_sections: lambda g: np.concatenate(list(g), 2))
deflinear(np.dsplit)
defvjp(np.unstack, lambda ans, x, axis=0: lambda g: np.stack(list(g), axis))
deflinear(np.unstack)


# --- repeating: each input element is copied, so its gradient is the sum over its copies -----

def _tile_vjp(ans, A, reps):
    shape = np.shape(A)
    reps = (int(reps),) if np.shape(reps) == () else tuple(int(r) for r in reps)
    d = max(len(shape), len(reps))
    padded = (1,) * (d - len(shape)) + shape
    reps = (1,) * (d - len(reps)) + reps
    # output axis i has length reps[i] * padded[i], copy-major: split it into (copy, element)
    split_shape = tuple(n for pair in zip(reps, padded) for n in pair)
    return lambda g: np.reshape(np.sum(np.reshape(g, split_shape), axis=tuple(range(0, 2 * d, 2))), shape)


defvjp(np.tile, _tile_vjp)
deflinear(np.tile)


def _repeat_vjp(ans, a, repeats, axis=None):
    shape = np.shape(a)
    if axis is None:  # np.repeat reads the flattened array
        size = _size(a)
        source = np.repeat(np.arange(size), repeats)  # the input element each output copies
        return lambda g: np.reshape(untake(g, source, (size,)), shape)
    axis = axis % len(shape)
    source = np.repeat(np.arange(shape[axis]), repeats)
    return lambda g: untake(g, (slice(None),) * axis + (source,), shape)


defvjp(np.repeat, _repeat_vjp)
deflinear(np.repeat)


# --- diagonals and triangles -----------------------------------------------------------------

defvjp(np.diagonal, lambda ans, a, offset=0, axis1=0, axis2=1: lambda g: _undiagonal(g, np.shape(a), offset, axis1, axis2))
deflinear(np.diagonal)


def _diag_vjp(ans, v, k=0):
    if _ndim(v) == 1:  # vector -> matrix with v on diagonal k
        return lambda g: np.diagonal(g, k)
    return lambda g: _undiagonal(g, np.shape(v), k, 0, 1)  # matrix -> its diagonal k


defvjp(np.diag, _diag_vjp)
deflinear(np.diag)
# a 1-d input is broadcast to the rows of a square matrix, hence unbroadcast
defvjp(np.triu, lambda ans, m, k=0: lambda g: unbroadcast(np.triu(g, k), m))
deflinear(np.triu)
defvjp(np.tril, lambda ans, m, k=0: lambda g: unbroadcast(np.tril(g, k), m))
deflinear(np.tril)


# --- real part -------------------------------------------------------------------------------
# The identity on real input; on complex input the cotangent becomes complex (autograd's
# convention: a real cotangent g of Re z pulls back to g + 0j).

defvjp(np.real, lambda ans, val: lambda g: g + 0j if np.iscomplexobj(val) else g)
deflinear(np.real)


# --- padding ---------------------------------------------------------------------------------
# 'constant' adds constants around the array; 'edge', 'reflect', 'symmetric' and 'wrap' copy
# array elements into the border.  Both are read off np.pad itself applied to an index map, so
# every pad_width form NumPy accepts (int, pairs, per-axis pairs, dict) is handled by NumPy.

_PAD_COPY_MODES = ("edge", "reflect", "symmetric", "wrap")


def _pad_check(mode, kwargs):
    if mode == "constant" or (mode in _PAD_COPY_MODES and kwargs.get("reflect_type", "even") == "even"):
        return
    raise NoGradientRuleError(
        f"pullback has no derivative rule for numpy.pad(..., mode={mode!r}"
        f"{', ' + repr(kwargs) if kwargs else ''}); supported modes: 'constant', "
        f"{', '.join(repr(m) for m in _PAD_COPY_MODES)} (with reflect_type='even')")


def _pad_vjp(ans, array, pad_width, mode="constant", **kwargs):
    _pad_check(mode, kwargs)
    shape = np.shape(array)
    size = _size(array)
    positions = np.reshape(np.arange(size), shape)
    if mode == "constant":
        # the original elements, in C order, are where the padded index map is not a constant
        inside = np.pad(positions + 1, pad_width) > 0
        return lambda g: np.reshape(g[inside], shape)
    source = np.pad(positions, pad_width, mode)  # the input element each output copies
    return lambda g: np.reshape(untake(g, source, (size,)), shape)


def _pad_jvp(ans, array, pad_width, mode="constant", **kwargs):
    _pad_check(mode, kwargs)
    if mode == "constant":  # constant_values do not move: the tangent is padded with zeros
        return lambda t: np.pad(t, pad_width)
    return lambda t: np.pad(t, pad_width, mode, **kwargs)


defvjp(np.pad, _pad_vjp)
defjvp(np.pad, _pad_jvp)
