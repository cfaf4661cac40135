"""Specialize: the array code an expert writes, once the arguments' layout is known.

Runs on a generated function after the other optimizations, with the layout of its arguments
(symbolic shapes and dtypes, see ``_shapes``).  It rewrites top-level statements, and the
bodies of straight-line loops over ``range`` whose shapes do not change from one iteration to
the next (rewrites 1 and 2 only); every rewrite is exact for every call with that layout:

1. ``unbroadcast(e, t)`` where ``e`` already has ``t``'s shape is ``e``; where only leading axes
   are summed it is ``np.sum(e, axis=...)``.
2. A matmul's VJP on matrices and vectors is the product itself: ``g @ B.T``, ``A.T @ g``,
   ``g @ A``, ``np.outer(g, B)``.
3. The cotangent of a sum or mean (over all axes, or with keepdims) stays the reduced cotangent
   (``g``, or ``g / n``) when every use of it broadcasts it anyway: no array of copies is made.
4. In place: an arithmetic result is written into an operand's buffer when that buffer is an
   array this function allocated, has the result's shape and dtype, and neither it nor any view
   of it is read afterwards: ``bx = bx + e`` becomes ``bx += e`` and ``t2 = np.exp(t1)`` becomes
   ``t2 = np.exp(t1, out=t1)``.

Functions that write into arrays (``x[i] = v``) are left alone.  What the rules' results are
is ``_rulefacts``' business; which arrays each name may hold, ``_buffers``'; saved stacks,
``_stacks``'.
"""

import numpy as np

import gast

from ._buffers import Buffers
from ._clone import Transformer, clone, name_nodes, nodes
from ._rulefacts import RuleFacts, Rules
from ._shapes import broadcast, reduced_axes
from ._sink import sink_to_first_use
from ._stacks import drop_unread_stacks, is_shape_of, record, stack_push

__all__ = ["specialize"]

_ARITH = {gast.Add: "add", gast.Sub: "subtract", gast.Mult: "multiply", gast.Div: "divide"}
_COMMUTATIVE = (gast.Add, gast.Mult)


def _name(id_, ctx=None):
    return gast.Name(id=id_, ctx=ctx or gast.Load(), annotation=None, type_comment=None)


def _attr(value, attr):
    return gast.Attribute(value=value, attr=attr, ctx=gast.Load())


def _num(v):
    return gast.Constant(value=v, kind=None)


def _names(node):
    return {n.id for n in name_nodes(node)}


def specialize(function, layout, numpy_names, numpy_alias, imports, dead_code, pure=None,
               array=None):
    """Rewrite ``function`` (a gast FunctionDef) for arguments of ``layout``; see the module.
    ``dead_code(function)`` removes what the rewrites leave unused, before writing in place;
    with ``pure`` (a statement predicate) and ``array`` (a name predicate), arrays are then
    computed where they are first read (``_sink``), so fewer are alive at once and buffers are
    chosen in that order."""
    if not layout or _writes_into_arrays(function):
        return function
    rules = Rules(imports)
    np_name = numpy_alias
    stores = _store_counts(function.body)
    # sizes are read from arguments the function never rebinds (a loop may reuse a name)
    readable = {p for p in layout if p not in stores and p.isidentifier()}
    pass_ = _Pass(function.body, layout, numpy_names | {np_name}, np_name, rules, imports,
                  readable, stores)
    pass_.loops()
    pass_.products()
    pass_.lazy_reductions()
    pass_.propagate_constants()
    pass_.aliases()
    drop_unread_stacks(function.body)
    dead_code(function)
    if pure is not None:
        sink_to_first_use(function, pure, array)
    pass_.body = function.body
    pass_.in_place()
    return function


def _store_counts(body):
    """{name: how many times ``body`` assigns it}.  The rewrites before ``propagate_constants``
    change values only, never what is assigned, so the count holds until then."""
    stores = {}
    for node in name_nodes(gast.Module(body=body, type_ignores=[])):
        if isinstance(node.ctx, gast.Store):
            stores[node.id] = stores.get(node.id, 0) + 1
    return stores


def _writes_into_arrays(function):
    for node in nodes(function):
        if isinstance(node, (gast.Subscript, gast.Attribute)) and isinstance(
                node.ctx, gast.Store):
            return True
        if isinstance(node, gast.AugAssign) and not (
                isinstance(node.target, gast.Name) and isinstance(node.value, gast.Constant)):
            return True  # (a loop's trip counter, ``trips += 1``, writes no array)
    return False


