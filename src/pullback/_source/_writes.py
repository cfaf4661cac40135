"""Writes the generated code cannot follow: refused, so the tape differentiates them instead.

The source engine follows writes into arrays made as ``x[i] = v`` and ``x[i] += v``, into the
array a name holds.  The backward pass reads the values it needs (``np.sin(v)`` for the
gradient of ``np.sin(v) * x``) from the names that held them -- so a write it does not see,
into one of those arrays, would change what the backward pass reads and give a wrong gradient
without a word.  These are refused with a ``pb.TransformError`` at the line (``mode="auto"``
falls back to the tape, which records the values as they were):

- any call with ``out=``: ``np.exp(v, out=v)`` (and ``out=None``, which the rules do not
  take);
- NumPy functions that write into an argument: ``np.copyto``, ``np.put``, ``np.place``,
  ``np.putmask``, ``np.fill_diagonal``, ``np.put_along_axis``, ``np.random.shuffle``, and
  ufunc methods such as ``np.add.at``;
- array methods that write into the array: ``v.fill(0)``, ``v.sort()``, ``v.resize(...)``,
  ``v.put(...)``, ``v.partition(...)``, ``v.itemset(...)``, ``v.setfield(...)``,
  ``v.byteswap(...)``;
- a write (``u[i] = ...``, ``u += ...`` or one of the methods above) into a name that may hold
  a view of an array another name holds: one assigned from indexing (``u = x[1:]``), ``.T``,
  ``.real``, ``.imag``, a reshaping function or method (``x.reshape(-1)``, ``np.ravel(x)``,
  ``np.asarray(x)``, ...), or a loop variable over an array (``for row in X``).  The write
  would change that other array too.  (A view of a value no name holds, ``u = np.tanh(a).T``,
  is the only way to its data: writing into it is followed as any other write.)

- a write into an array a view was taken of (``u = a[1:]``, ``a.T``, ``a.reshape(-1)``, then
  ``a[0] = ...`` or ``a += ...``): the view changes too (``x[i] = v`` into an argument is
  followed, views included);
- a write into a list, dict or set the function made (``d["a"] = v``, ``buf = [0.0] * n``
  then ``buf[i] = v``): what a container holds is not tracked.

Writes into a name that holds an array of its own (``out = np.zeros(n)``, an argument, which is
copied first, ``u = x`` with both names followed) are handled as ``x[i] = v`` is.
"""

import builtins
import types

import gast
import numpy as np

from ._aliases import bound_names
from ._clone import walk
from ._live import live_after
from ._shapes import Facts

__all__ = ["refuse_untracked_writes"]

_WRITING_FUNCTIONS = {"copyto", "put", "place", "putmask", "fill_diagonal", "put_along_axis",
                      "shuffle",   # and the operator module's writing functions:
                      "setitem", "delitem", "iadd", "isub", "imul", "itruediv", "ifloordiv",
                      "imod", "ipow", "imatmul", "iand", "ior", "ixor", "ilshift", "irshift"}
_UFUNC_WRITERS = {"at"}
_WRITING_METHODS = {"fill", "sort", "resize", "put", "partition", "itemset", "setfield",
                    "byteswap", "__setitem__", "__delitem__", "__iadd__", "__isub__",
                    "__imul__", "__itruediv__", "__ifloordiv__", "__imod__", "__ipow__",
                    "__imatmul__", "__iand__", "__ior__", "__ixor__"}
_VIEW_ATTRIBUTES = {"T", "mT", "real", "imag", "flat"}
# what to write instead of an array method that writes in place (the default: np.<method>)
_INSTEAD = {"fill": "{0}[...] = value", "itemset": "{0}[index] = value",
            "put": "{0}[indices] = values"}
