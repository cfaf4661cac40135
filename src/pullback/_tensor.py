"""Tensor and Variable: NumPy values the runtime tape can record, and the one recording path.

Every NumPy call that receives a Tensor -- an operator, a ufunc through ``__array_ufunc__``, a
function through ``__array_function__`` or a ``pb.primitive`` -- goes through :func:`call`: it
unwraps the arguments, runs NumPy once, and appends one plain tuple to each recording tape that
tracks an input.  Derivatives are not this module's business; the tape reads them from the
registry when asked for a gradient.
"""

import numbers

import numpy as np

from ._errors import NoGradientRuleError
from ._registry import _registry, lookup, rule_for
from ._retain import STAND_IN_SIZE, Shape, retained
from ._state import new_id, stack

__all__ = ["Tensor", "Variable", "constant", "convert_to_tensor", "call", "call_primitive",
           "is_tensor"]


_rule_of = _registry.get


def _wrap(value):
    """A new Tensor around a NumPy result (never copied: results are owned by the tape layer)."""
    t = Tensor.__new__(Tensor)
    t._value = value
    t._id = new_id()
    return t


def _wrap_id(value, tid):
    """A Tensor with a given id: re-creates a recorded value for a differentiable backward pass."""
    t = Tensor.__new__(Tensor)
    t._value = value
    t._id = tid
    return t


def _wrap_output(out):
    if type(out) is np.ndarray or isinstance(out, np.generic):
        return _wrap(out)
    if isinstance(out, (tuple, list)) and any(isinstance(o, (np.ndarray, np.generic)) for o in out):
        wrapped = [_wrap(o) if isinstance(o, (np.ndarray, np.generic)) else o for o in out]
        return type(out)(*wrapped) if hasattr(out, "_fields") else type(out)(wrapped)
    return out


# --- the recording path ---------------------------------------------------------------------

def _unwrap_args(args):
    """Plain values; (position, sub-index, id) of each Tensor input; the Variables read; and
    whether a plain writable ndarray is among the arguments."""
    vals = list(args)
    inputs = []
    variables = None
    plain_arrays = False
    for pos, a in enumerate(args):
        cls = type(a)
        if cls is Tensor:
            vals[pos] = a._value
            inputs.append((pos, None, a._id))
        elif cls is Variable:
            vals[pos] = a._value
            inputs.append((pos, None, a._id))
            variables = (variables or []) + [a]
        elif cls is np.ndarray:
            plain_arrays = True
        elif cls is list or cls is tuple or isinstance(a, tuple):   # a namedtuple too
            if cls is not list and cls is not tuple:
                cls = tuple   # np.stack(np.linalg.slogdet(x)): its items, as a plain tuple
            if any(type(e) in (list, tuple) and _holds_tensor(e) for e in a):
                vals[pos] = _nested_values(a)   # np.block([[a, b]]): two lists deep
                continue
            if any(isinstance(e, Tensor) for e in a):
                seq = list(a)
                for sub, e in enumerate(a):
                    if isinstance(e, Tensor):
                        seq[sub] = e._value
                        inputs.append((pos, sub, e._id))
                        if type(e) is Variable:
                            variables = (variables or []) + [e]
                vals[pos] = cls(seq)
            plain_arrays = plain_arrays or any(type(e) is np.ndarray for e in a)
        elif isinstance(a, Tensor):  # a user subclass
            vals[pos] = a._value
            inputs.append((pos, None, a._id))
    return vals, inputs, variables, plain_arrays


def _holds_tensor(seq):
    """Whether a (nested) list or tuple holds a Tensor."""
    return any(isinstance(e, Tensor) or type(e) in (list, tuple) and _holds_tensor(e)
               for e in seq)


def _one_element(value, kind):
    """The one element of ``value`` as a 0-d array, for float()/int()/complex() of a Tensor
    (NumPy 2.4 converts only 0-d arrays; a Tensor converts any one-element array, as the API
    promises)."""
    if value.size != 1:
        raise TypeError(f"only a Tensor of one element converts to {kind}; this one has shape "
                        f"{value.shape}. Index it (t[0]) or reduce it (np.sum(t)) first")
    return value.reshape(())


def _nested_values(seq):
    """Plain values of a list nested two or more deep; a differentiated value there is refused:
    the tape follows the Tensors of a list one level deep only."""
    out = []
    for e in seq:
        if isinstance(e, Tensor):
            if stack.recording and _is_tracked(e._id):
                raise TypeError(
                    "pullback: a differentiated value sits in a list nested two levels deep "
                    "(as in np.block([[a, b]])), where the tape cannot follow it; join the "
                    "pieces with np.concatenate / np.stack (one list level each) instead")
            e = e._value
        elif type(e) in (list, tuple):
            e = _nested_values(e)
        out.append(e)
    return type(seq)(out)


