"""Containers used whole: a differentiated list, tuple or dict argument read as one value.

A pytree argument is followed leaf by leaf: indexed with constant keys, unpacked, walked by a
loop, or passed whole to a helper generated for its structure.  NumPy code also uses a list
whole, as an array: ``np.stack(ws)``, ``np.sum(ws, axis=0)``, ``np.sin(x)`` of a list of
floats, ``X @ w``.  NumPy converts it; the engine makes that conversion an operation of its
own, ``ws_array = np.stack([ws_k0, ws_k1])`` (what ``np.asarray(ws)`` makes), differentiated
with np.stack's rule, so each leaf gets its slice of the adjoint.  A join
(``np.concatenate(ws)``) gets the leaves themselves, as if written
``np.concatenate([ws[0], ws[1]])``.

Any other use of a whole container (a dict as an array, ``-ws``, ``ws.copy()``, a copy in a
branch or a loop, a write of it into an array) is refused by ``refuse_whole_uses``, which
checks every operation of the normalized function: a gradient reaching the container itself
would have no leaf to go to, and would be dropped.
"""

import types

import gast
import numpy as np

from .._registry import lookup
from ._clone import clone
from ._ir import Branch, Loop, Op

__all__ = ["WholeMixin", "refuse_whole_uses"]

# NumPy functions whose first argument is a sequence of arrays, joined
_JOINS = frozenset(getattr(f, "_pullback_fun", f) for f in (
    np.concatenate, np.stack, np.hstack, np.vstack, np.dstack, np.column_stack))
# NumPy functions that always return an array
_ARRAY_MAKERS = frozenset((np.array, np.asarray, np.zeros, np.ones, np.full, np.empty,
                           np.zeros_like, np.ones_like, np.full_like, np.arange, np.linspace,
                           np.eye))


def _name(id_):
    return gast.Name(id=id_, ctx=gast.Load(), annotation=None, type_comment=None)


def carries_gradient(prim, argnum):
    """Whether the backward pass sends a gradient to argument ``argnum`` of ``prim`` (as
    ``Reverse._backward_prim`` decides)."""
    return prim.differentiable and (prim.partials is not None or
                                    prim.vjp_maker(argnum) is not None)


class WholeMixin:
    """Conversions of whole containers to arrays, for the normalizer."""

    def is_whole(self, atom):
        """Whether ``atom`` is a differentiated container (a name) read whole."""
        return isinstance(atom, gast.Name) and self._is_container(atom.id)

    def shown(self, atom):
        return _shown(self.fn_ir, atom.id)

    def numpy_call(self, func):
        """Whether ``func`` (a call's function) is NumPy's, which converts a list argument to
        an array (``abs(ws)``, ``math.sin(x)`` and a user's primitive do not)."""
        fun = self.scope.static_value(func)
        return isinstance(fun, np.ufunc) or (
            getattr(fun, "__module__", None) or "").split(".")[0] == "numpy"

    def whole_args(self, prim, args, node, numpy):
        """The arguments of a call of ``prim`` with each container read whole converted (a
        join's sequence gets the leaves themselves) when the call is ``numpy``'s; else as
        they are (and refused by ``refuse_whole_uses`` if they carry a gradient)."""
        out = []
        for i, arg in enumerate(args):
            if not numpy or not carries_gradient(prim, i):
                out.append(arg)
            elif i == 0 and prim.fun in _JOINS and self.is_whole(arg):
                out.append(gast.List(elts=self._whole_items(arg, node), ctx=gast.Load()))
            elif isinstance(arg, (gast.List, gast.Tuple)):
                out.append(type(arg)(elts=[self.whole_array(e, node) for e in arg.elts],
                                     ctx=gast.Load()))
            else:
                out.append(self.whole_array(arg, node))
        return out

    def whole_operands(self, node, left, right):
        """The rule's operands of ``left OP right`` when one is a container.  The forward pass
        computes the operation as written, so Python decides what it means: with an array on
        the other side NumPy converts the list (the rule then reads it as an array); with a
        float it raises the TypeError it raises.  With anything else (an int repeats the
        list, a list concatenates) the engine cannot tell, and refuses."""
        sides = [left, right]
        whole = [self.is_whole(a) for a in sides]
        if not any(whole):
            return sides
        for i in (0, 1):
            if whole[i] and not self._converts_list(sides[1 - i]):
                op = gast.unparse(gast.BinOp(left=_name("a"), op=node.op, right=_name("b")))
                op = op.strip().split()[1]
                shown = self.shown(sides[i])
                raise self.src.error(node, (
                    f"pb.grad cannot tell what `{op}` does with {shown}, a differentiated "
                    f"{_kind_name(self.fn_ir.containers[sides[i].id])} argument, here (in "
                    f"{self.src.fn.__qualname__}): NumPy converts it to an array only when "
                    f"the other operand is an array (an int repeats a list, a list "
                    f"concatenates); convert it first, np.asarray({shown}), or use "
                    f"mode='tape'"))
        return [self.whole_array(a, node) if w else a for a, w in zip(sides, whole)]

    def _converts_list(self, atom):
        """Whether ``other OP list`` is NumPy's arithmetic or a TypeError, whatever ``other``
        holds: a differentiated number or array, or an array that is not differentiated (an
        argument, a module's, an item or slice of one, a NumPy ufunc's or maker's result)."""
        if isinstance(atom, gast.Name):
            if self.is_whole(atom):
                return False
            if atom.id in self.activity.active:
                return atom.id not in self.sequence_values and atom.id not in self.tuple_values
            if atom.id in self.kinds:
                return self.kinds[atom.id] == "array"
            return isinstance(self.scope.static_value(atom), np.ndarray)
        if isinstance(atom, gast.Subscript) or (isinstance(atom, gast.Attribute) and
                                                atom.attr == "T"):
            return self._converts_list(atom.value)
        if isinstance(atom, gast.BinOp):
            return self._converts_list(atom.left) or self._converts_list(atom.right)
        if isinstance(atom, gast.Call):
            fun = self.scope.static_value(atom.func)
            return isinstance(fun, np.ufunc) or fun in _ARRAY_MAKERS
        return False

    def whole_array(self, atom, node, fresh=False):
        """``atom``, or, for a container read whole, the array NumPy makes of it: its items
        stacked.  Made once in the function's top-level code (``fresh``: a new array, which
        ``np.array(ws)`` gives the user to write into)."""
        if not self.is_whole(atom):
            return atom
        structure = self.fn_ir.containers[atom.id]
        if isinstance(structure, dict):
            raise self.src.error(node, (
                f"pb.grad cannot use {self.shown(atom)}, a differentiated dict argument, as "
                f"an array (in {self.src.fn.__qualname__}); read its entries "
                f"({self.shown(atom)}[key]), or use mode='tape'"))
        top = self.out is self.fn_ir.body and not fresh
        if top and atom.id in self.whole_arrays:
            return _name(self.whole_arrays[atom.id])
        items = gast.List(elts=self._whole_items(atom, node), ctx=gast.Load())
        numpy = _name(self.program.imports.numpy())
        # np.stack([ws[0], ws[1]]) is np.asarray(ws); of no items, it raises
        expr = gast.Call(func=gast.Attribute(value=numpy, attr="stack" if items.elts else
                                             "asarray", ctx=gast.Load()),
                         args=[clone(items) if items.elts else clone(atom)], keywords=[])
        target = self.namer.fresh(f"{atom.id}_array")
        self.out.append(Op("prim", target, expr, self.line, prim=lookup(np.stack),
                           args=[items]))
        self.activity.active.add(target)
        if top:
            self.whole_arrays[atom.id] = target
        return _name(target)

    def _whole_items(self, atom, node):
        """The items of list or tuple ``atom``: its leaves, and arrays of its containers."""
        structure = self.fn_ir.containers[atom.id]
        return [self.whole_array(self.container_item(atom, gast.Constant(value=k, kind=None),
                                                     node, None), node)
                for k in range(len(structure))]

    def refuse_whole(self, atom, node):
        """Refuse an operation on a container read whole that NumPy would not convert
        (``-ws``, ``ws.T``, ``ws.copy()``): Python's list or dict semantics apply."""
        if self.is_whole(atom):
            raise self.src.error(node, (
                f"pb.grad cannot differentiate this use of {self.shown(atom)}, a "
                f"differentiated {_kind_name(self.fn_ir.containers[atom.id])} argument, "
                f"as one value (in {self.src.fn.__qualname__}); make it an array first, "
                f"np.asarray({self.shown(atom)}), read its items, or use mode='tape'"))


