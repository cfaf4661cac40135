"""Normalize loops and writes into arrays (a mixin of the normalizer).

Inside a loop a variable keeps one name for every iteration (no new name per assignment):
the forward pass saves a value just before overwriting it, when the backward pass reads it,
and the backward pass restores it after undoing the assignment.  ``x[i] = v`` writes in place,
as the user wrote it; an argument that is written into is copied first, so the caller's array
is never modified.
"""


import gast

from ._clone import clone, name_nodes, walk
import numpy as np

from ._activity import Activity
from ._ir import Loop, LoopExit, Op, Plain

__all__ = ["ControlMixin"]

# Functions whose result may share memory with their first argument.
_VIEWS = {np.reshape, np.ravel, np.transpose, np.swapaxes, np.moveaxis, np.expand_dims,
          np.squeeze, np.broadcast_to, np.real, np.diagonal, np.atleast_1d, np.atleast_2d,
          np.atleast_3d, np.flip, np.fliplr, np.flipud, np.diff}   # np.diff(a, 0) is a
# Calls that return a new array, sharing memory with nothing.
_ALLOCATORS = {"zeros", "ones", "empty", "full", "zeros_like", "ones_like", "empty_like",
               "full_like", "array", "copy", "arange", "linspace", "eye", "identity"}


def _name(id_, ctx=None):
    return gast.Name(id=id_, ctx=ctx or gast.Load(), annotation=None, type_comment=None)


def _assigned_names(stmts):
    """User variables (re)bound anywhere in ``stmts``: targets of assignments and loops."""
    names = set()
    for stmt in stmts:
        for node in walk(stmt):
            if isinstance(node, (gast.FunctionDef, gast.Lambda)):
                continue
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
                names.add(node.id)
    return names