def _unwrap_kwargs(kwargs, fun):
    if not kwargs:
        return kwargs
    plain = {}
    for k, v in kwargs.items():
        if isinstance(v, Tensor):
            if _is_tracked(v._id):
                raise NoGradientRuleError(
                    f"{_name(fun)}: the differentiated value passed as keyword argument {k!r} "
                    f"would get no gradient; pass it positionally instead")
            v = v._value
        plain[k] = v
    return plain


def _is_tracked(tid):
    return any(tid in tape._tracked for tape in stack.recording)


def _name(fun):
    prim = lookup(fun)
    return prim.name if prim is not None else getattr(fun, "__name__", repr(fun))


def call(prim, fun, args, kwargs):
    """Run ``fun`` (registered as ``prim``, or None) on unwrapped args; record it where needed."""
    if kwargs and any(_tensor_or_list_of(v) for v in kwargs.values()):
        args, kwargs = _by_position(fun, args, kwargs)
    vals, inputs, variables, plain_arrays = _unwrap_args(args)
    if kwargs:
        kwargs = _unwrap_kwargs(kwargs, fun)
    recording = stack.recording
    if not recording:
        return _wrap_output(fun(*vals, **kwargs))
    tracked_by = None
    for tape in recording:
        if variables:
            tape._read_variables(variables)
        tracked = tape._tracked
        for inp in inputs:
            if inp[2] in tracked:
                tracked_by = [tape] if tracked_by is None else tracked_by + [tape]
                break
    if tracked_by is None:
        return _wrap_output(fun(*vals, **kwargs))
    if prim is None:
        rule_for(fun)  # raises, naming the function
    out = fun(*vals, **kwargs)
    if not prim.differentiable:
        return _wrap_output(out)
    if type(out) in (float, complex):  # a user primitive may return a Python number
        out = np.asarray(out)[()]
    result = _wrap_output(out)
    if type(result) is Tensor:
        out = result._value
        if out.dtype.kind != "f":
            if out.dtype.kind == "c":
                _refuse_complex(prim.name)
            return result
        out_id = result._id
        new_ids = (out_id,)
    else:
        out_id = tuple(r._id if isinstance(r, Tensor) else None for r in result)
        new_ids = [i for i in out_id if i is not None]
    vals, ans = retained(prim, vals, out)
    vals = list(vals)
    if type(out_id) is tuple:   # a result's zeros stand in for a missing cotangent
        ans = out
    if plain_arrays:
        _guard_plain_arrays(vals, args)
    record = (prim, tuple(vals), kwargs, tuple(inputs), out_id, ans)
    for tape in tracked_by:
        tape._records.append(record)
        tape._tracked.update(new_ids)
    return result


def _tensor_or_list_of(value):
    return isinstance(value, Tensor) or type(value) in (list, tuple) and _holds_tensor(value)


def _by_position(fun, args, kwargs):
    """``np.sort(a=x)`` as ``np.sort(x)``: a Tensor passed by keyword goes to its position,
    where the rules read it, the parameters left out before it given their defaults."""
    import inspect
    try:
        params = list(inspect.signature(fun).parameters.values())
    except (TypeError, ValueError):
        return args, kwargs
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    names = [p.name for p in positional]
    moving = [names.index(k) for k, v in kwargs.items() if k in names and _tensor_or_list_of(v)]
    if not moving:
        return args, kwargs
    args, kwargs = list(args), dict(kwargs)
    for param in positional[len(args):max(moving) + 1]:
        if param.name in kwargs:
            args.append(kwargs.pop(param.name))
        elif param.default is not param.empty:
            args.append(param.default)
        else:
            break
    return tuple(args), kwargs


def _guard_plain_arrays(vals, args):
    """Copy writable NumPy arrays passed beside Tensors: the caller still holds them, and an
    in-place edit before the backward pass would otherwise change a recorded value."""
    for pos, a in enumerate(args):
        if vals[pos] is None or type(vals[pos]) is Shape:
            continue   # not kept: the backward pass will not read it
        if type(a) is np.ndarray and a.flags.writeable:
            vals[pos] = a.copy()
        elif type(a) in (list, tuple) and any(type(e) is np.ndarray for e in a):
            vals[pos] = type(a)(e.copy() if type(e) is np.ndarray else v
                                for e, v in zip(a, vals[pos]))


def call_primitive(fun, args, kwargs):
    """Call a user primitive: plain NumPy when no Tensor is involved, else through :func:`call`."""
    if not any(isinstance(a, Tensor) or (type(a) in (list, tuple) and
                                         any(isinstance(e, Tensor) for e in a)) for a in args):
        return fun(*args, **kwargs)
    return call(lookup(fun), fun, args, kwargs)


# --- ufunc methods other than __call__ that map onto registered functions ---------------------

_UFUNC_METHODS = {
    ("add", "reduce"): np.sum, ("multiply", "reduce"): np.prod,
    ("maximum", "reduce"): np.max, ("minimum", "reduce"): np.min,
    ("add", "accumulate"): np.cumsum, ("multiply", "accumulate"): np.cumprod,
}


