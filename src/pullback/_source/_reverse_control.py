"""Reverse loops and array writes (a mixin of the reverse pass).

A loop's forward pass counts its iterations and saves, on one stack per variable, each value
the backward pass reads just before the loop overwrites it.  The backward loop runs as many
iterations, undoing each iteration's statements in reverse and restoring the saved values, so
every rule sees the values it saw going forward.  Adjoints that live across iterations are
ordinary variables, reset when the value they belong to is overwritten.
"""

import copy

import gast

from ._ir import Branch, Loop, LoopExit, Op, Plain

__all__ = ["ControlReverse"]


def _name(id_, ctx=None):
    return gast.Name(id=id_, ctx=ctx or gast.Load(), annotation=None, type_comment=None)


def _assign(target, value):
    return gast.Assign(targets=[_name(target, gast.Store())], value=value, type_comment=None)


def _call(func, args):
    return gast.Call(func=func if not isinstance(func, str) else _name(func), args=args,
                     keywords=[])


def _method(obj, method, args):
    return gast.Call(func=gast.Attribute(value=_name(obj), attr=method, ctx=gast.Load()),
                     args=args, keywords=[])


def _const(value):
    return gast.Constant(value=value, kind=None)


def _names(node):
    return {n.id for n in gast.walk(node) if isinstance(n, gast.Name)}


