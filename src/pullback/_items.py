"""Runtime support for lists the generated code follows (``hs = []``, ``hs.append(h)``).

The cotangent of such a list is an ``Items``: the cotangents of its elements by position from
the front (an element nothing read has none, which counts as zero).  The backward pass undoes
each ``hs.append(h)`` with ``pop_item(bhs, hs)``: it takes the appended element back off the
list, so the list holds, at every point of the backward pass, what it held at the same point
going forward, and returns the element's cotangent.  A rule that reads the list (the split
points of ``np.concatenate``) therefore reads it as it was when the operation ran.

Example:
    >>> import numpy as np
    >>> hs = [np.ones(2), 2 * np.ones(2)]
    >>> bhs = as_items([np.ones(2), np.zeros(2)]) + item_cotangent(hs, -1, 3.0)
    >>> pop_item(bhs, hs), len(hs)
    (array([3., 3.]), 1)
    >>> pop_item(bhs, hs), len(hs)
    (array([1., 1.]), 0)
"""

from ._registry import unbroadcast

__all__ = ["Items", "as_items", "item_cotangent", "pop_item", "list_item", "sum_cotangent"]


class Items:
    """The cotangent of a list: ``{position: cotangent}``; adding two adds position-wise, and
    the number 0 (an adjoint that nothing has added into yet) adds nothing."""

    __slots__ = ("parts",)

    def __init__(self, parts):
        self.parts = parts

    def __add__(self, other):
        if isinstance(other, (int, float)) and other == 0:
            return Items(dict(self.parts))
        if not isinstance(other, Items):
            return NotImplemented
        parts = dict(self.parts)
        for k, g in other.parts.items():
            parts[k] = parts[k] + g if k in parts else g
        return Items(parts)

    __radd__ = __add__

    def __repr__(self):
        return f"Items({self.parts!r})"


def as_items(cotangent):
    """An ``Items`` from what a rule gives a list argument: one cotangent per element (a list
    or tuple, as ``np.stack``'s and ``np.concatenate``'s rules give), an array whose first axis
    runs over the elements (a function that converted the list with ``np.asarray``), or
    already an ``Items`` (or the number 0: nothing)."""
    if isinstance(cotangent, Items):
        return cotangent
    if isinstance(cotangent, (int, float)) and cotangent == 0:
        return Items({})
    return Items(dict(enumerate(cotangent)))


def item_cotangent(items, index, g):
    """The cotangent of ``items`` when only ``items[index]`` was read, with cotangent ``g``
    (``index`` counted from the end when negative, as Python does, on the list as it is now)."""
    position = range(len(items))[index]
    return Items({position: g})


def pop_item(cotangent, items):
    """Undo ``items.append(v)``: take ``v`` back off ``items`` and return its cotangent (0.0
    when nothing read it), removing it from ``cotangent`` (an ``Items``, or the number 0)."""
    items.pop()
    if isinstance(cotangent, Items):
        return cotangent.parts.pop(len(items), 0.0)
    return 0.0


def list_item(items, index):
    """``items[index]``: the function an element read of a followed list stands for."""
    return items[index]


def sum_cotangent(items, g):
    """The cotangent of ``items`` from that of ``sum(items)``: each element gets ``g``, summed
    down to its own shape (Python's ``+`` broadcasts)."""
    return Items({k: unbroadcast(g, v) for k, v in enumerate(items)})
