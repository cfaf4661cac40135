"""Which names may hold the same object: what a write through one name changes for the others.

The engine follows values by name.  NumPy follows objects: after ``b = a``, ``a += v`` and
``a[i] = v`` change ``b`` too.  ``paired_names`` joins names that an assignment ever makes
share an object (``b = a``, ``pair = (a, x)``, ``a, b = b, a``), over the whole function --
a loop gives each variable a name of its own, and a pairing late in its body holds in the next
iteration, so the order of statements cannot be trusted.  ``numbers_only`` tells the groups
that only ever hold numbers, which are immutable, so sharing them is harmless.

Example:
    >>> import gast
    >>> fn = gast.parse("def f(x, s):\\n    b = x\\n    t = s\\n    t += 1.0\\n    b += x\\n").body[0]
    >>> sorted(paired_names(fn)["b"])
    ['b', 'x']
    >>> numbers_only({"t", "s"}, fn, {"x": "array", "s": "scalar"})
    True
    >>> numbers_only({"b", "x"}, fn, {"x": "array", "s": "scalar"})
    False
"""

import math

import gast
import numpy

from ._clone import name_nodes, walk

__all__ = ["paired_names", "numbers_only", "bound_names"]


def paired_names(node):
    """name -> the names that may hold the same object as it somewhere in the function: joined
    by ``a = b`` and by tuple or list displays (``pair = (a, x)``, ``a, b = b, a``)."""
    cached = getattr(node, "_pullback_pairs", None)
    if cached is not None:
        return cached
    parent = {}

    def find(n):
        parent.setdefault(n, n)
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for stmt in walk(node):
        if not isinstance(stmt, gast.Assign):
            continue
        value = stmt.value
        held = [value.id] if isinstance(value, gast.Name) else [
            e.id for e in getattr(value, "elts", []) if isinstance(e, gast.Name)] if isinstance(
            value, (gast.Tuple, gast.List)) else []
        if not held:
            continue
        targets = [n for t in stmt.targets for n in bound_names(t)]
        for a in held[1:] + targets:
            parent[find(a)] = find(held[0])
    groups = {}
    for n in parent:
        groups.setdefault(find(n), set()).add(n)
    pairs = {n: groups[find(n)] for n in parent}
    node._pullback_pairs = pairs
    return pairs


def numbers_only(group, node, kinds):
    """Whether every value the names of ``group`` are given in the function is a number: built
    from number constants, scalar arguments and the group's own names by arithmetic and calls
    (NumPy's functions of numbers return immutable NumPy scalars)."""
    scalars = {p for p, kind in kinds.items() if kind == "scalar"}
    known = group | scalars
    if any(p in group for p in kinds if p not in scalars):
        return False

    def number(expr):
        if isinstance(expr, gast.Constant):
            return isinstance(expr.value, (int, float)) and not isinstance(expr.value, bool)
        if isinstance(expr, gast.Name):
            return expr.id in known
        if isinstance(expr, gast.BinOp):
            return number(expr.left) and number(expr.right)
        if isinstance(expr, gast.UnaryOp):
            return number(expr.operand)
        if isinstance(expr, gast.Call):
            return _number_function(expr.func) and bool(expr.args) and not expr.keywords \
                and all(number(a) for a in expr.args)
        return False

    for stmt in walk(node):
        if isinstance(stmt, gast.Assign):
            targets = [n.id for t in stmt.targets for n in name_nodes(t)]
        elif isinstance(stmt, (gast.AugAssign, gast.AnnAssign)):
            targets = [n.id for n in name_nodes(stmt.target)]
        elif isinstance(stmt, gast.For):
            if any(n.id in group for n in name_nodes(stmt.target)) and not (
                    isinstance(stmt.target, gast.Name) and _over_range(stmt.iter)):
                return False  # a loop variable: whatever the iterable holds
            continue
        else:
            continue
        if any(t in group for t in targets) and not (
                stmt.value is not None and number(stmt.value)):
            return False
    return True


def _over_range(iterable):
    """``range(...)`` or ``reversed(range(...))``: a loop over ints."""
    if isinstance(iterable, gast.Call) and isinstance(iterable.func, gast.Name):
        if iterable.func.id == "range":
            return True
        if iterable.func.id == "reversed" and len(iterable.args) == 1:
            return _over_range(iterable.args[0])
    return False


def _number_function(func):
    """``math.f``, ``np.<ufunc>`` and the number builtins: numbers in, a number out."""
    if isinstance(func, gast.Name):
        return func.id in ("float", "abs", "min", "max", "pow", "round")
    if isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name):
        if func.value.id == "math":
            return callable(getattr(math, func.attr, None))
        if func.value.id in ("np", "numpy"):
            return isinstance(getattr(numpy, func.attr, None), numpy.ufunc)
    return False


def bound_names(target):
    """The names an assignment target binds (``a``, ``a, b``), not those of ``x[i] = ...``,
    which copies the value into x."""
    if isinstance(target, gast.Name):
        return [target.id]
    if isinstance(target, (gast.Tuple, gast.List)):
        return [n for e in target.elts for n in bound_names(e)]
    return []
