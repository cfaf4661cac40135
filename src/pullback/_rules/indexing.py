"""Rules for indexing: ``x[index]`` as the primitive ``getitem``, its adjoint ``untake``, and
``np.take`` / ``np.take_along_axis``.

``Tensor.__getitem__`` records ``getitem(x, index)`` with the index already plain (ints, slices,
None, Ellipsis, tuples, integer or boolean arrays).  Its VJP scatters the cotangent back with
``untake``, which adds (``np.add.at``) rather than assigns, so an element picked twice by a fancy
index gets both contributions.  ``untake`` is linear in ``g`` and its own VJP is ``getitem``, so
the pair differentiates to any order.
"""

import math

import numpy as np

from .._registry import defjvp, deflinear, defvjp, primitive, unbroadcast

__all__ = ["getitem", "untake", "assign_index"]


@primitive
def getitem(x, index):
    """``x[index]``: any NumPy index (basic, fancy, boolean, mixed)."""
    return x[index]


@primitive
def untake(g, index, shape):
    """Zeros of ``shape`` with ``g`` added at ``index``: the adjoint of ``x[index]``.

    Repeated indices add up: ``untake([1., 2.], [0, 0], (2,))`` is ``[3., 0.]``.
    """
    out = np.zeros(shape, dtype=np.result_type(g))
    np.add.at(out, index, g)
    return out


@primitive
def assign_index(x, index, value):
    """A copy of ``x`` with ``value`` written at ``index``: ``x[index] = value`` without
    mutation, as the tape records a write into an array."""
    out = np.array(x, dtype=np.result_type(x, value), copy=True)
    out[index] = value
    return out


def _written_once(index, shape):
    """Raise for a fancy index that writes one element twice: which value lands is NumPy's
    choice, so no gradient is defined."""
    positions = np.arange(math.prod(shape)).reshape(shape)[index]
    if np.unique(positions).size != np.size(positions):
        raise ValueError("a fancy-index assignment writes the same element more than once; its "
                         "gradient is not defined (which value remains is NumPy's choice)")


def _assign_index_vjp_x(ans, x, index, value):
    def vjp(g):
        return assign_index(g, index, 0.0)
    return vjp


def _assign_index_vjp_value(ans, x, index, value):
    _written_once(index, np.shape(x))
    return lambda g: unbroadcast(getitem(g, index), value)


# --- indexing primitives: linear in the array, no gradient for the index or shape ------------

defvjp(getitem, lambda ans, x, index: lambda g: untake(g, index, np.shape(x)), None)
deflinear(getitem)
defvjp(untake, lambda ans, g, index, shape: lambda gbar: getitem(gbar, index), None, None)
deflinear(untake)


# --- np.take and np.take_along_axis, through the same scatter ---------------------------------

def _take_index(indices, n, mode):
    """``indices`` as a plain fancy index into an axis of length ``n``, per np.take's ``mode``."""
    indices = np.asarray(indices)
    if mode == "wrap":
        return np.mod(indices, n)
    if mode == "clip":
        return np.clip(indices, 0, n - 1)
    return indices  # 'raise': negative indices count from the end, as in a[indices]


def _take_vjp(ans, a, indices, axis=None, out=None, mode="raise"):
    shape = np.shape(a)
    if axis is None:  # np.take reads the flattened array
        size = math.prod(shape)
        index = _take_index(indices, size, mode)
        return lambda g: np.reshape(untake(g, index, (size,)), shape)
    axis = axis % len(shape)
    index = (slice(None),) * axis + (_take_index(indices, shape[axis], mode),)
    return lambda g: untake(g, index, shape)


defvjp(np.take, _take_vjp, None)
deflinear(np.take)


def _take_along_axis_vjp(ans, arr, indices, axis=-1):
    shape = np.shape(arr)
    if axis is None:  # np.take_along_axis reads the flattened array
        size = math.prod(shape)
        return lambda g: np.reshape(untake(g, indices, (size,)), shape)
    ndim = len(shape)
    axis = axis % ndim
    # arr[index] == np.take_along_axis(arr, indices, axis): an open grid on the other axes
    index = tuple(indices if i == axis else
                  np.reshape(np.arange(n), (1,) * i + (n,) + (1,) * (ndim - i - 1))
                  for i, n in enumerate(shape))
    return lambda g: untake(g, index, shape)


defvjp(np.take_along_axis, _take_along_axis_vjp, None)
deflinear(np.take_along_axis)

# --- writing: linear in the array and in the value written ---------------------------------
defvjp(assign_index, _assign_index_vjp_x, None, _assign_index_vjp_value)
defjvp(assign_index,
       lambda ans, x, index, value: lambda t: assign_index(t, index, np.zeros(np.shape(value))),
       None,
       lambda ans, x, index, value: lambda t: assign_index(np.zeros(np.shape(x)), index, t))