# functions that may return one of their array arguments, or a view of one, whichever it is
# (np.einsum('ij->ji', a) is a view of a; np.linalg.matrix_power(a, 1) is a itself)
_VIEW_OF_ANY_ARGUMENT = {"einsum", "matrix_power"}
_VIEW_CALLS = {"reshape", "ravel", "view", "transpose", "swapaxes", "moveaxis", "rollaxis",
               "squeeze", "expand_dims", "broadcast_to", "asarray", "asanyarray",
               "ascontiguousarray", "asfortranarray", "atleast_1d", "atleast_2d", "atleast_3d",
               "diagonal", "flip", "fliplr", "flipud", "rot90", "real", "imag", "split",
               "array_split", "hsplit", "vsplit", "dsplit", "unstack", "matrix_transpose",
               "permute_dims", "broadcast_arrays"}


def refuse_untracked_writes(src, layout=None):
    """Raise TransformError at the first write of ``src``'s function the engine cannot follow.
    ``layout`` (the arguments' symbolic shapes, see ``_shapes``) tells which reads ``y = a[i]``
    copy one element rather than view a row."""
    node = src.node
    body = node.body if isinstance(node.body, list) else [gast.Return(value=node.body)]
    local = _assigned(body) | {a.id for a in _params(node)}
    views = {}  # name -> the node that may have made it a view
    containers = {}  # name -> the node that made it a list, dict or set
    returns_view = _ReturnsView(src)
    statements = list(_statements(body))
    writes = any(_written_bases(stmt) for stmt in statements)
    # y = a[i] that reads one element (a copy, as the layout tells): y is no view
    elements = _element_reads(src, body, layout) if writes else frozenset()
    for stmt in statements:
        _record_views(stmt, views, returns_view, elements)
        _record_containers(stmt, containers)
    live = None
    for stmt in statements:
        _check_statement(src, stmt, local, views, containers)
        for base in _written_bases(stmt):
            if live is None:
                live = live_after(body)
            _check_swap(src, stmt, base, body, elements, returns_view)
            _check_viewed(src, stmt, base, body, live, elements, returns_view)


def _written_bases(stmt):
    """The names whose arrays ``stmt`` writes into: ``a`` for ``a[i] = v``, ``a += v``,
    ``a[i] += v``, ``a.sort()``, and each ``a[i]`` of ``a[0], b[1] = ...``."""
    if isinstance(stmt, gast.AugAssign):
        base = _written_name(stmt.target, True)
        return [base] if base is not None else []
    if isinstance(stmt, gast.Assign):
        bases = []
        todo = list(stmt.targets)
        for target in todo:
            if isinstance(target, (gast.Tuple, gast.List)):
                todo.extend(target.elts)
            elif _subscripted_name(target) not in (None, *bases):
                bases.append(_subscripted_name(target))
        return bases
    calls = [c for c in _calls(stmt) if isinstance(c.func, gast.Attribute)
             and c.func.attr in _WRITING_METHODS and isinstance(c.func.value, gast.Name)]
    return [calls[0].func.value.id] if calls else []


def _check_swap(src, stmt, base, body, elements, returns_view):
    """``X[0], X[1] = X[1], X[0]``: Python reads the right side first, but a row of ``X`` is a
    view, so the second write copies the row the first one wrote (NumPy's classic swap bug);
    the generated code would give the rows their old values' gradients.  (On a 1-D array the
    right side holds numbers and the swap is followed.)"""
    if not isinstance(stmt, gast.Assign) or not isinstance(stmt.value, gast.Tuple) or not any(
            isinstance(t, (gast.Tuple, gast.List)) for t in stmt.targets):
        return
    names = set(_views_of(base, body, elements, returns_view)) | {base}
    for value in stmt.value.elts:
        if id(value) not in elements and _shares(value, names, returns_view):
            raise src.error(stmt, f"pb.grad cannot follow this write into {base!r} (in "
                                  f"{src.fn.__qualname__}): the right side may hold views of "
                                  f"{base} that the first writes change before the next ones "
                                  f"copy them; swap with .copy() (or {base}[[0, 1]] = "
                                  f"{base}[[1, 0]]), or use mode='tape'")


