"""Which names are live after each statement of a function: read later before being rebound.

A plain backward dataflow over the user's (gast) statements, loops to a fixed point, with
``break`` and ``continue`` going where Python sends them.  It errs toward *live*: a ``try``
block and anything it cannot follow kill nothing, and the names a nested function or lambda
reads are live everywhere.

Example:
    >>> import gast
    >>> fn = gast.parse('''
    ... def f(X):
    ...     for t in range(3):
    ...         h = X[t]
    ...         X[t + 1] = h * 2
    ...     return X
    ... ''').body[0]
    >>> after = live_after(fn.body)
    >>> write = fn.body[0].body[1]
    >>> sorted(after[id(write)])   # h is rebound before it is read again
    ['X']
"""

import gast

from ._clone import walk

__all__ = ["live_after"]


def live_after(body):
    """``{id(stmt): frozenset of names live just after stmt}`` for every statement of ``body``
    and the blocks nested in it (not the bodies of nested functions)."""
    live = _Live(_read_in_nested_functions(body))
    live.block(body, frozenset(), None)
    return live.after


class _Live:
    def __init__(self, always):
        self.always = frozenset(always)
        self.after = {}

    def block(self, stmts, out, loop):
        live = out
        for stmt in reversed(stmts):
            self.after[id(stmt)] = live | self.after.get(id(stmt), frozenset())
            live = self.stmt(stmt, live, loop) | self.always
        return live

    def stmt(self, stmt, out, loop):
        if isinstance(stmt, gast.If):
            return _reads(stmt.test) | self.block(stmt.body, out, loop) | \
                self.block(stmt.orelse, out, loop)
        if isinstance(stmt, (gast.For, gast.While)):
            return self.loop(stmt, out, loop)
        if isinstance(stmt, gast.Break):
            return loop[0]
        if isinstance(stmt, gast.Continue):
            return loop[1]
        if isinstance(stmt, (gast.Return, gast.Raise)):
            return _own_reads(stmt)
        if isinstance(stmt, gast.With):
            return _own_reads(stmt) | self.block(stmt.body, out, loop)
        if isinstance(stmt, (gast.Assign, gast.AnnAssign, gast.AugAssign, gast.Expr,
                             gast.Pass, gast.Global, gast.Nonlocal, gast.Assert, gast.Delete)):
            return (out - _kills(stmt)) | _own_reads(stmt)
        # try, match, nested definitions, ...: everything read in it, nothing killed
        return out | _reads(stmt)

    def loop(self, stmt, out, outer):
        exit_ = self.block(stmt.orelse, out, outer)  # a break in `else:` leaves the outer loop
        head = exit_
        while True:
            body_out = head
            body_in = self.block(stmt.body, body_out, (out, head))
            if isinstance(stmt, gast.For):
                new = exit_ | (body_in - _names_stored(stmt.target))
            else:
                new = exit_ | body_in | _reads(stmt.test)
            if new == head:  # the iterable is evaluated once, before the first step
                return head | _reads(stmt.iter) if isinstance(stmt, gast.For) else head
            head = new


def _own_reads(stmt):
    names = set()
    for field, value in gast.iter_fields(stmt):
        if field in ("body", "orelse", "handlers", "finalbody"):
            continue
        for part in value if isinstance(value, list) else [value]:
            if isinstance(part, gast.AST):
                names |= _reads(part)
    if isinstance(stmt, gast.AugAssign) and isinstance(stmt.target, gast.Name):
        names.add(stmt.target.id)
    return frozenset(names)


def _reads(node):
    return frozenset(n.id for n in walk(node)
                     if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load))


def _kills(stmt):
    if isinstance(stmt, gast.Assign):
        return frozenset().union(*(_names_stored(t) for t in stmt.targets))
    if isinstance(stmt, gast.AnnAssign) and stmt.value is not None:
        return _names_stored(stmt.target)
    return frozenset()


def _names_stored(target):
    """Names a target rebinds (``a`` and ``b`` in ``a, b = ...``; none in ``a[i] = ...``)."""
    if isinstance(target, gast.Name):
        return frozenset([target.id])
    if isinstance(target, (gast.Tuple, gast.List)):
        return frozenset().union(*(_names_stored(e) for e in target.elts))
    if isinstance(target, gast.Starred):
        return _names_stored(target.value)
    return frozenset()


def _read_in_nested_functions(body):
    names = set()
    for stmt in body:
        for node in walk(stmt):
            if isinstance(node, (gast.FunctionDef, gast.AsyncFunctionDef, gast.Lambda)):
                names |= _reads(node)
    return names
