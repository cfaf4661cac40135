"""Run a function on the tape with NumPy allocations that can be written into.

A buffer made by ``np.zeros`` and filled with ``buf[i] = value`` is the classic hole of a tape
that only sees NumPy's protocols: the plain array converts ``value`` and its gradient is lost.
``pb.grad(mode="tape")`` runs the function with its NumPy names bound to a module whose
allocating functions return a :class:`Buffer` instead: a Tensor whose writes are recorded as
``assign_index`` operations.
"""

import inspect
import types

import numpy as np

from ._registry import lookup, rule_for
from ._rules.core import identity
from ._rules.indexing import assign_index
from ._state import stack
from ._tensor import Tensor, _holds_tensor, _index_value, _is_tracked, call, convert_to_tensor

__all__ = ["Buffer", "copied", "recording"]


class Buffer(Tensor):
    """A Tensor that accepts ``buf[index] = value``; each write is one recorded operation that
    replaces the buffer's value (other names for the same buffer see it, as with NumPy)."""

    __slots__ = ()

    def __setitem__(self, index, value):
        prim = lookup(assign_index)
        index = _index_value(index)
        new = call(prim, prim.fun, (_snapshot(self), index, value), {})
        old = self._value
        self._value = new._value if isinstance(new, Tensor) else np.asarray(new)
        self._id = new._id if isinstance(new, Tensor) else self._id
        if stack.views is not None:
            stack.views.written(self, old, self._value, index)

    def __getitem__(self, index):
        result = Tensor.__getitem__(self, index)
        if stack.views is not None:  # u += v then writes into this buffer
            stack.views.note_source(result, self, _index_value(index))
        return result

    def copy(self):
        return copied(_snapshot(self))

    def fill(self, value):
        """``buf.fill(v)``: the write ``buf[...] = v``, recorded as any other."""
        self[...] = value


def copied(tensor):
    """A writable Buffer with a copy of ``tensor``'s value; the gradient flows through it.
    (The copy is real: views of ``tensor`` must not see writes into it.)"""
    b = _buffer_of(identity(tensor))
    b._value = b._value.copy()
    return b


def _snapshot(buffer):
    t = Tensor.__new__(Tensor)
    t._value, t._id = buffer._value, buffer._id
    return t


def _buffer_of(value):
    b = Buffer.__new__(Buffer)
    if isinstance(value, Tensor):
        b._value, b._id = value._value, value._id
    else:
        b._value, b._id = np.array(value), _fresh_id()
    return b


def _fresh_id():
    from ._state import new_id
    return new_id()


def _plain(x):
    return x._value if isinstance(x, Tensor) else x


def _allocator(fun):
    def allocate(*args, **kwargs):
        prim = lookup(fun)
        if any(isinstance(v, Tensor) and _is_tracked(v._id) for v in kwargs.values()):
            # np.full(3, fill_value=x): by position, where the rule reads it (and where a
            # keyword would be converted to an array before any rule, its gradient lost)
            bound = inspect.signature(fun).bind(*args, **kwargs)
            args, kwargs = bound.args, bound.kwargs
        if (prim is None or prim.differentiable) and any(
                isinstance(a, Tensor) and _is_tracked(a._id) for a in args):
            # np.full(shape, x), np.linspace(0.0, x): a value with a gradient, recorded by the
            # function's rule (or refused, naming it), then a writable copy.  np.zeros_like(x)
            # is declared to carry none: its values do not depend on x's.
            if prim is None:
                rule_for(fun)   # raises, naming the function
            return copied(call(prim, fun, args, kwargs))
        args = [_plain(a) for a in args]
        kwargs = {k: _plain(v) for k, v in kwargs.items()}
        return _buffer_of(fun(*args, **kwargs))
    allocate.__name__ = fun.__name__
    return allocate