def _check_viewed(src, stmt, base, body, live, elements, returns_view):
    """A write into an array a view was taken of (``u = a[1:]``, ``row = A[0]``, ``a.T``, ...)
    changes the view too, and the generated code would read the view's old values: refused
    when a view may be read after the write (or the write is in a loop over the array)."""
    views = _views_of(base, body, elements, returns_view)
    if not views:
        return
    after = live.get(id(stmt))
    read_later = [v for v in views if after is None or v in after]
    for loop in _enclosing_loops(body, stmt):
        if _shares(loop.iter, set(views) | {base}, returns_view):
            read_later.append(None)
    if not read_later:
        return
    view = read_later[0]
    made = views[view] if view is not None else loop
    what = f"{view} may be a view of it" if view is not None else "the loop runs over it"
    fix = f"take a .copy() for {view}" if view is not None else "loop over a .copy()"
    raise src.error(stmt, f"pb.grad cannot follow this write into {base!r} (in "
                          f"{src.fn.__qualname__}): {what} (line {made.lineno}) and is read "
                          f"after the write, which NumPy shows there too; {fix}, or use "
                          f"mode='tape'")


def _views_of(base, body, elements=frozenset(), returns_view=None):
    """``{name: the statement that bound it}`` for the names that may hold a view of the array
    ``base`` holds: bound from indexing it (``base[0]``, a row when it has two axes), ``.T``, a
    reshaping call, a loop over it, a tuple holding one of those, ... (flow-insensitive)."""
    views = {}
    changed = True
    while changed:
        changed = False
        for stmt in _statements(body):
            if isinstance(stmt, (gast.Assign, gast.AnnAssign)) and stmt.value is not None:
                targets = stmt.targets if isinstance(stmt, gast.Assign) else [stmt.target]
                pairs = [p for t in targets for p in _pairs(t, stmt.value)]
            elif isinstance(stmt, gast.For):
                pairs = [(stmt.target, gast.Subscript(
                    value=stmt.iter, slice=gast.Constant(value=0, kind=None), ctx=gast.Load()))]
            else:
                continue
            for target, value in pairs:
                if isinstance(value, gast.Name) and value.id == base:
                    continue  # u = a: a second name for the array, which the engine follows
                if id(value) in elements:
                    continue  # y = a[1] on a 1-D array: a copy of one element
                if not _shares(value, set(views) | {base}, returns_view):
                    continue
                for name in bound_names(target):
                    if name != base and name not in views:
                        views[name] = stmt
                        changed = True
    return views


def _pairs(target, value):
    """(target, value) pairs of an assignment, matched up through tuples of the same length
    (``a, b = x[0], 2.0 * y``)."""
    if isinstance(target, (gast.Tuple, gast.List)) and isinstance(value, (gast.Tuple, gast.List)) \
            and len(target.elts) == len(value.elts) and not any(
                isinstance(e, gast.Starred) for e in target.elts + value.elts):
        return [p for t, v in zip(target.elts, value.elts) for p in _pairs(t, v)]
    return [(target, value)]


def _element_reads(src, body, layout):
    """The ids of the values ``a[i]`` / ``a[i, j]`` in ``y = a[i]`` that read one element (so
    copy it): ``a``'s number of axes is known from the layout at that point and every index is
    an integer.  Known only for statements at the top level or inside a block that does not
    rebind ``a``."""
    if not layout:
        return frozenset()
    numpy_names = {n for n, v in src.fn.__globals__.items() if v is np}
    facts = Facts(layout, numpy_names)
    integers = _integer_names(src, body, layout)
    found = set()
    for top in body:
        rebound = {n.id for n in walk(top) if isinstance(n, gast.Name)
                   and isinstance(n.ctx, gast.Store)}
        for stmt in _statements([top]):
            if not isinstance(stmt, (gast.Assign, gast.AnnAssign)) or stmt.value is None:
                continue
            values = stmt.value.elts if isinstance(stmt.value, gast.Tuple) else [stmt.value]
            for value in values:   # y = a[i], and each of y[0], y[1] = a[1], a[0]
                if not isinstance(value, gast.Subscript) or not isinstance(value.value,
                                                                             gast.Name):
                    continue
                name, index = value.value.id, value.slice
                if stmt is not top and name in rebound:
                    continue
                shape = facts.shape.get(name)
                parts = index.elts if isinstance(index, gast.Tuple) else [index]
                if shape is not None and len(parts) == len(shape) and all(
                        _integer_valued(p, integers) for p in parts):
                    found.add(id(value))
        facts.step(top)
    return frozenset(found)