def _ufunc_method(ufunc, method, inputs, kwargs):
    fun = _UFUNC_METHODS.get((ufunc.__name__, method))
    if fun is None:
        raise TypeError(
            f"pullback: numpy.{ufunc.__name__}.{method} is not supported on Tensors (it would write "
            f"in place or has no derivative rule); use a plain NumPy function such as np.sum, "
            f"np.cumsum or indexing instead")
    if method == "reduce" and "axis" not in kwargs and len(inputs) < 2:
        kwargs = dict(kwargs, axis=0)  # ufunc.reduce defaults to axis 0, np.sum to None
    return call(lookup(fun), fun, inputs, kwargs)


# --- Tensor ----------------------------------------------------------------------------------

def _binary(fun):
    # Rules are looked up at call time: this class is built before the rule modules run.
    def op(self, other):
        recording = stack.recording
        if not recording:  # nothing to record: NumPy and one wrapper, nothing else
            return _wrap_output(fun(self._value, other._value if isinstance(other, Tensor)
                                    else other))
        return _record_binary(recording, fun, self, other, 0)

    def rop(self, other):
        recording = stack.recording
        if not recording:
            return _wrap_output(fun(other, self._value))
        return _record_binary(recording, fun, self, other, 1)

    return op, rop


def _record_binary(recording, fun, tensor, other, position):
    """The recording path of an operator, for the common case: Tensors or Variables and Python
    numbers; anything else goes through :func:`call`."""
    other_type = type(other)
    if other_type is Tensor or other_type is Variable:
        value, oid = other._value, other._id
    elif other_type is float or other_type is int:
        value, oid = other, 0
    else:
        args = (tensor, other) if position == 0 else (other, tensor)
        return call(_rule_of(fun), fun, args, {})
    tensor_type = type(tensor)
    if tensor_type is not Tensor and tensor_type is not Variable:
        args = (tensor, other) if position == 0 else (other, tensor)
        return call(_rule_of(fun), fun, args, {})
    if tensor_type is Variable or other_type is Variable:
        _read_variables(recording, [v for v in (tensor, other) if type(v) is Variable])
    tid = tensor._id
    if len(recording) == 1:
        tracked = recording[0]._tracked
        tracked_by = recording if tid in tracked or oid in tracked else None
    else:
        tracked_by = [tape for tape in recording if tid in tape._tracked or oid in tape._tracked]
    mine = tensor._value
    out = fun(mine, value) if position == 0 else fun(value, mine)
    if type(out) is not np.ndarray and not isinstance(out, np.generic):
        return _wrap_output(out)
    result = Tensor.__new__(Tensor)
    result._value = out
    rid = result._id = new_id()
    if not tracked_by:
        return result
    if out.dtype.kind != "f":
        if out.dtype.kind == "c":
            _refuse_complex(_name(fun))
        return result
    prim = _rule_of(fun)
    if prim is None or not prim.differentiable:
        return result
    vals = (mine, value) if position == 0 else (value, mine)
    ans = out
    if out.size >= STAND_IN_SIZE or mine.size >= STAND_IN_SIZE:   # small ones cost nothing
        vals, ans = retained(prim, vals, out)
    if position == 0:
        inputs = ((0, None, tid), (1, None, oid)) if oid else ((0, None, tid),)
    else:
        inputs = ((0, None, oid), (1, None, tid)) if oid else ((1, None, tid),)
    record = (prim, vals, _NO_KWARGS, inputs, rid, ans)
    for tape in tracked_by:
        tape._records.append(record)
        tape._tracked.add(rid)
    return result


def _record_unary(recording, fun, tensor):
    """The recording path of a function of one Tensor (``np.sin(t)``, ``-t``): the common case
    of :func:`call`, without its general argument handling."""
    prim = _rule_of(fun)
    tensor_type = type(tensor)
    if prim is None or (tensor_type is not Tensor and tensor_type is not Variable):
        return call(prim, fun, (tensor,), {})
    if tensor_type is Variable:
        _read_variables(recording, [tensor])
    tid = tensor._id
    if len(recording) == 1:
        tracked_by = recording if tid in recording[0]._tracked else None
    else:
        tracked_by = [tape for tape in recording if tid in tape._tracked]
    value = tensor._value
    out = fun(value)
    if type(out) is not np.ndarray and not isinstance(out, np.generic):
        return _wrap_output(out)
    result = Tensor.__new__(Tensor)
    result._value = out
    rid = result._id = new_id()
    if not tracked_by or not prim.differentiable:
        return result
    if out.dtype.kind != "f":
        if out.dtype.kind == "c":
            _refuse_complex(prim.name)
        return result
    vals, ans = (value,), out
    if out.size >= STAND_IN_SIZE or value.size >= STAND_IN_SIZE:
        vals, ans = retained(prim, vals, out)
    record = (prim, vals, _NO_KWARGS, ((0, None, tid),), rid, ans)
    for tape in tracked_by:
        tape._records.append(record)
        tape._tracked.add(rid)
    return result


