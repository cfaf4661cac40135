"""pb.grad and pb.value_and_grad: the gradient of a plain NumPy function.

The gradient function generates code on its first call for each kind of arguments (scalars,
arrays, the structure of a pytree), caches it, and calls it; ``mode="auto"`` falls back to the
tape for a function the source engine cannot transform, and says why in ``fallback_reason``.
"""

import collections
import functools
import inspect
import os
import threading

import numpy as np

from ._errors import TransformError
from ._registry import lookup
from ._source._resolve import FunctionArgument
from ._source._shapes import layout_of
from ._state import stack
from ._structure import flatten, frozen, rebuild, unflatten
from ._tensor import Tensor

__all__ = ["grad", "value_and_grad", "GradFunction", "clear_cache", "run_on_tape"]

_MODES = ("auto", "source", "tape")
_CACHE = collections.OrderedDict()   # (fn, wrt, mode, kinds) -> Generated or TransformError
_CACHE_SIZE = 512
_FAST_SIZE = 64      # argument types and shapes remembered per gradient function
_CACHE_LOCK = threading.Lock()
# What the math module raises where NumPy returns inf or nan (and warns): generated code that
# computes scalars with it is generated again with NumPy's scalars when one of these comes up
_MATH_ERRORS = (ZeroDivisionError, OverflowError, ValueError)   # ValueError: "math domain error"


