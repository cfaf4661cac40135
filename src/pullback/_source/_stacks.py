"""Stacks: the ``saved_<name>`` lists a generated loop pushes values on and the backward loop
pops them from, seen from the specialize pass (what a read pops, what a loop pushes, and the
stacks nothing reads any more)."""

import gast

from ._clone import name_nodes, statements

__all__ = ["stack_read", "stack_push", "is_shape_of", "record", "drop_unread_stacks"]


def stack_read(node):
    """The stack a value comes from: ``S.pop()`` or ``S[-1]``; else None."""
    if isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) and \
            node.func.attr == "pop" and not node.args and isinstance(node.func.value, gast.Name):
        return node.func.value.id
    if isinstance(node, gast.Subscript) and isinstance(node.value, gast.Name) and (
            isinstance(node.slice, gast.UnaryOp) and isinstance(node.slice.op, gast.USub)
            and isinstance(node.slice.operand, gast.Constant) and node.slice.operand.value == 1):
        return node.value.id
    return None


def stack_push(stmt):
    """(stack, pushed expression) of ``S.append(e)``; else None."""
    if isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Call) and isinstance(
            stmt.value.func, gast.Attribute) and stmt.value.func.attr == "append" and \
            isinstance(stmt.value.func.value, gast.Name) and len(stmt.value.args) == 1:
        return stmt.value.func.value.id, stmt.value.args[0]
    return None


def record(table, key, found):
    shape, dtype = found[0], found[1]
    if key in table and table[key] != (shape, dtype):
        table[key] = None  # pushed with different facts: unknown
    elif key not in table:
        table[key] = (shape, dtype) if shape is not None else None


def is_shape_of(node, numpy_names):
    return isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) and \
        node.func.attr == "shape" and isinstance(node.func.value, gast.Name) and \
        node.func.value.id in numpy_names and len(node.args) == 1 and not node.keywords


def drop_unread_stacks(body):
    """Remove a saved stack that nothing reads any more: its ``S = []``, ``S.append(...)``
    and ``S.pop()`` statements (a value saved for a rewrite that no longer needs it)."""
    module = gast.Module(body=body, type_ignores=[])
    uses, harmless = {}, {}
    for node in statements(module):
        for field in ("body", "orelse"):
            block = getattr(node, field, None)
            for stmt in block if isinstance(block, list) else []:
                name = _stack_statement(stmt)
                if name is not None:
                    harmless[name] = harmless.get(name, 0) + 1
    if not harmless:
        return  # no stack (no loop): nothing to count
    for node in name_nodes(module):
        uses[node.id] = uses.get(node.id, 0) + 1
    dead = {name for name, n in harmless.items() if uses.get(name) == n}
    if not dead:
        return

    def prune(block):
        kept = []
        for stmt in block:
            if _stack_statement(stmt) in dead:
                continue
            for field in ("body", "orelse"):
                inner = getattr(stmt, field, None)
                if isinstance(inner, list) and inner:
                    prune(inner)
                    if not inner:
                        inner.append(gast.Pass())
            kept.append(stmt)
        block[:] = kept
    prune(body)


def _stack_statement(stmt):
    """The stack ``S`` of ``S = []``, ``S.append(e)`` or ``S.pop()`` as a statement."""
    if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(
            stmt.targets[0], gast.Name) and isinstance(stmt.value, gast.List) and \
            not stmt.value.elts:
        return stmt.targets[0].id
    if isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Call) and isinstance(
            stmt.value.func, gast.Attribute) and isinstance(stmt.value.func.value, gast.Name):
        call = stmt.value
        if call.func.attr == "pop" and not call.args or call.func.attr == "append":
            return call.func.value.id
    return None