def _integer_names(src, body, layout):
    """Names known to hold integers: an argument the layout calls an int, an int global, a
    ``for`` variable over ``range``, and a name every assignment gives an integer.  A name
    holding a slice, None or an array (``y = a[s]`` is then a view) is none of these."""
    assigned = {}
    counters = set()
    for stmt in _statements(body):
        if isinstance(stmt, gast.Assign):
            for t in stmt.targets:
                for n in bound_names(t):
                    assigned.setdefault(n, []).append(
                        stmt.value if isinstance(t, gast.Name) else None)
        elif isinstance(stmt, (gast.AugAssign, gast.AnnAssign)):
            for n in bound_names(stmt.target):
                assigned.setdefault(n, []).append(None)
        elif isinstance(stmt, gast.For):
            over_range = isinstance(stmt.iter, gast.Call) and isinstance(
                stmt.iter.func, gast.Name) and stmt.iter.func.id == "range"
            for n in bound_names(stmt.target):
                if over_range and isinstance(stmt.target, gast.Name):
                    counters.add(n)
                else:
                    assigned.setdefault(n, []).append(None)
    integers = {p for p, (shape, dtype) in layout.items() if shape == () and (
        dtype == "int" or (dtype != "float" and np.dtype(dtype).kind in "iu"))}
    integers |= {n for n, v in src.fn.__globals__.items()
                 if type(v) is int or isinstance(v, np.integer)} - set(assigned)
    integers |= counters - set(assigned)
    while True:   # a name all of whose values are integers made of integers
        more = {n for n, values in assigned.items() if n not in integers and all(
            v is not None and _integer_valued(v, integers) for v in values)}
        if not more:
            return integers
        integers |= more


def _integer_valued(node, integers):
    """Whether ``node`` is an integer (or an index array, which copies too): a literal, a name
    known to hold one, arithmetic on those."""
    if isinstance(node, gast.Constant):
        return type(node.value) is int
    if isinstance(node, gast.Name):
        return node.id in integers
    if isinstance(node, gast.BinOp):
        return _integer_valued(node.left, integers) and _integer_valued(node.right, integers)
    if isinstance(node, gast.UnaryOp):
        return _integer_valued(node.operand, integers)
    if isinstance(node, gast.Call) and isinstance(node.func, gast.Name):
        return node.func.id in ("int", "len")
    return False


def _shares(value, names, returns_view=None):
    """Whether ``value`` may share memory with an array one of ``names`` holds (``returns_view``
    tells which other calls may return a view of an argument)."""
    def shares(node):
        return _shares(node, names, returns_view)

    if isinstance(value, gast.Name):
        return value.id in names
    if isinstance(value, gast.Subscript):
        return shares(value.value)
    if isinstance(value, gast.Attribute):
        return value.attr in _VIEW_ATTRIBUTES and shares(value.value)
    if isinstance(value, gast.Call):
        func = value.func
        if _called_name(func) in _VIEW_OF_ANY_ARGUMENT:
            return any(shares(a) for a in value.args)
        if isinstance(func, gast.Attribute) and _view_call(value):
            return shares(func.value) or bool(value.args) and shares(value.args[0])
        if isinstance(func, gast.Name) and _view_call(value):
            return bool(value.args) and shares(value.args[0])
        if returns_view is not None and returns_view(func):
            return any(shares(a) for a in value.args) or any(
                shares(k.value) for k in value.keywords)
        return False
    if isinstance(value, gast.IfExp):
        return shares(value.body) or shares(value.orelse)
    if isinstance(value, (gast.Tuple, gast.List)):
        return any(shares(e) for e in value.elts)
    if isinstance(value, gast.Starred):
        return shares(value.value)
    return False