def _dimension_sources(layout):
    """token -> (param, axis) where a dimension of that size can be read."""
    sources = {}
    for param, (dims, _) in layout.items():
        for axis, d in enumerate(dims):
            if d != 1:
                sources.setdefault(d, (param, axis))
    return sources


class _Pass:
    def __init__(self, body, layout, numpy_names, np_name, rules, imports, readable, stores):
        self.body = body
        self.stores = stores  # name -> how many times the body assigns it (see _store_counts)
        self.layout = layout
        self.numpy_names = numpy_names
        self.np = np_name
        self.rules = rules
        self.imports = imports
        self.readable = readable  # arguments whose sizes the code may read (never rebound)
        self.sources = _dimension_sources({p: v for p, v in layout.items() if p in readable})
        self.virtual = {}
        self.lazy = set()
        self.after_loop = {}   # id(For statement) -> facts at its head (= after it)

    def _np(self, fn, *args, **kwargs):
        return gast.Call(func=_attr(_name(self.np), fn), args=list(args),
                         keywords=[gast.keyword(arg=k, value=v) for k, v in kwargs.items()])

    # --- 1 and 2: unbroadcast and matmul VJPs as plain NumPy ---------------------------------

    def products(self):
        facts = RuleFacts(self.layout, self.numpy_names, self.rules)
        for stmt in self.body:
            if isinstance(stmt, gast.Assign):
                stmt.value = self._products(stmt.value, facts)
            self._step(facts, stmt)

    def _products(self, value, facts):
        """``value`` with rewrites 1 and 2 (the expression itself when it has no call of
        ``unbroadcast`` or of a rule: ``_Products`` would change nothing)."""
        rules = self.rules
        if not any(type(n) is gast.Call and (rules.is_unbroadcast(n) or rules.rule_call(n))
                   for n in nodes(value)):
            return value
        return _Products(self, facts).visit(value)

    # --- loops: the same rewrites where shapes do not change from one iteration to the next -

    def loops(self):
        """In a top-level ``for`` loop over ``range`` whose body is straight-line, find what
        holds at the head of every iteration (the facts before the loop joined with those after
        an iteration, to a fixed point), then rewrite the body's statements like ``products``.
        The values a loop pushes on a stack have the facts they had when pushed; the backward
        loop that pops them (inside a loop, never before) sees those."""
        stacks, shape_stacks = {}, {}
        facts = RuleFacts(self.layout, self.numpy_names, self.rules)
        stores = self.stores
        self.ranges = {s.targets[0].id for s in self.body if isinstance(s, gast.Assign) and len(
            s.targets) == 1 and isinstance(s.targets[0], gast.Name) and stores.get(
            s.targets[0].id) == 1 and isinstance(s.value, gast.Call) and isinstance(
            s.value.func, gast.Name) and s.value.func.id == "range"}
        for stmt in self.body:
            if isinstance(stmt, gast.For) and not stmt.orelse and _straight(stmt.body):
                head = self._head(stmt, facts, stacks, shape_stacks)
                if head is not None:
                    inner = head.copy()
                    for inside in stmt.body:
                        push = stack_push(inside)
                        if push is not None:
                            record(stacks, push[0], inner.infer(push[1]))
                            if is_shape_of(push[1], self.numpy_names):
                                record(shape_stacks, push[0],
                                        (inner.shape_of(push[1].args[0]), None))
                        if isinstance(inside, gast.Assign):
                            inside.value = self._products(inside.value, inner)
                        inner.step(inside)
                    self.after_loop[id(stmt)] = head
                    facts = head.copy()
                    facts.stacks = facts.shape_stacks = None
                    continue
            facts.step(stmt)

    def _counts(self, node):
        """Whether a loop over ``node`` binds Python ints: ``range(...)``, a name holding a
        range, or ``reversed`` of either."""
        if isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and len(
                node.args) == 1 and node.func.id == "reversed":
            return self._counts(node.args[0])
        if isinstance(node, gast.Name):
            return node.id in self.ranges
        return isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and \
            node.func.id == "range"

    def _head(self, loop, before, stacks, shape_stacks):
        """Facts at the head of every iteration of ``loop``, or None without a fixed point."""
        entry = before.copy()
        entry.stacks = {k: v for k, v in stacks.items() if v is not None}
        entry.shape_stacks = {k: v[0] for k, v in shape_stacks.items() if v is not None}
        if not (isinstance(loop.target, gast.Name) and self._counts(loop.iter)):
            return None

        def bind(facts):
            facts._set(loop.target.id, (), int, False)
            return facts
        head = bind(entry.copy())
        for _ in range(6):
            end = head.copy()
            end.run(loop.body)
            following = bind(entry.join(end))
            if following.same(head):
                return head
            head = following
        return None

    # --- 3: reductions' cotangents left unbroadcast ------------------------------------------

    def lazy_reductions(self):
        """Last reduction first: an earlier one then sees the later one's cotangent as a name
        for its own, with the shape the original code gave it."""
        self.virtual = {}     # id(statement) -> the shape its target had before the rewrite
        self.lazy = set()     # names now holding a value smaller than their original shape
        candidates = [k for k, stmt in enumerate(self.body) if self._reduction_vjp(stmt)]
        if not candidates:
            return
        # A rewrite changes its statement and later ones only: the facts before each candidate
        # are those of the code as it is now, taken in one pass.
        before = self._facts_before({k + d for k in candidates for d in (0, 1)})
        for k in reversed(candidates):
            stmt = self.body[k]
            alias, args, keywords, g = self._reduction_vjp(stmt)
            facts = before[k].copy()
            a = args[1]
            full = facts.shape_of(a)
            reduced = facts.shape_of(g)
            kw = {kw.arg: kw.value for kw in keywords}
            keep = kw.get("keepdims")
            keep = isinstance(keep, gast.Constant) and keep.value is True
            axis = kw.get("axis")
            if full is None or reduced is None or not (keep or axis is None) or (
                    _names(g) & self.lazy):
                continue
            axes = reduced_axes(axis, len(full))
            if axes is None:
                continue
            expected = tuple(1 if i in axes else n for i, n in enumerate(full)) if keep else ()
            if expected != reduced or broadcast(reduced, full) != full:
                continue
            replacement = clone(g)
            if alias == self.rules.mean:
                count = self._count(full, axes)
                if count is None:
                    continue
                replacement = gast.BinOp(left=replacement, op=gast.Div(), right=count)
            passing = self._uses_broadcast(k, stmt.targets[0].id, reduced, before[k + 1].copy())
            if passing is not None:
                stmt.value = replacement
                self.virtual[id(stmt)] = full
                for later, shape in passing:
                    self.virtual[id(later)] = shape
                    self.lazy.add(later.targets[0].id)
                    carried = self.rules.rule_call(later.value)
                    if carried is not None:  # a sum's VJP of the scalar: the scalar itself
                        later.value = clone(carried[3])
                self.lazy.add(stmt.targets[0].id)

    def _reduction_vjp(self, stmt):
        """(alias, args, keywords, g) of ``x = sum_vjp(ans, a, ...)(g)`` (or mean's); else None."""
        if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)):
            return None
        found = self.rules.rule_call(stmt.value)
        if found is None or found[0] not in (self.rules.sum, self.rules.mean) or len(
                found[1]) != 2:
            return None
        return found

    def _facts_before(self, positions):
        """{k: the facts after the first k top-level statements, for each k in ``positions``},
        with the shapes the original code had for names whose statements ``lazy_reductions``
        rewrote."""
        facts = RuleFacts(self.layout, self.numpy_names, self.rules)
        found = {}
        last = max(positions)
        for k, stmt in enumerate(self.body[:last]):
            if k in positions:
                found[k] = facts.copy()
            self._step(facts, stmt, virtual=True)
        found[last] = facts
        return found

    def _count(self, full, axes):
        """An expression for the number of elements each reduced slice has."""
        for param, (dims, _) in self.layout.items():
            if tuple(dims) == full and len(axes) == len(full) and full and \
                    param in self.readable:
                return _attr(_name(param), "size")
        factors = []
        for i in sorted(axes):
            d = full[i]
            if d == 1:
                continue
            if d not in self.sources:
                return None
            param, axis = self.sources[d]
            factors.append(gast.Subscript(value=_attr(_name(param), "shape"), slice=_num(axis),
                                          ctx=gast.Load()))
        if not factors:
            return _num(1)
        expr = factors[0]
        for f in factors[1:]:
            expr = gast.BinOp(left=expr, op=gast.Mult(), right=f)
        return expr

    def _uses_broadcast(self, k, name, reduced, facts):
        """Whether every later use of ``name`` (an array made by broadcasting a value of shape
        ``reduced``) gives the same result with the reduced value itself: it is an operand of
        elementwise arithmetic whose other operand broadcasts it to the same shape, or it is
        copied / negated / scaled by a scalar into another such name.  Returns the statements
        that copy it on, with their targets' original shapes; None when some use needs the
        full array.  ``facts`` are those after statement ``k``."""
        lazy = {name: facts.shape[name]}
        passing = []
        for stmt in self.body[k + 1:]:
            used = _names(stmt) & set(lazy)
            if not used:
                self._step(facts, stmt, virtual=True)
                continue
            if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)):
                return None
            target = stmt.targets[0].id
            value = stmt.value
            passes = self._passes_on(value, lazy, facts, reduced)  # judged before it runs
            if not passes and not self._absorbed(value, lazy, facts, reduced):
                return None
            self._step(facts, stmt, virtual=True)
            if passes:
                lazy[target] = facts.shape.get(target)
                if lazy[target] is None:
                    return None
                passing.append((stmt, lazy[target]))
            else:
                lazy.pop(target, None)
        return passing

    def _step(self, facts, stmt, virtual=False):
        """Step ``facts`` over a top-level statement: a loop leaves the facts of its head;
        with ``virtual``, a name ``lazy_reductions`` rewrote keeps its original shape (what
        the rewrite's checks reason about; the code's real shapes are the others)."""
        if id(stmt) in self.after_loop:
            # The names the loop assigns have the facts of its head, found before the later
            # rewrites; every other name keeps what the code now says (a rewrite after that,
            # lazy_reductions', may have made it smaller)
            head = self.after_loop[id(stmt)]
            for name in {n.id for n in name_nodes(stmt) if isinstance(n.ctx, gast.Store)}:
                facts._set(name, head.shape.get(name), head.dtype.get(name),
                           bool(head.fresh.get(name)))
                if name in head.none:
                    facts.none.add(name)
            facts.stacks = facts.shape_stacks = None
            return
        facts.step(stmt)
        if virtual and id(stmt) in self.virtual:
            facts.shape[stmt.targets[0].id] = self.virtual[id(stmt)]

    def _passes_on(self, value, lazy, facts, reduced):
        """``x = L``, ``x = -L``, ``x = L * c`` with c a scalar, and -- when L stands for a
        broadcast scalar -- ``x = sum_vjp(..., a, ...)(L)`` (the scalar broadcast further):
        x is lazy too."""
        if isinstance(value, gast.Name):
            return value.id in lazy
        found = self.rules.rule_call(value)
        if found is not None and found[0] == self.rules.sum and reduced == () and isinstance(
                found[3], gast.Name) and found[3].id in lazy and not any(
                _names(a) & set(lazy) for a in found[1]):
            return True
        if isinstance(value, gast.UnaryOp) and isinstance(value.op, (gast.USub, gast.UAdd)):
            return isinstance(value.operand, gast.Name) and value.operand.id in lazy
        if isinstance(value, gast.BinOp) and type(value.op) in _ARITH:
            for this, other in ((value.left, value.right), (value.right, value.left)):
                if isinstance(this, gast.Name) and this.id in lazy and not (
                        _names(other) & (set(lazy) | self.lazy)) and \
                        facts.shape_of(other) == ():
                    return True
        return False

    def _absorbed(self, value, lazy, facts, reduced):
        """Every lazy name in ``value`` is an operand of elementwise arithmetic whose other
        operand (in which nothing is lazy) broadcasts the reduced value to the same shape as
        the name's original one."""
        ok = True
        avoid = set(lazy) | self.lazy

        def check(node):
            nonlocal ok
            pairs = []
            if isinstance(node, gast.BinOp) and type(node.op) in _ARITH:
                pairs = [(node.left, node.right), (node.right, node.left)]
            elif isinstance(node, gast.Call) and isinstance(facts.numpy_function(node),
                                                             np.ufunc) and len(node.args) == 2:
                pairs = [(node.args[0], node.args[1]), (node.args[1], node.args[0])]
            handled = set()
            for this, other in pairs:
                if isinstance(this, gast.Name) and this.id in lazy:
                    handled.add(id(this))
                    so = facts.shape_of(other)
                    full = broadcast(lazy[this.id], so)
                    if _names(other) & avoid or full is None or full != broadcast(reduced, so):
                        ok = False
            for child in gast.iter_child_nodes(node):
                if isinstance(child, gast.Name) and child.id in lazy and id(child) not in handled:
                    ok = False
                elif not isinstance(child, gast.Name):
                    check(child)

        if isinstance(value, gast.Name):
            return False
        check(value)
        return ok

    # --- constants and aliases ---------------------------------------------------------------

    def propagate_constants(self):
        """A float constant assigned once at top level is written where it is used."""
        stores = self.stores
        from ._optimize import fold_constants
        changed = True
        while changed:
            touched = self._propagate_once(stores)
            for stmt in touched:
                fold_constants(stmt)
            changed = bool(touched)

    def _propagate_once(self, stores):
        """One sweep; returns the statements a constant was written into."""
        touched = []
        k = 0
        while k < len(self.body):
            stmt = self.body[k]
            if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name) and \
                    isinstance(stmt.value, gast.Constant) and type(stmt.value.value) is float \
                    and stores.get(stmt.targets[0].id) == 1 and not any(
                        stmt.targets[0].id in _names(s) for s in self.body[:k]):
                name, value = stmt.targets[0].id, stmt.value.value
                for later in self.body[k + 1:]:
                    substitute = _Substitute(name, value)
                    substitute.visit(later)
                    if substitute.count:
                        touched.append(later)
                del self.body[k]  # assigned once, every read replaced: nothing reads it
                continue
            k += 1
        return touched

    def aliases(self):
        """``v = x * 1.0`` (or ``1.0 * x``, ``x / 1.0``) with nothing to broadcast or convert
        is ``v = x``: when ``x`` is a name, the in-place pass below knows the two share a
        buffer."""
        found = {k: x for k, x in enumerate(map(_times_one, self.body)) if x is not None}
        if not found:
            return  # (the facts are followed only as far as the last one)
        facts = RuleFacts(self.layout, self.numpy_names, self.rules)
        for k, stmt in enumerate(self.body[:max(found) + 1]):
            x = found.get(k)
            if x is not None:
                shape, dtype, _ = facts.infer(x)
                rshape, rdtype, _ = facts.infer(stmt.value)
                if shape is not None and shape == rshape and (
                        (isinstance(dtype, np.dtype) and dtype == rdtype)
                        or (dtype is float and shape == ())):  # a Python float
                    stmt.value = x
            self._step(facts, stmt)

    # --- 4: in place -------------------------------------------------------------------------

    def in_place(self):
        buffers = Buffers(self.imports, self.numpy_names)
        last = {}  # name -> the last statement that mentions it
        for k, stmt in enumerate(self.body):
            for name in _names(stmt):
                last[name] = k
        facts = RuleFacts(self.layout, self.numpy_names, self.rules)
        for k, stmt in enumerate(self.body):
            new = self._in_place(stmt, facts, buffers, k, last)
            if new is not None:
                self.body[k] = stmt = new
            buffers.step(stmt)
            self._step(facts, stmt)
            if new is not None and isinstance(new, gast.Assign):
                facts.fresh[new.targets[0].id] = True

    def _in_place(self, stmt, facts, buffers, k, last):
        """``stmt`` (statement ``k``) written in place, or None; a name is still read after it
        when ``last[name] > k``."""
        if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)):
            return None
        target = stmt.targets[0].id
        value = stmt.value
        shape, dtype, fresh = facts.infer(value)
        if not fresh or not shape or not isinstance(dtype, np.dtype):
            return None
        if isinstance(value, gast.BinOp) and type(value.op) in _ARITH:
            operands = [value.left, value.right]
        elif isinstance(value, gast.Call) and isinstance(facts.numpy_function(value), np.ufunc) \
                and not value.keywords:
            operands = list(value.args)
        else:
            return None
        for i, op in enumerate(operands):
            if not isinstance(op, gast.Name):
                continue
            x = op.id
            if not (facts.fresh.get(x) and facts.shape.get(x) == shape and
                    facts.dtype.get(x) == dtype):
                continue
            if not buffers.free(x) or any(last.get(n, -1) > k
                                          for n in buffers.sharing(x) - {target}):
                continue  # another name (or a list, a closure) still reads that buffer
            if isinstance(value, gast.BinOp):
                if x == target and (i == 0 or isinstance(value.op, _COMMUTATIVE)):
                    other = operands[1 - i]
                    return gast.AugAssign(target=_name(target, gast.Store()), op=value.op,
                                          value=other)
                call = self._np(_ARITH[type(value.op)], value.left, value.right,
                                out=_name(x))
            else:
                call = clone(value)
                call.keywords = [gast.keyword(arg="out", value=_name(x))]
            return gast.Assign(targets=[_name(target, gast.Store())], value=call,
                               type_comment=None)
        return None