class ControlReverse:
    """Saving and restoring values, loops and ``x[i] = v`` for the reverse pass."""

    # --- what the backward pass reads, and so what loops must save ---------------------------

    def prepare(self, body):
        """Decide which overwritten values are saved: those the backward pass reads."""
        self.reads = set()
        self.loop_assigned = set()
        self._scan(body, in_loop=False)
        self.saved = self.reads & self.loop_assigned
        self.stacks = {}
        self.runtime = set()
        self.pre_init = []

    def _scan(self, body, in_loop):
        for node in body:
            if isinstance(node, Op):
                self._infer_kind(node)
                if node.in_loop and node.kind != "setitem":
                    self.loop_assigned.add(node.target)
                if node.kind == "setitem":
                    self.loop_assigned.add(node.target)  # restored in place, loop or not
                if node.active and node.target in self.useful_active | self.fn.mutated:
                    self.reads |= self._op_reads(node)
                    if node.pullback and node.in_loop:
                        self.loop_assigned.add(node.pullback)
            elif isinstance(node, Plain):
                if node.in_loop:
                    self.loop_assigned |= set(node.defines)
            elif isinstance(node, Branch):
                self.reads.add(node.test)
                self._scan(node.body, in_loop)
                self._scan(node.orelse, in_loop)
            elif isinstance(node, Loop):
                if node.target is not None:
                    self.loop_assigned |= _names(node.target)
                self._scan(node.body, True)

    def _op_reads(self, op):
        """The forward values the backward pass of ``op`` reads: the names in its rules'
        expressions as they will be emitted (a rule that needs only ``ans`` reads only it)."""
        if op.kind == "call":
            return {op.pullback}
        if op.kind == "setitem":
            return _names(op.args[1])
        if op.kind != "prim":
            return set()
        placeholder = _name("__cotangent__")
        reads = set()
        for i, arg in enumerate(op.args):
            if _names(arg) & self.useful_active:
                expr = self.rules.vjp(op.prim, i, _name(op.target), op.args, op.kwargs,
                                      placeholder)
                reads |= _names(self._elide_unbroadcast(expr, op, i))
        return reads - {"__cotangent__"}

    def stack(self, name):
        if name not in self.stacks:
            self.stacks[name] = self.namer.fresh(f"saved_{name}")
        return self.stacks[name]

    def prologue(self):
        """Empty stacks, and a starting value for every saved temporary, before the forward
        pass (a loop saves a variable's previous value, even on its first iteration)."""
        out = []
        for name in sorted(self.stacks, key=lambda n: self.stacks[n]):
            out.append(_assign(self.stacks[name], gast.List(elts=[], ctx=gast.Load())))
        starts = sorted(n for n in self.saved if n not in self.fn.params
                        and not self.owner_is_user(n))
        if starts:
            targets = [_name(n, gast.Store()) for n in starts]
            out.append(gast.Assign(targets=targets, value=_const(None), type_comment=None))
        return out

    def owner_is_user(self, name):
        return name in self.user_loop_names

    # --- forward ------------------------------------------------------------------------------

    def save_before(self, op, out):
        """Push the value an in-loop assignment is about to overwrite, if it is read later."""
        if op.kind == "setitem":
            if op.target in self.saved:
                index = copy.deepcopy(op.expr.targets[0].slice)
                old = gast.Subscript(value=_name(op.target), slice=index, ctx=gast.Load())
                np_ = self.imports.numpy()
                out.append(gast.Expr(value=_method(self.stack(op.target), "append", [
                    _call(gast.Attribute(value=_name(np_), attr="copy", ctx=gast.Load()),
                          [old])])))
            return
        names = [op.target] + ([op.pullback] if op.pullback else [])
        for name in names:
            if op.in_loop and name in self.saved:
                out.append(gast.Expr(value=_method(self.stack(name), "append", [_name(name)])))

    def save_plain(self, node, out):
        for name in node.defines:
            if node.in_loop and name in self.saved:
                out.append(gast.Expr(value=_method(self.stack(name), "append", [_name(name)])))

    def forward_loop(self, node, out, line, nested):
        out.append(_assign(node.trips, _const(0)))
        body = [gast.AugAssign(target=_name(node.trips, gast.Store()), op=gast.Add(),
                               value=_const(1))]
        if node.target is not None:
            for name in sorted(_names(node.target) & self.saved):
                body.append(gast.Expr(value=_method(self.stack(f"{name}_loop"), "append",
                                                    [_name(name)])))
        self._forward_block(node.body, body, line)
        line[0] = None
        if node.kind == "for":
            loop = gast.For(target=copy.deepcopy(node.target), iter=copy.deepcopy(node.iter),
                            body=body, orelse=[], type_comment=None)
        else:
            loop = gast.While(test=copy.deepcopy(node.test), body=body, orelse=[])
        out.append(loop)
        if nested:
            out.append(gast.Expr(value=_method(self.stack(node.trips), "append",
                                               [_name(node.trips)])))

    # --- backward -----------------------------------------------------------------------------

    def restore_after(self, node, out):
        """Pop the value an in-loop assignment overwrote (undoing it going backward)."""
        if isinstance(node, Op) and node.kind == "setitem":
            if node.target in self.saved:
                index = copy.deepcopy(node.expr.targets[0].slice)
                target = gast.Subscript(value=_name(node.target), slice=index, ctx=gast.Store())
                out.append(gast.Assign(targets=[target], value=_method(
                    self.stack(node.target), "pop", []), type_comment=None))
            return
        if isinstance(node, Op):
            names = [node.target] + ([node.pullback] if node.pullback else [])
        else:
            names = list(node.defines)
        for name in names:
            if node.in_loop and name in self.saved:
                out.append(_assign(name, _method(self.stack(name), "pop", [])))

    def reset_adjoint(self, op, out):
        """The value is overwritten going forward, so its adjoint restarts from zero."""
        if op.kind != "setitem" and op.target in self.runtime:
            out.append(_assign(self.own[op.target], _const(0.0)))

    def backward_loop(self, node, adj, out, nested):
        if nested:
            out.append(_assign(node.trips, _method(self.stack(node.trips), "pop", [])))
        carried = self._carried(node)
        for name in sorted(carried):
            self.make_runtime(name, adj, out)
        body = []
        if node.target is not None:
            for name in sorted(_names(node.target) & self.saved):
                body.append(_assign(name, _method(self.stack(f"{name}_loop"), "pop", [])))
        inner = dict(adj)
        self._backward_block(node.body, inner, body, [None])
        for name in carried:
            adj[name] = _name(self.own[name])
        if len(body) > sum(1 for s in body if _is_comment(s)) and (
                body or node.target is not None):
            loop = gast.For(target=_name("_", gast.Store()),
                            iter=_call("range", [_name(node.trips)]), body=body, orelse=[],
                            type_comment=None)
            out.append(loop)

    def _carried(self, node):
        """Varied names whose adjoints live across iterations: those the loop assigns (user
        variables) or reads from outside it."""
        inside = _defined_in(node.body)
        user = {n for n in inside if n in self.user_loop_names}
        read = set()
        for op in _ops(node.body):
            if op.active:
                for arg in op.args:
                    read |= _names(arg)
        outside = read - inside
        names = (user | outside) & self.useful_active
        return names | (self.fn.mutated & (inside | read))

    def make_runtime(self, name, adj, out):
        """Give ``name`` an adjoint variable that accumulates across iterations."""
        if name in self.runtime:
            return
        target = self.own.get(name) or self.namer.adjoint(name)
        self.own[name] = target
        current = adj.get(name)
        if current is None:
            out.append(_assign(target, _const(0.0)))
        elif not (isinstance(current, gast.Name) and current.id == target):
            value = copy.deepcopy(current)
            if name in self.fn.mutated:  # written into in place by zero_at: our own copy
                np_ = self.imports.numpy()
                value = _call(gast.Attribute(value=_name(np_), attr="copy", ctx=gast.Load()),
                              [value])
            out.append(_assign(target, value))
        self.runtime.add(name)
        adj[name] = _name(target)

    def backward_setitem(self, op, adj, out):
        """Undo ``buf[index] = value``: the written slice's cotangent goes to ``value``; the
        overwritten contents reached nothing."""
        buf, index, value = op.args
        if buf.id not in adj:
            return
        badj = adj[buf.id]
        take = self.imports.name("pullback._runtime", "take", None)
        zero_at = self.imports.name("pullback._runtime", "zero_at", None)
        if isinstance(value, gast.Name) and value.id in self.useful_active:
            part = self.namer.fresh(f"b{value.id}_written")
            out.append(_assign(part, _call(take, [copy.deepcopy(badj), copy.deepcopy(index)])))
            unbroadcast = self.imports.name("pullback._registry", "unbroadcast", None)
            contribution = _call(unbroadcast, [_name(part), copy.deepcopy(value)])
            contribution = self._elide_setitem(contribution, value)
            self.accumulate(value, contribution, adj, out)
        out.append(_assign(self.own.get(buf.id, badj.id), _call(zero_at, [
            copy.deepcopy(badj), copy.deepcopy(index)])))

    def _elide_setitem(self, expr, value):
        return expr


def _is_comment(stmt):
    return isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Constant) and str(
        stmt.value.value).startswith("__pullback_comment_")


def _ops(body):
    for node in body:
        if isinstance(node, Op):
            yield node
        elif isinstance(node, (Branch, Loop)):
            yield from _ops(node.body)
            yield from _ops(getattr(node, "orelse", []) or [])


def _defined_in(body):
    names = set()
    for node in body:
        if isinstance(node, Op) and node.kind != "setitem":
            names.add(node.target)
        elif isinstance(node, Plain):
            names |= set(node.defines)
        elif isinstance(node, Branch):
            names |= _defined_in(node.body) | _defined_in(node.orelse)
        elif isinstance(node, Loop):
            names |= _defined_in(node.body)
            if node.target is not None:
                names |= _names(node.target)
    return names


LoopExit  # noqa: B018  (handled by the caller: nothing to undo)
