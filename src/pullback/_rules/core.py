"""Rules for pullback's own primitives (reading a Variable as an op, casting) and for NumPy's
conversions (``np.asarray(x)``, ``np.array(x)``, ``x.astype(float)``)."""

import numpy as np

from .._registry import defvjp, deflinear, primitive, unbroadcast

__all__ = ["identity", "cast"]


@primitive
def identity(x):
    """The value itself: records a read of a Variable as an op of its own."""
    return x


@primitive
def cast(x, dtype, order="K", casting="unsafe", subok=True, copy=True):
    """``x`` converted to ``dtype`` (a NumPy dtype, as ``x.astype(dtype, ...)``)."""
    return np.asarray(x).astype(dtype, order=order, casting=casting, subok=subok, copy=copy)


def _dtype_of(x):
    """The dtype of an array, Tensor or Python number, without converting a Tensor."""
    dtype = getattr(x, "dtype", None)
    return dtype if dtype is not None else np.result_type(x)


defvjp(identity, lambda ans, x: lambda g: g)
deflinear(identity)

# A gradient keeps the dtype of the value it is the gradient of.
defvjp(cast, lambda ans, x, dtype, order="K", casting="unsafe", subok=True, copy=True:
       lambda g: cast(g, _dtype_of(x)), None)
deflinear(cast)

# --- conversions: the value itself (or a copy), as an array ---
# Only conversions to a float dtype reach these rules: both engines take a conversion to an
# integer or bool dtype for a constant (the tape records no integer result; the source engine
# treats it as int(v)), and refuse one to a complex dtype (the rules assume real numbers).
# np.ascontiguousarray and np.array(..., ndmin=n) may add leading axes of length 1.
defvjp(np.asarray, lambda ans, a, dtype=None, order=None, device=None, copy=None, like=None:
       lambda g: g)
defvjp(np.asanyarray, lambda ans, a, dtype=None, order=None, device=None, copy=None, like=None:
       lambda g: g)
defvjp(np.ascontiguousarray, lambda ans, a, dtype=None, like=None: lambda g: unbroadcast(g, a))
defvjp(np.asfortranarray, lambda ans, a, dtype=None, like=None: lambda g: unbroadcast(g, a))
defvjp(np.array, lambda ans, object, dtype=None, copy=True, order="K", subok=False, ndmin=0,
       ndmax=0, like=None: lambda g: unbroadcast(g, object))
for _fun in (np.asarray, np.asanyarray, np.ascontiguousarray, np.asfortranarray, np.array):
    deflinear(_fun)
