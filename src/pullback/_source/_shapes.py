"""Shapes and dtypes of the values of a generated function, from its arguments' layout.

The generated code is specialized to a *layout* of the arguments: for each array argument its
dtype and a symbolic shape in which every dimension of size 1 is the literal 1 and every other
dimension is a token naming its size ("n0", "n1", ...; equal sizes share a token).  Broadcasting
depends on nothing else, so what is derived from a layout holds for every call with that layout,
whatever the sizes: ``X`` of shape ("n0", "n1") times ``y`` of shape ("n0",) does not broadcast;
``np.sum(x, axis=1, keepdims=True)`` has shape ("n0", 1) and broadcasts against ``x``.

``Facts`` follows the top-level statements of a function in order and knows, per name:
its shape (a tuple of tokens, ``()`` for a scalar, None when unknown), its dtype (a NumPy dtype,
the Python type of a weak scalar, or None) and whether it is a *fresh* array (one the function
allocated itself: the result of a ufunc or arithmetic on arrays, never a view, an argument or
the result of an unknown call).  Names bound inside loops and branches are unknown after them.

Example:
    >>> import gast
    >>> fn = gast.parse("def f(x, y):\\n    t = np.exp(x) * 2.0\\n    s = np.sum(t)\\n").body[0]
    >>> facts = Facts({"x": (("n0", 1), "float64")}, {"np"})
    >>> facts.run(fn.body)
    >>> facts.shape["t"], str(facts.dtype["t"]), facts.fresh["t"], facts.shape["s"]
    (('n0', 1), 'float64', True, ())
"""

import numpy as np

import gast

from ._clone import name_nodes
__all__ = ["Facts", "broadcast", "layout_of", "path_of", "reduced_axes"]

_BINOPS = {gast.Add: np.add, gast.Sub: np.subtract, gast.Mult: np.multiply,
           gast.Div: np.true_divide, gast.Pow: np.power, gast.FloorDiv: np.floor_divide,
           gast.Mod: np.remainder}
_UNARY = {gast.USub: np.negative, gast.UAdd: np.positive}
_REDUCTIONS = {"sum", "mean", "max", "min", "amax", "amin", "prod"}


def layout_of(values, params):
    """The layout of a call: ``{param: (symbolic shape, dtype str)}`` for array and scalar
    arguments (a Python float or int: shape ``()``, dtype "float" / "int"), and for the arrays
    inside dict, list and tuple arguments under their path as code reads them
    (``"params['W1']"``).  Hashable via ``tuple(sorted(...items()))``.

    Example:
        >>> import numpy as np
        >>> layout_of({"W": np.zeros((3, 4)), "p": {"b": np.zeros(4)}, "lr": 0.1}, ["W", "p", "lr"])
        {'W': (('n0', 'n1'), '<f8'), "p['b']": (('n1',), '<f8'), 'lr': ((), 'float')}
    """
    sizes = {}
    out = {}

    def visit(path, v, leaf_only):
        t = type(v)
        if t is np.ndarray:
            dims = tuple(1 if n == 1 else sizes.setdefault(n, f"n{len(sizes)}")
                         for n in v.shape)
            out[path] = (dims, v.dtype.str)
        elif (t is float or t is int) and not leaf_only:
            out[path] = ((), t.__name__)
        elif t is dict:
            for k, item in v.items():
                if type(k) is str:
                    visit(f"{path}[{k!r}]", item, True)
        elif t is list or t is tuple:
            for i, item in enumerate(v):
                visit(f"{path}[{i}]", item, True)

    for p in params:
        visit(p, values[p], False)
    return out


def path_of(node, aliases=None):
    """``"params['W1']"`` for the expression ``params['W1']`` (constant keys, from a name;
    ``aliases`` maps names bound to a part of an argument, ``layer = layers[0]``, to its path);
    else None."""
    keys = []
    while isinstance(node, gast.Subscript) and isinstance(node.slice, gast.Constant) and \
            type(node.slice.value) in (str, int):
        keys.append(node.slice.value)
        node = node.value
    if not isinstance(node, gast.Name) or not (keys or aliases and node.id in aliases):
        return None
    root = aliases.get(node.id, node.id) if aliases else node.id
    return root + "".join(f"[{k!r}]" for k in reversed(keys))


