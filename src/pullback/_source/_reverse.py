"""Reverse: emit the forward pass and, after it, the backward pass, from the shared registry.

The backward pass walks the normalized operations in reverse.  For each argument of an
operation that is varied, it takes the rule's VJP (inlined or called by name) and adds it into
that argument's adjoint ``b<name>``.  A first contribution is assigned, not added to zeros; a
contribution that is just another adjoint is aliased, not copied.
"""


import gast
import numpy as np

from .._rules.core import identity

from ._clone import clone, name_nodes, same_tree
from ._ir import Branch, Loop, LoopExit, Op, Plain
from ._lists import wrap_items
from ._reverse_control import ControlReverse

__all__ = ["Reverse"]

def _functions(*funs):
    return frozenset(getattr(fun, "_pullback_fun", fun) for fun in funs)


# Known by the function itself, not by its name: a user's primitive called `add` or `sum` is
# neither.  Elementwise primitives declared with partials count as scalar-preserving too.
_SCALAR_PRESERVING = _functions(
    np.add, np.subtract, np.multiply, np.divide, np.power, np.negative, np.positive,
    np.float_power, np.remainder, np.fmod, np.maximum, np.minimum, np.fmax, np.fmin, np.arctan2,
    np.hypot, np.logaddexp, np.logaddexp2, identity)
_FULL_REDUCTIONS = _functions(
    np.sum, np.mean, np.prod, np.max, np.min, np.amax, np.amin, np.std, np.var, np.nansum,
    np.nanmean, np.nanvar, np.nanstd, np.median, np.nanmedian, np.dot, np.vdot,
    np.inner)   # not np.trace: of a 3-D array it is an array


def _name(id_, ctx=None):
    return gast.Name(id=id_, ctx=ctx or gast.Load(), annotation=None, type_comment=None)


def _assign(target, value):
    return gast.Assign(targets=[_name(target, gast.Store())], value=value, type_comment=None)


def _has_loop(body):
    return any(isinstance(node, Loop) or isinstance(node, Branch) and (
        _has_loop(node.body) or _has_loop(node.orelse)) for node in body)