class _ReturnsView:
    """Whether a called function may return (a view of) an array it is given: your own
    functions, lambdas and methods of your objects may (``def first(a): return a[0]``); NumPy
    and math functions, array methods and most builtins return new values."""

    _PASSING = {"max", "min", "sorted", "list", "tuple", "iter", "next", "reversed", "zip",
                "enumerate", "dict", "getattr", "map", "filter"}

    def __init__(self, src):
        fn = src.fn
        self.local = _assigned(src.node.body if isinstance(src.node.body, list) else []) | {
            a.id for a in _params(src.node)}
        self.values = dict(vars(builtins))
        self.values.update(fn.__globals__)
        for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or ()):
            try:
                self.values[name] = cell.cell_contents
            except ValueError:  # an empty cell
                pass

    def __call__(self, func):
        if isinstance(func, gast.Name):
            if func.id in self.local:
                return True   # a function the code made or was given
            value = self.values.get(func.id)
            if getattr(value, "__module__", None) == "builtins":
                return func.id in self._PASSING
            return not _library(value)
        if isinstance(func, gast.Attribute):
            receiver = func.value
            if isinstance(receiver, gast.Name) and receiver.id in self.local:
                return False  # an array's method: a new array (its views are _VIEW_CALLS)
            if isinstance(receiver, gast.Name) and isinstance(
                    self.values.get(receiver.id), types.ModuleType):
                return not _library(getattr(self.values[receiver.id], func.attr, None))
            return isinstance(receiver, gast.Name)  # a method of one of your objects
        return True   # a lambda, a call's result, ...


def _ufunc_called(src, func):
    """The NumPy ufunc a call calls (``np.add``, ``add`` imported from numpy), or None."""
    value = None
    if isinstance(func, gast.Name):
        value = src.fn.__globals__.get(func.id)
    elif isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name):
        module = src.fn.__globals__.get(func.value.id)
        if isinstance(module, types.ModuleType):
            value = getattr(module, func.attr, None)
    return value if isinstance(value, np.ufunc) else None


def _library(value):
    """A function of NumPy (or of a module of Python's) that returns a new value."""
    if isinstance(value, np.ufunc):
        return True
    module = getattr(value, "__module__", None) or ""
    return module.split(".")[0] in ("numpy", "math", "cmath", "builtins", "operator",
                                    "pullback")


def _enclosing_loops(body, target):
    """The ``for`` statements ``target`` is nested in."""
    for stmt in body:
        if stmt is target:
            return []
        for field in ("body", "orelse"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list):
                found = _enclosing_loops(inner, target)
                if found is not None:
                    return ([stmt] if isinstance(stmt, gast.For) and field == "body" else []) + found
    return None


