"""Derivative rules for NumPy, grouped by family; importing this package registers them all."""

from . import core, elementwise, reductions, linalg, shape, indexing, stats, signal  # noqa: F401
