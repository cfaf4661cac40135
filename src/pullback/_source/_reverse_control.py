"""Reverse loops and array writes (a mixin of the reverse pass).

A loop's forward pass counts its iterations and saves, on one stack per variable, each value
the backward pass reads just before the loop overwrites it.  The backward loop runs as many
iterations, undoing each iteration's statements in reverse and restoring the saved values, so
every rule sees the values it saw going forward.  Adjoints that live across iterations are
ordinary variables, reset when the value they belong to is overwritten.
"""


import gast
import numpy as np

from ._activity import tree_leaves
from ._clone import clone, name_nodes, nodes
from ._ir import Branch, Loop, LoopExit, Op, Plain
from ._lists import ListAppend, backward_append

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
    return {n.id for n in name_nodes(node)}


# Primitives whose result may be a view of their first argument: reading it reads that
# argument's memory, which a later ``x[i] = v`` changes.
_VIEW_PRIMS = {"pullback._rules.indexing.getitem"} | {f"numpy.{name}" for name in (
    "transpose", "reshape", "ravel", "squeeze", "expand_dims", "swapaxes", "moveaxis",
    "rollaxis", "diagonal", "broadcast_to", "real", "imag", "asarray", "asanyarray",
    "atleast_1d", "atleast_2d", "atleast_3d", "split", "array_split", "hsplit", "vsplit",
    "dsplit", "unstack", "flip", "fliplr", "flipud", "rot90", "matrix_transpose",
    "permute_dims", "broadcast_arrays", "ascontiguousarray", "asfortranarray")}