def _check_statement(src, stmt, local, views, containers):
    name = src.fn.__qualname__
    targets = []
    if isinstance(stmt, gast.Assign):
        targets = stmt.targets
    elif isinstance(stmt, (gast.AugAssign, gast.AnnAssign)):
        targets = [stmt.target]
    for target in targets:
        held = _subscripted_name(target)
        if held is not None and held in containers:
            raise src.error(stmt, f"pb.grad cannot follow this write into {held!r} (in {name}): "
                                  f"{held} is a list, dict or set (made on line "
                                  f"{containers[held].lineno}), and what a container holds is "
                                  f"not tracked; build an array (np.zeros, then x[i] = v, or "
                                  f"np.stack), or use mode='tape'")
        base = _written_name(target, isinstance(stmt, gast.AugAssign))
        if base is not None and base in views:
            raise src.error(stmt, f"pb.grad cannot follow this write into {base!r} (in {name}): "
                                  f"{base} may be a view of another array (it was made on line "
                                  f"{views[base].lineno}), and the write would change that "
                                  f"array too; write into a .copy(), or use mode='tape'")
    for call in _calls(stmt):
        ufunc = _ufunc_called(src, call.func)
        for kw in call.keywords:
            if kw.arg == "out":  # out=None too: the rules take no out argument
                raise src.error(call, f"pb.grad cannot follow a write through out= (in {name}): "
                                      f"the generated code reads arrays after the call as they "
                                      f"were before it; assign the result to a name instead "
                                      f"(y = np.exp(v)), or use mode='tape'")
        if ufunc is not None and len(call.args) > ufunc.nin:  # np.add(y, 1.0, y)
            raise src.error(call, f"pb.grad cannot follow a write through {ufunc.__name__}'s "
                                  f"output argument (in {name}): the generated code reads arrays "
                                  f"after the call as they were before it; assign the result "
                                  f"to a name instead, or use mode='tape'")
        func = call.func
        if not isinstance(func, gast.Attribute):
            continue
        receiver = func.value
        if isinstance(receiver, gast.Name) and receiver.id in local:
            if func.attr in _WRITING_METHODS:
                instead = _INSTEAD.get(func.attr, f"np.{func.attr}(...), which returns a new "
                                                  f"array,")
                raise src.error(call, f"pb.grad cannot follow {receiver.id}.{func.attr}(...), "
                                      f"which writes into {receiver.id} (in {name}); write "
                                      f"{instead.format(receiver.id)} instead, or use "
                                      f"mode='tape'")
            continue
        if func.attr in _WRITING_FUNCTIONS or (func.attr in _UFUNC_WRITERS and isinstance(
                receiver, gast.Attribute)):
            raise src.error(call, f"pb.grad cannot follow {_dotted(func)}(...), which writes "
                                  f"into an array it is given (in {name}); write x[i] = v "
                                  f"instead, or use mode='tape'")


def _record_views(stmt, views, returns_view, elements=frozenset()):
    if isinstance(stmt, gast.For) and not _is_range(stmt.iter):
        names = _names(stmt.target)
        for n in names:
            views.setdefault(n, stmt)
    if isinstance(stmt, (gast.Assign, gast.AnnAssign)) and stmt.value is not None:
        targets = stmt.targets if isinstance(stmt, gast.Assign) else [stmt.target]
        if id(stmt.value) not in elements and _may_be_view(stmt.value, returns_view):
            bound = [n for target in targets for n in bound_names(target)]
            for n in bound:  # x[0] = x[1] copies a value: binds nothing
                views.setdefault(n, stmt)


def _record_containers(stmt, containers):
    if isinstance(stmt, (gast.Assign, gast.AnnAssign)) and stmt.value is not None:
        targets = stmt.targets if isinstance(stmt, gast.Assign) else [stmt.target]
        if _is_container(stmt.value):
            for target in targets:
                if isinstance(target, gast.Name):
                    containers.setdefault(target.id, stmt)


def _is_container(value):
    if isinstance(value, (gast.List, gast.Dict, gast.Set)):
        return True
    if isinstance(value, gast.BinOp) and isinstance(value.op, gast.Mult):  # [0.0] * n
        return _is_container(value.left) or _is_container(value.right)
    return isinstance(value, gast.Call) and isinstance(value.func, gast.Name) and \
        value.func.id in ("list", "dict", "set")


def _subscripted_name(target):
    """``d`` for ``d[k] = ...`` (and ``d[k][j] = ...``)."""
    if not isinstance(target, gast.Subscript):
        return None
    while isinstance(target, gast.Subscript):
        target = target.value
    return target.id if isinstance(target, gast.Name) else None