def broadcast(a, b):
    """NumPy's broadcasting of two symbolic shapes; None when unknown or incompatible."""
    if a is None or b is None:
        return None
    n = max(len(a), len(b))
    a = (1,) * (n - len(a)) + tuple(a)
    b = (1,) * (n - len(b)) + tuple(b)
    out = []
    for x, y in zip(a, b):
        if x == y or y == 1:
            out.append(x)
        elif x == 1:
            out.append(y)
        else:
            return None
    return tuple(out)


def _dtype(spec):
    if spec == "float":
        return float
    if spec == "int":
        return int
    return np.dtype(spec)


class Facts:
    """Shape, dtype and freshness of each name, statement by statement (see the module)."""

    def __init__(self, layout, numpy_names):
        self.numpy_names = set(numpy_names)
        self.shape = {}
        self.dtype = {}
        self.fresh = {}
        self.none = set()   # names holding None: the placeholder set before a loop
        self.parts = {}     # names bound to a part of a container argument -> its path
        self.math_names = set()  # names of the math module in the generated code
        for name, (dims, dtype) in layout.items():
            self.shape[name] = tuple(dims)
            self.dtype[name] = _dtype(dtype)
            self.fresh[name] = False        # the caller's value: never written into

    # --- statements --------------------------------------------------------------------------

    def run(self, body):
        for stmt in body:
            self.step(stmt)

    def copy(self):
        other = object.__new__(type(self))
        other.__dict__.update(self.__dict__)
        other.shape, other.dtype, other.fresh = dict(self.shape), dict(self.dtype), dict(
            self.fresh)
        other.none = set(self.none)
        other.parts = dict(self.parts)
        return other

    def same(self, other):
        return (self.shape, self.dtype, self.fresh, self.none, self.parts) == (
            other.shape, other.dtype, other.fresh, other.none, other.parts)

    def join(self, other):
        """What holds of each name when it has either this value or the other's (at a loop's
        head: the value before the loop, or the one the last iteration left).  A name that is
        None on one side (the placeholder the forward pass sets before a loop, which nothing
        reads before the loop assigns it) or not bound yet takes the other side's facts."""
        out = self.copy()
        out.parts = {k: v for k, v in self.parts.items() if other.parts.get(k) == v}
        for name in set(self.shape) | set(other.shape) | self.none | other.none:
            mine = name in self.shape and name not in self.none
            theirs = name in other.shape and name not in other.none
            if not theirs:
                continue
            if not mine:
                out.none.discard(name)
                out._set(name, other.shape.get(name), other.dtype.get(name),
                         other.fresh.get(name, False))
            elif (self.shape.get(name), self.dtype.get(name)) != (other.shape.get(name),
                                                                  other.dtype.get(name)):
                out._set(name, None, None, False)
            else:
                out.fresh[name] = bool(self.fresh.get(name)) and bool(other.fresh.get(name))
        return out

    def step(self, stmt):
        """Update the facts for one top-level statement."""
        if isinstance(stmt, gast.Assign) and isinstance(stmt.value, gast.Constant) and \
                stmt.value.value is None and all(isinstance(t, gast.Name) for t in stmt.targets):
            for t in stmt.targets:
                self._set(t.id, None, None, False)
                self.none.add(t.id)
            return
        if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(
                stmt.targets[0], gast.Name):
            name = stmt.targets[0].id
            path = path_of(stmt.value, self.parts)
            shape, dtype, fresh = self.infer(stmt.value)
            if isinstance(stmt.value, gast.Name):  # another name for the same buffer
                fresh = bool(self.fresh.get(stmt.value.id))
            self._set(name, shape, dtype, fresh)
            if path is not None and path not in self.shape and any(
                    key.startswith(path + "[") for key in self.shape):
                self.parts[name] = path  # e.g. layer = layers[0]: layer[1] is layers[0][1]
            return
        if isinstance(stmt, gast.AugAssign) and isinstance(stmt.target, gast.Name):
            return  # in place: the buffer keeps its shape and dtype
        for node in name_nodes(stmt):  # anything else: what it binds is unknown afterwards
            if isinstance(node.ctx, gast.Store):
                self._set(node.id, None, None, False)

    def _set(self, name, shape, dtype, fresh):
        self.none.discard(name)
        self.parts.pop(name, None)
        self.shape[name] = shape
        self.dtype[name] = dtype
        self.fresh[name] = fresh

    # --- expressions -------------------------------------------------------------------------

    def shape_of(self, node):
        return self.infer(node)[0]

    def infer(self, node):
        """(shape, dtype, fresh) of an expression."""
        if isinstance(node, gast.Constant):
            if type(node.value) in (int, float):
                return (), type(node.value), False
            return None, None, False
        if isinstance(node, gast.Name):
            return self.shape.get(node.id), self.dtype.get(node.id), False
        if isinstance(node, gast.UnaryOp) and type(node.op) in _UNARY:
            return self._ufunc(_UNARY[type(node.op)], [node.operand])
        if isinstance(node, gast.BinOp):
            if type(node.op) in _BINOPS:
                return self._ufunc(_BINOPS[type(node.op)], [node.left, node.right])
            if isinstance(node.op, gast.MatMult):
                return self._matmul(node.left, node.right)
            return None, None, False
        if isinstance(node, gast.Attribute) and node.attr == "size":
            return (), int, False
        if isinstance(node, gast.Subscript) and isinstance(node.value, gast.Attribute) and \
                node.value.attr == "shape" and isinstance(node.slice, gast.Constant):
            return (), int, False
        if isinstance(node, gast.Subscript):
            path = path_of(node, self.parts)  # an array inside a dict or list argument
            if path is not None and path in self.shape:
                return self.shape[path], self.dtype.get(path), False
        if isinstance(node, gast.Subscript) and isinstance(node.slice, (gast.Name, gast.Constant)):
            shape, dtype, _ = self.infer(node.value)
            index_shape, index_dtype, _ = self.infer(node.slice)
            integer = index_dtype is int or (isinstance(index_dtype, np.dtype)
                                             and index_dtype.kind in "iu")
            if shape and index_shape == () and integer and not (
                    isinstance(node.slice, gast.Constant) and type(node.slice.value) is not int):
                return shape[1:], dtype, False  # one integer index: a view without axis 0
            return None, None, False
        if isinstance(node, gast.Attribute) and node.attr == "T":
            shape, dtype, _ = self.infer(node.value)
            return (tuple(reversed(shape)) if shape is not None else None), dtype, False
        if isinstance(node, gast.Call):
            return self._call(node)
        return None, None, False

    def numpy_function(self, node):
        """The NumPy function a call's ``func`` names (``np.exp``), or None."""
        func = node.func if isinstance(node, gast.Call) else node
        if isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name) and \
                func.value.id in self.numpy_names:
            return getattr(np, func.attr, None)
        return None

    def _call(self, node):
        fn = self.numpy_function(node)
        if fn is None:
            func = node.func
            if isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name) and \
                    func.value.id in self.math_names and not node.keywords:
                return (), float, False  # math.<f>(...) returns a Python float (or raises)
            if isinstance(func, gast.Attribute) and func.attr == "copy" and not node.args \
                    and not node.keywords and isinstance(func.value, gast.Name) and \
                    self.dtype.get(func.value.id) is not None and \
                    not isinstance(self.dtype[func.value.id], type):
                shape, dtype, _ = self.infer(func.value)   # x.copy(): an array like x
                return shape, dtype, shape is not None
            return None, None, False
        if isinstance(fn, np.ufunc):
            if fn.nout != 1 or len(node.args) != fn.nin:
                return None, None, False
            if not node.keywords:
                return self._ufunc(fn, node.args)
            if len(node.keywords) == 1 and node.keywords[0].arg == "out":
                # written into a buffer of the result's shape and dtype (see _specialize)
                shape, dtype, fresh = self._ufunc(fn, node.args)
                out = node.keywords[0].value
                if isinstance(out, gast.Name) and self.shape.get(out.id) == shape and \
                        self.dtype.get(out.id) == dtype:
                    return shape, dtype, fresh and bool(self.fresh.get(out.id))
            return None, None, False
        if fn in (np.asarray, np.asanyarray) and len(node.args) == 1 and not node.keywords:
            shape, dtype, _ = self.infer(node.args[0])   # an array: itself (not fresh)
            if isinstance(dtype, np.dtype):
                return shape, dtype, False
            return None, None, False
        if fn.__name__ in _REDUCTIONS:
            return self._reduction(fn, node)
        if fn is np.matmul and len(node.args) == 2 and not node.keywords:
            return self._matmul(*node.args)
        return None, None, False

    def _ufunc(self, ufunc, args):
        facts = [self.infer(a) for a in args]
        shape = facts[0][0]
        for s, _, _ in facts[1:]:
            shape = broadcast(shape, s)
        dtype = None
        dtypes = [d for _, d, _ in facts]
        if shape is not None and all(d is not None for d in dtypes):
            try:
                dtype = ufunc.resolve_dtypes(tuple(dtypes) + (None,))[-1]
            except (TypeError, ValueError):
                dtype = None
        # a ufunc of an array (ndim >= 1) returns a new array; of scalars, a scalar
        return shape, dtype, bool(shape)

    def _matmul(self, left, right):
        (a, da, _), (b, db, _) = self.infer(left), self.infer(right)
        if a is None or b is None or not (1 <= len(a) <= 2 and 1 <= len(b) <= 2):
            return None, None, False
        if a[-1] != b[0]:
            return None, None, False
        shape = a[:-1] + b[1:]
        dtype = None
        if isinstance(da, np.dtype) and isinstance(db, np.dtype):
            try:
                dtype = np.matmul.resolve_dtypes((da, db, None))[-1]
            except (TypeError, ValueError):
                dtype = None
        return shape, dtype, bool(shape)

    def _reduction(self, fn, node):
        if len(node.args) != 1 or any(k.arg not in ("axis", "keepdims") for k in node.keywords):
            return None, None, False
        shape, dtype, _ = self.infer(node.args[0])
        if shape is None:
            return None, None, False
        kw = {k.arg: k.value for k in node.keywords}
        axis = kw.get("axis")
        keep = kw.get("keepdims")
        if keep is not None and not (isinstance(keep, gast.Constant) and isinstance(
                keep.value, bool)):
            return None, None, False
        keep = keep is not None and keep.value
        axes = reduced_axes(axis, len(shape))
        if axes is None:
            return None, None, False
        out = tuple(1 if i in axes else n for i, n in enumerate(shape)) if keep else tuple(
            n for i, n in enumerate(shape) if i not in axes)
        if fn.__name__ == "mean" and isinstance(dtype, np.dtype) and dtype.kind in "iub":
            dtype = np.dtype(np.float64)
        elif not (isinstance(dtype, np.dtype) and dtype.kind in "fc"):
            dtype = None
        return out, dtype, bool(out)


def reduced_axes(axis, ndim):
    """The reduced axes of a literal ``axis=`` (None: all), or None when not a literal."""
    if axis is None or (isinstance(axis, gast.Constant) and axis.value is None):
        return set(range(ndim))
    values = axis.elts if isinstance(axis, gast.Tuple) else [axis]
    axes = set()
    for v in values:
        if isinstance(v, gast.UnaryOp) and isinstance(v.op, gast.USub) and isinstance(
                v.operand, gast.Constant):
            v = gast.Constant(value=-v.operand.value, kind=None)
        if not (isinstance(v, gast.Constant) and type(v.value) is int):
            return None
        if not -ndim <= v.value < ndim:
            return None
        axes.add(v.value % ndim)
    return axes
