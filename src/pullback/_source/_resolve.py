"""Resolve the names a function uses: locals, closure cells, globals (``np``, ``numpy``,
``from numpy import sin``), builtins -- and classify what a call calls.
"""

import builtins
import math
import types

import gast
import numpy as np

from .._registry import lookup
from .._rules.core import cast

__all__ = ["Scope", "Callee", "FunctionArgument", "METHODS", "NONDIFF_ATTRS"]

# Attributes of an array that carry no gradient.
NONDIFF_ATTRS = {"shape", "ndim", "size", "dtype", "itemsize", "nbytes", "strides", "flags"}


def _reshape_args(args):
    # x.reshape(2, 3) and x.reshape((2, 3)) both mean np.reshape(x, (2, 3)).
    if len(args) == 1:
        return args
    return [gast.Tuple(elts=list(args), ctx=gast.Load())]


def _transpose_args(args):
    if not args:
        return []
    return _reshape_args(args)


# Array methods on differentiated values: method -> (NumPy function, adapter of the arguments).
METHODS = {
    "sum": (np.sum, None), "mean": (np.mean, None), "prod": (np.prod, None),
    "max": (np.max, None), "min": (np.min, None), "std": (np.std, None),
    "var": (np.var, None), "cumsum": (np.cumsum, None), "cumprod": (np.cumprod, None),
    "dot": (np.dot, None), "ravel": (np.ravel, None), "flatten": (np.ravel, None),
    "copy": (np.copy, None), "squeeze": (np.squeeze, None), "swapaxes": (np.swapaxes, None),
    "clip": (np.clip, None), "conj": (np.conjugate, None), "conjugate": (np.conjugate, None),
    "reshape": (np.reshape, _reshape_args), "transpose": (np.transpose, _transpose_args),
    "argmax": (np.argmax, None), "argmin": (np.argmin, None), "argsort": (np.argsort, None),
    "trace": (np.trace, None), "diagonal": (np.diagonal, None), "repeat": (np.repeat, None),
    "take": (np.take, None), "round": (np.round, None), "astype": (cast, None),
    "view": (np.asarray, None),   # x.view(): x's values (x.view(dtype) is refused)
}

# Functions of Python's math module, differentiated with the rule of the NumPy ufunc.
MATH = {math.sin: np.sin, math.cos: np.cos, math.tan: np.tan, math.exp: np.exp,
        math.sqrt: np.sqrt, math.tanh: np.tanh, math.sinh: np.sinh, math.cosh: np.cosh,
        math.asin: np.arcsin, math.acos: np.arccos, math.atan: np.arctan,
        math.log1p: np.log1p, math.expm1: np.expm1, math.fabs: np.fabs,
        math.atan2: np.arctan2, math.hypot: np.hypot, math.pow: np.power,
        math.floor: np.floor, math.ceil: np.ceil, math.trunc: np.trunc,
        math.log: np.log, math.log2: np.log2, math.log10: np.log10,   # math.log: one argument
        math.asinh: np.arcsinh, math.acosh: np.arccosh, math.atanh: np.arctanh}

# Builtins with a NumPy equivalent for differentiated values.
BUILTINS = {abs: np.absolute, max: np.maximum, min: np.minimum, pow: np.power}
# Builtins whose result carries no gradient: it is constant where it is differentiable (int,
# round, len) or not a number.  Others that pass values on (list, sorted, zip) are "unknown":
# refused on differentiated values, never silently made constants.
NONDIFF_BUILTINS = {len, range, int, bool, print, isinstance, type, str, round, hasattr, id,
                    repr, any, all}


class Callee:
    """What a call expression calls.

    kind is one of: "prim" (a registered rule; ``prim`` set), "nondiff" (no gradient),
    "user" (a Python function whose source pullback transforms; ``fn`` set),
    "local" (a nested def or lambda of the function; ``node`` set), "identity" (``float``),
    "unknown".
    """

    __slots__ = ("kind", "prim", "fn", "node", "name")

    def __init__(self, kind, prim=None, fn=None, node=None, name=""):
        self.kind, self.prim, self.fn, self.node, self.name = kind, prim, fn, node, name


