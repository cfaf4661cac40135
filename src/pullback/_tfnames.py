"""Top-level TensorFlow names (``pb.reduce_sum``, ``pb.ones``, ...), for people porting TF code.

Those that take tensors take (nested) lists of them too, and pack them with their gradients
(:func:`convert_to_tensor`), as TensorFlow does.
"""

import numpy as np

from . import math as _math
from ._tensor import Tensor, _plain, constant, convert_to_tensor

__all__ = ["reduce_sum", "reduce_mean", "reduce_max", "reduce_min", "reduce_prod", "multiply",
           "add", "subtract", "divide", "matmul", "exp", "log", "sqrt", "square", "ones",
           "zeros", "ones_like", "zeros_like", "fill", "linspace", "range", "reshape",
           "transpose", "concat", "stack", "float32", "float64", "int32", "int64"]

reduce_sum, reduce_mean = _math.reduce_sum, _math.reduce_mean
reduce_max, reduce_min, reduce_prod = _math.reduce_max, _math.reduce_min, _math.reduce_prod
multiply, add, subtract, divide = _math.multiply, _math.add, _math.subtract, _math.divide
exp, log, sqrt, square = _math.exp, _math.log, _math.sqrt, _math.square
float32, float64, int32, int64 = np.float32, np.float64, np.int32, np.int64


def matmul(a, b):
    """Matrix product ``a @ b`` as a Tensor.

    Example:
        >>> import pullback as pb
        >>> pb.matmul([[1.0, 2.0]], [[3.0], [4.0]]).numpy().tolist()
        [[11.0]]
    """
    return np.matmul(convert_to_tensor(a), convert_to_tensor(b))


def ones(shape, dtype=None):
    """A constant Tensor of ones (float64 unless ``dtype`` says otherwise).

    Example:
        >>> import pullback as pb
        >>> pb.ones((2, 2)).numpy().tolist()
        [[1.0, 1.0], [1.0, 1.0]]
    """
    return constant(np.ones(shape), dtype)


def zeros(shape, dtype=None):
    """A constant Tensor of zeros (float64 unless ``dtype`` says otherwise).

    Example:
        >>> import pullback as pb
        >>> pb.zeros(2).numpy().tolist()
        [0.0, 0.0]
    """
    return constant(np.zeros(shape), dtype)


def ones_like(x, dtype=None):
    """A constant Tensor of ones with the shape (and dtype) of ``x``.

    Example:
        >>> import pullback as pb
        >>> pb.ones_like(pb.constant([[1.0, 2.0]])).numpy().tolist()
        [[1.0, 1.0]]
    """
    x = np.asarray(_plain(x))  # the shape only: no conversion of a differentiated Tensor
    return constant(np.ones(x.shape, dtype or x.dtype))


def zeros_like(x, dtype=None):
    """A constant Tensor of zeros with the shape (and dtype) of ``x``.

    Example:
        >>> import pullback as pb
        >>> pb.zeros_like([1, 2, 3]).numpy().tolist()
        [0, 0, 0]
    """
    x = np.asarray(_plain(x))
    return constant(np.zeros(x.shape, dtype or x.dtype))


def fill(dims, value):
    """A Tensor of ``dims`` filled with ``value`` (a Tensor ``value`` gets the gradient of every
    element).

    Example:
        >>> import pullback as pb
        >>> v = pb.Variable(0.5)
        >>> with pb.GradientTape() as tape:
        ...     y = pb.reduce_sum(pb.fill((2, 3), v))
        >>> float(y), float(tape.gradient(y, v))
        (3.0, 6.0)
    """
    if isinstance(value, Tensor):
        value = convert_to_tensor(value)
        return value * np.ones(dims, value.dtype)
    return constant(np.full(dims, value))


def linspace(start, stop, num):
    """``num`` evenly spaced values from ``start`` to ``stop`` inclusive, as a Tensor.

    Example:
        >>> import pullback as pb
        >>> pb.linspace(-10.0, 10.0, 201).shape
        (201,)

    A Tensor or Variable ``start`` or ``stop`` gets its gradient, as in TensorFlow.
    """
    if isinstance(start, Tensor) or isinstance(stop, Tensor):   # recorded: its gradient flows
        return np.linspace(convert_to_tensor(start), convert_to_tensor(stop), int(num))
    return constant(np.linspace(float(start), float(stop), int(num)))


def range(start, limit=None, delta=1, dtype=None):  # noqa: A001
    """Like Python's range, as a Tensor (``pb.range(5)``, ``pb.range(1.0, 2.0, 0.5)``).

    Example:
        >>> import pullback as pb
        >>> pb.range(5).numpy().tolist(), pb.range(1.0, 2.0, 0.5).numpy().tolist()
        ([0, 1, 2, 3, 4], [1.0, 1.5])
    """
    if limit is None:
        start, limit = 0, start
    return constant(np.arange(start, limit, delta), dtype)


def reshape(tensor, shape):
    """``tensor`` with a new shape, as a Tensor.

    Example:
        >>> import pullback as pb
        >>> pb.reshape([1.0, 2.0, 3.0, 4.0], (2, 2)).numpy().tolist()
        [[1.0, 2.0], [3.0, 4.0]]
    """
    return np.reshape(convert_to_tensor(tensor), shape)


def transpose(a, perm=None):
    """``a`` with its axes permuted (reversed by default), as a Tensor.

    Example:
        >>> import pullback as pb
        >>> pb.transpose([[1.0, 2.0]]).numpy().tolist()
        [[1.0], [2.0]]
    """
    return np.transpose(convert_to_tensor(a), perm)


def concat(values, axis):
    """Join Tensors along an existing axis.

    Example:
        >>> import pullback as pb
        >>> pb.concat([[1.0, 2.0], [3.0]], axis=0).numpy().tolist()
        [1.0, 2.0, 3.0]
    """
    return np.concatenate([convert_to_tensor(v) for v in values], axis=axis)


def stack(values, axis=0):
    """Join Tensors along a new axis.

    Example:
        >>> import pullback as pb
        >>> a = pb.Variable(2.0)
        >>> with pb.GradientTape() as tape:
        ...     y = pb.reduce_sum(pb.stack([a, a * a]))
        >>> float(y), float(tape.gradient(y, a))
        (6.0, 5.0)
    """
    return np.stack([convert_to_tensor(v) for v in values], axis=axis)