def clear_cache():
    """Forget all generated code (the next call generates it again)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def grad(f=None, wrt=0, *, mode="auto"):
    """The gradient of ``f`` with respect to ``wrt``, as a function of ``f``'s arguments.

    Args:
        f: a Python function of floats, NumPy arrays, or nested lists / tuples / dicts of them,
            written with plain NumPy and returning a real scalar.
        wrt: an argument position, an argument name, or a tuple of them (default: 0).
        mode: "auto" (generated code; the tape where that is impossible), "source" (generated
            code or TransformError) or "tape" (the runtime tape only).

    Returns:
        A function with ``f``'s signature returning the gradient (a tuple for a tuple ``wrt``);
        it has ``.source``, ``.mode`` and ``.fallback_reason`` describing its last call.

    Raises:
        ValueError: an unknown mode or a wrt that names no parameter.

    Example:
        >>> import numpy as np, pullback as pb
        >>> def f(w1, w2):
        ...     return 3 * w1 ** 2 + 2 * w1 * w2
        >>> df = pb.grad(f, wrt=(0, 1))
        >>> [float(g) for g in df(5.0, 3.0)]
        [36.0, 10.0]
        >>> df.mode
        'source'
    """
    if f is None:
        return lambda fn: grad(fn, wrt, mode=mode)
    return GradFunction(f, wrt, mode, with_value=False)


def value_and_grad(f=None, wrt=0, *, mode="auto"):
    """Like :func:`grad`, but the function returns ``(value of f, gradient)``.

    Example:
        >>> import numpy as np, pullback as pb
        >>> value, g = pb.value_and_grad(lambda x: np.sum(x ** 2))(np.array([1.0, 2.0]))
        >>> float(value), g.tolist()
        (5.0, [2.0, 4.0])
    """
    if f is None:
        return lambda fn: value_and_grad(fn, wrt, mode=mode)
    return GradFunction(f, wrt, mode, with_value=True)


class GradFunction:
    """The gradient of a function; see :func:`grad`."""

    def __init__(self, fn, wrt, mode, with_value):
        if mode not in _MODES:
            raise ValueError(f"mode must be one of {', '.join(map(repr, _MODES))}, not {mode!r}")
        if not callable(fn):
            raise TypeError(f"pb.grad needs a function, not {type(fn).__name__}")
        self._fn = fn
        self._requested = mode
        self._with_value = with_value
        self._signature = signature_of(fn)
        self._params = list(self._signature.parameters)
        self._single = not isinstance(wrt, (tuple, list))
        self._wrt = tuple(self._param_name(w) for w in ((wrt,) if self._single else wrt))
        self._state = (None, None, None)  # (source, mode, fallback_reason) of the last call
        self._nparams = len(self._params)
        self._positions = tuple(self._params.index(w) for w in self._wrt)
        self._fast = {}  # argument types -> generated function, for plain positional calls
        functools.update_wrapper(self, fn, updated=())

    def _param_name(self, w):
        name = self._fn.__qualname__ if hasattr(self._fn, "__qualname__") else repr(self._fn)
        if isinstance(w, bool) or not isinstance(w, (int, str)):
            raise ValueError(f"wrt must be a parameter position or name (or a tuple of them), "
                             f"not {w!r}")
        if isinstance(w, int):
            if not -len(self._params) <= w < len(self._params):
                raise ValueError(f"wrt={w} is out of range: {name} has {len(self._params)} "
                                 f"parameters {self._params}")
            return self._params[w]
        if w not in self._params:
            raise ValueError(f"wrt={w!r} names no parameter of {name}; its parameters are "
                             f"{self._params}")
        return w

    def __call__(self, *args, **kwargs):
        entry = self._fast.get(tuple(map(type, args)))  # Python floats: their types say it all
        if entry is None or kwargs:
            return self._call_arrays(args, kwargs)
        function, self._state, finish = entry
        try:
            out = function(*args)
        except _MATH_ERRORS:   # 1.0 / 0.0, math.log(0.0): the general path runs NumPy's
            return self._call(args, kwargs)
        return out if finish is None else finish(out, args)

    def _call_arrays(self, args, kwargs):
        """Arrays: generated code for their shapes and dtypes, else the general path."""
        if not kwargs:
            key = tuple(map(_type_key, args))
            entry = self._fast.get(key)
            if entry is not None:
                function, self._state, finish = entry
                try:
                    out = function(*args)
                except _MATH_ERRORS:
                    return self._call(args, kwargs)
                return out if finish is None else finish(out, args)
        return self._call(args, kwargs)

    def _finisher(self, scalars):
        """How the fast path turns the generated function's result into what the user gets
        (None: it already is -- Python float gradients of a tuple ``wrt``, no value)."""
        if scalars and not self._single and not self._with_value:
            return None
        positions, single, with_value = self._positions, self._single, self._with_value

        def finish(out, args):
            value, grads = out if with_value else (None, out)
            if not scalars:
                grads = _fresh(tuple(_finish(g, args[i]) for g, i in zip(grads, positions)),
                               args)
            result = grads[0] if single else grads
            return (value, result) if with_value else result
        return finish

    def _call(self, args, kwargs):
        bound = self._signature.bind(*args, **kwargs)
        bound.apply_defaults()
        values = dict(bound.arguments)
        shared = _sharing(values)   # f(x, x): one array given as two arguments
        for name in self._wrt:
            values[name] = _as_float(values[name], name)
        if self._requested == "tape":
            value, grads = self._tape(values, reason=None, shared=shared)
        elif stack.recording and _holds_recorded_tensor(values):
            value, grads = self._tape(values, reason=self._nested_reason(), shared=shared)
        else:
            value, grads = self._source(values, shared)
        grads = _fresh(tuple(_finish(g, values[name]) for g, name in zip(grads, self._wrt)),
                       tuple(values.values()))
        result = grads[0] if self._single else grads
        return (value, result) if self._with_value else result

    def _nested_reason(self):
        """Why a call with Tensors that a tape records runs on the tape (mode='source' raises):
        generated code computes a first-order gradient in plain NumPy, which an outer
        derivative (``pb.grad(pb.grad(f))``, pb.jacobian of a gradient, a GradientTape around
        the call) could not follow."""
        name = getattr(self._fn, "__qualname__", self._fn)
        if self._requested == "source":
            raise ValueError(
                f"pb.grad(mode='source') of {name} was called with a pb.Tensor that a "
                f"GradientTape records: a nested derivative (pb.grad(pb.grad(f)), pb.jacobian "
                f"of a gradient, ...). Generated code computes the gradient in plain NumPy, so "
                f"the outer derivative would be lost. Use mode='auto' or mode='tape' for the "
                f"inner gradient")
        return (f"{name} was called with pb.Tensor arguments that a tape records (a nested "
                f"derivative), so its gradient is computed on the tape, where the outer "
                f"derivative can follow it")

    def _source(self, values, shared=()):
        if isinstance(self._fn, GradFunction):
            return self._tape(values, reason=self._gradient_of_a_gradient(), shared=shared)
        prim = lookup(self._fn)
        if prim is not None:   # pb.grad(np.sum): no code to generate, the rule is the gradient
            reason = (f"{prim.name} is itself a function with a derivative rule: its gradient "
                      f"is that rule's, applied on the tape (the source engine generates code "
                      f"from a Python function's source)")
            if self._requested == "source":
                raise TransformError(f"{reason}; use mode='auto' or mode='tape'",
                                     ("<numpy>", 1, 1, None))
            return self._tape(values, reason=reason, shared=shared)
        kinds = {p: _kind(values[p], p in self._wrt) for p in self._params}
        layout = layout_of(values, self._params)
        key = (self._fn, self._wrt, self._with_value, frozen(kinds),
               tuple(sorted(layout.items())))
        with _CACHE_LOCK:
            generated = _CACHE.get(key)
            if generated is not None:
                _CACHE.move_to_end(key)
        if generated is None:
            generated = self._generate(key, kinds, layout, scalar_math=True)
        if isinstance(generated, TransformError):
            if self._requested == "source":
                raise generated
            return self._tape(values, reason=_reason(generated), shared=shared)
        call = [values[p] for p in self._params]
        self._state = (generated.source, "source", None)
        if shared and generated.written_params:
            _refuse_shared(self._fn, shared, generated.written_params)
        try:
            function, out = self._run(generated, call)
        except _MATH_ERRORS as err:
            if isinstance(err, ValueError) and str(err) != "math domain error":
                raise
            # Python's floats and math module raised where NumPy gives inf or nan and warns
            # (1.0 / 0.0, math.log(0.0)), as the user's NumPy code does: the code again with
            # NumPy's functions and float64 numbers (kept for these arguments' kinds)
            if generated.scalar_math:
                generated = self._generate(key, kinds, layout, scalar_math=False)
            self._state = (generated.source, "source", None)
            numpy_call = [np.float64(a) if type(a) is float else a for a in call]
            _, out = self._run(generated, numpy_call)
            _refuse_complex(out[1] if self._with_value else out, self._fn)
            return out if self._with_value else (None, out)
        # Arguments of the same types and dtypes give gradients of the same types: checked
        # here, before the fast path serves the next calls without looking
        _refuse_complex(out[1] if self._with_value else out, self._fn)
        if self._fast_eligible(call) and not generated.written_params:
            # (writes into arguments: each call checks that no two arguments are one array)
            key = tuple(map(type, call))
            if np.ndarray in key:
                key = tuple(map(_type_key, call))
            scalars = all(type(call[i]) is float for i in self._positions)
            if len(self._fast) >= _FAST_SIZE:  # many shapes: start over rather than grow
                self._fast.clear()
            self._fast[key] = (function, (generated.source, "source", None),
                               self._finisher(scalars))
        return out if self._with_value else (None, out)

    def _generate(self, key, kinds, layout, scalar_math):
        """Generated code (or the TransformError) for ``key``, cached."""
        try:
            from ._source import generate
            generated = generate(self._fn, list(self._wrt), kinds, self._with_value, layout,
                                 scalar_math=scalar_math)
        except TransformError as err:
            generated = err
        with _CACHE_LOCK:
            _CACHE[key] = generated
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
        return generated

    def _run(self, generated, call):
        function = generated.function
        if inspect.ismethod(self._fn):   # generated for the function: self goes first
            function = functools.partial(function, self._fn.__self__)
        return function, function(*call)

    def _fast_eligible(self, call):
        """Plain positional calls may skip binding and kind analysis when the argument types
        alone fix the generated code: floats and float arrays, no pytree to differentiate."""
        for i in self._positions:
            a = call[i]
            if not (type(a) is float or (type(a) is np.ndarray and a.dtype.kind == "f")):
                return False
        return all(type(a) in (float, int, np.ndarray) or not isinstance(a, (
            dict, list, tuple, np.generic)) and FunctionArgument.of(a) is None for a in call)

    def _gradient_of_a_gradient(self):
        """The fallback reason for ``pb.grad(pb.grad(f))``: the tape differentiates the inner
        gradient (generated code is first order); mode='source' raises instead."""
        inner = inspect.unwrap(self._fn)
        code = getattr(inner, "__code__", None)
        filename, line = (code.co_filename, code.co_firstlineno) if code else ("?", 1)
        name = getattr(inner, "__qualname__", inner)
        reason = (f"the function is itself a gradient (pb.grad of {name}): its derivative is "
                  f"taken on the tape ({os.path.basename(filename)}, line {line})")
        if self._requested == "source":
            raise TransformError(f"{reason}; the source engine generates first-order code "
                                 f"only: use mode='auto' or mode='tape'",
                                 (filename, line, 1, None))
        return reason

    def _tape(self, values, reason, shared=()):
        self._state = (self._state[0], "tape", reason or "mode='tape' was requested")
        try:
            return tape_gradient(self._fn, self._params, values, self._wrt,
                                 shared=shared)
        except Exception as err:
            if reason is None or self._requested != "auto":
                raise
            told = _with_reason(err, reason)
            if told is err:
                raise
            raise told from err

    @property
    def source(self):
        """The generated source of the gradient (of the last call that generated code)."""
        return self._state[0]

    @property
    def mode(self):
        """"source", or "tape" when the runtime tape served the last call."""
        return self._state[1]

    @property
    def fallback_reason(self):
        """None when generated code served the last call; else why the tape did."""
        return self._state[2]

    def __repr__(self):
        return f"<pullback gradient of {getattr(self._fn, '__qualname__', self._fn)}>"


def _refuse_complex(grads, fn):
    """Raise when generated code computed a complex gradient: a complex value was computed
    from a differentiated one, and the rules, which assume real numbers, do not conjugate."""
    for g in grads:
        for leaf in flatten(g)[0]:
            if np.iscomplexobj(leaf):
                raise TypeError(
                    f"pullback differentiates real values only: "
                    f"{getattr(fn, '__qualname__', fn)} computes a complex value from a "
                    f"differentiated one, and the derivative rules assume real numbers (they "
                    f"do not conjugate: the gradient would be wrong). Keep the computation "
                    f"real (write the real and imaginary parts as real arrays, e.g. with "
                    f"np.cos and np.sin)")


def _type_key(value):
    """What of an argument decides its generated code: its type, and for an array its shape
    and dtype (the code is specialized to the layout of the arguments' shapes)."""
    t = type(value)
    if t is np.ndarray:
        return (value.shape, value.dtype)
    return t


def _reason(err):
    where = f"{os.path.basename(err.filename or '?')}, line {err.lineno}"
    return f"{err.msg.split(';')[0]} ({where})"


def _with_reason(err, reason):
    """``err`` again (same type) with why mode='auto' ran the tape appended: the source engine's
    refusal often says more than the tape's error.  ``err`` itself when its type cannot be
    rebuilt from one message."""
    if len(err.args) != 1 or not isinstance(err.args[0], str):
        return err
    try:
        return type(err)(f"{err.args[0]}\n(pb.grad(mode='auto') ran this on the tape, not the "
                         f"source engine, because: {reason})")
    except Exception:
        return err


def run_on_tape(fn, args, kwargs, what):
    """``fn(*args, **kwargs)`` run as every pullback transform runs user code on the tape: its
    NumPy allocations record their writes (``_tapenumpy.recording``) and a differentiated value
    turned into a plain array or float raises (strict mode) instead of silently dropping its
    part of the gradient.  ``what`` names the transform in that error."""
    from ._tapenumpy import recording
    from ._tapeviews import Views
    previous = stack.strict, stack.views
    stack.strict, stack.lost, stack.views = True, None, Views()
    try:
        return recording(fn)(*args, **kwargs)
    except Exception as err:
        lost, stack.lost = stack.lost, None   # reported once, by the innermost transform
        if lost is None:
            raise
        raise TypeError(
            f"{what} cannot differentiate {getattr(fn, '__qualname__', fn)}: a differentiated "
            f"value was {lost}, which would silently drop its part of the gradient (writes "
            f"into arrays are recorded only for arrays the function itself makes with "
            f"np.zeros, np.empty_like, np.copy, ...). Use mode='source', or build the array "
            f"with np.stack / np.concatenate / np.where") from err
    finally:
        stack.strict, stack.views = previous


def signature_of(fn):
    """``inspect.signature(fn)``, also for a NumPy ufunc (or a functools.partial of one), which
    has none before Python 3.11: its inputs x1, x2, ..., by position."""
    try:
        return inspect.signature(fn)
    except ValueError:
        bound = fn.args if isinstance(fn, functools.partial) else ()
        ufunc = fn.func if isinstance(fn, functools.partial) else fn
        if not isinstance(ufunc, np.ufunc) or len(bound) > ufunc.nin:
            raise
        return inspect.Signature([
            inspect.Parameter(f"x{i + 1}", inspect.Parameter.POSITIONAL_ONLY)
            for i in range(len(bound), ufunc.nin)])


def _sharing(values):
    """Pairs of argument names whose arrays share memory (``f(x, x)``, ``f(x, x[1:])``):
    arrays are grouped by the array that owns their memory, then compared exactly."""
    by_root = {}
    for name, value in values.items():
        leaves = [value] if type(value) is np.ndarray else (
            flatten(value)[0] if isinstance(value, (dict, list, tuple)) else ())
        for leaf in leaves:
            if type(leaf) is np.ndarray and leaf.size:
                root = leaf
                while isinstance(root.base, np.ndarray):
                    root = root.base
                by_root.setdefault(id(root), []).append((name, leaf))
    pairs = []
    for group in by_root.values():
        for i, (a, x) in enumerate(group):
            for b, y in group[i + 1:]:
                if a != b and np.shares_memory(x, y, max_work=10_000):
                    pairs.append((a, b))
    return pairs


def _refuse_shared(fn, shared, written):
    """Raise for arguments that share memory when the function writes into one of them."""
    for a, b in shared:
        if a in written or b in written:
            into, other = (a, b) if a in written else (b, a)
            raise ValueError(
                f"pb.grad of {getattr(fn, '__qualname__', fn)}: the arguments {a!r} and {b!r} "
                f"are one array (or overlap), and the function writes into {into!r}, which in "
                f"NumPy changes {other!r} too; pb.grad differentiates each argument as its own "
                f"array, a different function. Pass a copy ({other}=x.copy()) if that is what "
                f"you mean")


def tape_gradient(fn, params, values, wrt, shared=None):
    """Value and gradients of ``fn`` w.r.t. the parameters ``wrt``, on the runtime tape.

    Arguments that are Tensors an outer tape records (a nested derivative) are connected to
    their sources, and the value and gradients come back as Tensors that tape follows."""
    from ._rules.core import identity
    from ._tape import GradientTape
    from ._tapenumpy import _buffer_of
    from ._tensor import constant
    # The function may write into its arguments: it gets copies (writable Buffers for the
    # differentiated ones), never the caller's arrays.
    call = {k: (np.array(v) if isinstance(v, np.ndarray) else v) for k, v in values.items()}
    sources = []
    specs = {}
    for name in dict.fromkeys(wrt):   # wrt=(0, 0): one source, its gradient given twice
        leaves, spec = flatten(values[name])
        tensors = [identity(leaf) if isinstance(leaf, Tensor) else constant(leaf)
                   for leaf in leaves]
        specs[name] = (spec, len(tensors))
        sources.extend(tensors)
        call[name] = unflatten(spec, [_buffer_of(t) if t.ndim else t for t in tensors])
    args, kwargs = _as_call(fn, call)
    given = dict(call)
    with GradientTape() as tape:
        tape.watch(sources)
        out = run_on_tape(fn, args, kwargs, "pb.grad(mode='tape')")
    if shared:   # which arguments did f write into? (a write gives a Buffer a new value)
        _refuse_shared(fn, shared, {name for name in given if _written(given[name],
                                                                      values[name])})
    from ._runtime import seed
    seed(out._value if isinstance(out, Tensor) else out, getattr(fn, "__qualname__", "f"))
    grads = tape.gradient(out, sources, unconnected_gradients="zero") if isinstance(
        out, Tensor) else [None] * len(sources)
    by_name = {}
    position = 0
    for name, (spec, n) in specs.items():
        leaf_grads = [np.zeros(np.shape(t._value), t._value.dtype) if g is None else _plain(g)
                      for g, t in zip(grads[position:position + n], sources[position:position + n])]
        position += n
        by_name[name] = unflatten(spec, leaf_grads)
    return _plain(out), tuple(by_name[name] for name in wrt)


def _written(passed, original):
    """Whether the function wrote into the copy of an argument it was given."""
    leaves, given = flatten(passed)[0], flatten(original)[0]
    for leaf, value in zip(leaves, given):
        if isinstance(leaf, Tensor):
            if type(value) is np.ndarray and leaf._value is not value and not (
                    leaf._value.shape == value.shape and np.array_equal(leaf._value, value)):
                return True
        elif type(leaf) is np.ndarray and type(value) is np.ndarray and \
                not np.array_equal(leaf, value):
            return True
    return False


def _as_call(fn, values):
    """Positional and keyword arguments that give ``fn`` these parameter values: ``*args``
    and ``**kwargs`` parameters are spread again (``fn(**values)`` would pass them whole)."""
    try:
        signature = signature_of(fn)
    except (TypeError, ValueError):
        return (), values
    # Positionally where the signature allows: a NumPy function (pb.grad(np.sum)) reads a
    # Tensor passed by keyword as a constant, and ``*args`` and ``**kwargs`` are spread again
    bound = inspect.BoundArguments(signature, collections.OrderedDict(
        (name, values[name]) for name, param in signature.parameters.items()
        if name in values and not (param.kind is param.KEYWORD_ONLY
                                   and values[name] is param.default)))
    return bound.args, bound.kwargs   # (a ufunc takes no dtype= beside its default signature=)


def _plain(value):
    """A Tensor's value, unless a recording tape follows it (a nested derivative)."""
    if not isinstance(value, Tensor):
        return value
    if stack.recording and any(value._id in tape._tracked for tape in stack.recording):
        return value
    return value._value


def _holds_recorded_tensor(values):
    """Whether an argument holds a Tensor that a recording tape follows."""
    for value in values.values():
        for leaf in flatten(value)[0]:
            if isinstance(leaf, Tensor) and _plain(leaf) is leaf:
                return True
    return False


def _as_float(value, name):
    """A differentiated argument with Python ints and integer arrays made floating point."""
    leaves, spec = flatten(value)
    converted = []
    for leaf in leaves:
        if isinstance(leaf, bool) or leaf is None or isinstance(leaf, str):
            raise TypeError(f"pb.grad cannot differentiate argument {name!r}: it holds a "
                            f"{type(leaf).__name__}, not a number or array")
        if not isinstance(leaf, (int, float, complex, np.ndarray, np.generic, Tensor)):
            raise TypeError(
                f"pb.grad cannot differentiate argument {name!r}: it holds a "
                f"{type(leaf).__name__} object, and pb.grad differentiates numbers, arrays, "
                f"and dicts, lists and tuples of them. Pass the object's arrays in a dict or "
                f"tuple (e.g. dataclasses.asdict(params)), and keep the object for the rest")
        if isinstance(leaf, np.ndarray) and leaf.dtype.kind not in "iubfc":
            raise TypeError(f"pb.grad cannot differentiate argument {name!r}: it holds an "
                            f"array of dtype {leaf.dtype}; give it a float array")
        if isinstance(leaf, int):
            leaf = float(leaf)
        elif isinstance(leaf, np.ndarray) and leaf.dtype.kind in "iub":
            leaf = leaf.astype(np.float64)
        elif isinstance(leaf, np.integer):
            leaf = float(leaf)
        elif isinstance(leaf, Tensor) and leaf.dtype.kind in "iub":
            leaf = leaf.astype(np.float64)
        converted.append(leaf)
    return unflatten(spec, converted) if not (len(converted) == 1 and spec is None) else \
        converted[0]


def _kind(value, structured):
    if not structured:
        function = FunctionArgument.of(value)
        if function is not None:   # rk4(f, y0): code for this f, as for a helper
            return function
    if structured and isinstance(value, (dict, list, tuple)):
        if isinstance(value, dict):
            return {k: _kind(v, True) for k, v in value.items()}
        return rebuild(value, (_kind(v, True) for v in value))
    if isinstance(value, (float, int, np.floating, np.integer)) or (
            isinstance(value, np.ndarray) and value.ndim == 0):
        return "scalar"
    if isinstance(value, np.ndarray):
        return "array"
    return "other"


def _fresh(grads, args):
    """``grads`` with every array that is not the gradient's own copied: generated code may
    return an argument itself (d/dx sum(x * w) is ``w``), the same array for two gradients, or
    a view of an argument, and the caller may then change either in place (an SGD step,
    clipping) and silently change the other."""
    seen = [a for a in args if type(a) is np.ndarray]
    if len(seen) < len(args):   # the arrays inside dict, list and tuple arguments too
        seen = [a for a in flatten(list(args))[0] if type(a) is np.ndarray]
    return tuple(_fresh_leaf(g, seen) for g in grads)


def _fresh_leaf(g, seen):
    if type(g) is np.ndarray:
        if g.base is not None or any(g is s for s in seen):
            g = g.copy()
        seen.append(g)
        return g
    if isinstance(g, dict):
        return {k: _fresh_leaf(v, seen) for k, v in g.items()}
    if isinstance(g, (list, tuple)):
        return rebuild(g, [_fresh_leaf(v, seen) for v in g])
    return g


def _finish(g, arg):
    """A gradient leaf as pb.grad returns it: the argument's structure, shape and float dtype."""
    if type(g) is np.ndarray and type(arg) is np.ndarray and g.shape == arg.shape and \
            g.dtype is arg.dtype and g is not arg and g.flags.writeable:
        return g  # the common case: a fresh array of the argument's shape and dtype
    if isinstance(g, Tensor):
        g = _plain(g)   # a Tensor argument outside any tape: its gradient is an array
        if isinstance(g, Tensor):
            return g  # a nested derivative: the Tensor an outer tape follows
    if isinstance(arg, Tensor):
        arg = arg._value
    if isinstance(arg, dict):
        return {k: _finish(g[k], v) for k, v in arg.items()}
    if isinstance(arg, (list, tuple)):
        return rebuild(arg, (_finish(gi, ai) for gi, ai in zip(g, arg)))
    if isinstance(arg, np.ndarray) and arg.ndim > 0:
        out = np.asarray(g)
        if out.shape == () and out == 0:  # an adjoint that stayed 0.0: nothing reached it
            out = np.zeros(arg.shape)
        if out.shape != arg.shape:
            raise AssertionError(
                f"pullback internal error: a gradient of shape {out.shape} for an argument of "
                f"shape {arg.shape}; please report this with the function")
        dtype = arg.dtype if arg.dtype.kind == "f" else np.float64
        if out.dtype != dtype or not out.flags.writeable or out is arg:
            out = np.array(out, dtype=dtype)
        return out
    if np.ndim(g) != 0:
        raise AssertionError(
            f"pullback internal error: a gradient of shape {np.shape(g)} for a scalar argument; "
            f"please report this with the function")
    return g if isinstance(g, (float, np.floating)) else float(np.asarray(g))
