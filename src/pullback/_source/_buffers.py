"""Buffers: which arrays each name of a generated function may hold, statement by statement.

The in-place rewrite of ``_specialize`` may write a result into an operand's buffer only when no
other live name -- and no list, closure or user function -- can still read that buffer.  This
module follows the top-level statements in order and answers both questions conservatively.
"""

import numpy as np

import gast

from ._clone import name_nodes, nodes
from ._shapes import Facts

__all__ = ["Buffers", "fresh_expression"]


def _names(node):
    return {n.id for n in name_nodes(node)}


class Buffers:
    """Which arrays each name may hold, statement by statement, and which arrays have escaped.

    A fresh result is a new buffer; ``a = b`` makes ``a`` hold what ``b`` holds; any other value
    (a view, a rule's result, an unknown call) may be any buffer its expression mentions, or a
    new one.  Inside a loop or branch everything a stored name may hold is joined with
    everything the block mentions: a loop body runs again, so order there means nothing.  A
    buffer escapes, for good, when it is handed to code that may keep it (a list's append, a
    user function, a generated helper)."""

    def __init__(self, imports, numpy_names):
        self.imports = imports
        self.facts = Facts({}, numpy_names)
        self.holds = {}      # name -> set of buffer ids
        self.escaped = set()
        self._count = 0

    def _new(self):
        self._count += 1
        return {self._count}

    def sharing(self, name):
        """The names that may hold a buffer ``name`` may hold."""
        mine = self.holds.get(name, set())
        return {n for n, held in self.holds.items() if held & mine}

    def free(self, name):
        """Whether ``name``'s buffers are known and have not escaped."""
        mine = self.holds.get(name)
        return bool(mine) and not mine & self.escaped

    def _pure(self, call):
        if self.facts.numpy_function(call) is not None:
            return True
        func = call.func
        if isinstance(func, gast.Name) and self.imports.is_library(func.id):
            return True
        if isinstance(func, gast.Call):  # a rule's maker called with the cotangent
            return self._pure(func)
        return False

    def _of(self, names):
        out = set()
        for n in names:
            out |= self.holds.get(n, set())
        return out

    def step(self, stmt):
        for node in nodes(stmt):
            if isinstance(node, gast.Call) and not self._pure(node):
                handed = set()
                for arg in list(node.args) + [k.value for k in node.keywords]:
                    handed |= _names(arg)
                if isinstance(node.func, gast.Attribute):
                    handed |= _names(node.func.value)
                self.escaped |= self._of(handed)
        if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(
                stmt.targets[0], gast.Name):
            target, value = stmt.targets[0].id, stmt.value
            if isinstance(value, gast.Name):
                self.holds[target] = set(self.holds.get(value.id, set()))
            elif isinstance(value, gast.Call) and any(k.arg == "out" for k in value.keywords):
                out = next(k.value for k in value.keywords if k.arg == "out")
                self.holds[target] = self._of(_names(out)) or self._new()
            elif fresh_expression(value, self.facts):
                self.holds[target] = self._new()
            else:
                self.holds[target] = self._of(_names(value)) | self._new()
            return
        if isinstance(stmt, gast.AugAssign):
            return  # in place: the same buffer
        found = name_nodes(stmt)
        stored = {n.id for n in found if isinstance(n.ctx, gast.Store)}
        if stored:
            mentioned = {n.id for n in found}
            joined = self._of(mentioned) | self._new()
            for name in mentioned:
                if name in stored or self.holds.get(name, set()) & joined:
                    self.holds[name] = set(joined)
            for name in stored:
                self.holds[name] = set(joined)


def fresh_expression(value, facts):
    """Arithmetic or a ufunc at the top of the expression: a new array (or a scalar)."""
    if isinstance(value, (gast.BinOp, gast.UnaryOp)):
        return True
    if isinstance(value, gast.Call):
        fn = facts.numpy_function(value)
        if isinstance(fn, np.ufunc):
            return not value.keywords
        return getattr(fn, "__name__", None) in _NEW_ARRAYS
    return isinstance(value, gast.Constant)


# NumPy functions that always return a new array or scalar, never a view of an argument.
_NEW_ARRAYS = {"sum", "mean", "max", "min", "amax", "amin", "prod", "std", "var", "outer",
               "dot", "matmul", "inner", "vdot", "cumsum", "cumprod", "zeros_like", "ones_like",
               "zeros", "ones", "full", "copy"}
