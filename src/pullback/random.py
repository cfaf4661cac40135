"""TensorFlow-style ``pb.random``: seeded random Tensors (float64 by default)."""

import numpy as np

from ._tensor import constant

__all__ = ["normal", "uniform"]


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normally distributed values of ``shape`` (a fixed ``seed`` gives the same values).

    Example:
        >>> import pullback as pb
        >>> pb.random.normal((4, 2), seed=0).shape
        (4, 2)
    """
    rng = np.random.default_rng(seed)
    return constant(rng.normal(mean, stddev, size=tuple(np.atleast_1d(shape)) if shape != () else ()),
                    dtype)


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Uniformly distributed values in [minval, maxval) of ``shape``.

    Example:
        >>> import pullback as pb
        >>> pb.random.uniform((3,), seed=0).shape
        (3,)
    """
    rng = np.random.default_rng(seed)
    return constant(rng.uniform(minval, maxval, size=shape), dtype)