def _copier(fun):
    def copy_(a, *args, **kwargs):
        if isinstance(a, Tensor):
            if fun is np.array:   # np.array(x, dtype=..., copy=..., ndmin=...)
                return _array(a, *args, **kwargs)
            return copied(a)  # a copy keeps the gradient flowing
        if type(a) in (list, tuple) and _holds_tensor(a) and _dtype_only(args, kwargs):
            # np.array([a * b, c]): stacked, recorded
            return _converted(copied(convert_to_tensor(a)), _dtype_only(args, kwargs)[0], False)
        return _buffer_of(fun(a, *args, **kwargs))
    copy_.__name__ = fun.__name__
    return copy_


_ALLOCATING = {name: _allocator(getattr(np, name)) for name in (
    "zeros", "ones", "empty", "full", "zeros_like", "ones_like", "empty_like", "full_like",
    "eye", "identity", "arange", "linspace")}
_ALLOCATING.update({name: _copier(getattr(np, name)) for name in ("copy", "array")})


def _dtype_only(args, kwargs):
    """``(dtype,)`` when a call passes at most a dtype after its first argument, else ()."""
    if not kwargs and len(args) <= 1:
        return (args[0] if args else None,)
    if not args and set(kwargs) == {"dtype"}:
        return (kwargs["dtype"],)
    return ()


def _converted(tensor, dtype, copy):
    """A tracked Tensor converted as ``np.asarray(tensor, dtype)`` converts an array: the Tensor
    itself for its own dtype (NumPy returns the array itself: a write through either name
    shows in both), else a cast (a new array; no gradient for an integer or bool dtype, as
    ``int(v)``); a copy when ``copy`` says so."""
    if dtype is not None and np.dtype(dtype) != tensor.dtype:
        from ._tensor import _refuse_complex
        if np.dtype(dtype).kind == "c":
            _refuse_complex(f"np.asarray(..., dtype={np.dtype(dtype)})")
        return _buffer_of(tensor.astype(dtype))
    return copied(tensor) if copy else tensor


def _as_array(fun):
    """``np.asarray`` and its kin under pb.grad's tape: a differentiated Tensor stays a Tensor
    (the function keeps working on Tensors); anything else as NumPy converts it."""
    def as_array(a, dtype=None, *args, **kwargs):
        if isinstance(a, Tensor) and _is_tracked(a._id):
            if fun in (np.ascontiguousarray, np.asfortranarray) and a.ndim == 0:
                return _converted(np.reshape(a, (1,)), dtype, False)   # as NumPy: 1-d
            contiguous = a._value.flags.f_contiguous if fun is np.asfortranarray else \
                a._value.flags.c_contiguous if fun is np.ascontiguousarray else True
            return _converted(a, dtype, kwargs.get("copy") or not contiguous)
        if type(a) in (list, tuple) and not args and not kwargs and _holds_tensor(a):
            # np.asarray([a * b, c]): stacked, recorded
            return _converted(copied(convert_to_tensor(a)), dtype, False)
        return fun(a, dtype, *args, **kwargs)
    as_array.__name__ = fun.__name__
    return as_array


def _array(a, dtype=None, *, copy=True, ndmin=0, **kwargs):
    """``np.array(t, ...)`` of a Tensor: a writable copy (or ``t`` itself with copy=False or
    None, as np.asarray), in ``dtype``, with at least ``ndmin`` axes."""
    if ndmin > a.ndim:
        a = np.reshape(a, (1,) * (ndmin - a.ndim) + a.shape)
    if not _is_tracked(a._id) and dtype is not None:
        return _buffer_of(np.array(a._value, dtype=dtype))
    return _converted(a, dtype, copy is True)


for _name in ("asarray", "asanyarray", "ascontiguousarray", "asfortranarray"):
    _ALLOCATING[_name] = _as_array(getattr(np, _name))
_BY_FUNCTION = {getattr(np, name): wrapped for name, wrapped in _ALLOCATING.items()}


class _RecordingNumpy(types.ModuleType):
    """numpy, except that its allocating functions return Buffers."""

    def __getattr__(self, name):
        return _ALLOCATING.get(name) or getattr(np, name)


_MODULE = _RecordingNumpy("numpy")