class FunctionArgument:
    """The kind of an argument that holds a function (``rk4(f, y0)``, ``act=np.tanh``): the code
    is generated for this very function, as for a module-level helper, and the cache key holds
    it, so passing another function generates code again.

    Example:
        >>> import numpy as np
        >>> FunctionArgument.of(np.tanh) == FunctionArgument.of(np.tanh), FunctionArgument.of(3.0)
        (True, None)
    """

    __slots__ = ("fn",)

    def __init__(self, fn):
        self.fn = fn

    @classmethod
    def of(cls, value):
        """The kind of ``value`` when it is a function the engine can call, else None."""
        if isinstance(value, (types.FunctionType, types.BuiltinFunctionType, np.ufunc)):
            return cls(value)
        if not callable(value) or isinstance(value, type):
            return None
        try:
            registered = lookup(value) is not None   # np.mean: NumPy's dispatcher object
        except TypeError:   # unhashable
            return None
        return cls(value) if registered else None

    def __eq__(self, other):
        return type(other) is FunctionArgument and other.fn is self.fn

    def __hash__(self):
        return hash(id(self.fn))

    def __repr__(self):
        return f"<function argument {getattr(self.fn, '__qualname__', self.fn)!r}>"


class Scope:
    """Name resolution for one user function.  ``functions`` maps the parameters that hold a
    function, and that the function never assigns, to that function."""

    def __init__(self, fn, local_names, functions=None):
        self.fn = fn
        self.locals = set(local_names)
        code = fn.__code__
        self.cells = dict(zip(code.co_freevars, fn.__closure__ or ()))
        self.globals = fn.__globals__
        self.functions = dict(functions or {})

    def value(self, name):
        """The object a free (non-local) name refers to now, or raise KeyError."""
        if name in self.cells:
            return self.cells[name].cell_contents
        if name in self.globals:
            return self.globals[name]
        return getattr(builtins, name)

    def static_value(self, node):
        """The object a Name / Attribute chain of free names refers to, or None."""
        if isinstance(node, gast.Name):
            if node.id in self.functions:
                return self.functions[node.id]
            if node.id in self.locals:
                return None
            try:
                return self.value(node.id)
            except (KeyError, AttributeError, ValueError):
                return None
        if isinstance(node, gast.Attribute):
            base = self.static_value(node.value)
            if base is None:
                return None
            return getattr(base, node.attr, None)
        return None

    def callee(self, func_node, local_functions):
        """Classify the function a call calls."""
        if isinstance(func_node, gast.Name) and func_node.id in local_functions:
            return Callee("local", node=local_functions[func_node.id], name=func_node.id)
        obj = self.static_value(func_node)
        if obj is None:
            return Callee("unknown", name=_describe(func_node))
        return classify(obj, _describe(func_node))


def classify(obj, name):
    """The Callee for a Python object."""
    obj_rule = lookup(obj)
    if obj_rule is not None:
        return Callee("prim" if obj_rule.differentiable else "nondiff", prim=obj_rule, name=name)
    if obj in MATH:
        prim = lookup(MATH[obj])
        return Callee("prim" if prim.differentiable else "nondiff", prim=prim, name=name)
    if obj in BUILTINS:
        return Callee("prim", prim=lookup(BUILTINS[obj]), name=name)
    if obj is float or obj is np.float64:
        return Callee("identity", name=name)
    if obj in NONDIFF_BUILTINS or isinstance(obj, type) and issubclass(
            obj, (int, np.integer, np.bool_)):
        return Callee("nondiff", name=name)   # bool is an int; their gradient is zero
    if isinstance(obj, types.FunctionType):
        return Callee("user", fn=obj, name=name)
    return Callee("unknown", name=name)


def _describe(node):
    """The called expression as the user wrote it, shortened: ``f``, ``self.layer``,
    ``make_scaler(...)``, ``fs[...]``."""
    if isinstance(node, gast.Name):
        return node.id
    if isinstance(node, gast.Attribute):
        return f"{_describe(node.value)}.{node.attr}"
    if isinstance(node, gast.Call):
        return f"{_describe(node.func)}(...)"
    if isinstance(node, gast.Subscript):
        return f"{_describe(node.value)}[...]"
    if isinstance(node, gast.Lambda):
        return "a lambda"
    return "an expression"