_NO_KWARGS = {}  # shared by records without keyword arguments; never written


def _read_variables(recording, variables):
    for tape in recording:
        tape._read_variables(variables)


def _in_place(fun, symbol):
    """``u += v`` on a Tensor: a new Tensor, as in TensorFlow.  Under ``pb.grad(mode="tape")``,
    which differentiates NumPy code, an array Tensor behaves as a NumPy array does instead: the
    Tensor itself takes the new value, so every name for it sees the change (``b = a; a *= 2``
    changes ``b``); and one that is a view of another array (``u = x[1:]``) refuses, since NumPy
    would write into ``x`` through it and the tape cannot follow."""
    op = _binary(fun)[0]

    def in_place(self, other):
        if not stack.strict or self._value.ndim == 0:  # 0-d: a Python float, immutable
            return op(self, other)
        source = stack.views.source_of(self) if stack.views is not None else None
        if source is not None:  # u = buf[i]; u += v (and buf[i] += v): writes into buf
            return _write_through(self, op(self, other), *source)
        if type(self) is Tensor and self._value.base is not None:
            raise TypeError(
                f"pb.grad(mode='tape'): `{symbol}` on a Tensor that may be a view of another "
                f"array would write into that array in NumPy, which the tape cannot follow; "
                f"write u = u {symbol[:-1]} v (a new array), or into a .copy()")
        new = op(self, other)
        if not isinstance(new, Tensor) or new.shape != self.shape:
            raise ValueError(f"non-broadcastable output operand with shape {self.shape} "
                             f"doesn't match the broadcast shape {np.shape(new)}")
        if stack.views is not None:
            stack.views.written(self, self._value, new._value)
        self._value, self._id = new._value, new._id  # every name for this array sees it
        return self
    return in_place


def _write_through(view, new, buffer, index):
    """``view op= v`` on ``view = buffer[index]``: NumPy writes into the buffer.  Record the
    write into the buffer, then make ``view`` the same part of the buffer's new value."""
    if not isinstance(new, Tensor) or new.shape != view.shape:
        raise ValueError(f"non-broadcastable output operand with shape {view.shape} "
                         f"doesn't match the broadcast shape {np.shape(new)}")
    buffer[index] = new
    prim = _getitem_rule()
    fresh = call(prim, prim.fun, (buffer, index), {})
    view._value, view._id = fresh._value, fresh._id
    stack.views.note(view)
    stack.views.note_source(view, buffer, index)
    return view


def _unary(fun):
    def op(self):
        recording = stack.recording
        if not recording:
            return _wrap_output(fun(self._value))
        return _record_unary(recording, fun, self)
    return op


def _index_value(index):
    """An index with any Tensors inside replaced by their values (indices carry no gradient)."""
    if isinstance(index, Tensor):
        return index._value
    if type(index) is tuple:
        return tuple(i._value if isinstance(i, Tensor) else i for i in index)
    return index


_GETITEM = []


def _getitem_rule():
    # Looked up on first use: the indexing rules import the registry, which imports this module.
    if not _GETITEM:
        from ._rules.indexing import getitem
        _GETITEM.append(lookup(getitem))
    return _GETITEM[0]