def _times_one(stmt):
    """``x`` of ``v = x * 1.0``, ``v = 1.0 * x`` or ``v = x / 1.0``; else None."""
    if isinstance(stmt, gast.Assign) and isinstance(stmt.value, gast.BinOp):
        v = stmt.value
        if isinstance(v.op, (gast.Mult, gast.Div)) and _is_one(v.right):
            return v.left
        if isinstance(v.op, gast.Mult) and _is_one(v.left):
            return v.right
    return None


def _straight(body):
    return all(isinstance(s, (gast.Assign, gast.Expr, gast.AugAssign)) for s in body)


class _Products(Transformer):
    def __init__(self, pass_, facts):
        self.p = pass_
        self.facts = facts

    def visit_Call(self, node):
        self.generic_visit(node)
        rules = self.p.rules
        if rules.is_unbroadcast(node):
            return self._unbroadcast(node)
        found = rules.rule_call(node)
        if found is None or found[0] not in (rules.matmul_a, rules.matmul_b):
            return node
        alias, args, keywords, g = found
        if len(args) != 3 or keywords:
            return node
        a, b = args[1], args[2]
        sa, sb = self.facts.shape_of(a), self.facts.shape_of(b)
        if sa is None or sb is None or len(sa) not in (1, 2) or len(sb) not in (1, 2):
            return node
        a, b = clone(a), clone(b)

        def mm(x, y):
            return gast.BinOp(left=x, op=gast.MatMult(), right=y)
        ranks = (len(sa), len(sb))
        if alias == rules.matmul_a:
            return {(2, 2): lambda: mm(g, _attr(b, "T")), (2, 1): lambda: self.p._np("outer", g, b),
                    (1, 2): lambda: mm(b, g),
                    (1, 1): lambda: gast.BinOp(left=g, op=gast.Mult(), right=b)}[ranks]()
        return {(2, 2): lambda: mm(_attr(a, "T"), g), (2, 1): lambda: mm(g, a),
                (1, 2): lambda: self.p._np("outer", a, g),
                (1, 1): lambda: gast.BinOp(left=g, op=gast.Mult(), right=a)}[ranks]()

    def _unbroadcast(self, node):
        summed = self._unbroadcast_sum(node)
        e = summed.args[0] if isinstance(summed, gast.Call) and summed is not node else None
        if isinstance(e, gast.UnaryOp) and isinstance(e.op, gast.USub):
            # np.sum(-e) is -np.sum(e), exactly: no negated copy of the whole array
            summed.args[0] = e.operand
            return gast.UnaryOp(op=gast.USub(), operand=summed)
        return summed

    def _unbroadcast_sum(self, node):
        e, t = node.args
        se, st = self.facts.shape_of(e), self.facts.target_shape(t)
        if se is None or st is None:
            return node
        if se == st:
            return e
        if broadcast(se, st) != se:
            return node
        lead = len(se) - len(st)
        kept = [lead + i for i, n in enumerate(st) if n == 1 and se[lead + i] != 1]
        if not st:
            return self.p._np("sum", e)
        if kept and lead:
            return node  # leading axes dropped and others kept: the helper says it best
        axes = kept or list(range(lead))
        axis = _num(axes[0]) if len(axes) == 1 else gast.Tuple(elts=[_num(a) for a in axes],
                                                               ctx=gast.Load())
        if kept:
            return self.p._np("sum", e, axis=axis, keepdims=gast.Constant(value=True, kind=None))
        return self.p._np("sum", e, axis=axis)


class _Substitute(Transformer):
    def __init__(self, name, value):
        self.name = name
        self.value = value
        self.count = 0

    def visit_Name(self, node):
        if node.id == self.name and isinstance(node.ctx, gast.Load):
            self.count += 1
            return _num(self.value)
        return node


def _is_one(node):
    return isinstance(node, gast.Constant) and type(node.value) in (int, float) and \
        node.value == 1