class ControlMixin:
    """Loops, loop exits and array writes, for the normalizer."""

    # --- loops ---------------------------------------------------------------------------------

    def loop_statement(self, stmt):
        if stmt.orelse:
            raise self.src.error(stmt, "pb.grad cannot transform a loop with an `else` clause; "
                                       "use mode='tape'")
        if isinstance(stmt, gast.For) and self._container_walked(stmt.iter) is not None:
            return self.unrolled(stmt)
        if isinstance(stmt, gast.For) and self._keys_into_container(stmt):
            return self.unrolled_over_constants(stmt)
        assigned = _assigned_names(stmt.body)
        if isinstance(stmt, gast.For):
            assigned |= _target_names(stmt.target)
        active_vars = self._loop_activity(stmt, assigned)
        pre = []
        fixed = {}
        for var in sorted(assigned):
            current = self.env.get(var)
            if isinstance(current, gast.Name) and self.owner.get(current.id) == var:
                fixed[var] = current.id
            else:
                fixed[var] = self._own_version(var)
                if current is not None:
                    op = Op("copy", fixed[var], clone(current), self.line, args=[current],
                            active=self.activity.atom(current))
                    pre.append(op)
                else:  # first bound inside the loop: give it a value the loop may save
                    pre.append(Plain(gast.Assign(targets=[_name(fixed[var], gast.Store())],
                                                 value=gast.Constant(value=None, kind=None),
                                                 type_comment=None), self.line, [fixed[var]]))
            self.env[var] = _name(fixed[var])
            if var in active_vars:
                self.activity.active.add(fixed[var])
        for var in sorted(_written_names(stmt.body) & active_vars):
            current = self.env.get(var)  # an array written into: varied on every iteration
            if isinstance(current, gast.Name):
                self.activity.active.add(current.id)
        self.out.extend(pre)
        self.fn_ir.loop_names |= set(fixed.values())
        outer_fixed = dict(self.loop_fixed)
        self.loop_fixed.update(fixed)
        try:
            node = self._loop_node(stmt)
        finally:
            self.loop_fixed = outer_fixed
        _mark_in_loop(node.body)
        self.out.append(node)

    def _loop_node(self, stmt):
        body = []
        trips = self.namer.fresh("trips")
        if isinstance(stmt, gast.While):
            test = self.rename(stmt.test)
            node = Loop("while", None, None, test, body, trips, stmt.lineno)
            self._loop_body(stmt.body, body)
            return node
        target, iterable, prefix = self._for_header(stmt)
        node = Loop("for", target, iterable, None, body, trips, stmt.lineno)
        saved, self.out = self.out, body
        try:
            for name, value in prefix:
                self.bind(name, value, stmt)
        finally:
            self.out = saved
        self._loop_body(stmt.body, body)
        return node

    def _loop_body(self, stmts, out):
        line = self.line
        for s in stmts:
            self.line = s.lineno
            self.statement(s, out)
        self.line = line

    def _for_header(self, stmt):
        """(target, iterable, [(name, value)] to bind first in each iteration).  Iterating a
        differentiated array becomes iterating indices, so its rows are read by indexing."""
        target, iterable, prefix = self._for_header_parts(stmt)
        for _, value in prefix:  # the prefix reads normalized names: let them resolve
            for n in name_nodes(value):
                if n.id not in self.env:
                    self.env[n.id] = _name(n.id)
        return target, iterable, prefix

    def _for_header_parts(self, stmt):
        it = stmt.iter
        target = stmt.target
        call = it if isinstance(it, gast.Call) else None
        func = self.scope.static_value(call.func) if call is not None else None
        if func is enumerate and len(call.args) == 1 and not call.keywords and \
                self.activity.expr(call.args[0], self.env) and isinstance(target, gast.Tuple) \
                and len(target.elts) == 2 and isinstance(target.elts[0], gast.Name):
            if not isinstance(target.elts[1], gast.Name):
                self._bad_target(stmt)
            seq = self.expr(call.args[0])
            index = self.ssa_target(target.elts[0])
            return index, self._range_of(seq), [(target.elts[1].id, _item(seq, index.id))]
        if func is zip and not call.keywords and any(
                self.activity.expr(a, self.env) for a in call.args) and isinstance(
                target, gast.Tuple) and len(target.elts) == len(call.args):
            seqs = [self.expr(a) for a in call.args]
            index = self.namer.fresh("k")
            lengths = [gast.Call(func=_name("len"), args=[clone(s)], keywords=[])
                       for s in seqs]
            count = lengths[0] if len(lengths) == 1 else gast.Call(
                func=_name("min"), args=lengths, keywords=[])
            rng = gast.Call(func=_name("range"), args=[count], keywords=[])
            prefix = []
            for t, s in zip(target.elts, seqs):
                if not isinstance(t, gast.Name):
                    self._bad_target(stmt)
                prefix.append((t.id, _item(s, index)))
            self.owner[index] = index
            return _name(index, gast.Store()), rng, prefix
        if self.activity.expr(it, self.env):
            seq = self.expr(it)
            if not isinstance(target, gast.Name):
                self._bad_target(stmt)
            index = self.namer.fresh("k")
            self.owner[index] = index
            return _name(index, gast.Store()), self._range_of(seq), [(target.id, _item(seq, index))]
        return self.ssa_target(target), self.rename(it), []

    def _enumerates(self, stmt):
        """``for i, v in enumerate(seq)``: ``i`` is a count, whatever ``seq`` holds."""
        it, target = stmt.iter, stmt.target
        return isinstance(it, gast.Call) and len(it.args) == 1 and not it.keywords and \
            self.scope.static_value(it.func) is enumerate and \
            isinstance(target, gast.Tuple) and len(target.elts) == 2

    def _bad_target(self, stmt):
        raise self.src.error(stmt, "pb.grad can loop over a differentiated array into plain "
                                   "names only")

    def _range_of(self, seq):
        length = gast.Call(func=_name("len"), args=[clone(seq)], keywords=[])
        return gast.Call(func=_name("range"), args=[length], keywords=[])

    def _own_version(self, var):
        new = self.namer.version(var)
        self.owner[new] = var
        return new

    def _is_active_container(self, node):
        return isinstance(node, gast.Name) and isinstance(self.env.get(node.id), gast.Name) \
            and self._is_container(self.env[node.id].id)

    def _container_walked(self, iterable):
        """The values a loop over a differentiated container argument takes, one per
        iteration, when it walks one: ``for w in ws``, ``for k in params``,
        ``params.items()``, ``.values()``, ``.keys()``, and ``enumerate`` / ``zip`` of those;
        else None.  A value is ``("const", v)``, ``("item", container, key)`` or
        ``("tuple", [values])``."""
        if isinstance(iterable, gast.Call) and isinstance(iterable.func, gast.Name) and \
                iterable.func.id in ("enumerate", "zip") and iterable.args and \
                not iterable.keywords and self.scope.static_value(iterable.func) in (
                    enumerate, zip):
            walks = [self._container_walked(a) for a in iterable.args]
            if any(w is None for w in walks) or (iterable.func.id == "enumerate" and
                                                 len(walks) != 1):
                return None
            if iterable.func.id == "enumerate":
                return [("tuple", [("const", j), v]) for j, v in enumerate(walks[0])]
            if len({len(w) for w in walks}) != 1:
                return None   # zip of different lengths: left to the tape
            return [("tuple", list(vs)) for vs in zip(*walks)]
        method = None
        if isinstance(iterable, gast.Call) and isinstance(iterable.func, gast.Attribute) and \
                iterable.func.attr in ("items", "values", "keys") and not iterable.args \
                and not iterable.keywords:
            iterable, method = iterable.func.value, iterable.func.attr
        if not self._is_active_container(iterable):
            return None
        container = self.env[iterable.id]
        structure = self.fn_ir.containers[container.id]
        if not isinstance(structure, dict):
            return None if method else [("item", container, j) for j in range(len(structure))]
        if method == "items":
            return [("tuple", [("const", k), ("item", container, k)]) for k in structure]
        if method == "values":
            return [("item", container, k) for k in structure]
        return [("const", k) for k in structure]   # for k in params: its keys

    def unrolled(self, stmt):
        """A loop over a differentiated list, tuple or dict argument (or ``enumerate`` or
        ``zip`` of them): its keys are fixed for this generated code, so the loop is unrolled
        and each element read with a constant key."""
        if any(isinstance(n, gast.Break) for n in walk(gast.Module(body=stmt.body,
                                                                         type_ignores=[]))):
            raise self.src.error(stmt, "pb.grad cannot break out of a loop over a "
                                       "differentiated list yet; use mode='tape'")
        for value in self._container_walked(stmt.iter):
            self._bind_walked(stmt.target, value, stmt)
            for s in stmt.body:
                line, self.line = self.line, s.lineno
                self.statement(clone(s), self.out)
                self.line = line

    def _bind_walked(self, target, value, stmt):
        kind = value[0]
        if isinstance(target, gast.Name):
            if kind == "const":
                self.alias(target.id, gast.Constant(value=value[1], kind=None))
            elif kind == "item":
                self.container_item(value[1], gast.Constant(value=value[2], kind=None), stmt,
                                    target.id)
            else:
                self._bad_target(stmt)
            return
        if not isinstance(target, (gast.Tuple, gast.List)):
            self._bad_target(stmt)
        if kind == "tuple" and len(value[1]) == len(target.elts):
            for t, v in zip(target.elts, value[1]):
                self._bind_walked(t, v, stmt)
        elif kind == "item":   # for W, b in layers: unpack the item, a tuple argument
            item = self.container_item(value[1], gast.Constant(value=value[2], kind=None),
                                       stmt, None)
            self.unpack(target, item, stmt)
        else:
            self._bad_target(stmt)

    def _keys_into_container(self, stmt):
        """A loop over a literal list of constants whose variable indexes a differentiated
        container (``for name in ["a", "b"]: params[name]``)."""
        if not (isinstance(stmt.iter, (gast.List, gast.Tuple)) and isinstance(
                stmt.target, gast.Name) and all(isinstance(e, gast.Constant)
                                                for e in stmt.iter.elts)):
            return False
        for node in walk(gast.Module(body=stmt.body, type_ignores=[])):
            if isinstance(node, gast.Subscript) and isinstance(node.slice, gast.Name) and \
                    node.slice.id == stmt.target.id and self._is_active_container(node.value):
                return True
        return False

    def unrolled_over_constants(self, stmt):
        """Unroll the loop, the variable bound to each constant in turn, so containers are
        indexed with constant keys."""
        if any(isinstance(n, gast.Break) for n in walk(gast.Module(body=stmt.body,
                                                                         type_ignores=[]))):
            raise self.src.error(stmt, "pb.grad cannot break out of a loop over keys of a "
                                       "differentiated container yet; use mode='tape'")
        for key in stmt.iter.elts:
            self.alias(stmt.target.id, gast.Constant(value=key.value, kind=None))
            for s in stmt.body:
                line, self.line = self.line, s.lineno
                self.statement(clone(s), self.out)
                self.line = line

    def _loop_activity(self, stmt, assigned):
        """User variables active somewhere in the loop: a fixpoint over its assignments."""
        names = set(self.env) | assigned
        active = {v for v in self.env if self.activity.atom(self.env[v])}
        active |= self.followed & names   # lists that keep differentiated values
        probe = Activity(self.scope)
        probe.local_functions = self.local_functions
        env = {v: _name(v) for v in names}
        while True:
            probe.active = set(active)
            before = len(active)
            for node in walk(stmt):
                if isinstance(node, gast.Assign):
                    if probe.expr(node.value, env):
                        for target in node.targets:
                            active |= _target_names(target)
                elif isinstance(node, gast.AugAssign):
                    names_ = _target_names(node.target)
                    if probe.expr(node.value, env) or names_ & active:
                        active |= names_
                elif isinstance(node, gast.For) and probe.expr(node.iter, env):
                    target = node.target
                    if self._enumerates(node):   # for i, v in enumerate(x): i counts
                        target = target.elts[1]
                    active |= _target_names(target)
            if len(active) == before:
                return active

    def loop_exit(self, stmt):
        self.out.append(LoopExit(self.condition(stmt.test), self.line))

    # --- writes into arrays --------------------------------------------------------------------

    def setitem(self, target, value, stmt):
        """``buf[index] = value``, in place."""
        base = target.value
        if not isinstance(base, gast.Name) or base.id not in self.env:
            raise self.src.error(target, "pb.grad can write into a local array variable only "
                                         "(x[i] = v with x a name)")
        current = self.env[base.id]
        if not isinstance(current, gast.Name):
            raise self.src.error(target, f"cannot write into {base.id}: it is a constant")
        if self._is_container(current.id) or current.id in self.fn_ir.leaves:
            raise self.src.error(target, "pb.grad cannot write into a differentiated container "
                                         "argument; build a new array instead")
        if self.activity.expr(target.slice, self.env):
            raise self.src.error(target, "pb.grad cannot write at an index that depends on the "
                                         "differentiated arguments")
        from ._aliases import numbers_only, paired_names
        from ._normalize import _index_value
        group = paired_names(self.src.node).get(base.id, {base.id})
        hidden = sorted(k for k in group - {base.id} if k in self.env and not (
            isinstance(self.env[k], gast.Name) and self.env[k].id == current.id))
        if hidden and not numbers_only(group, self.src.node, self.kinds):
            # b = a made through a loop's own names (or in an earlier iteration): the same
            # array under two names the engine follows apart
            raise self.src.error(stmt, (
                f"pb.grad cannot follow this write into {base.id!r} (in "
                f"{self.src.fn.__qualname__}): {base.id} and {hidden[0]} may hold the same array "
                f"(one was assigned the other in a loop or before it), and the write would "
                f"change both; write into a .copy(), or use mode='tape'"))
        index = self._index_once(target.slice)
        atom = self.expr(value)
        buf = current.id
        active = self.activity.atom(atom) or buf in self.activity.active
        statement = gast.Assign(targets=[gast.Subscript(value=_name(buf), slice=index,
                                                        ctx=gast.Store())],
                                value=clone(atom), type_comment=None)
        op = Op("setitem", buf, statement, self.line, args=[_name(buf), _index_value(index), atom],
                active=active)
        if active:
            self.activity.active.add(buf)
            self.mutated.add(buf)
        self.out.append(op)

    def _index_once(self, index):
        """``index`` renamed, with each part that computes an array (``y > 0``, ``x[0]``,
        ``np.argmax(v)``) computed into a temporary first: the backward pass reads the index
        again, after the write, which may change what such a part computes
        (``y[y > 0] = 0.0``)."""
        if isinstance(index, gast.Tuple):
            return gast.Tuple(elts=[self._index_once(e) for e in index.elts], ctx=gast.Load())
        if isinstance(index, gast.Slice) or not any(
                isinstance(n, (gast.Compare, gast.Call, gast.Subscript, gast.Attribute,
                               gast.BoolOp)) for n in gast.walk(index)):
            return self.rename(index)   # a number, a name, a slice, i + 1: read again as is
        target = self.namer.temp()
        self.out.append(Op("const", target, self.rename(index), self.line, active=False))
        return _name(target)

    def copy_written_params(self, body):
        """Copy, on entry, every argument whose memory an ``x[i] = v`` may write into."""
        origins = {p: frozenset([p]) for p in self.params}
        written = set()
        for _ in range(3):  # loops: a value's origin may come round from a later iteration
            _walk_origins(body, origins, written, self)
        params = [p for p in self.params if p in written]
        if params and self.helper:
            raise self.src.error(self.src.node, (
                f"pb.grad cannot transform {self.src.fn.__qualname__}: it writes into its "
                f"argument {params[0]!r}, which changes the caller's array too, and that is not "
                f"tracked; write into a .copy() and return it, or use mode='tape'"))
        for p in reversed(params):
            stmt = gast.Assign(targets=[_name(p, gast.Store())], value=gast.Call(
                func=gast.Attribute(value=_name(p), attr="copy", ctx=gast.Load()), args=[],
                keywords=[]), type_comment=None)
            # an identity for the gradient: not a definition the backward pass undoes
            body.insert(0, Plain(stmt, self.src.node.lineno, ()))

    def origin_of(self, op, origins):
        """The parameters whose memory the result of ``op`` may share."""
        if op.kind in ("copy", "item", "leaf"):
            return _origins_in(op.args[:1], origins)
        if op.kind == "prim":
            fun = op.prim.fun
            from .._rules.indexing import getitem
            if fun in _VIEWS or fun is getitem or isinstance(op.expr, gast.Attribute):
                return _origins_in(op.args[:1], origins)
            return frozenset()
        if op.kind == "const":
            if _allocates(op.expr):
                return frozenset()
            return _origins_in([op.expr], origins)
        return _origins_in(op.args, origins)