class Tensor:
    """An immutable NumPy value that GradientTape can record operations on.

    Plain NumPy functions accept Tensors and return Tensors (``np.sin(t)``, ``t @ w``,
    ``np.sum(t, axis=0)``).  Make one with :func:`pullback.constant`.

    Example:
        >>> import numpy as np, pullback as pb
        >>> t = pb.constant([1.0, 2.0])
        >>> np.sum(t * 3.0)
        <pb.Tensor: shape=(), dtype=float64, numpy=9.0>
    """

    __slots__ = ("_value", "_id", "__weakref__")  # weakly referenced: see _tapeviews
    __array_priority__ = 1000
    __hash__ = None  # == is elementwise, as in NumPy and TensorFlow 2

    def __init__(self, value, dtype=None):
        self._value = np.array(_plain(value), dtype=_dtype(dtype))
        self._id = new_id()

    # NumPy protocols
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if "out" in kwargs:
            raise TypeError(
                f"pullback: numpy.{ufunc.__name__}(..., out=...) would write in place, which the "
                f"tape cannot record; assign the result to a new name instead")
        if method != "__call__":
            return _ufunc_method(ufunc, method, inputs, kwargs)
        if kwargs:
            raise TypeError(
                f"pullback: keyword arguments {sorted(kwargs)} to numpy.{ufunc.__name__} are not "
                f"supported on Tensors; call it without them (use np.where for a mask)")
        if len(inputs) == 1:
            recording = stack.recording
            if not recording:
                return _wrap_output(ufunc(inputs[0]._value))
            return _record_unary(recording, ufunc, inputs[0])
        return call(_rule_of(ufunc), ufunc, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        if kwargs.get("out") is not None:
            raise TypeError(
                f"pullback: {_name(func)}(..., out=...) would write in place, which the tape "
                f"cannot record; assign the result to a new name instead")
        result = call(_rule_of(func), func, args, kwargs)
        if stack.views is not None:
            stack.views.note(result)
        return result

    def __array__(self, dtype=None, copy=None):
        if stack.strict and _is_tracked(self._id):
            _lost_gradient("converted to a NumPy array (for example written into an array made "
                           "by np.zeros, or passed to np.asarray)")
        value = np.asarray(self._value, dtype=dtype)
        if copy:
            return value.copy()
        if value is self._value or value.base is self._value:
            value = value.view()
            value.flags.writeable = False  # the tape may still need this value
            if stack.views is not None:
                stack.views.note_plain(value)
        return value

    # basic attributes
    @property
    def shape(self):
        return self._value.shape

    @property
    def dtype(self):
        return self._value.dtype

    @property
    def ndim(self):
        return self._value.ndim

    @property
    def size(self):
        return self._value.size

    @property
    def T(self):
        return np.transpose(self)

    def numpy(self):
        """The value as NumPy: a NumPy scalar for 0-d, else a read-only array.

        Example:
            >>> import pullback as pb
            >>> pb.constant([1.0, 2.0]).numpy().tolist(), float(pb.constant(2.5).numpy())
            ([1.0, 2.0], 2.5)
        """
        if stack.strict and _is_tracked(self._id):
            _lost_gradient("converted to NumPy with .numpy()")
        value = self._value
        if np.ndim(value) == 0:
            return value[()]
        view = value.view()
        view.flags.writeable = False
        return view

    # Python conversions
    def __bool__(self):
        return bool(self._value)

    def __float__(self):
        if stack.strict and _is_tracked(self._id):
            _lost_gradient("converted to a Python float")
        return float(_one_element(self._value, "float"))

    def __int__(self):
        return int(_one_element(self._value, "int"))

    def __index__(self):
        if self._value.dtype.kind not in "iu":
            raise TypeError(f"only integer Tensors can be used as an index, not {self.dtype}")
        return int(self._value)

    def __complex__(self):
        if stack.strict and _is_tracked(self._id):
            _lost_gradient("converted to a Python complex")
        return complex(_one_element(self._value, "complex"))

    def __format__(self, spec):
        if np.size(self._value) == 1 and np.ndim(self._value) == 0:
            return format(self._value.item(), spec)
        if spec:
            raise TypeError(f"format spec {spec!r} applies to scalar Tensors; this one has shape "
                            f"{self.shape}")
        return str(self)

    def __len__(self):
        if np.ndim(self._value) == 0:
            raise TypeError("len() of a 0-d Tensor (a scalar)")
        return len(self._value)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __repr__(self):
        value = self._value
        shown = repr(value.item()) if np.ndim(value) == 0 else repr(np.asarray(value))
        return f"<pb.Tensor: shape={self.shape}, dtype={self.dtype}, numpy={shown}>"

    def __str__(self):
        return f"pb.Tensor({np.asarray(self._value)}, shape={self.shape}, dtype={self.dtype})"

    def __getitem__(self, index):
        prim = _getitem_rule()
        result = call(prim, prim.fun, (self, _index_value(index)), {})
        if stack.views is not None:
            stack.views.note(result)
        return result

    def __setitem__(self, index, value):
        if stack.views is not None:  # pb.grad runs the user's NumPy code on the tape
            raise TypeError(
                "pb.grad on the tape: this writes into an array the function computed, which "
                "the tape holds as an immutable pb.Tensor. The tape follows writes only into "
                "arrays the function makes itself with np.zeros, np.empty_like, np.copy, "
                ".copy() and the like: copy the array before writing into it "
                "(m = m.copy(); m[...] = ...), or use mode='source'")
        raise TypeError(
            "pb.Tensor is immutable: item assignment is not supported. Build the new value with "
            "np.where / np.concatenate, or keep the state in a pb.Variable and use .assign()")

    # arithmetic
    __add__, __radd__ = _binary(np.add)
    __sub__, __rsub__ = _binary(np.subtract)
    __mul__, __rmul__ = _binary(np.multiply)
    __truediv__, __rtruediv__ = _binary(np.divide)
    __pow__, __rpow__ = _binary(np.power)
    __matmul__, __rmatmul__ = _binary(np.matmul)
    __mod__, __rmod__ = _binary(np.remainder)
    __floordiv__, __rfloordiv__ = _binary(np.floor_divide)
    __and__, __rand__ = _binary(np.bitwise_and)
    __or__, __ror__ = _binary(np.bitwise_or)
    __xor__, __rxor__ = _binary(np.bitwise_xor)
    __invert__ = _unary(np.invert)
    __neg__ = _unary(np.negative)
    __pos__ = _unary(np.positive)
    __abs__ = _unary(np.absolute)
    # u += v makes a new Tensor and rebinds u, as in TensorFlow
    __iadd__ = _in_place(np.add, "+=")
    __isub__ = _in_place(np.subtract, "-=")
    __imul__ = _in_place(np.multiply, "*=")
    __itruediv__ = _in_place(np.divide, "/=")
    __ipow__ = _in_place(np.power, "**=")
    __imatmul__ = _in_place(np.matmul, "@=")
    __lt__ = _binary(np.less)[0]
    __le__ = _binary(np.less_equal)[0]
    __gt__ = _binary(np.greater)[0]
    __ge__ = _binary(np.greater_equal)[0]
    __eq__ = _binary(np.equal)[0]
    __ne__ = _binary(np.not_equal)[0]

    # array methods, as on ndarray
    def sum(self, axis=None, dtype=None, keepdims=False):
        return np.sum(self, axis=axis, dtype=dtype, keepdims=keepdims)

    def mean(self, axis=None, dtype=None, keepdims=False):
        return np.mean(self, axis=axis, dtype=dtype, keepdims=keepdims)

    def prod(self, axis=None, dtype=None, keepdims=False):
        return np.prod(self, axis=axis, dtype=dtype, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return np.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        return np.min(self, axis=axis, keepdims=keepdims)

    def var(self, axis=None, ddof=0, keepdims=False):
        return np.var(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def std(self, axis=None, ddof=0, keepdims=False):
        return np.std(self, axis=axis, ddof=ddof, keepdims=keepdims)

    def cumsum(self, axis=None):
        return np.cumsum(self, axis=axis)

    def cumprod(self, axis=None):
        return np.cumprod(self, axis=axis)

    def argmax(self, axis=None):
        return np.argmax(self, axis=axis)

    def argmin(self, axis=None):
        return np.argmin(self, axis=axis)

    def reshape(self, *shape, order="C"):
        if len(shape) == 1 and not isinstance(shape[0], numbers.Integral):
            shape = shape[0]
        return np.reshape(self, shape, order=order)

    def ravel(self):
        return np.ravel(self)

    def flatten(self):
        """A flattened copy, as ndarray.flatten (np.ravel may return a view)."""
        return np.ravel(self).copy()

    def transpose(self, *axes):
        if len(axes) == 1 and not isinstance(axes[0], numbers.Integral):
            axes = axes[0]
        return np.transpose(self, axes or None)

    def swapaxes(self, axis1, axis2):
        return np.swapaxes(self, axis1, axis2)

    def squeeze(self, axis=None):
        return np.squeeze(self, axis=axis)

    def dot(self, other):
        return np.dot(self, other)

    @property
    def real(self):
        return np.real(self)

    @property
    def imag(self):
        return np.imag(self)

    def conj(self):
        return np.conjugate(self)

    conjugate = conj

    def round(self, decimals=0):
        return np.round(self, decimals)

    def __round__(self, ndigits=None):
        if ndigits is None:  # an int, as round() of a float: its gradient is zero anyway
            return int(np.round(self._value))
        return np.round(self, ndigits)

    def __divmod__(self, other):
        return np.floor_divide(self, other), np.remainder(self, other)

    def __rdivmod__(self, other):
        return np.floor_divide(other, self), np.remainder(other, self)

    def repeat(self, repeats, axis=None):
        return np.repeat(self, repeats, axis=axis)

    def take(self, indices, axis=None):
        return np.take(self, indices, axis=axis)

    def trace(self, offset=0, axis1=0, axis2=1):
        return np.trace(self, offset, axis1, axis2)

    def diagonal(self, offset=0, axis1=0, axis2=1):
        return np.diagonal(self, offset, axis1, axis2)

    def all(self, axis=None, keepdims=False):
        return np.all(self, axis=axis, keepdims=keepdims)

    def any(self, axis=None, keepdims=False):
        return np.any(self, axis=axis, keepdims=keepdims)

    def argsort(self, axis=-1, kind=None, order=None):
        return np.argsort(self, axis=axis, kind=kind, order=order)

    def nonzero(self):
        return np.nonzero(self)

    def searchsorted(self, v, side="left", sorter=None):
        return np.searchsorted(self, v, side=side, sorter=sorter)

    @property
    def mT(self):
        return np.swapaxes(self, -1, -2)

    @property
    def nbytes(self):
        return self._value.nbytes

    @property
    def itemsize(self):
        return self._value.itemsize

    def sort(self, axis=-1, kind=None, order=None):
        raise TypeError(
            "pb.Tensor is immutable: t.sort() would sort it in place, and sorting has no "
            "gradient rule in pullback yet; sort the indices instead (i = np.argsort(t), then "
            "t[i]), which the tape follows")

    def clip(self, min=None, max=None):
        return np.clip(self, min, max)

    def copy(self):
        """A writable copy (the gradient flows through it)."""
        from ._tapenumpy import copied
        return copied(self)

    def view(self, dtype=None, type=None):  # noqa: A002 (ndarray.view's names)
        """A view of the same values, as ``ndarray.view()``: the tape follows it as it follows
        ``x[...]`` (under ``pb.grad``, a write into the array afterwards is seen through it,
        or refused).  Reinterpreting the bytes as another dtype has no gradient: refused for a
        differentiated value."""
        if type is not None or dtype is not None and np.dtype(_dtype(dtype)) != self.dtype:
            if _is_tracked(self._id):
                raise TypeError(
                    "pullback: x.view(dtype) reinterprets the bytes of a differentiated value, "
                    "which has no derivative; use x.astype(dtype) to convert its values")
            return _wrap(self._value.view(*(a for a in (dtype, type) if a is not None)))
        return self[...]

    def astype(self, dtype, order="K", casting="unsafe", subok=True, copy=True):
        """``x.astype(dtype)``: a recorded cast (to an integer or bool dtype: a constant, as
        ``int(v)``; under ``pb.grad`` a writable copy, as NumPy's)."""
        from ._rules.core import cast
        dtype = np.dtype(_dtype(dtype))
        if not copy and dtype == self.dtype:
            return self
        if dtype.kind == "c" and _is_tracked(self._id):
            _refuse_complex(f".astype({dtype})")
        result = cast(self, dtype, order=order, casting=casting)
        if stack.views is not None:
            from ._tapenumpy import _buffer_of
            return _buffer_of(result)
        return result

    def item(self, *index):
        if stack.strict and _is_tracked(self._id):
            _lost_gradient("converted to a Python number with .item()")
        return self._value.item(*index)

    def tolist(self):
        if stack.strict and _is_tracked(self._id):
            _lost_gradient("converted to Python numbers with .tolist()")
        return np.asarray(self._value).tolist()


def is_tensor(x):
    """True for pb.Tensor and pb.Variable.

    Example:
        >>> import numpy as np, pullback as pb
        >>> pb.is_tensor(pb.constant(1.0)), pb.is_tensor(pb.Variable(1.0)), pb.is_tensor(np.ones(2))
        (True, True, False)
    """
    return isinstance(x, Tensor)


# --- Variable --------------------------------------------------------------------------------

class Variable(Tensor):
    """A mutable Tensor: a model parameter.  Trainable Variables read inside a GradientTape are
    watched automatically.

    ``assign`` replaces the value with a new array, so values already recorded on a tape keep
    the value they had when they were read.

    Example:
        >>> import pullback as pb
        >>> w = pb.Variable(5.0)
        >>> with pb.GradientTape() as tape:
        ...     z = 3 * w ** 2
        >>> float(tape.gradient(z, w))
        30.0
        >>> float(w.assign_sub(1.0).numpy())
        4.0
    """

    __slots__ = ("_trainable", "_name")

    def __init__(self, value, trainable=True, name=None, dtype=None):
        value = np.array(_plain(value), dtype=_dtype(dtype))
        self._value = value
        self._id = new_id()
        self._trainable = bool(trainable)
        self._name = f"{name or 'Variable'}:0"

    @property
    def name(self):
        """The Variable's name, as TensorFlow shows it: ``pb.Variable(0.0, name="w").name`` is
        ``"w:0"``."""
        return self._name

    @property
    def trainable(self):
        """Whether a GradientTape watches this Variable by itself when it is read."""
        return self._trainable

    def assign(self, value):
        """Replace the value (same shape; cast to this Variable's dtype). Returns the Variable.

        Example (a gradient-descent step, as in TensorFlow):
            >>> import pullback as pb
            >>> w = pb.Variable(3.0)
            >>> with pb.GradientTape() as tape:
            ...     loss = w * w
            >>> w.assign(w - 0.1 * tape.gradient(loss, w)).numpy()
            np.float64(2.4)
        """
        plain = np.asarray(_plain(value))
        if not np.can_cast(plain.dtype, self._value.dtype, casting="same_kind"):
            raise TypeError(
                f"cannot assign a value of dtype {plain.dtype} to Variable {self._name!r} of "
                f"dtype {self._value.dtype} (it would be truncated); make the Variable with "
                f"a float dtype, or convert the value first")
        new = np.array(plain, dtype=self._value.dtype)
        if new.shape != self._value.shape:
            raise ValueError(
                f"cannot assign a value of shape {new.shape} to Variable {self._name!r} of shape "
                f"{self._value.shape}; reshape the value first (a Variable's shape is fixed)")
        self._value = new
        return self

    def assign_add(self, delta):
        """Add ``delta`` to the value. Returns the Variable.

        Example:
            >>> import pullback as pb
            >>> float(pb.Variable(1.0).assign_add(0.5))
            1.5
        """
        return self.assign(self._value + _plain(delta))

    def assign_sub(self, delta):
        """Subtract ``delta`` from the value. Returns the Variable.

        Example:
            >>> import pullback as pb
            >>> w = pb.Variable([1.0, 2.0])
            >>> with pb.GradientTape() as tape:
            ...     loss = pb.reduce_sum(w * w)
            >>> w.assign_sub(0.25 * tape.gradient(loss, w)).numpy().tolist()
            [0.5, 1.0]
        """
        return self.assign(self._value - _plain(delta))

    def numpy(self):
        """A copy of the current value (a NumPy scalar for 0-d).

        Example:
            >>> import pullback as pb
            >>> w = pb.Variable([1.0, 2.0])
            >>> value = w.numpy()
            >>> value[0] = 9.0   # a copy: the Variable keeps its value
            >>> w.numpy().tolist()
            [1.0, 2.0]
        """
        value = self._value
        return value[()] if value.ndim == 0 else value.copy()

    def read_value(self):
        """The current value as a Tensor (a recorded read).

        Example:
            >>> import pullback as pb
            >>> w = pb.Variable(2.0)
            >>> with pb.GradientTape() as tape:
            ...     y = w.read_value() ** 2
            >>> float(tape.gradient(y, w))
            4.0
        """
        return convert_to_tensor(self)

    def __repr__(self):
        value = self._value
        shown = repr(value.item()) if value.ndim == 0 else repr(value)
        return (f"<pb.Variable '{self._name}' shape={self.shape} dtype={self.dtype}, "
                f"numpy={shown}>")

    __str__ = __repr__   # print(w) shows a Variable as TensorFlow's print does


def _plain(value):
    if isinstance(value, Tensor):
        return value._value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _dtype(dtype):
    if dtype is None:
        return None
    return np.dtype(getattr(dtype, "as_numpy_dtype", dtype))


def constant(value, dtype=None, name=None):
    """A Tensor holding a copy of ``value`` (float64 for Python floats, NumPy's defaults).

    A constant: no gradient flows through it, even from Tensors inside ``value`` (use
    :func:`convert_to_tensor` to keep theirs); under ``pb.grad(mode="tape")`` making one from a
    differentiated value raises rather than drop its gradient.  ``name`` is accepted for code
    ported from TensorFlow and otherwise ignored.

    Example:
        >>> import pullback as pb
        >>> pb.constant([[1, 2], [3, 4]], dtype="float64").shape
        (2, 2)
    """
    if stack.strict and _holds_tracked(value):
        _lost_gradient("made into a constant with pb.constant (pb.convert_to_tensor keeps its "
                       "gradient)")
    return Tensor(value, dtype)


def convert_to_tensor(value, dtype=None, name=None):
    """``value`` as a Tensor: a Tensor is returned as is, a Variable is read (the read is recorded,
    so gradients flow to the Variable), a (nested) list or tuple holding Tensors is stacked into
    one (a recorded ``np.stack``, so each element gets its gradient, as TensorFlow packs them),
    anything else becomes a constant.

    Example:
        >>> import pullback as pb
        >>> a = pb.Variable(2.0)
        >>> with pb.GradientTape() as tape:
        ...     y = pb.reduce_sum(pb.convert_to_tensor([a * a, 1.0]))
        >>> float(y), float(tape.gradient(y, a))
        (5.0, 4.0)
    """
    if type(value) in (list, tuple) and _holds_tensor(value):
        value = _pack(value)
    if type(value) is Variable:
        from ._rules.core import identity
        value = identity(value)
    if isinstance(value, Tensor):
        if dtype is not None and _dtype(dtype) != value.dtype:
            return value.astype(dtype)
        return value
    return Tensor(value, dtype)


def _holds_tracked(value):
    if isinstance(value, Tensor):
        return _is_tracked(value._id)
    return type(value) in (list, tuple) and any(_holds_tracked(v) for v in value)


def _pack(values):
    """A (nested) list or tuple of Tensors and numbers as one Tensor that keeps the gradients."""
    return np.stack([_pack(v) if type(v) in (list, tuple) else convert_to_tensor(v)
                     for v in values])


def _refuse_complex(what):
    raise TypeError(
        f"pullback differentiates real values only: {what} made a complex value from a "
        f"differentiated one, and the derivative rules assume real numbers (they do not "
        f"conjugate: the gradient would be wrong). Keep the computation real (write the real "
        f"and imaginary parts as real arrays, e.g. with np.cos and np.sin), or compute this "
        f"part outside the differentiated code with pb.stop_gradient")


def _lost_gradient(what):
    stack.lost = what  # NumPy may replace this error by its own; pb.grad reports this one
    raise TypeError(
        f"pb.grad(mode='tape'): a differentiated value was {what}, which would silently drop "
        f"its part of the gradient. Keep it a NumPy expression (np.stack / np.concatenate / "
        f"np.where instead of writing into a buffer), or use mode='source'")

