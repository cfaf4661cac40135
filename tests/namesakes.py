"""User primitives that share NumPy's names but not NumPy's behaviour (tests/test_namesakes.py)."""

import numpy as np

import pullback as pb


@pb.primitive
def sum(x):   # noqa: A001 - the point: a namesake of np.sum that keeps its axis
    return np.cumsum(x)


pb.defvjp(sum, lambda ans, x: lambda g: np.cumsum(g[::-1])[::-1])


@pb.primitive
def add(x, y):   # a namesake of np.add whose result has the shape of neither argument
    return np.add.outer(x, y)


pb.defvjp(add, lambda ans, x, y: lambda g: np.sum(g, axis=tuple(range(np.ndim(x), np.ndim(ans)))),
          lambda ans, x, y: lambda g: np.sum(g, axis=tuple(range(np.ndim(x)))))