def _kind_name(structure):
    return "dict" if isinstance(structure, dict) else type(structure).__name__


def refuse_whole_uses(fn_ir, src, helper, result_line):
    """Raise a TransformError at the first operation that reads a differentiated container
    whole where its gradient would be dropped: anything but reading its items, passing it to
    a helper generated for its structure, or an argument its operation sends no gradient.
    A helper may not return one either, at ``result_line`` (the function differentiated
    returning one is told to return a scalar when it runs)."""
    for op in _ops(fn_ir.body):
        if op.kind == "leaf" or not op.active:
            continue
        for i, arg in enumerate(op.args):
            if op.kind == "call" and op.helper[2][i] is not None:
                continue   # passed whole to a helper: its gradient comes back per leaf
            if op.kind == "prim" and not carries_gradient(op.prim, i):
                continue
            held = [n for n in _receivers(arg) if n in fn_ir.containers]
            if held:
                raise _refusal(fn_ir, src, held[0], op.line)
    if not helper:
        return
    result = fn_ir.result
    results = result.elts if isinstance(result, gast.Tuple) else [result]
    for atom in results:
        if isinstance(atom, gast.Name) and atom.id in fn_ir.containers:
            raise _refusal(fn_ir, src, atom.id, result_line)


def _shown(fn_ir, name):
    """A container's name as the user wrote it: ``p['w']`` for a leaf of ``p``."""
    base, path = fn_ir.leaves.get(name, (name, ()))
    return base + "".join(f"[{k!r}]" for k in path)


def _refusal(fn_ir, src, name, line):
    shown = _shown(fn_ir, name)
    where = types.SimpleNamespace(lineno=line, col_offset=0)
    return src.error(where, (
        f"pb.grad cannot follow {shown}, a differentiated "
        f"{_kind_name(fn_ir.containers[name])} argument, used whole here (in "
        f"{src.fn.__qualname__}): its gradient would not reach its items. Read its items "
        f"(w = {shown}[0], for w in {shown}), make an array of it (np.asarray({shown})), "
        f"or use mode='tape'"))


def _receivers(atom):
    """The names an argument's gradient goes to: a name, or the names a list of them holds
    (a name inside an expression, ``len(ws)``, is a constant's)."""
    if isinstance(atom, gast.Name):
        return [atom.id]
    if isinstance(atom, (gast.List, gast.Tuple)):
        return [n for e in atom.elts for n in _receivers(e)]
    return []


def _ops(body):
    for node in body:
        if isinstance(node, Op):
            yield node
        elif isinstance(node, Branch):
            yield from _ops(node.body)
            yield from _ops(node.orelse)
        elif isinstance(node, Loop):
            yield from _ops(node.body)
