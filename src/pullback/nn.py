"""TensorFlow-style ``pb.nn`` activations; each returns a Tensor."""

import numpy as np

from ._registry import defelementwise, primitive
from ._tensor import convert_to_tensor

__all__ = ["sigmoid", "softplus", "relu", "tanh"]


@primitive
def _sigmoid(x):
    # exp of a non-positive number only, so no overflow at either end.
    e = np.exp(-np.abs(x))
    return np.where(np.asarray(x) >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


defelementwise(_sigmoid, lambda ans, x: ans * (1.0 - ans))


def sigmoid(x):
    """The logistic function 1 / (1 + exp(-x)), without overflow.

    Example:
        >>> import pullback as pb
        >>> float(pb.nn.sigmoid(0.0))
        0.5
    """
    return _sigmoid(convert_to_tensor(x))


def softplus(x):
    """log(1 + exp(x)) without overflow; its derivative is sigmoid(x).

    Example:
        >>> import pullback as pb
        >>> round(float(pb.nn.softplus(0.0)), 6)
        0.693147
    """
    return np.logaddexp(0.0, convert_to_tensor(x))


def relu(x):
    """max(x, 0); its derivative at 0 is 0, as in TensorFlow.

    Example:
        >>> import pullback as pb
        >>> pb.nn.relu([-1.0, 2.0]).numpy().tolist()
        [0.0, 2.0]
    """
    return np.maximum(0.0, convert_to_tensor(x))  # a tie goes to the first argument: the 0


def tanh(x):
    """Hyperbolic tangent.

    Example:
        >>> import pullback as pb
        >>> float(pb.nn.tanh(0.0))
        0.0
    """
    return np.tanh(convert_to_tensor(x))


# What pb.grad's source engine suggests instead of each (it runs NumPy, not Tensors).
sigmoid._numpy_equivalent = "1.0 / (1.0 + np.exp(-x))"
softplus._numpy_equivalent = "np.logaddexp(0.0, x)"
relu._numpy_equivalent = "np.maximum(0.0, x)"
tanh._numpy_equivalent = "np.tanh(x)"