class ControlReverse:
    """Saving and restoring values, loops and ``x[i] = v`` for the reverse pass."""

    # --- what the backward pass reads, and so what loops must save ---------------------------

    def prepare(self, body):
        """Decide which overwritten values are saved: those the backward pass reads while
        undoing a loop (or code before it) -- not reads of a loop's final value after it."""
        self.loop_assigned = set()
        self._body = body
        self._raw_reads = []      # (name, position, enclosing loop ids, "value" | "shape")
        self._pullback_reads = []  # (name, position, loop ids): arrays a helper's pullback
                                   # reads, as it was given them (by reference)
        self._spans = {}          # loop id -> (start, end, names assigned inside)
        self._loops = []
        self._position = 0
        self.loop_of = {}         # name -> the innermost loop assigning it
        self._views = {}          # name -> the names whose memory its value may share
        self._writes = []         # (setitem op, position, enclosing loop ids)
        self._made_by = {}        # name -> the op assigning it, if only one does
        self.infer_kinds(body)
        self._scan(body)
        self.undone = self._writes_to_undo()
        needs = {}
        for name, pos, loops, kind in self._raw_reads:
            if name in self.loop_assigned and not self._after_its_loops(name, pos, loops):
                needs.setdefault(name, set()).add((kind, loops[-1] if loops else None))
        # A value whose backward reads only its shape (as unbroadcast's target), all inside the
        # loop that assigns it, is saved as a shape: a tuple instead of an array per iteration.
        self.shape_only = {n for n, uses in needs.items()
                           if all(k == "shape" and where == self.loop_of.get(n)
                                  for k, where in uses)}
        self.reads = {n for n, _, _, _ in self._raw_reads}
        self.saved = set(needs) - self.shape_only
        self.stacks = {}
        self.runtime = set()
        self.zero_start = set()   # loop adjoints that enter their loop as the number 0.0
        self.loop_ranges = {}     # id(loop over range) -> the name its range is kept in

    def _after_its_loops(self, name, pos, loops):
        """True for a read after every loop that assigns ``name`` has ended."""
        for lid, (start, end, assigned) in self._spans.items():
            if name in assigned and (lid in loops or pos < end):
                return False
        return True

    def _scan(self, body):
        for node in body:
            self._position += 1
            if isinstance(node, Op):
                self._note_view(node)
                if node.kind != "setitem":  # a name assigned twice is no temporary
                    self._made_by[node.target] = None if node.target in self._made_by \
                        else node
                if node.in_loop and node.kind != "setitem":
                    self._assigned_in_loops(node.target)
                    self.loop_of[node.target] = id(self._loops[-1]) if self._loops else None
                if node.kind == "setitem" and not isinstance(node, ListAppend):
                    self._writes.append((node, self._position,
                                         tuple(id(loop) for loop in self._loops)))
                if node.pullback and node.in_loop:
                    self._assigned_in_loops(node.pullback)
                if node.active and node.target in self.useful_active | self.fn.mutated:
                    values, shapes = self._op_reads(node)
                    where = tuple(id(loop) for loop in self._loops)
                    self._raw_reads += [(n, self._position, where, "value") for n in values]
                    self._raw_reads += [(n, self._position, where, "shape") for n in shapes]
                    if node.kind == "call":   # its pullback reads the arrays it was given
                        self._pullback_reads += [(n, self._position, where)
                                                 for a in node.args for n in _names(a)]
            elif isinstance(node, Plain):
                if node.in_loop:
                    for name in node.defines:
                        self._assigned_in_loops(name)
            elif isinstance(node, Branch):
                where = tuple(id(loop) for loop in self._loops)
                self._raw_reads.append((node.test, self._position, where, "value"))
                self._scan(node.body)
                self._scan(node.orelse)
            elif isinstance(node, Loop):
                start = self._position
                self._spans[id(node)] = (start, None, set())
                self._loops.append(node)
                if node.target is not None:
                    for name in _names(node.target):
                        self._assigned_in_loops(name)
                self._scan(node.body)
                self._loops.pop()
                _, _, assigned = self._spans[id(node)]
                self._spans[id(node)] = (start, self._position, assigned)

    def _writes_to_undo(self):
        """The ids of the writes ``x[i] = v`` the backward pass must undo: those before which
        (or in a loop around which) the backward pass reads the written array's values --
        through any name that may share its memory (``row = x[0]``, ``y = x`` at a branch's
        join, ...)."""
        group = {}

        def find(name):
            while group.get(name, name) != name:
                name = group[name]
            return name

        for name, bases in self._views.items():
            for base in bases:
                group[find(name)] = find(base)
        undone = set()
        value_reads = [(name, pos, loops) for name, pos, loops, kind in self._raw_reads
                       if kind == "value"] + self._pullback_reads
        for op, pos, loops in self._writes:
            memory = find(op.target)
            for name, read_pos, read_loops in value_reads:
                if find(name) == memory and (
                        read_pos < pos or any(loop in read_loops for loop in loops)):
                    undone.add(id(op))
                    break
        return undone

    def _note_view(self, op):
        """Note the names whose memory ``op``'s result may share: the first argument of a view
        (``t = m[0]``, ``m.T``, ``np.reshape(m, ...)``), the value a copy or a tuple item
        names, any array a helper is given."""
        if op.kind == "prim" and getattr(op.prim, "name", None) in _VIEW_PRIMS and op.args:
            bases = _names(op.args[0])
        elif op.kind in ("copy", "item") and op.args:
            bases = _names(op.args[0])
        elif op.kind == "call":
            bases = set().union(*(_names(a) for a in op.args)) if op.args else set()
        else:
            return
        if bases:
            self._views.setdefault(op.target, set()).update(bases)

    def _assigned_in_loops(self, name):
        self.loop_assigned.add(name)
        for loop in self._loops:
            self._spans[id(loop)][2].add(name)

    def _op_reads(self, op):
        """The forward values the backward pass of ``op`` reads: the names in its rules'
        expressions as they will be emitted (a rule that needs only ``ans`` reads only it)."""
        if op.kind == "call":
            return {op.pullback}, set()
        if isinstance(op, ListAppend):   # the list, taken back off going backward
            return {op.target}, set()
        if op.kind == "setitem":   # the index, and the value's shape (unbroadcast's target)
            value = op.args[2]      # when the written region's shape may change in a loop
            shapes = {value.id} if isinstance(value, gast.Name) and \
                value.id in self.useful_active and self._region_may_vary(op.args[1]) else set()
            return _names(op.args[1]), shapes - _names(op.args[1])
        if op.kind != "prim":
            return set(), set()
        placeholder = _name("__cotangent__")
        values, shapes = set(), set()
        for i, arg in enumerate(op.args):
            if _names(arg) & self.useful_active:
                expr = self.rules.vjp(op.prim, i, _name(op.target), op.args, op.kwargs,
                                      placeholder)
                v, s = self._split_reads(self._elide_unbroadcast(expr, op, i))
                values |= v
                shapes |= s
        return values - {"__cotangent__"}, shapes

    def _region_may_vary(self, index):
        """Whether the part of an array an index selects may change shape from one iteration
        to the next: a slice with a bound that is not a constant (``M[i, :i + 1]``), or an
        index array (``y[mask]``).  Integers and constant slices select the same shape."""
        for node in nodes(index):
            if isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and \
                    node.func.id == "slice" and not all(
                        isinstance(a, gast.Constant) for a in node.args):
                return True
        slice_names = {n.id for c in nodes(index) if isinstance(c, gast.Call)
                       for a in c.args for n in name_nodes(a)}
        counters = _range_counters(self._body)
        return any(self.kinds.get(n.id, "array") != "scalar" for n in name_nodes(index)
                   if n.id not in slice_names | counters and n.id != "slice")

    def _split_reads(self, expr):
        """(names whose values ``expr`` reads, names whose shapes only it reads)."""
        alias = self.imports.peek("pullback._registry", "unbroadcast")
        shapes = set()
        targets = set()
        for node in nodes(expr):
            if isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and \
                    node.func.id == alias and len(node.args) == 2 and \
                    isinstance(node.args[1], gast.Name):
                shapes.add(node.args[1].id)
                targets.add(id(node.args[1]))
        values = {n.id for n in name_nodes(expr) if id(n) not in targets}
        return values, shapes - values

    def shape_of(self, expr):
        """Point unbroadcast at a saved shape (``saved_x_shape[-1]``) for shape-only names,
        inside the loop that assigns them (after it, the name itself has its final shape --
        and in a branch not taken, nothing was saved)."""
        alias = self.imports.peek("pullback._registry", "unbroadcast")
        emitting = getattr(self, "_emitting", ())
        for node in nodes(expr):
            if isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and \
                    node.func.id == alias and len(node.args) == 2 and \
                    isinstance(node.args[1], gast.Name) and node.args[1].id in self.shape_only \
                    and self.loop_of.get(node.args[1].id) in emitting:
                stack = self.stack(f"{node.args[1].id}_shape")
                node.args[1] = gast.Subscript(value=_name(stack), slice=gast.UnaryOp(
                    op=gast.USub(), operand=_const(1)), ctx=gast.Load())
        return expr

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
        starts = sorted(n for n in self.saved | self.shape_only if n not in self.fn.params
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
            if id(op) in self.undone:
                index = clone(op.expr.targets[0].slice)
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

    def save_shape_after(self, op, out):
        """After an in-loop assignment of a shape-only value, save its shape."""
        if op.kind != "setitem" and op.in_loop and op.target in self.shape_only:
            out.append(gast.Expr(value=_method(self.stack(f"{op.target}_shape"), "append",
                                               [self._np_shape(op.target)])))

    def _np_shape(self, name):
        np_ = self.imports.numpy()
        return _call(gast.Attribute(value=_name(np_), attr="shape", ctx=gast.Load()),
                     [_name(name)])

    def _loop_shape_names(self, node):
        return sorted(n for n in self.shape_only if self.loop_of.get(n) == id(node))

    def save_plain(self, node, out):
        for name in node.defines:
            if node.in_loop and name in self.saved:
                out.append(gast.Expr(value=_method(self.stack(name), "append", [_name(name)])))

    def _over_range(self, node, nested):
        """A ``for`` over ``range(...)`` that always runs to its end (no ``break``): the
        backward loop walks the same range backward, so it needs no trip counter and no saved
        loop variable."""
        return (not nested and node.kind == "for" and isinstance(node.target, gast.Name)
                and isinstance(node.iter, gast.Call) and isinstance(node.iter.func, gast.Name)
                and node.iter.func.id == "range" and not node.iter.keywords
                and not any(isinstance(n, LoopExit) for n in node.body))

    def forward_loop(self, node, out, line, nested):
        for name in self._loop_shape_names(node):  # the shape each name has on entry
            out.append(gast.Expr(value=_method(self.stack(f"{name}_shape"), "append",
                                               [self._np_shape(name)])))
        if self._over_range(node, nested):
            steps = self.namer.fresh(f"{node.target.id}_range")
            self.loop_ranges[id(node)] = steps
            out.append(_assign(steps, clone(node.iter)))
            body = []
            self._forward_block(node.body, body, line)
            line[0] = None
            out.append(gast.For(target=clone(node.target), iter=_name(steps), body=body,
                                orelse=[], type_comment=None))
            return
        for name in self._restored_targets(node):
            # the value the loop's variable had before the loop: the backward pass of what
            # came before reads it (for i in range(2): ... then for i, v in enumerate(w))
            out.append(gast.Expr(value=_method(self.stack(f"{name}_loop"), "append",
                                               [_name(name)])))
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
            loop = gast.For(target=clone(node.target), iter=clone(node.iter),
                            body=body, orelse=[], type_comment=None)
        else:
            loop = gast.While(test=clone(node.test), body=body, orelse=[])
        out.append(loop)
        if nested:
            out.append(gast.Expr(value=_method(self.stack(node.trips), "append",
                                               [_name(node.trips)])))

    # --- backward -----------------------------------------------------------------------------

    def restore_after(self, node, out):
        """Pop the value an in-loop assignment overwrote (undoing it going backward)."""
        if isinstance(node, Op) and node.kind == "setitem":
            if id(node) in self.undone:
                index = clone(node.expr.targets[0].slice)
                target = gast.Subscript(value=_name(node.target), slice=index, ctx=gast.Store())
                out.append(gast.Assign(targets=[target], value=_method(
                    self.stack(node.target), "pop", []), type_comment=None))
            return
        if isinstance(node, Op):
            names = [node.target] + ([node.pullback] if node.pullback else [])
            if node.in_loop and node.target in self.shape_only:
                out.append(gast.Expr(value=_method(self.stack(f"{node.target}_shape"), "pop",
                                                   [])))
        else:
            names = list(node.defines)
        for name in names:
            if node.in_loop and name in self.saved:
                out.append(_assign(name, _method(self.stack(name), "pop", [])))

    def reset_adjoint(self, op, out):
        """The value is overwritten going forward, so its adjoint restarts from zero."""
        if not op.in_loop:
            return  # outside loops a value is assigned once: no older value to restart for
        names = list(op.defines) if isinstance(op, Plain) else (
            [op.target] if op.kind != "setitem" else [])
        for name in names:
            if name in self.runtime:
                out.append(_assign(self.own[name], _const(0.0)))

    def cotangent_as_array(self, op, adj, out):
        """Before ``op``'s rules take a loop-carried adjoint as their cotangent.  That adjoint
        restarts as the number 0.0 whenever its value is overwritten going forward; when
        nothing may have added into it since (the value was overwritten unread), a rule that is
        not elementwise, here or further back (``np.sum(v, axis=0)``, ``A @ v``), would get
        0.0 for an array: give it the value's shape first."""
        name = op.target
        if name not in self.runtime or self.kinds.get(name, "array") != "array" or \
                not self._needs_array(op):
            return
        if self._accumulated_first(name, op) if op.in_loop else \
                self._accumulated_after_loops(name):
            return
        target = self.own[name]
        out.append(_assign(target, gast.BinOp(left=_name(target), op=gast.Add(),
                                              right=self.zeros(_name(name)))))
        adj[name] = _name(target)

    def _needs_array(self, op, seen=None):
        """Whether undoing ``op`` reaches a rule that is not elementwise, through ``op`` or
        the temporaries it reads (``v = 0.5 * t`` with ``t = np.sum(m, axis=0)``): 0.0 times
        an elementwise partial is still the zero it stands for."""
        if op.kind == "call" or op.kind == "prim" and op.prim.partials is None and not (
                isinstance(op.prim.fun, np.ufunc) and op.prim.fun.signature is None):
            return True   # (np.matmul is a ufunc too, but a generalized one: not elementwise)
        if op.kind not in ("prim", "copy"):
            return False
        seen = set() if seen is None else seen
        for arg in op.args:
            if isinstance(arg, gast.Name) and arg.id not in seen and \
                    arg.id in self.useful_active:
                seen.add(arg.id)
                made = self._made_by.get(arg.id)
                if made is not None and self._needs_array(made, seen):
                    return True
        return False

    def _accumulated_after_loops(self, name):
        """Whether, once the loops that overwrite ``name`` are undone, its adjoint holds what
        was added in them: in each, a statement before the overwrite reads ``name``.  (An
        adjoint that entered a loop as the number 0.0 may leave it so: the loop may run no
        step, or read ``name`` only in a branch.)"""
        if name in self.zero_start:
            return False
        for loop, op in _assignments_in_loops(self._body, name, None):
            if not any(self._adds_into(node, name) for node in _before(loop.body, op)):
                return False
        return True

    def _accumulated_first(self, name, op):
        """Whether something adds into ``name``'s adjoint before each undoing of ``op`` (which
        assigns it) in the loop being undone: a statement that reads ``name`` after ``op`` (in
        ``op``'s block, or after the statement of the loop's body that holds it); or one before
        it, or ``op`` itself (``x = A @ x``), when the adjoint enters the loop as an array."""
        loops = getattr(self, "_emitting_loops", ())
        if not loops:
            return True
        before, after = _around(loops[-1].body, op)
        before = before + [op]
        for node in after:   # undone before op, latest first: the first of these decides
            if self._adds_into(node, name):
                return True
            if _assigns(node, name):
                return False   # a = W @ a; a = h: restarted (0.0) and nothing added since
        # undone after op: adds in before op's next undoing, but not before its first
        return name not in self.zero_start and any(
            self._adds_into(node, name) for node in before)

    def _adds_into(self, node, name):
        """Whether undoing ``node`` adds into ``name``'s adjoint."""
        if not isinstance(node, Op) or not node.active:
            return False
        if node.kind != "setitem" and node.target not in self.useful_active:
            return False
        read = node.args[2:] if node.kind == "setitem" else node.args
        return any(isinstance(a, gast.Name) and a.id == name for a in read)

    def backward_loop(self, node, adj, out, nested):
        if nested:
            out.append(_assign(node.trips, _method(self.stack(node.trips), "pop", [])))
        carried = self._carried(node)
        for name in sorted(carried):
            self.make_runtime(name, adj, out)
        body = []
        steps = self.loop_ranges.get(id(node))
        if node.target is not None and steps is None:
            for name in sorted(_names(node.target) & self.saved):
                body.append(_assign(name, _method(self.stack(f"{name}_loop"), "pop", [])))
        inner = dict(adj)
        self._emitting = getattr(self, "_emitting", ()) + (id(node),)
        self._emitting_loops = getattr(self, "_emitting_loops", ()) + (node,)
        self._backward_block(node.body, inner, body, [None])
        self._emitting = self._emitting[:-1]
        self._emitting_loops = self._emitting_loops[:-1]
        for name in carried:
            adj[name] = _name(self.own[name])
        after = [gast.Expr(value=_method(self.stack(f"{name}_shape"), "pop", []))
                 for name in self._loop_shape_names(node)]
        if len(body) > sum(1 for s in body if _is_comment(s)) and (
                body or node.target is not None):
            if steps is not None:  # the same range, backward
                loop = gast.For(target=clone(node.target), iter=_call("reversed", [
                    _name(steps)]), body=body, orelse=[], type_comment=None)
            else:
                loop = gast.For(target=_name("_", gast.Store()),
                                iter=_call("range", [_name(node.trips)]), body=body,
                                orelse=[], type_comment=None)
            out.append(loop)
        if steps is None:
            for name in self._restored_targets(node):
                out.append(_assign(name, _method(self.stack(f"{name}_loop"), "pop", [])))
        out.extend(after)

    def _restored_targets(self, node):
        """The names a loop's target assigns (saved each iteration) that something before the
        loop reads: their value before the loop is restored after its backward pass."""
        if node.target is None:
            return []
        names = _names(node.target) & self.saved
        return sorted(n for n in names if _mentioned_before(self.fn.body, node, n))

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
                read |= tree_leaves(op)   # a dict argument passed whole: its leaves
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
            self.zero_start.add(name)
            out.append(_assign(target, _const(0.0)))
        elif not (isinstance(current, gast.Name) and current.id == target):
            value = clone(current)
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
        if isinstance(op, ListAppend):
            return backward_append(self, op, adj, out)
        buf, index, value = op.args
        if buf.id not in adj:
            return
        badj = adj[buf.id]
        take = self.imports.name("pullback._runtime", "take", None)
        zero_at = self.imports.name("pullback._runtime", "zero_at", None)
        if isinstance(value, gast.Name) and value.id in self.useful_active:
            part = self.namer.fresh(f"b{value.id}_written")
            out.append(_assign(part, _call(take, [clone(badj), clone(index)])))
            unbroadcast = self.imports.name("pullback._registry", "unbroadcast", None)
            contribution = self.shape_of(_call(unbroadcast, [_name(part), clone(value)]))
            self.accumulate(value, contribution, adj, out)
        out.append(_assign(self.own.get(buf.id, badj.id), _call(zero_at, [
            clone(badj), clone(index)])))


def _assigns(node, name):
    """Whether ``node`` gives ``name`` a new value (its adjoint restarts when it is undone)."""
    if isinstance(node, Op):
        return node.kind != "setitem" and node.target == name
    if isinstance(node, Plain):
        return name in node.defines
    return False


def _around(body, op):
    """(before, after): the statements of a loop with body ``body`` that run before ``op`` in
    an iteration (before it in its own block, and before the statement of ``body`` that holds
    it), and those that run after it, in the same way."""
    block = _block_of(body, op) or []
    at = next((i for i, node in enumerate(block) if node is op), len(block))
    top = next((i for i, node in enumerate(body) if node is op or _holds(node, op)), len(body))
    return block[:at] + body[:top], block[at + 1:] + body[top + 1:]


def _before(body, op):
    """The statements of a loop's body that run before ``op`` in an iteration."""
    return _around(body, op)[0]


def _assignments_in_loops(body, name, loop):
    """``(innermost loop, op)`` for each op assigning ``name`` inside a loop."""
    for node in body:
        if isinstance(node, Op) and node.target == name and node.kind != "setitem" and loop:
            yield loop, node
        elif isinstance(node, Branch):
            yield from _assignments_in_loops(node.body, name, loop)
            yield from _assignments_in_loops(node.orelse, name, loop)
        elif isinstance(node, Loop):
            yield from _assignments_in_loops(node.body, name, node)


def _range_counters(body):
    """The variables of ``for`` loops over ``range(...)``: integers."""
    names = set()
    for node in body:
        if isinstance(node, Loop):
            if node.kind == "for" and isinstance(node.target, gast.Name) and isinstance(
                    node.iter, gast.Call) and isinstance(node.iter.func, gast.Name) and \
                    node.iter.func.id == "range":
                names.add(node.target.id)
            names |= _range_counters(node.body)
        elif isinstance(node, Branch):
            names |= _range_counters(node.body) | _range_counters(node.orelse)
    return names


def _holds(node, target):
    """Whether ``target`` is inside ``node`` (a branch or a loop, at any depth)."""
    return isinstance(node, (Branch, Loop)) and any(
        inner is target or _holds(inner, target)
        for inner in list(node.body) + list(getattr(node, "orelse", []) or []))


def _block_of(body, target):
    """The statement list (``body`` or a branch's, not a nested loop's) holding ``target``."""
    for node in body:
        if node is target:
            return body
        if isinstance(node, Branch):
            found = _block_of(node.body, target) or _block_of(node.orelse, target)
            if found is not None:
                return found
    return None


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


def _mentioned_before(body, stop, name):
    """Whether ``name`` is read in the IR ``body`` before the node ``stop`` (True), or not
    (False: also when ``stop`` is not reached)."""
    return _scan_before(body, stop, name) is True


def _scan_before(body, stop, name):
    """True: ``name`` is read before ``stop``; "stop": ``stop`` reached first; None."""
    for node in body:
        if node is stop:
            return "stop"
        if isinstance(node, Loop):
            if any(_mentions(h, name) for h in (node.target, node.iter, node.test)):
                return True
            found = _scan_before(node.body, stop, name)
            if found is not None:
                return found
        elif isinstance(node, Branch):
            if _mentions(node.test, name):
                return True
            for block in (node.body, node.orelse):
                found = _scan_before(block, stop, name)
                if found is not None:
                    return found
        elif isinstance(node, Op):
            if _mentions(node.expr, name):
                return True
        elif isinstance(node, Plain):
            if _mentions(node.stmt, name):
                return True
    return None


def _mentions(node, name):
    """Whether a gast node (or a name held as a string, or None) reads ``name``."""
    if node is None:
        return False
    if isinstance(node, str):
        return node == name
    return any(n.id == name and not isinstance(n.ctx, (gast.Store, gast.Del))
               for n in name_nodes(node))
