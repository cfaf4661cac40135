"""Rerun: values a backward loop over a range computes again instead of saving them.

A loop over ``range(...)`` that always runs to its end is walked backward by the generated code
(``for i in reversed(i_range)``), so the loop index is known going backward.  A value that
depends only on the index and on names nothing assigns (a branch condition such as
``i % 3 == 0``) is computed again there, and so is a ``math`` function of values the backward
loop restores anyway (``math.sin(x)`` after ``x = saved_x.pop()``): no stack for either.
"""

import gast

from ._clone import clone, name_nodes, same_tree, walk
from ._optimize import blocks, is_append, stores_of

__all__ = ["recompute_loop_conditions", "rematerialize"]


_PURE_TESTS = (gast.BinOp, gast.Compare, gast.UnaryOp, gast.BoolOp, gast.Constant, gast.Name,
               gast.operator, gast.cmpop, gast.unaryop, gast.boolop, gast.expr_context)


def _name_tables(function):
    """(how many times each name is assigned, every Name node of each name)."""
    stores, by_name = {}, {}
    for n in name_nodes(function):
        by_name.setdefault(n.id, []).append(n)
        if isinstance(n.ctx, (gast.Store, gast.Del)):
            stores[n.id] = stores.get(n.id, 0) + 1
    return stores, by_name


def recompute_loop_conditions(function):
    """A value that depends only on the loop variable of a loop over a range and on names
    nothing assigns -- a branch condition like ``i % 3 == 0``, a constant like ``-k`` -- is
    computed again by the backward loop, which walks the same range backward, instead of being
    saved on a stack each iteration."""
    pairs = _range_loop_pairs(function)
    if not pairs:
        return function
    stores, by_name = _name_tables(function)
    for forward, backward in pairs:
        _recompute(forward, backward, stores, (function, by_name))
    return function


def _recompute(forward, backward, stores, context):
    function, by_name = context
    index = forward.target.id
    inside = None
    for k, stmt in enumerate(list(forward.body)):
        if not (is_append(stmt) and len(stmt.value.args) == 1 and isinstance(
                stmt.value.args[0], gast.Name)):
            continue
        stack, cond = stmt.value.func.value.id, stmt.value.args[0].id
        following = forward.body[forward.body.index(stmt) + 1] if stmt in forward.body and \
            forward.body.index(stmt) + 1 < len(forward.body) else None
        if not (isinstance(following, gast.Assign) and len(following.targets) == 1 and
                isinstance(following.targets[0], gast.Name) and following.targets[0].id == cond):
            continue
        test = following.value
        names = {n.id for n in name_nodes(test)}
        rebinds_index = any(n.id == index and isinstance(n.ctx, gast.Store)
                            for loop in (forward, backward) for s in loop.body
                            for n in name_nodes(s))
        if rebinds_index or not all(isinstance(n, _PURE_TESTS) for n in walk(test)) or \
                any(n != index and stores.get(n) for n in names):
            continue
        pops = [s for s in backward.body if isinstance(s, gast.Assign) and len(
            s.targets) == 1 and isinstance(s.targets[0], gast.Name) and s.targets[0].id == cond
            and isinstance(s.value, gast.Call) and isinstance(s.value.func, gast.Attribute)
            and s.value.func.attr == "pop" and isinstance(s.value.func.value, gast.Name)
            and s.value.func.value.id == stack]
        uses = by_name.get(stack, [])
        # the stack's uses: its creation, this append, and this pop; the condition is read
        # only inside the two loops
        if inside is None:
            inside = {id(n) for loop in (forward, backward) for n in name_nodes(loop)}
        cond_outside = [n for n in by_name.get(cond, []) if isinstance(n.ctx, gast.Load) and
                        id(n) not in inside]
        if len(pops) != 1 or len(uses) != 3 or cond_outside or stores.get(cond) != len(
                [n for n in name_nodes(forward) if n.id == cond
                 and isinstance(n.ctx, gast.Store)]) + 1 + _prologue_stores(function, cond):
            continue
        forward.body.remove(stmt)
        backward.body.remove(pops[0])
        first = next((j for j, s in enumerate(backward.body) if any(
            n.id == cond and isinstance(n.ctx, gast.Load) for n in name_nodes(s))), 0)
        backward.body.insert(first, gast.Assign(targets=[gast.Name(
            id=cond, ctx=gast.Store(), annotation=None, type_comment=None)], value=clone(test),
            type_comment=None))  # just before its first use (the branch it decides)


def _prologue_stores(function, name):
    """How many times the function's top level sets ``name`` to a placeholder (None)."""
    return sum(1 for s in function.body if isinstance(s, gast.Assign) and isinstance(
        s.value, gast.Constant) and s.value.value is None and any(
            isinstance(t, gast.Name) and t.id == name for t in s.targets))


def rematerialize(function, math_name):
    """In a loop over a range, a value ``t = math.f(v, ...)`` that the backward loop reads is
    computed again there from the restored ``v`` instead of being saved on a stack each
    iteration (a Python float costs more to keep than ``math.sin`` costs to call).  Only
    ``math`` calls, whose arguments are either never assigned or saved just before the loop
    overwrites them (so the backward loop restores exactly the values the call read)."""
    pairs = _range_loop_pairs(function) if math_name is not None else []
    if not pairs:
        return function
    stores, by_name = _name_tables(function)
    for forward, backward in pairs:
        loops = (forward, backward)
        for fblock, bblock in _matching_blocks(forward.body, backward.body):
            _rematerialize_pair(fblock, bblock, loops, stores, by_name, math_name)
    return function


