"""Rules for pullback's own primitives: reading a Variable as an op, and casting."""

import numpy as np

from .._registry import defvjp, deflinear, primitive

__all__ = ["identity", "cast"]


@primitive
def identity(x):
    """The value itself: records a read of a Variable as an op of its own."""
    return x


@primitive
def cast(x, dtype):
    """``x`` converted to ``dtype`` (a NumPy dtype object)."""
    return np.asarray(x).astype(dtype)


defvjp(identity, lambda ans, x: lambda g: g)
deflinear(identity)

# A gradient keeps the dtype of the value it is the gradient of.
defvjp(cast, lambda ans, x, dtype: lambda g: cast(g, np.asarray(x).dtype), None)
deflinear(cast)
