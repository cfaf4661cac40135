"""TensorFlow-style ``pb.random``: seeded random Tensors (float64 by default)."""

import numpy as np

from ._tensor import Tensor, constant, convert_to_tensor

__all__ = ["normal", "uniform"]


def _size(shape):
    return tuple(np.atleast_1d(shape)) if shape != () else ()


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normally distributed values of ``shape`` (a fixed ``seed`` gives the same values).

    As in TensorFlow, the values are ``standard_normal * stddev + mean``: a Tensor or Variable
    ``mean`` or ``stddev`` gets its gradient (the reparameterization trick).

    Example:
        >>> import pullback as pb
        >>> pb.random.normal((4, 2), seed=0).shape
        (4, 2)
        >>> s = pb.Variable(2.0)
        >>> with pb.GradientTape() as tape:
        ...     total = pb.reduce_sum(pb.random.normal((3,), stddev=s, seed=0))
        >>> bool(abs(float(tape.gradient(total, s)) - float(total) / 2.0) < 1e-12)   # d/ds = z / s
        True
    """
    rng = np.random.default_rng(seed)
    if isinstance(mean, Tensor) or isinstance(stddev, Tensor):
        z = rng.standard_normal(size=_size(shape))
        return convert_to_tensor(z * convert_to_tensor(stddev) + convert_to_tensor(mean), dtype)
    return constant(rng.normal(mean, stddev, size=_size(shape)), dtype)


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Uniformly distributed values in [minval, maxval) of ``shape``.

    As in TensorFlow, the values are ``u * (maxval - minval) + minval`` with ``u`` uniform in
    [0, 1): a Tensor or Variable ``minval`` or ``maxval`` gets its gradient.

    Example:
        >>> import pullback as pb
        >>> pb.random.uniform((3,), seed=0).shape
        (3,)
    """
    rng = np.random.default_rng(seed)
    if isinstance(minval, Tensor) or isinstance(maxval, Tensor):
        u = rng.random(size=shape)
        low, high = convert_to_tensor(minval), convert_to_tensor(maxval)
        return convert_to_tensor(u * (high - low) + low, dtype)
    return constant(rng.uniform(minval, maxval, size=shape), dtype)