def _matching_blocks(fblock, bblock):
    """The forward loop's body and the backward loop's, then the bodies (and else-blocks) of
    the branches the two take on the same test: the forward pass's first ``if`` is the
    backward pass's last."""
    pairs = [(fblock, bblock)]
    fifs = [s for s in fblock if isinstance(s, gast.If)]
    bifs = [s for s in bblock if isinstance(s, gast.If)][::-1]
    if len(fifs) == len(bifs) and all(same_tree(f.test, b.test)
                                      for f, b in zip(fifs, bifs)):
        for f, b in zip(fifs, bifs):
            pairs += _matching_blocks(f.body, b.body)
            if f.orelse and b.orelse:
                pairs += _matching_blocks(f.orelse, b.orelse)
    return pairs


def _range_loop_pairs(function):
    """(forward, backward) loops: ``for i in R`` and, later in the same block,
    ``for i in reversed(R)``."""
    pairs = []
    for block in blocks(function):
        forwards = {}
        for stmt in block:
            if not (isinstance(stmt, gast.For) and isinstance(stmt.target, gast.Name)):
                continue
            it = stmt.iter
            if isinstance(it, gast.Name):
                forwards[(stmt.target.id, it.id)] = stmt
            elif isinstance(it, gast.Call) and isinstance(it.func, gast.Name) and \
                    it.func.id == "reversed" and len(it.args) == 1 and isinstance(
                        it.args[0], gast.Name):
                forward = forwards.get((stmt.target.id, it.args[0].id))
                if forward is not None:
                    pairs.append((forward, stmt))
    return pairs


def _pop_of(stmt):
    """(name, stack) of ``name = stack.pop()``; else None."""
    if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(
            stmt.targets[0], gast.Name) and isinstance(stmt.value, gast.Call) and isinstance(
            stmt.value.func, gast.Attribute) and stmt.value.func.attr == "pop" and \
            not stmt.value.args and isinstance(stmt.value.func.value, gast.Name):
        return stmt.targets[0].id, stmt.value.func.value.id
    return None


def _rematerialize_pair(body, backward_body, loops, stores, by_name, math_name):
    forward, backward = loops
    for j in range(len(body) - 1):
        save, assign = body[j], body[j + 1]
        if not (is_append(save) and isinstance(save.value.args[0], gast.Name) and isinstance(
                assign, gast.Assign) and len(assign.targets) == 1 and isinstance(
                assign.targets[0], gast.Name) and assign.targets[0].id == save.value.args[0].id):
            continue
        t, stack, value = assign.targets[0].id, save.value.func.value.id, assign.value
        if not (isinstance(value, gast.Call) and isinstance(value.func, gast.Attribute) and
                isinstance(value.func.value, gast.Name) and value.func.value.id == math_name
                and not value.keywords and all(isinstance(a, (gast.Name, gast.Constant))
                                               for a in value.args)):
            continue
        if len(by_name.get(stack, [])) != 3:  # made, pushed here, popped once
            continue
        restored = {}
        ok = True
        for arg in value.args:
            if not isinstance(arg, gast.Name) or not stores.get(arg.id):
                continue  # a constant, or a name nothing assigns
            v = arg.id
            later = [q for q in range(len(body)) if v in stores_of(body[q])]
            if not later or later[0] <= j + 1 or not (
                    is_append(body[later[0] - 1]) and isinstance(
                        body[later[0] - 1].value.args[0], gast.Name) and
                    body[later[0] - 1].value.args[0].id == v):
                ok = False  # not saved right before this iteration overwrites it
                break
            saved_on = body[later[0] - 1].value.func.value.id
            pops = [p for p, s in enumerate(backward_body) if _pop_of(s) == (v, saved_on)]
            if len(pops) != 1:
                ok = False
                break
            restored[v] = pops[0]
        if not ok:
            continue
        pop = [p for p, s in enumerate(backward_body) if _pop_of(s) == (t, stack)]
        uses = [p for p, s in enumerate(backward_body) if any(
            n.id == t and isinstance(n.ctx, gast.Load) for n in name_nodes(s))]
        if len(pop) != 1 or not uses:
            continue
        at = max(restored.values(), default=-1) + 1
        here = {id(n) for stmt in backward_body for n in name_nodes(stmt)}
        if any(n.id == t and isinstance(n.ctx, gast.Load) and id(n) not in here
               for n in name_nodes(backward)):
            continue  # read elsewhere going backward: there it must be the restored value
        inside = {id(n) for loop in (forward, backward) for n in name_nodes(loop)}
        outside = [n for n in by_name.get(t, []) if isinstance(n.ctx, gast.Load) and
                   id(n) not in inside]
        between = [s for s in backward_body[at:uses[0]] if (stores_of(s) & (set(restored) | {t}))]
        if outside or uses[0] < at or between or pop[0] < uses[-1]:
            continue
        body.remove(save)
        del backward_body[pop[0]]
        backward_body.insert(at, gast.Assign(
            targets=[gast.Name(id=t, ctx=gast.Store(), annotation=None, type_comment=None)],
            value=clone(value), type_comment=None))
        return _rematerialize_pair(body, backward_body, loops, stores, by_name, math_name)
