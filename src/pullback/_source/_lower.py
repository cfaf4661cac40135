"""Lower jumps: early ``return``, ``break`` and ``continue`` become flags and guards.

After this pass a function has one ``return``, at its end, and the only ``break`` left in a
loop is ``if flag: break`` as the last statement of its body.  Every iteration then runs its
body top to bottom, guarded by ``if`` statements whose outcomes the forward pass records, so
the backward pass can replay an iteration in reverse without knowing where it jumped.

A ``for`` loop's variable that is more than the loop's counter -- assigned in the body, or read
where the loop does not bind it (after the loop, or before it) -- is first given its own
name: ``for i_item in ...: i = i_item``, so that ``i`` is an ordinary variable whose values the
backward pass restores like any other's.
"""

import gast

from ._clone import walk

__all__ = ["lower"]


def _name(id_, ctx=None):
    return gast.Name(id=id_, ctx=ctx or gast.Load(), annotation=None, type_comment=None)


def _assign(name, value, like):
    node = gast.Assign(targets=[_name(name, gast.Store())], value=value, type_comment=None)
    return gast.copy_location(node, like)


def _const(value):
    return gast.Constant(value=value, kind=None)


def _jumps(node, kinds):
    """True when ``node`` contains a jump of ``kinds`` that leaves it (not one inside a nested
    loop, for break/continue)."""
    if isinstance(node, gast.Return):
        return "return" in kinds
    if isinstance(node, gast.Break):
        return "break" in kinds
    if isinstance(node, gast.Continue):
        return "continue" in kinds
    if isinstance(node, (gast.For, gast.While)):
        inner = kinds & {"return"}
        return any(_jumps(s, inner) for s in node.body + node.orelse)
    if isinstance(node, (gast.FunctionDef, gast.Lambda)):
        return False
    return any(_jumps(child, kinds) for child in gast.iter_child_nodes(node)
               if isinstance(child, (gast.stmt, gast.excepthandler)))


def lower(node, namer):
    """Rewrite the FunctionDef ``node`` in place; ``namer`` gives the flag names."""
    if not isinstance(node, gast.FunctionDef):
        return node
    _own_loop_variables(node, namer)
    body = node.body
    early = any(_jumps(s, {"return"}) for s in body[:-1]) or (
        body and not isinstance(body[-1], gast.Return) and _jumps(body[-1], {"return"}))
    if not early:
        lowered = _Lowerer(namer, None, None)
        node.body = lowered.block(body, [])
        return node
    retval, returned = namer.fresh("result"), namer.fresh("returned")
    lowered = _Lowerer(namer, retval, returned)
    first = body[0]
    prologue = [_assign(returned, _const(False), first), _assign(retval, _const(None), first)]
    node.body = prologue + lowered.block(body, []) + [
        gast.copy_location(gast.Return(value=_name(retval)), body[-1])]
    return node


