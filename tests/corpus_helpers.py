"""User code that the corpus (tests/corpus.py) imports from another module.

Written the way a user's own utility module looks: plain NumPy helpers that corpus functions call
(so the source engine must resolve and transform a function from a second file), and a plain
class whose instances are passed in as non-differentiated arguments.
"""

import numpy as np


class Model:
    """A plain object carrying constants, e.g. ``model.scale * x`` inside a loss."""

    def __init__(self, scale, bias):
        self.scale = scale
        self.bias = bias

    def __repr__(self):
        return f"Model(scale={self.scale!r}, bias={self.bias!r})"


def smooth_abs(x, eps=1e-2):
    """A differentiable stand-in for abs: sqrt(x**2 + eps)."""
    return np.sqrt(x * x + eps)


def rbf(x, y, gamma=0.5):
    """Gaussian kernel between two vectors."""
    d = x - y
    return np.exp(-gamma * np.dot(d, d))


def fill_with_plain_numpy(x):
    """Writes differentiated values into an array made here, in another module than the
    function pb.grad runs: the tape must rebind this module's NumPy too."""
    return _fill_here(x)


def _fill_here(x):
    buf = np.zeros(len(x))
    for i in range(len(x)):
        buf[i] = x[i] * 2.0
    return np.sum(buf)


def fill_recursively(x, n):
    """A recursive helper that allocates at each level: out[0] = x[0] * n, then the rest."""
    if n == 0:
        return np.zeros(0)
    out = np.empty(n)
    out[0] = x[0] * n
    out[1:] = fill_recursively(x[1:], n - 1)
    return out


_PREALLOCATED = np.zeros(3)


def fill_preallocated(x):
    """Writes into an array made when the module was imported, before any tape ran: a plain
    NumPy array, whose writes no tape can see."""
    _PREALLOCATED[:] = x
    return np.sum(_PREALLOCATED ** 2)