def _view_call(call):
    """Whether ``call`` may return a view of its array: a _VIEW_CALLS function, or np.diff
    with an order that may be 0 (``np.diff(a, 0)`` returns ``a`` itself)."""
    func = call.func
    name = func.attr if isinstance(func, gast.Attribute) else getattr(func, "id", None)
    if name in _VIEW_CALLS:
        return True
    if name != "diff":
        return False
    order = call.args[1] if len(call.args) > 1 else next(
        (k.value for k in call.keywords if k.arg == "n"), None)
    return order is not None and not (isinstance(order, gast.Constant) and order.value != 0)


def _may_be_view(value, returns_view=None):
    """Whether ``value`` may be a view of an array a name holds (a view of a temporary, as in
    ``np.tanh(a).T``, is the only name for its data); ``returns_view`` tells which other calls
    may return a view of an argument (``first_row(m)``)."""
    if isinstance(value, gast.Subscript):
        return _named(value.value)
    if isinstance(value, gast.Attribute):
        return value.attr in _VIEW_ATTRIBUTES and _named(value.value)
    if isinstance(value, gast.Call):
        func = value.func
        if _called_name(func) in _VIEW_OF_ANY_ARGUMENT:   # np.einsum('ij->ij', a) views a
            return any(_named(a) for a in value.args)
        if isinstance(func, gast.Attribute) and _view_call(value):
            # x.reshape(...) views x; np.reshape(x, ...) views its first argument
            return _named(func.value) or bool(value.args) and _named(value.args[0])
        if isinstance(func, gast.Name) and _view_call(value):
            return bool(value.args) and _named(value.args[0])
        if returns_view is not None and returns_view(func):
            return any(_named(a) for a in value.args) or any(
                _named(k.value) for k in value.keywords)
        return False
    if isinstance(value, gast.IfExp):
        return _may_be_view(value.body, returns_view) or _may_be_view(value.orelse,
                                                                      returns_view)
    return False


def _called_name(func):
    """``einsum`` for ``np.einsum`` and ``einsum``."""
    if isinstance(func, gast.Attribute):
        return func.attr
    return func.id if isinstance(func, gast.Name) else None


def _named(node):
    """Whether ``node`` reads an array through a name: ``x``, ``x[1:]``, ``x.T``, ..."""
    while isinstance(node, (gast.Subscript, gast.Attribute)) or (
            isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute)
            and node.func.attr in _VIEW_CALLS):
        node = node.func.value if isinstance(node, gast.Call) else node.value
    return isinstance(node, gast.Name)


def _written_name(target, augmented):
    """The name whose array a target writes into: ``u`` for ``u[i] = ...`` (and ``u += ...``,
    which writes into an array in place)."""
    while isinstance(target, gast.Subscript):
        target = target.value
        augmented = True
    if augmented and isinstance(target, gast.Name):
        return target.id
    return None


def _is_range(node):
    return isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and \
        node.func.id == "range"


def _statements(body):
    """Every statement, nested ones (in blocks and nested functions) included."""
    for stmt in body:
        yield stmt
        for field in ("body", "orelse"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list):
                yield from _statements(inner)


def _calls(stmt):
    """The calls in a statement's own expressions (not in the blocks nested in it)."""
    parts = []
    for field, value in gast.iter_fields(stmt):
        if field in ("body", "orelse"):
            continue
        parts.extend(value if isinstance(value, list) else [value])
    for part in parts:
        if isinstance(part, gast.AST):
            for node in walk(part):
                if isinstance(node, gast.Call):
                    yield node


def _assigned(body):
    names = set()
    for stmt in _statements(body):
        for node in walk(stmt):
            if isinstance(node, gast.Name) and isinstance(node.ctx, (gast.Store, gast.Param)):
                names.add(node.id)
    return names


def _params(node):
    args = node.args
    return [a for a in args.posonlyargs + args.args + args.kwonlyargs if isinstance(a, gast.Name)]


def _names(target):
    return [n.id for n in walk(target) if isinstance(n, gast.Name)]



def _dotted(node):
    if isinstance(node, gast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    if isinstance(node, gast.Name):
        return node.id
    return "..."
