"""Optimize: remove dead code from a generated function.

The reverse pass already assigns a first contribution instead of adding it to zeros, uses an
adjoint under its own name instead of copying it, and drops ``unbroadcast`` where nothing can
broadcast.  What is left to do here is dead code: an assignment whose name nothing reads (an
adjoint reset after its last use, a zero adjoint for a branch that no later statement needs),
repeated until nothing changes.  Statements with effects -- saving and restoring values, calls
into other generated functions -- always stay.
"""

import gast

__all__ = ["remove_dead_code"]

# Calls that only compute a value: removable when their result is unused.
_PURE_HELPERS = {"zeros_like", "unbroadcast", "take", "seed"}


def remove_dead_code(function):
    """Drop unused pure assignments from a gast FunctionDef (and its nested pullback)."""
    while True:
        loaded = {n.id for n in gast.walk(function) if isinstance(n, gast.Name)
                  and isinstance(n.ctx, gast.Load)}
        if not _sweep(function.body, loaded):
            return function


def _sweep(body, loaded):
    changed = False
    kept = []
    for stmt in body:
        for field in ("body", "orelse"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list) and inner and _sweep(inner, loaded):
                changed = True
        if _dead(stmt, loaded):
            changed = True
            continue
        kept.append(stmt)
    if all(_is_comment(s) for s in kept):  # a block of only comments is not a block
        kept.append(gast.Pass())
    body[:] = kept
    return changed


def _is_comment(stmt):
    return isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Constant) and str(
        stmt.value.value).startswith("__pullback_comment_")


def _dead(stmt, loaded):
    if not (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], gast.Name)):
        return False
    if stmt.targets[0].id in loaded:
        return False
    return _pure(stmt.value)


def _pure(node):
    """Only values, arithmetic and the runtime's pure helpers: a user's call may have effects."""
    for n in gast.walk(node):
        if isinstance(n, gast.Call):
            if not (isinstance(n.func, gast.Name) and n.func.id in _PURE_HELPERS):
                return False
        elif isinstance(n, (gast.Lambda, gast.Yield, gast.Await, gast.NamedExpr)):
            return False
    return True