def recording(fn):
    """``fn`` with the NumPy names of its globals bound to the recording module (a new function
    object; ``fn`` itself is untouched).  The user's functions it can reach by name -- the
    module-level helpers it calls, the helpers those call, and functions in its closure -- are
    rebound the same way, so a helper's ``np.zeros`` buffer records its writes too."""
    return _Rebinding().function(fn)


class _Rebinding:
    """One run's rebound copies: one namespace per module (so helpers of a module, recursive
    ones included, see each other's copies) and one copy per function.  Only the functions a
    rebound function names are copied, so a large module costs no more than its helpers."""

    def __init__(self):
        self.namespaces = {}
        self.functions = {}

    def function(self, fn):
        if not isinstance(fn, types.FunctionType) or lookup(fn) is not None:
            return fn   # a primitive (pb.primitive's wrapper too) runs as it is, on arrays
        done = self.functions.get(id(fn))
        if done is not None:
            return done
        namespace = self.namespace(fn.__globals__)
        closure = fn.__closure__
        if closure is not None:  # only cells holding a user's function or NumPy get new ones
            closure = tuple(types.CellType() if _holds_users_function(cell) else
                            _rebound_cell(cell) for cell in closure)
        wrapped = types.FunctionType(fn.__code__, namespace, fn.__name__, fn.__defaults__,
                                     closure)
        wrapped.__kwdefaults__ = fn.__kwdefaults__
        wrapped.__qualname__ = fn.__qualname__
        wrapped.__dict__ = fn.__dict__  # attributes set on the function stay shared
        self.functions[id(fn)] = wrapped
        if closure is not None:
            for new, old in zip(closure, fn.__closure__):
                if new is not old and _holds_users_function(old):
                    new.cell_contents = self.function(old.cell_contents)
        globals_ = fn.__globals__
        for name in _global_names(fn.__code__):
            value = globals_.get(name)
            if (isinstance(value, types.FunctionType) and namespace.get(name) is value
                    and _users_function(value)):
                namespace[name] = self.function(value)
        return wrapped

    def namespace(self, globals_):
        done = self.namespaces.get(id(globals_))
        if done is not None:
            return done
        namespace = dict(globals_)
        self.namespaces[id(globals_)] = namespace
        for name, value in globals_.items():
            if value is np:
                namespace[name] = _MODULE
            elif not isinstance(value, type) and _hashable(value) and value in _BY_FUNCTION:
                namespace[name] = _BY_FUNCTION[value]
        return namespace


def _global_names(code):
    """The names ``code`` and the functions, lambdas and comprehensions inside it look up."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def _rebound_cell(cell):
    """A new cell for one holding NumPy or one of its allocators (generated code keeps the
    names of its header in cells), else the cell itself."""
    try:
        value = cell.cell_contents
    except ValueError:
        return cell
    if value is np:
        return types.CellType(_MODULE)
    if not isinstance(value, type) and _hashable(value) and value in _BY_FUNCTION:
        return types.CellType(_BY_FUNCTION[value])
    return cell


def _holds_users_function(cell):
    try:
        value = cell.cell_contents
    except ValueError:  # an empty cell
        return False
    return (isinstance(value, types.FunctionType) and _users_function(value)
            and lookup(value) is None)


def _library_folders():
    import os
    import sysconfig
    paths = sysconfig.get_paths()
    folders = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths}
    folders.add(os.path.dirname(os.path.dirname(np.__file__)))   # NumPy's site-packages
    folders.add(os.path.dirname(os.path.abspath(__file__)))      # pullback itself
    return tuple(os.path.join(os.path.abspath(f), "") for f in folders)


_LIBRARIES = _library_folders()


def _users_function(fn):
    """Whether ``fn`` is the user's code (not Python's, NumPy's, an installed package's or
    pullback's): only those are rebound."""
    import os
    filename = fn.__code__.co_filename
    if filename.startswith("<"):   # exec'd or interactive code: the user's
        return True
    return not os.path.abspath(filename).startswith(_LIBRARIES)


def _hashable(value):
    try:
        hash(value)
    except TypeError:
        return False
    return True
