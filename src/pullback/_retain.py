"""What a tape record keeps of an operation: only what its derivative rules will read.

A record holding every argument and result keeps every intermediate array of the forward pass
alive until the gradient is taken; for a loop that is many arrays no longer in the cache, and
the forward pass slows to twice its plain NumPy time.  The backward pass of most operations
needs far less: ``tanh`` reads its result only, ``sin`` its argument only, ``a + b`` only the
shapes of ``a`` and ``b``.  From each primitive's rules this module derives, once, which
arguments and whether the result a record must keep:

* an argument or result that no rule of the primitive reads (by its bytecode, see
  :mod:`pullback._reads`) is kept as ``None``;
* an argument declared shape-only (``reads_only_shapes``) is kept as a :class:`Shape` stand-in
  when it is a large array -- a stand-in refuses any read of values, so a wrong declaration
  fails loudly instead of giving a wrong gradient;
* everything else is kept as it is.
"""

import inspect

import numpy as np

from ._reads import parameters_read

__all__ = ["Shape", "retained", "shrink_for", "keep_all", "STAND_IN_SIZE"]

STAND_IN_SIZE = 256   # below this many elements an array costs less than its stand-in
_ndarray = np.ndarray


class Shape:
    """The shape, dtype and ndim of an array whose values a rule will not read.

    Example:
        >>> import numpy as np
        >>> s = Shape(np.zeros((3, 2)))
        >>> s.shape, np.ndim(s), np.shape(s)
        ((3, 2), 2, (3, 2))
    """

    __slots__ = ("shape", "dtype", "ndim", "size")
    __array_ufunc__ = None   # arithmetic with a stand-in raises TypeError

    def __init__(self, array):
        self.shape = array.shape
        self.dtype = array.dtype
        self.ndim = array.ndim
        self.size = array.size

    def __array__(self, dtype=None, copy=None):
        raise TypeError(
            "pullback internal error: a derivative rule read the values of an argument that its "
            "primitive declares shape-only (reads_only_shapes); please report this")

    def __repr__(self):
        return f"<pullback stand-in: shape={self.shape}, dtype={self.dtype}>"


def keep_all(vals, ans):
    """The shrink of a primitive whose rules read everything: the record keeps it all."""
    return vals, ans


def retained(prim, vals, ans):
    """What a record of ``prim`` keeps of its arguments ``vals`` and result ``ans``.

    Example:
        >>> import numpy as np
        >>> from pullback._registry import lookup
        >>> x = np.linspace(0.0, 1.0, 300)
        >>> vals, ans = retained(lookup(np.sin), (x,), np.sin(x))
        >>> vals[0] is x, ans
        (True, None)
    """
    return (prim.tape_keep or shrink_for(prim))(vals, ans)


def shrink_for(prim):
    """The function ``shrink(vals, ans) -> (vals, ans)`` that keeps what ``prim``'s rules read
    (cached on the primitive)."""
    shrink = prim.tape_keep
    if shrink is None:
        shrink = prim.tape_keep = _make_shrink(prim)
    return shrink


def _make_shrink(prim):
    policy = _policy(prim)
    if policy is None:
        return keep_all
    drop_ans, kinds = policy
    drops = tuple(pos for pos, kind in enumerate(kinds) if kind == "drop")
    shapes = tuple(pos for pos, kind in enumerate(kinds) if kind == "shape")
    if not drops and not shapes:
        if not drop_ans:
            return keep_all
        return _drop_answer

    def shrink(vals, ans):
        kept = None
        count = len(vals)
        for pos in shapes:
            if pos < count:
                value = vals[pos]
                if type(value) is _ndarray and value.size >= STAND_IN_SIZE:
                    if kept is None:
                        kept = list(vals)
                    kept[pos] = Shape(value)
        for pos in drops:
            if pos < count and vals[pos] is not None:
                if kept is None:
                    kept = list(vals)
                kept[pos] = None
        return (vals if kept is None else tuple(kept)), (None if drop_ans else ans)

    return shrink


def _drop_answer(vals, ans):
    return vals, None


def _policy(prim):
    """(drop the result?, per argument None / "shape" / "drop"), or None to keep everything."""
    if prim.vjp_argnum is not None:
        return None
    partials = prim.partials or ()
    # an elementwise primitive's VJPs are made from its partials (defelementwise): read those
    rules = [r for r in (partials or prim.vjps) if r is not None]
    if not rules:
        return None
    width = len(prim.vjps)
    reads = []   # per rule: (names of its positional parameters, names it reads)
    for rule in rules:
        read = parameters_read(rule)
        code = getattr(rule, "__code__", None)
        if read is None or code is None or code.co_argcount == 0:
            return None
        if code.co_flags & inspect.CO_VARARGS:
            return None
        params = code.co_varnames[:code.co_argcount]
        reads.append((params, read))
        width = max(width, len(params) - 1)
    drop_ans = all(params[0] not in read for params, read in reads)
    kinds = []
    for pos in range(width):
        unread = all(pos + 1 < len(params) and params[pos + 1] not in read
                     for params, read in reads)
        elementwise = pos < len(partials) and partials[pos] is not None
        if unread and not elementwise:
            kinds.append("drop")
        elif pos in prim.shape_only or (unread and elementwise):
            # the tape's elementwise VJP reads the argument's shape to unbroadcast
            kinds.append("shape")
        else:
            kinds.append(None)
    return drop_ans, kinds