class _Lowerer:
    def __init__(self, namer, retval, returned):
        self.namer = namer
        self.retval = retval
        self.returned = returned

    def block(self, stmts, loops):
        """Lower a statement list; ``loops`` holds (break flag, continue flag) per loop."""
        out = []
        for i, stmt in enumerate(stmts):
            flags = self._flags_set_by(stmt, loops)  # before the statement is rewritten
            out.extend(self.statement(stmt, loops))
            rest = stmts[i + 1:]
            if flags and rest:
                guarded = self.block(rest, loops)
                if guarded:
                    test = gast.UnaryOp(op=gast.Not(), operand=_any(flags))
                    out.append(gast.copy_location(
                        gast.If(test=test, body=guarded, orelse=[]), rest[0]))
                return out
        return out

    def _flags_set_by(self, stmt, loops):
        flags = []
        if self.returned and _jumps(stmt, {"return"}):
            flags.append(self.returned)
        if loops:
            brk, cont = loops[-1]
            if brk and _jumps(stmt, {"break"}):
                flags.append(brk)
            if cont and _jumps(stmt, {"continue"}):
                flags.append(cont)
        return flags

    def statement(self, stmt, loops):
        if isinstance(stmt, gast.Return):
            if self.returned is None:
                return [stmt]
            value = stmt.value if stmt.value is not None else _const(None)
            return [_assign(self.retval, value, stmt), _assign(self.returned, _const(True), stmt)]
        if isinstance(stmt, gast.Break):
            return [_assign(loops[-1][0], _const(True), stmt)]
        if isinstance(stmt, gast.Continue):
            return [_assign(loops[-1][1], _const(True), stmt)]
        if isinstance(stmt, gast.If):
            stmt.body = self.block(stmt.body, loops) or [gast.Pass()]
            stmt.orelse = self.block(stmt.orelse, loops)
            return [stmt]
        if isinstance(stmt, (gast.For, gast.While)):
            return self.loop(stmt, loops)
        return [stmt]

    def loop(self, stmt, loops):
        has_break = any(_jumps(s, {"break"}) for s in stmt.body)
        has_continue = any(_jumps(s, {"continue"}) for s in stmt.body)
        has_return = self.returned is not None and any(_jumps(s, {"return"}) for s in stmt.body)
        brk = self.namer.fresh("stop") if has_break else None
        cont = self.namer.fresh("skip") if has_continue else None
        body = self.block(stmt.body, loops + [(brk, cont)])
        before = []
        if cont:
            body = [_assign(cont, _const(False), stmt)] + body
        if brk:
            before.append(_assign(brk, _const(False), stmt))
        exits = [f for f in (brk, self.returned if has_return else None) if f]
        if exits:
            exit_if = gast.If(test=_any(exits), body=[gast.Break()], orelse=[])
            body.append(gast.copy_location(exit_if, stmt))
        stmt.body = body
        return before + [stmt]


def _any(flags):
    if len(flags) == 1:
        return _name(flags[0])
    return gast.BoolOp(op=gast.Or(), values=[_name(f) for f in flags])


# --- loop variables that outlive their loop ------------------------------------------------------

def _own_loop_variables(node, namer):
    """Give the loop variable of each ``for`` that needs it a name of its own (see the module
    docstring).  Only simple-name targets are rewritten."""
    loops, reads = [], []
    _scan(node.body, (), loops, reads)
    outside = {name for name, enclosing in reads if name not in enclosing}
    for loop, enclosing in loops:
        var = loop.target.id
        if var in outside or var in enclosing or var in _stored_names(loop.body):
            item = namer.fresh(f"{var}_item")
            loop.target = gast.copy_location(_name(item, gast.Store()), loop.target)
            loop.body.insert(0, _assign(var, _name(item), loop))


def _scan(stmts, enclosing, loops, reads):
    """Collect (for node, names of the loops around it) and (name read, names of the loops
    around the read) -- reads in nested functions count as outside every loop."""
    for stmt in stmts:
        if isinstance(stmt, gast.For) and isinstance(stmt.target, gast.Name):
            loops.append((stmt, enclosing))
            _reads(stmt.iter, enclosing, reads)
            _scan(stmt.body, enclosing + (stmt.target.id,), loops, reads)
            _scan(stmt.orelse, enclosing, loops, reads)
        elif isinstance(stmt, (gast.For, gast.While, gast.If)):
            for child in gast.iter_child_nodes(stmt):
                if not isinstance(child, gast.stmt):
                    _reads(child, enclosing, reads)
            _scan(stmt.body, enclosing, loops, reads)
            _scan(stmt.orelse, enclosing, loops, reads)
        else:
            _reads(stmt, enclosing, reads)


def _reads(node, enclosing, reads):
    if isinstance(node, (gast.FunctionDef, gast.Lambda)):
        enclosing = ()   # runs who knows when: as if outside every loop
    elif isinstance(node, gast.Name) and not isinstance(node.ctx, gast.Store):
        reads.append((node.id, enclosing))
    for child in gast.iter_child_nodes(node):
        _reads(child, enclosing, reads)


def _stored_names(stmts):
    names = set()
    for stmt in stmts:
        for n in walk(stmt):
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store):
                names.add(n.id)
    return names