def _origins_in(nodes, origins):
    found = set()
    for node in nodes:
        for n in name_nodes(node):
            found |= origins.get(n.id, frozenset())
    return frozenset(found)


def _walk_origins(body, origins, written, normalizer):
    for node in body:
        if isinstance(node, Op):
            if node.kind == "setitem":
                written |= origins.get(node.target, frozenset())
            else:
                origins[node.target] = origins.get(node.target, frozenset()) | \
                    normalizer.origin_of(node, origins)
        elif isinstance(node, Plain):
            stmt = node.stmt
            if isinstance(stmt, gast.Assign) and not _allocates(stmt.value):
                found = _origins_in([stmt.value], origins)
                for name in node.defines:
                    origins[name] = origins.get(name, frozenset()) | found
        elif hasattr(node, "body"):
            _walk_origins(node.body, origins, written, normalizer)
            _walk_origins(getattr(node, "orelse", []) or [], origins, written, normalizer)


def _allocates(expr):
    return isinstance(expr, gast.Call) and (
        isinstance(expr.func, gast.Attribute) and expr.func.attr in _ALLOCATORS
        or isinstance(expr.func, gast.Name) and expr.func.id in _ALLOCATORS)


def _written_names(stmts):
    """Names of arrays written into (``x[i] = v``, ``x[i] += v``) anywhere in ``stmts``."""
    names = set()
    for stmt in stmts:
        for node in walk(stmt):
            if isinstance(node, (gast.Assign, gast.AugAssign)):
                for target in getattr(node, "targets", None) or [node.target]:
                    if isinstance(target, gast.Subscript):
                        names |= _target_names(target)
    return names


def _target_names(target):
    if isinstance(target, gast.Name):
        return {target.id}
    if isinstance(target, gast.Subscript):
        return _target_names(target.value)
    if isinstance(target, (gast.Tuple, gast.List)):
        out = set()
        for e in target.elts:
            out |= _target_names(e)
        return out
    return set()


def _item(seq, index):
    return gast.Subscript(value=clone(seq), slice=_name(index), ctx=gast.Load())


def _mark_in_loop(body):
    for node in body:
        if isinstance(node, Op):
            node.in_loop = True
        elif isinstance(node, Plain):
            node.in_loop = True
        elif hasattr(node, "body"):
            _mark_in_loop(node.body)
            _mark_in_loop(getattr(node, "orelse", []) or [])


def is_loop_exit(stmt):
    """``if flag: break`` as the lowering pass writes it."""
    return (isinstance(stmt, gast.If) and len(stmt.body) == 1
            and isinstance(stmt.body[0], gast.Break) and not stmt.orelse)