class Reverse(ControlReverse):
    """Builds the statements of one generated function from a normalized Function."""

    def __init__(self, fn_ir, namer, rules, imports, kinds, comment):
        self.fn = fn_ir
        self.namer = namer
        self.rules = rules
        self.imports = imports
        self.kinds = dict(kinds)
        self.comment = comment      # comment(line) -> a marker statement
        self.own = {}               # name -> the adjoint variable created for it
        self.items = {}             # tuple-valued name -> {index: item name}
        self.item_cotangents = {}   # loop-carried item name -> its cotangent, kept for the
                                    # tuple's gather past the restart of its adjoint
        self.useful = set()
        self.user_loop_names = set(getattr(fn_ir, "loop_names", ()))
        self._depth = 0             # loops enclosing the statement being emitted
        # adjoints restart as the number 0.0 in loops: a tuple's cotangent is checked then
        self.loops_restart = _has_loop(fn_ir.body)

    # --- forward ------------------------------------------------------------------------------

    def forward(self, body, last_line=None):
        out = []
        line = [last_line]
        self._forward_block(body, out, line)
        return out, line[0]

    def _forward_block(self, body, out, line):
        for node in body:
            if node.line != line[0]:
                out.append(self.comment(node.line))
                line[0] = node.line
            if isinstance(node, Branch):
                body_out, else_out = [], []
                self._forward_block(node.body, body_out, line)
                line[0] = None
                self._forward_block(node.orelse, else_out, line)
                line[0] = None
                out.append(gast.If(test=_name(node.test), body=body_out or [gast.Pass()],
                                   orelse=else_out))
            elif isinstance(node, Loop):
                self._depth += 1
                self.forward_loop(node, out, line, nested=self._depth > 1)
                self._depth -= 1
            elif isinstance(node, LoopExit):
                out.append(gast.If(test=_name(node.test), body=[gast.Break()], orelse=[]))
            elif isinstance(node, Plain):
                self.save_plain(node, out)
                out.append(node.stmt)
            else:
                self.save_before(node, out)
                out.append(self._forward_op(node))
                self.save_shape_after(node, out)

    def _forward_op(self, op):
        if op.kind == "item":
            self.items.setdefault(op.args[0].id, {})[op.index] = op.target
        if op.kind == "call":
            targets = gast.Tuple(elts=[_name(op.target, gast.Store()),
                                       _name(op.pullback, gast.Store())], ctx=gast.Store())
            return gast.Assign(targets=[targets], value=op.expr, type_comment=None)
        if op.kind == "setitem":
            return clone(op.expr)
        return _assign(op.target, clone(op.expr))

    def infer_kinds(self, body):
        """Scalar or array, per name, over all its definitions: in a loop one name takes
        several values, so it is a scalar only if every one of them is."""
        while True:
            before = dict(self.kinds)
            self._infer_block(body)
            if self.kinds == before:
                return

    def _infer_block(self, body):
        for node in body:
            if isinstance(node, Op):
                if node.kind != "setitem":
                    self._infer_kind(node)
            elif isinstance(node, Plain):
                for name in node.defines:
                    self.kinds[name] = "array"
            elif hasattr(node, "body"):
                if isinstance(node, Loop) and node.target is not None:
                    counting = isinstance(node.iter, gast.Call) and isinstance(
                        node.iter.func, gast.Name) and node.iter.func.id == "range"
                    for n in name_nodes(node.target):  # range() counts in Python ints
                        self._join(n.id, "scalar" if counting else "array")
                self._infer_block(node.body)
                self._infer_block(getattr(node, "orelse", []) or [])

    def _join(self, name, kind):
        previous = self.kinds.get(name)
        if name in self.fn.params and previous is not None:
            return
        self.kinds[name] = "scalar" if kind == "scalar" and previous in (None, "scalar") \
            else "array"

    def _expr_kind(self, node):
        """Scalar for arithmetic and elementwise functions of scalars and numbers."""
        if isinstance(node, gast.Constant):
            return "scalar" if isinstance(node.value, (int, float)) else "other"
        if isinstance(node, gast.Name):
            return self.kinds.get(node.id, "array")
        if isinstance(node, gast.BinOp):
            return "scalar" if self._expr_kind(node.left) == self._expr_kind(
                node.right) == "scalar" else "array"
        if isinstance(node, gast.UnaryOp):
            return self._expr_kind(node.operand)
        if isinstance(node, gast.Compare) or isinstance(node, gast.BoolOp):
            return "scalar" if all(self._expr_kind(v) == "scalar" for v in (
                getattr(node, "values", None) or [node.left] + node.comparators)) else "array"
        if isinstance(node, gast.Call) and not node.keywords and isinstance(
                node.func, gast.Attribute) and isinstance(node.func.value, gast.Name) and \
                _elementwise(node.func.value.id, node.func.attr) and node.args and all(
                    self._expr_kind(a) == "scalar" for a in node.args):
            return "scalar"
        return "array"

    def _infer_kind(self, op):
        kinds = [self.kind(a) for a in op.args]
        scalar = False
        if op.kind == "const":
            scalar = self._expr_kind(op.expr) == "scalar"
        elif op.kind in ("copy", "item") and kinds:
            scalar = kinds[0] == "scalar" and op.kind == "copy"
        elif op.kind == "leaf":
            scalar = self.kinds.get(op.target) == "scalar"
        elif op.kind == "prim" and op.prim is not None:
            fun = op.prim.fun
            if fun in _SCALAR_PRESERVING or op.prim.partials is not None:
                scalar = all(k == "scalar" for k in kinds)
            elif fun in _FULL_REDUCTIONS:
                scalar = (len(op.args) == 1 and "axis" not in op.kwargs
                          and "keepdims" not in op.kwargs) or all(k == "scalar" for k in kinds)
        self._join(op.target, "scalar" if scalar else "array")

    def kind(self, atom):
        if isinstance(atom, gast.Constant):
            return "scalar" if isinstance(atom.value, (int, float)) else "other"
        if isinstance(atom, gast.Name):
            return self.kinds.get(atom.id, "array")
        return self._expr_kind(atom)

    # --- backward -----------------------------------------------------------------------------

    def backward(self, body, adj):
        """Statements of the backward pass over ``body``; ``adj`` maps names to adjoints."""
        out = []
        for name in sorted(self.fn.mutated & self.useful_active):
            self.make_runtime(name, adj, out)  # arrays written in place: their own adjoint
        line = [None]
        self._backward_block(body, adj, out, line)
        return out

    def _backward_block(self, body, adj, out, line):
        for node in reversed(body):
            start = len(out)
            if isinstance(node, Branch):
                self._backward_branch(node, adj, out)
            elif isinstance(node, Loop):
                self._depth += 1
                self.backward_loop(node, adj, out, nested=self._depth > 1)
                self._depth -= 1
            elif isinstance(node, Plain):
                self.reset_adjoint(node, out)
                self.restore_after(node, out)
            elif isinstance(node, Op):
                self._backward_node(node, adj, out)
            if len(out) > start and node.line != line[0]:
                out.insert(start, self.comment(node.line))
                line[0] = node.line

    def _backward_node(self, node, adj, out):
        if node.kind == "setitem":
            if node.active:
                self.backward_setitem(node, adj, out)
            self.restore_after(node, out)
            return
        if node.kind == "item" and node.active and node.target in self.runtime and \
                node.target in adj and node.target in self.useful_active:
            # h, c = step(h) in a loop: h's adjoint restarts here, but the tuple's gather,
            # further back, needs the new h's cotangent
            g = self.namer.fresh(f"b{node.target}_item")
            out.append(_assign(g, clone(adj[node.target])))
            self.item_cotangents[node.target] = _name(g)
            self.reset_adjoint(node, out)
            self.restore_after(node, out)
            return
        if node.active:
            if node.target in self.items:
                self._gather_tuple(node, adj, out)
            if node.target in adj and node.target in self.useful_active:
                self.cotangent_as_array(node, adj, out)
                if node.target in self.runtime and any(
                        isinstance(a, gast.Name) and a.id == node.target for a in node.args):
                    # x = f(x): the new value's cotangent, before x's adjoint restarts
                    g = self.namer.fresh(f"b{node.target}_new")
                    out.append(_assign(g, clone(adj[node.target])))
                    self.reset_adjoint(node, out)
                    saved, adj[node.target] = adj[node.target], _name(g)
                    self._backward_op(node, adj, out, keep=saved)
                else:
                    self._backward_op(node, adj, out)
                    self.reset_adjoint(node, out)
        else:
            self.reset_adjoint(node, out)  # a constant overwrote it: nothing flows further
        self.restore_after(node, out)

    def _backward_op(self, op, adj, out, keep=None):
        g = adj[op.target]
        if keep is not None:
            adj[op.target] = keep
        if op.kind == "copy":
            self.accumulate(op.args[0], g, adj, out)
        elif op.kind == "call":
            self._backward_call(op, g, adj, out)
        elif op.kind == "prim":
            self._backward_prim(op, g, adj, out)
        # "leaf": the adjoint stays in adj and is collected into the container's gradient;
        # "item": collected by the operation that made the tuple.

    def _gather_tuple(self, op, adj, out):
        """The cotangent of a tuple-valued result, from the adjoints of its unpacked items."""
        value = self._cotangent_of_tuple(op, adj)
        if value is not None:
            target = self.namer.adjoint(op.target)
            out.append(_assign(target, value))
            adj[op.target] = _name(target)

    def _cotangent_of_tuple(self, op, adj):
        parts = self.items.get(op.target)
        if not parts:
            return None
        if not any(name in adj for name in parts.values()):
            return None
        cotangents = {name: self.item_cotangents.pop(name, None) or adj[name]
                      for name in parts.values() if name in adj}
        if op.target in self.fn.sequences:   # read by index: how many pieces is known at run time
            given = sorted((i, name) for i, name in parts.items() if name in cotangents)
            pieces = self.imports.name("pullback._runtime", "pieces_cotangent", None)
            return gast.Call(func=_name(pieces), args=[_name(op.target), gast.Dict(
                keys=[gast.Constant(value=i, kind=None) for i, _ in given],
                values=[clone(cotangents[name]) for _, name in given])], keywords=[])
        n = max(parts) + 1
        elts = []
        for i in range(n):
            name = parts.get(i)
            if name is not None and name in cotangents:
                elts.append(clone(cotangents[name]))
            else:
                elts.append(self.zeros(gast.Subscript(value=_name(op.target), slice=gast.Constant(
                    value=i, kind=None), ctx=gast.Load())))
        value = gast.Tuple(elts=elts, ctx=gast.Load())
        if any(isinstance(e, gast.Name) for e in elts) and self.loops_restart:
            # an item's adjoint restarts as the number 0.0 in a loop (and stays so after it
            # when the last iteration did not read the item); a rule reading the tuple needs
            # an array of the item's shape there
            arrays = self.imports.name("pullback._runtime", "items_cotangent", None)
            return gast.Call(func=_name(arrays), args=[value, _name(op.target)], keywords=[])
        return value

    def _backward_prim(self, op, g, adj, out):
        ans = _name(op.target)
        if op.kind == "copy":
            return
        # Contributions that only add come first; one that restarts a loop-carried adjoint
        # (``bx = e`` after ``bx = 0.0``) comes last, so the others still read the cotangent
        # under the adjoint's name and no copy of it is needed.
        order = sorted(range(len(op.args)), key=lambda i: self._restarts(op.args[i], out))
        for i in order:
            arg = op.args[i]
            if op.prim.partials is None and op.prim.vjp_maker(i) is None:
                continue  # declared to carry no gradient: np.full_like(a, v) to a
            if isinstance(arg, gast.Name) and arg.id in self.useful_active:
                contribution = self.rules.vjp(op.prim, i, ans, op.args, op.kwargs, clone(g))
                contribution = self.shape_of(self._elide_unbroadcast(contribution, op, i))
                self.accumulate(arg, contribution, adj, out)
            elif isinstance(arg, (gast.List, gast.Tuple)) and any(
                    isinstance(e, gast.Name) and e.id in self.useful_active for e in arg.elts):
                parts = self.namer.fresh(f"b{op.target}_parts")
                out.append(_assign(parts, self.rules.vjp(op.prim, i, ans, op.args, op.kwargs,
                                                         clone(g))))
                for j, e in enumerate(arg.elts):
                    if isinstance(e, gast.Name) and e.id in self.useful_active:
                        piece = gast.Subscript(value=_name(parts), slice=gast.Constant(
                            value=j, kind=None), ctx=gast.Load())
                        self.accumulate(e, piece, adj, out)

    def _restarts(self, arg, out):
        """Whether adding into ``arg``'s adjoint now overwrites it: a loop-carried adjoint
        whose last assignment so far is its restart, ``b = 0.0``."""
        if not (isinstance(arg, gast.Name) and arg.id in self.runtime):
            return False
        own = self.own[arg.id]
        for stmt in reversed(out):
            if isinstance(stmt, gast.Assign) and any(
                    isinstance(t, gast.Name) and t.id == own for t in stmt.targets):
                return isinstance(stmt.value, gast.Constant) and stmt.value.value == 0.0
        return False

    def _elide_unbroadcast(self, expr, op, argnum):
        """``unbroadcast(e, x)`` is ``e`` when nothing can broadcast against ``x``: the
        operation is elementwise and every other argument of it is a scalar."""
        if op.prim.partials is None and op.prim.fun not in _SCALAR_PRESERVING:
            return expr  # a shape-changing rule sums for its own reasons
        if not (isinstance(expr, gast.Call) and isinstance(expr.func, gast.Name)
                and expr.func.id == self.imports.peek("pullback._registry", "unbroadcast")
                and len(expr.args) == 2):
            return expr
        others = [a for j, a in enumerate(op.args) if j != argnum]
        if all(self.kind(a) == "scalar" for a in others):
            return expr.args[0]
        return expr

    def _backward_call(self, op, g, adj, out):
        helper, active, leaves = op.helper
        names = []
        wanted = []
        for arg, is_active, tree in zip(op.args, active, leaves):
            if is_active and tree is not None:   # a dict or list argument: per leaf, below
                name = self.namer.fresh(f"b{arg.id}_from_{helper.short}")
                names.append(_name(name, gast.Store()))
                for path, leaf in tree:
                    part = _name(name)
                    for key in path:
                        part = gast.Subscript(value=part, slice=gast.Constant(value=key,
                                                                              kind=None),
                                              ctx=gast.Load())
                    wanted.append((_name(leaf), part))
                continue
            if is_active and isinstance(arg, gast.Name) and arg.id in self.useful_active:
                name = self.namer.fresh(f"b{arg.id}_from_{helper.short}")
            elif is_active and self._useful_items(arg):   # helper([x, y]): one per item
                name = self.namer.fresh(f"bitems_from_{helper.short}")
            else:
                names.append(_name("_", gast.Store()))
                continue
            names.append(_name(name, gast.Store()))
            wanted.append((arg, _name(name)))
        call = gast.Call(func=_name(op.pullback), args=[clone(g)], keywords=[])
        target = gast.Tuple(elts=names, ctx=gast.Store()) if len(names) != 1 else names[0]
        out.append(gast.Assign(targets=[target], value=call, type_comment=None))
        while wanted:
            arg, grad = wanted.pop(0)
            if isinstance(arg, gast.Name):
                self.accumulate(arg, grad, adj, out)
                continue
            for k, item in enumerate(arg.elts):  # the k-th item's part of the list's gradient
                if self._useful_items(item):
                    wanted.append((item, gast.Subscript(value=clone(grad), slice=gast.Constant(value=k, kind=None),
                                                        ctx=gast.Load())))

    def _useful_items(self, atom):
        """Whether ``atom`` (a name, or a list or tuple of atoms) holds a useful active name."""
        if isinstance(atom, gast.Name):
            return atom.id in self.useful_active
        if isinstance(atom, (gast.List, gast.Tuple)):
            return any(self._useful_items(e) for e in atom.elts)
        return False

    def _backward_branch(self, node, adj, out):
        body_adj, else_adj = dict(adj), dict(adj)
        body_out, else_out = [], []
        runtime = set(self.runtime)  # a loop inside one branch makes adjoints runtime there only
        self._backward_block(node.body, body_adj, body_out, [None])
        self.runtime = set(runtime)
        self._backward_block(node.orelse, else_adj, else_out, [None])
        self.runtime = runtime
        local = _defined(node.body) | _defined(node.orelse)
        for name in sorted((set(body_adj) | set(else_adj)) - local):
            a, b = body_adj.get(name), else_adj.get(name)
            if a is not None and b is not None and same_tree(a, b):
                adj[name] = a
                continue
            common = self.namer.adjoint(name)
            for branch_out, value in ((body_out, a), (else_out, b)):
                branch_out.append(_assign(common, clone(value) if value is not None
                                          else self.zeros(_name(name))))
            adj[name] = _name(common)
            self.own[name] = common
        if body_out or else_out:
            out.append(gast.If(test=_name(node.test), body=body_out or [gast.Pass()],
                               orelse=else_out))

    # --- adjoints -----------------------------------------------------------------------------

    def accumulate(self, arg, contribution, adj, out):
        """Add ``contribution`` into the adjoint of name ``arg``."""
        if not isinstance(arg, gast.Name):
            return  # a constant: nothing to differentiate
        name = arg.id
        if name in self.fn.lists:   # a list's adjoint holds its elements' cotangents
            contribution = wrap_items(self.imports, contribution)
        if name in self.runtime:  # an adjoint that lives across loop iterations
            own = self.own[name]
            out.append(_assign(own, gast.BinOp(left=_name(own), op=gast.Add(),
                                               right=contribution)))
            adj[name] = _name(own)
            return
        current = adj.get(name)
        if current is None:
            if isinstance(contribution, gast.Name) and contribution.id not in {
                    self.own[n] for n in self.runtime}:  # a runtime adjoint will change
                adj[name] = contribution
                return
            target = self.namer.adjoint(name)
            self.own[name] = target
            out.append(_assign(target, contribution))
            adj[name] = _name(target)
            return
        target = self.own.get(name)
        if target is None or current.id != target:
            target = self.namer.adjoint(name)
            self.own[name] = target
        total = gast.BinOp(left=clone(current), op=gast.Add(), right=contribution)
        out.append(_assign(target, total))
        adj[name] = _name(target)

    def zeros(self, value):
        if isinstance(value, gast.Name) and value.id in self.fn.lists:
            return gast.Constant(value=0.0, kind=None)   # no element has a cotangent
        alias = self.imports.name("pullback._runtime", "zeros_like", None)
        return gast.Call(func=_name(alias), args=[value], keywords=[])


def _defined(body):
    names = set()
    for node in body:
        if isinstance(node, Op):
            names.add(node.target)
        elif isinstance(node, Branch):
            names |= _defined(node.body) | _defined(node.orelse)
    return names


def _elementwise(module, attr):
    """Whether ``module.attr`` of numbers is a number: a math function, or a NumPy ufunc
    (``np.sin(2.0)``; not ``np.zeros(3)``, an array)."""
    if module == "math":
        return True
    return module in ("np", "numpy") and isinstance(getattr(np, attr, None), np.ufunc)
