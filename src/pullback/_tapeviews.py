"""Views on the tape under ``pb.grad(mode="tape")``: a write an earlier view would show.

In NumPy, ``u = a[1:]`` shares ``a``'s memory, so a later write into ``a`` (``a[2] = v``,
``a += v``) changes ``u`` too.  The tape never writes into an array: a write gives the Tensor a
new array and records how it was made, so ``u`` would keep the old values and the gradient
would be that of another function.  While ``pb.grad`` runs a function on the tape, every Tensor
made by indexing or a NumPy function that returns a view (``x.T``, ``np.reshape``, ...) is
noted under the array whose memory it shares; a write into that array marks each noted view it
overlaps as *stale*.  Reading a stale view raises a TypeError that says why and what to write
instead; a stale view nobody reads again costs nothing, as in NumPy.

Example:
    >>> import numpy as np, pullback as pb
    >>> def f(x):
    ...     buf = np.zeros(3)
    ...     u = buf[1:]
    ...     buf[:] = x
    ...     return np.sum(u * x)
    >>> try:
    ...     pb.grad(f, mode="tape")(np.ones(3))
    ... except TypeError as err:
    ...     print(str(err)[:72])
    pb.grad(mode='tape'): this value is a view of an array (taken by indexin
"""

import weakref

import numpy as np

__all__ = ["Views", "Stale"]

_TOO_HARD = getattr(np, "exceptions", np).TooHardError  # np.TooHardError before NumPy 1.25

_MESSAGE = (
    "pb.grad(mode='tape'): this value is a view of an array (taken by indexing, .T, reshape, "
    "...), and that array was written after the view was taken. In NumPy the write shows "
    "through the view; the tape keeps the old values, so the gradient would be wrong. Take the "
    "view after the write, or take a .copy() of it before the write")


_PLAIN = (
    "pb.grad(mode='tape'): this write goes into an array that a plain NumPy array taken from it "
    "earlier (np.asarray(...)) still views; NumPy would show the write through it, which the "
    "tape cannot follow. Take np.array(...) (a copy), or take it after the write")


def _root(array):
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


class Views:
    """The views taken while one ``pb.grad(mode="tape")`` call runs (``stack.views``).  Views
    are held weakly: one the function no longer holds is forgotten, so a loop that takes a
    row per step (``h = H[t]``) costs the same at every step."""

    def __init__(self):
        self.by_root = {}    # id(array whose memory is shared) -> [weakref to a view, ...]
        self.sources = {}    # id(view) -> (weakref to view, Buffer, index): buffer[index]
        self.plain = {}      # id(array) -> [weakref to a NumPy array viewing it, ...]

    def note_plain(self, array):
        """``array`` (what ``np.asarray(t)`` returned) is a plain NumPy view of a Tensor's
        array: NumPy would show it a later write, which the tape cannot."""
        self.plain.setdefault(id(_root(array)), []).append(weakref.ref(array))

    def note(self, result):
        """Note ``result`` (a Tensor, or a list or tuple of them) if it is a view of an
        array."""
        for tensor in (result if type(result) in (list, tuple) else (result,)):
            value = getattr(tensor, "_value", None)
            if type(value) is np.ndarray and value.base is not None:
                self.by_root.setdefault(id(_root(value)), []).append(weakref.ref(tensor))

    def note_source(self, view, buffer, index):
        """``view`` was made as ``buffer[index]``: an in-place operator on it writes there."""
        if type(getattr(view, "_value", None)) is np.ndarray and view._value.base is not None:
            key = id(view)
            self.sources[key] = (weakref.ref(view, lambda _, k=key: self.sources.pop(k, None)),
                                 buffer, index)

    def source_of(self, view):
        """``(buffer, index)`` when ``view`` was made as ``buffer[index]``, else None."""
        found = self.sources.get(id(view))
        return found[1:] if found is not None and found[0]() is view else None

    def written(self, tensor, old, new, index=None):
        """``tensor``'s array ``old`` is replaced by ``new``, a copy with the part at ``index``
        (or all of it) written: the noted views that share memory with the written part are
        stale; the others now view ``new`` (NumPy would show them the next write too)."""
        if type(old) is not np.ndarray:
            return
        if any(ref() is not None for ref in self.plain.get(id(_root(old)), ())):
            raise TypeError(_PLAIN)
        noted = self.by_root.pop(id(_root(old)), None)
        if not noted:
            return
        region = old if index is None else _region(old, index)
        kept = []
        for ref in noted:
            view = ref()
            if view is None or view is tensor or type(view._value) is not np.ndarray:
                continue   # no longer held, the array itself, or already stale
            value = view._value
            moved = None if _overlap(value, region) else _rebased(value, old, new)
            if moved is None:
                view._value = Stale()
            else:
                view._value = moved
                kept.append(ref)
        if kept:
            self.by_root.setdefault(id(_root(new)), []).extend(kept)


def _rebased(value, old, new):
    """The same part of ``new`` as ``value`` is of ``old`` (equal values: it was not written),
    or None when the two arrays are not laid out alike or ``value`` lies outside ``old``."""
    if type(new) is not np.ndarray or (old.shape, old.strides, old.dtype) != (
            new.shape, new.strides, new.dtype) or not (
            new.flags.c_contiguous or new.flags.f_contiguous):
        return None
    offset = value.__array_interface__["data"][0] - old.__array_interface__["data"][0]
    try:
        return np.ndarray(value.shape, value.dtype, buffer=new, offset=offset,
                          strides=value.strides)
    except (TypeError, ValueError):
        return None


def _region(old, index):
    """The written part of ``old`` as a view, or all of ``old`` when an index copies (an
    integer or boolean array)."""
    parts = index if type(index) is tuple else (index,)
    if not any(p is Ellipsis for p in parts):
        parts = parts + (Ellipsis,)  # a[0, 1] gives a scalar; a[0, 1, ...] a 0-d view
    try:
        region = old[parts]
    except (IndexError, TypeError, ValueError):
        return old
    return region if isinstance(region, np.ndarray) and region.base is not None else old


def _overlap(a, b):
    if not np.may_share_memory(a, b):
        return False
    try:
        return np.shares_memory(a, b, max_work=10_000)
    except _TOO_HARD:
        return True


class Stale:
    """Stands for the value of a view whose array was written after it was taken: any use of
    it raises, saying why."""

    __slots__ = ()

    def _refuse(self, *args, **kwargs):
        raise TypeError(_MESSAGE)

    __array__ = __array_ufunc__ = __array_function__ = _refuse
    __bool__ = __float__ = __int__ = __index__ = __len__ = __iter__ = _refuse
    __getitem__ = __add__ = __radd__ = __mul__ = __rmul__ = _refuse

    def __getattr__(self, name):
        raise TypeError(_MESSAGE)

    def __repr__(self):
        return "<a view whose array was written after it was taken>"
