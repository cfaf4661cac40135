"""Lists: follow a list the function builds by appending differentiated values.

``hs = []`` then ``hs.append(h)`` (in loops, nested loops and branches), the list then read
by ``np.stack`` / ``np.concatenate`` / ``np.vstack`` / ``np.hstack`` / ``np.array`` /
``sum(hs)``, by index (``hs[-1]``, ``hs[i]``), by ``len(hs)`` or by a loop (``for v in hs``).
A list comprehension (and a generator expression given to ``sum``, ``tuple`` or ``list``) is
first rewritten into such a loop (``rewrite_comprehensions``, before the fence), so the engine
sees only loops that append.

The generated forward pass builds the list as written.  The list's adjoint (``bhs``) is an
``Items`` (``pullback._items``): the cotangents of its elements by position.  Each operation
that reads the list adds into it as into any adjoint; the backward pass undoes
``hs.append(h)`` with ``bh = bh + pop_item(bhs, hs)``, which takes ``h`` back off the list
(so a rule that reads the list reads it as it was when its operation ran) and gives ``h``
its element's cotangent.

The engine follows names, and NumPy shares objects; so a followed list may be used only in
those ways, and an appended array must not be written into in place (the list would hold the
changed array).  Any other use is refused with the line and a fix, never guessed.
"""

import builtins

import gast
import numpy as np

from .._items import item_cotangent, list_item, sum_cotangent
from .._registry import Primitive, lookup, unbroadcast
from ._clone import clone, walk
from ._ir import Op

__all__ = ["rewrite_comprehensions", "ListAppend", "ListsMixin", "backward_append",
           "LIST_ITEM", "LIST_SUM"]


# --- the two operations on a list that the registry does not know ------------------------------

LIST_ITEM = Primitive(list_item, "pullback._items.list_item")
LIST_ITEM.vjps = (lambda ans, items, index: lambda g: item_cotangent(items, index, g), None)
LIST_SUM = Primitive(builtins.sum, "builtins.sum")
LIST_SUM.vjps = (lambda ans, items, start=0: lambda g: sum_cotangent(items, g),
                 lambda ans, items, start=0: lambda g: unbroadcast(g, start))

# Functions that take a followed list as their first argument: they join its elements (their
# rules give one cotangent per element).  np.array and np.asarray of a list are np.stack's.
_JOINS = frozenset(getattr(f, "_pullback_fun", f) for f in (
    np.stack, np.concatenate, np.vstack, np.hstack, np.dstack, np.column_stack))
_AS_STACK = (np.array, np.asarray)
_ALLOCATORS = ("zeros", "ones", "empty", "full", "zeros_like", "ones_like", "empty_like",
               "full_like", "array", "copy")
_USES = ("appended to ({0}.append(v)), indexed with a number ({0}[i]), measured (len({0})), "
         "walked by a for loop, or given whole to np.stack, np.concatenate, np.vstack, "
         "np.hstack, np.array or sum()")


def _name(id_, ctx=None):
    return gast.Name(id=id_, ctx=ctx or gast.Load(), annotation=None, type_comment=None)


class ListAppend(Op):
    """``lst.append(value)``: ``args`` are ``[lst, None, value]``.  Its kind is "setitem": like
    ``x[i] = v`` it changes ``lst`` in place without giving it a new value, and going backward
    it gives ``value`` the cotangent of what it wrote (``backward_append``)."""

    __slots__ = ()


def backward_append(reverse, op, adj, out):
    """Undo ``lst.append(value)``: take the element back off the list and add its cotangent
    into ``value``'s adjoint."""
    lst, _, value = op.args
    if lst.id not in reverse.useful_active:
        return
    pop = reverse.imports.name("pullback._items", "pop_item", None)
    cotangent = clone(adj[lst.id]) if lst.id in adj else gast.Constant(value=0.0, kind=None)
    call = gast.Call(func=_name(pop), args=[cotangent, _name(lst.id)], keywords=[])
    if isinstance(value, gast.Name) and value.id in reverse.useful_active:
        reverse.accumulate(value, call, adj, out)
    else:
        out.append(gast.Expr(value=call))


def wrap_items(imports, contribution):
    """A contribution to a list's adjoint, as an ``Items`` (the rules of np.stack and its
    siblings give a list, one cotangent per element)."""
    made = {imports.peek("pullback._items", n) for n in ("item_cotangent", "sum_cotangent",
                                                          "as_items")} - {None}
    if isinstance(contribution, gast.Call) and isinstance(contribution.func, gast.Name) and \
            contribution.func.id in made:
        return contribution
    alias = imports.name("pullback._items", "as_items", None)
    return gast.Call(func=_name(alias), args=[contribution], keywords=[])


# --- comprehensions, rewritten into loops that append ------------------------------------------

def rewrite_comprehensions(src):
    """Rewrite each list comprehension of ``src``'s function (and each generator expression
    that is the one argument of ``sum``, ``tuple`` or ``list``) into a loop appending to a
    list, placed just before its statement; refuse, at its line, one that cannot be moved
    there.  Runs once per parsed function, before the fence."""
    node = src.node
    if getattr(node, "_pullback_comprehensions", False):
        return
    node._pullback_comprehensions = True
    if isinstance(node.body, list):
        _split_list_pairs(node.body)
    if not _has_comprehension(node):
        return
    if isinstance(node, gast.Lambda):
        for child in walk(node.body):
            if isinstance(child, (gast.ListComp, gast.GeneratorExp)):
                raise src.error(child, f"pb.grad cannot transform a comprehension inside a "
                                       f"lambda (in {src.fn.__qualname__}); define the "
                                       f"function with def, or use mode='tape'")
        return
    _Rewriter(src).block(node.body)


_COMPREHENSIONS = (gast.ListComp, gast.GeneratorExp, gast.SetComp, gast.DictComp)


def _split_list_pairs(body):
    """``hs, cs = [], []`` as ``hs = []`` and ``cs = []`` (each list is then followed as one
    made by itself), in ``body`` and the blocks inside it; only when the displays read none of
    the names assigned (``a, b = [b], [a]`` stays as written)."""
    i = 0
    while i < len(body):
        stmt = body[i]
        for field in ("body", "orelse", "finalbody"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list):
                _split_list_pairs(inner)
        split = _list_pair(stmt)
        if split is not None:
            body[i:i + 1] = split
            i += len(split)
        else:
            i += 1


def _list_pair(stmt):
    if not (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], gast.Tuple)
            and isinstance(stmt.value, (gast.Tuple, gast.List))):
        return None
    names, values = stmt.targets[0].elts, stmt.value.elts
    if len(names) != len(values) or not all(isinstance(n, gast.Name) for n in names) or \
            not all(isinstance(v, gast.List) for v in values):
        return None
    assigned = {n.id for n in names}
    if any(isinstance(n, gast.Name) and n.id in assigned for v in values for n in walk(v)):
        return None
    return [gast.copy_location(gast.Assign(targets=[n], value=v, type_comment=None), stmt)
            for n, v in zip(names, values)]


def _has_comprehension(node):
    return any(isinstance(n, _COMPREHENSIONS) for n in walk(node))


class _Rewriter:
    def __init__(self, src):
        self.src = src
        body = gast.Module(body=src.node.body, type_ignores=[])
        self.taken = {n.id for n in walk(body) if isinstance(n, gast.Name)} | {
            a.id for a in src.node.args.args} | {
            n.name for n in walk(body) if isinstance(n, gast.FunctionDef)}
        self.outside = _names_outside_comprehensions(src.node)
        fn = src.fn
        self.cells = dict(zip(fn.__code__.co_freevars, fn.__closure__ or ()))

    def fresh(self, base):
        name, k = base, 1
        while name in self.taken:
            name, k = f"{base}_{k}", k + 1
        self.taken.add(name)
        return name

    def builtin(self, func, obj):
        """Whether ``func`` (an expression) is the builtin ``obj``, not a name of the user's."""
        if not isinstance(func, gast.Name):
            return False
        name = func.id
        local = any(isinstance(n, gast.Name) and n.id == name and isinstance(
            n.ctx, (gast.Store, gast.Param)) for n in walk(self.src.node))
        if local or name in self.cells or name in self.src.fn.__globals__:
            return False
        return getattr(builtins, name, None) is obj

    def block(self, stmts):
        k = 0
        while k < len(stmts):
            stmt = stmts[k]
            if isinstance(stmt, gast.FunctionDef):
                self.block(stmt.body)
                k += 1
                continue
            before = self.statement(stmt)
            if before:
                replaced = before[-1] is None   # lst = [...]: the loop is the statement
                before = [s for s in before if s is not None]
                stmts[k:k + 1] = before + ([] if replaced else [stmt])
                k += len(before) + (0 if replaced else 1)
            else:
                k += 1
            for field in ("body", "orelse"):
                inner = getattr(stmt, field, None)
                if isinstance(inner, list):
                    self.block(inner)

    def statement(self, stmt):
        """The statements to place before ``stmt`` (ending with None when they replace it),
        with its comprehensions replaced by the lists they build; None when it has none."""
        own = [getattr(stmt, f) for f in stmt._fields if f not in ("body", "orelse")]
        if not any(_has_comprehension(v) for v in own if isinstance(v, gast.AST)) and not any(
                _has_comprehension(e) for v in own if isinstance(v, list) for e in v
                if isinstance(e, gast.AST)):
            return None
        if isinstance(stmt, gast.While):
            culprit = next(n for n in walk(stmt.test) if isinstance(n, _COMPREHENSIONS))
            raise self.src.error(culprit, self._refusal("in a while loop's condition",
                                                        "compute the list in the loop's body"))
        if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(
                stmt.targets[0], gast.Name) and isinstance(stmt.value, gast.ListComp):
            target = stmt.targets[0].id
            if not any(isinstance(n, gast.Name) and n.id == target
                       for n in walk(stmt.value)):
                return self.hoist(stmt.value, target) + [None]
        hoister = _Hoister(self)
        for field in stmt._fields:
            if field in ("body", "orelse"):
                continue
            value = getattr(stmt, field)
            if isinstance(value, gast.AST):
                setattr(stmt, field, hoister.visit(value))
            elif isinstance(value, list):
                setattr(stmt, field, [hoister.visit(v) if isinstance(v, gast.AST) else v
                                      for v in value])
        return hoister.before

    def _refusal(self, where, fix):
        return (f"pb.grad cannot transform a comprehension {where} (in "
                f"{self.src.fn.__qualname__}); {fix}, or use mode='tape'")

    def hoist(self, comp, target=None):
        """``[elt for x in it if c]`` as ``target = []; for x in it: if c: target.append(elt)``."""
        if len(comp.generators) != 1:
            raise self.src.error(comp, self._refusal(
                "with more than one `for`", "write the loops out, appending to a list"))
        gen = comp.generators[0]
        if getattr(gen, "is_async", 0):
            raise self.src.error(comp, self._refusal("with `async for`", "write the loop out"))
        for part in [comp.elt, gen.iter, gen.target] + list(gen.ifs):
            inner = next((n for n in walk(part) if isinstance(n, _COMPREHENSIONS)), None)
            if inner is not None:
                raise self.src.error(inner, self._refusal(
                    "inside another comprehension", "write the outer one as a loop that "
                    "appends"))
        if any(isinstance(n, (gast.Lambda, gast.NamedExpr)) for part in [comp.elt] + list(
                gen.ifs) for n in walk(part)):
            raise self.src.error(comp, self._refusal("holding a lambda or :=",
                                                     "write the loop out"))
        lst = target or self.fresh("items")
        renames = {}
        for n in walk(gen.target):
            if isinstance(n, gast.Name) and n.id in self.outside:
                renames[n.id] = self.fresh(n.id)   # the comprehension's own variable
        loop_target, elt, ifs = (_renamed(p, renames) for p in (gen.target, comp.elt,
                                                               gast.Tuple(elts=list(gen.ifs),
                                                                          ctx=gast.Load())))
        append = gast.Expr(value=gast.Call(
            func=gast.Attribute(value=_name(lst), attr="append", ctx=gast.Load()),
            args=[elt], keywords=[]))
        body = [append]
        for cond in reversed(ifs.elts):
            body = [gast.If(test=cond, body=body, orelse=[])]
        made = [gast.Assign(targets=[_name(lst, gast.Store())],
                            value=gast.List(elts=[], ctx=gast.Load()), type_comment=None),
                gast.For(target=loop_target, iter=gen.iter, body=body, orelse=[],
                         type_comment=None)]
        for stmt in made:
            for n in walk(stmt):
                if isinstance(n, (gast.stmt, gast.expr)) and getattr(n, "lineno", None) is None:
                    gast.copy_location(n, comp)
        return made


def _renamed(node, renames):
    node = clone(node)
    for n in walk(node):
        if isinstance(n, gast.Name) and n.id in renames:
            n.id = renames[n.id]
    return node


def _names_outside_comprehensions(fn):
    """Names read or bound anywhere in ``fn`` other than as a comprehension's own variable
    (its target, and its reads of it): a comprehension variable with such a name gets a
    fresh one, as Python keeps it apart."""
    inside = set()
    for comp in walk(fn):
        if isinstance(comp, _COMPREHENSIONS):
            own = {n.id for g in comp.generators for n in walk(g.target)
                   if isinstance(n, gast.Name)}
            for part in [getattr(comp, "elt", None), getattr(comp, "key", None),
                         getattr(comp, "value", None)] + [g.target for g in comp.generators] + [
                    c for g in comp.generators for c in g.ifs] + [
                    g.iter for g in comp.generators[1:]]:
                if part is not None:
                    inside |= {id(n) for n in walk(part) if isinstance(n, gast.Name)
                               and n.id in own}
    return {n.id for n in walk(fn) if isinstance(n, gast.Name) and id(n) not in inside} | {
        a.id for a in fn.args.args}


class _Hoister(gast.NodeTransformer):
    """Replace the comprehensions of one statement by the lists built before it."""

    def __init__(self, rewriter):
        self.rewriter = rewriter
        self.src = rewriter.src
        self.before = []

    def _refuse_inside(self, node, where, fix):
        inner = next((n for n in walk(node) if isinstance(n, _COMPREHENSIONS)), None)
        if inner is not None:
            raise self.src.error(inner, self.rewriter._refusal(where, fix))

    def visit_Lambda(self, node):
        self._refuse_inside(node, "inside a lambda", "define the function with def")
        return node

    def visit_IfExp(self, node):
        node.test = self.visit(node.test)
        for arm in (node.body, node.orelse):
            self._refuse_inside(arm, "in an arm of `a if c else b` (it would run whichever "
                                "arm is taken)", "use an if statement")
        return node

    def visit_BoolOp(self, node):
        node.values[0] = self.visit(node.values[0])
        for value in node.values[1:]:
            self._refuse_inside(value, "after `and` / `or` (it may not run)",
                                "use an if statement")
        return node

    def visit_ListComp(self, node):
        lst = self.rewriter.hoist(node)
        self.before.extend(lst)
        return gast.copy_location(_name(lst[0].targets[0].id), node)

    def visit_GeneratorExp(self, node):
        raise self.src.error(node, (
            f"pb.grad follows a generator expression only as the one argument of sum(), "
            f"tuple() or list() (in {self.src.fn.__qualname__}); write a list comprehension "
            f"[...], or use mode='tape'"))

    def visit_Call(self, node):
        args = node.args
        gen = args[0] if args and isinstance(args[0], (gast.GeneratorExp, gast.ListComp)) \
            else None
        if gen is not None and not node.keywords:
            if len(args) in (1, 2) and self.rewriter.builtin(node.func, builtins.sum):
                node.args = [self.visit_ListComp(gen)] + [self.visit(a) for a in args[1:]]
                return node
            if len(args) == 1 and (self.rewriter.builtin(node.func, tuple) or
                                   self.rewriter.builtin(node.func, list)):
                node.args = [self.visit_ListComp(gen)]   # tuple(items): still a tuple
                return node
        return self.generic_visit(node)


# --- the normalizer's part ---------------------------------------------------------------------

class ListsMixin:
    """Find the followed lists of a function, check how they are used, and normalize their
    operations (a mixin of the normalizer)."""

    def find_lists(self):
        """The user names of the lists this function builds by appending values that depend
        on the differentiated arguments (``self.followed``); each is checked to be used only
        in ways the engine follows."""
        self.followed = set()
        node = self.src.node
        if isinstance(node, gast.Lambda):
            return
        body = gast.Module(body=node.body, type_ignores=[])
        appends = {}
        for stmt in _own_nodes(body):   # a nested function's lists are its own
            lst = _appended_list(stmt)
            if lst is not None and lst in self.scope.locals and lst not in self.params:
                appends.setdefault(lst, []).append(stmt)
        if not appends:
            return
        active = self._list_activity(body, appends)
        self.followed = {lst for lst in appends if lst in active}
        for lst in sorted(self.followed):
            self._check_uses(lst, body, appends[lst])
        if self.followed:
            self._check_appended_writes(body, appends)

    def _list_activity(self, body, appends):
        from ._activity import Activity
        probe = Activity(self.scope)
        probe.local_functions = self.local_functions
        names = {n.id for n in walk(body) if isinstance(n, gast.Name)} | set(self.params)
        env = {v: _name(v) for v in names}
        active = set(self.fn_ir.active_params)
        while True:
            probe.active = set(active)
            before = len(active)
            for stmt in _own_nodes(body):
                if isinstance(stmt, (gast.Assign, gast.AugAssign, gast.AnnAssign)):
                    value = stmt.value
                    targets = getattr(stmt, "targets", None) or [stmt.target]
                    if value is not None and probe.expr(value, env) or isinstance(
                            stmt, gast.AugAssign) and _bound(stmt.target) & active:
                        for t in targets:
                            active |= _bound(t)
                elif isinstance(stmt, gast.For) and probe.expr(stmt.iter, env):
                    active |= _bound(stmt.target)
                lst = _appended_list(stmt)
                if lst in appends and probe.expr(stmt.value.args[0], env):
                    active.add(lst)
            if len(active) == before:
                return active

    def _check_uses(self, lst, body, appends):
        parents = {}
        for parent in walk(body):
            for child in gast.iter_child_nodes(parent):
                parents[id(child)] = parent
        where = appends[0].lineno
        for n in walk(body):
            if not (isinstance(n, gast.Name) and n.id == lst):
                continue
            problem = self._use_problem(n, parents)
            if problem is not None:
                culprit, what = problem
                uses = _USES.format(lst)
                raise self.src.error(culprit, (
                    f"pb.grad follows the list {lst} (built with {lst}.append on line {where}, "
                    f"in {self.src.fn.__qualname__}) only where it is {uses}; here it is "
                    f"{what}, where the engine cannot see what happens to the values it "
                    f"holds. Build an array from it first (np.stack({lst})), or use "
                    f"mode='tape'"))

    def _use_problem(self, name, parents):
        """(node, what is wrong) for a use of a followed list the engine does not follow, or
        None."""
        parent = parents.get(id(name))
        for up in _ancestors(name, parents):
            if isinstance(up, (gast.FunctionDef, gast.Lambda)):
                if name.id in _bound_in(up):
                    return None   # the nested function's own variable of that name
                return name, "read by a nested function or lambda"
        if isinstance(name.ctx, gast.Store):
            if isinstance(parent, gast.Assign) and parent.targets == [name] and isinstance(
                    parent.value, gast.List) and not any(
                        isinstance(e, gast.Starred) for e in parent.value.elts):
                return None
            stmt = parent if isinstance(parent, gast.stmt) else name
            return stmt, (f"given a value other than a list display ({name.id} = [] or "
                          f"{name.id} = [a, b]; give other values a new name)")
        if isinstance(parent, gast.Attribute):
            call = parents.get(id(parent))
            if parent.attr == "append" and isinstance(call, gast.Call) and call.func is parent \
                    and isinstance(parents.get(id(call)), gast.Expr) and len(call.args) == 1 \
                    and not call.keywords and not isinstance(call.args[0], gast.Starred):
                return None
            return parent, f"used through .{parent.attr}" + (
                " (only .append is followed)" if isinstance(call, gast.Call) else "")
        if isinstance(parent, gast.Subscript) and parent.value is name:
            if isinstance(parent.slice, (gast.Slice, gast.Tuple)):
                return parent, "sliced (a new list of the same values)"
            return None
        if isinstance(parent, gast.For) and parent.iter is name:
            return None
        if isinstance(parent, gast.Call) and name in parent.args:
            func = self.scope.static_value(parent.func)
            func = getattr(func, "_pullback_fun", func)
            if func is len and len(parent.args) == 1:
                return None
            if func in (tuple, list) and len(parent.args) == 1 and not parent.keywords:
                outer = parents.get(id(parent))   # np.stack(tuple(lst)): the same items
                if not isinstance(outer, gast.Call):
                    return parent, f"passed to {func.__name__}()"
                name, parent = parent, outer
                func = self.scope.static_value(parent.func)
                func = getattr(func, "_pullback_fun", func)
            first = isinstance(parent, gast.Call) and parent.args[:1] == [name]
            if first and (func in _JOINS or func is builtins.sum or
                          func in _AS_STACK and len(parent.args) == 1 and not parent.keywords):
                return None
            loop = parents.get(id(parent))
            if func in (enumerate, zip) and isinstance(loop, gast.For) and loop.iter is parent:
                return None
            return parent, f"passed to {gast.unparse(parent.func).strip()}()"
        if isinstance(parent, gast.Assign) and parent.value is name:
            return parent, "given to another name (one list under two names)"
        if isinstance(parent, gast.expr):
            return parent, f"used in `{gast.unparse(parent).strip()}`"
        return name, f"used as a value ({type(parent).__name__.lower()} statement)"

    def _check_appended_writes(self, body, appends):
        """Refuse to append an array that may be written into in place (``x[i] = v``,
        ``x += v``) after it is appended: the list keeps the object, and would show the
        write.  A write may follow an append when it comes later in the function, or when
        both are in one loop -- unless that loop's body first makes the array anew
        (``row = np.zeros(3); row[0] = x; rows.append(row)``)."""
        from ._aliases import numbers_only, paired_names
        from ._writes import _ReturnsView, _shares, _views_of, _written_bases
        placed = list(_placed(body.body, ()))
        written = [(base, stmt, pos, loops) for stmt, pos, loops in placed
                   for base in _written_bases(stmt)]
        if not written:
            return
        where = {id(stmt): (pos, loops) for stmt, pos, loops in placed}
        pairs = paired_names(self.src.node)
        returns_view = _ReturnsView(self.src)
        for base, stmt, pos, loops in written:
            group = pairs.get(base, {base})
            if numbers_only(group, self.src.node, self.kinds):
                continue   # b += 1.0 on a number makes a new number
            names = set(_views_of(base, body.body, frozenset(), returns_view)) | group
            for lst in sorted(self.followed):
                for call in appends[lst]:
                    value = call.value.args[0]
                    if not _shares(value, names, returns_view):
                        continue
                    at, around = where[id(call)]
                    common = [loop for loop in loops if loop in around]
                    if pos < at and (not common or _made_anew(
                            common[-1], base, group, value, stmt, call, self._allocates)):
                        continue
                    raise self.src.error(call, (
                        f"pb.grad cannot follow {gast.unparse(call.value).strip()} (in "
                        f"{self.src.fn.__qualname__}): the list keeps that array, and "
                        f"{base} is written into in place on line {stmt.lineno}, "
                        f"{'later' if pos > at else 'in the same loop'}, which the list "
                        f"would show; append a copy "
                        f"({lst}.append({gast.unparse(value).strip()}.copy())), or use "
                        f"mode='tape'"))

    def _allocates(self, value):
        """Whether ``value`` makes a new array: a NumPy allocation (np.zeros, np.ones,
        np.empty, np.full and their _like forms, np.array, np.copy) or ``v.copy()``."""
        if not isinstance(value, gast.Call):
            return False
        func = value.func
        if isinstance(func, gast.Attribute) and func.attr == "copy" and not value.args:
            return True
        made = self.scope.static_value(func)
        return any(made is getattr(np, n) for n in _ALLOCATORS)

    # --- normalizing ---------------------------------------------------------------------------

    def is_list_append(self, stmt):
        return _appended_list(stmt) in self.followed

    def create_list(self, name, value, stmt):
        """``lst = []`` for a followed list: an empty list, varied from here on;
        ``lst = [a, b]`` is that, then ``lst.append(a)`` and ``lst.append(b)``."""
        items = [self.expr(e) for e in value.elts]   # read before lst is made anew
        new = self.new_version(name)
        self.out.append(Op("const", new, gast.List(elts=[], ctx=gast.Load()), self.line,
                           active=False))
        self.activity.active.add(new)
        self.fn_ir.lists.add(new)
        for elt, atom in zip(value.elts, items):
            self._append(name, elt, atom, stmt)

    def list_append(self, stmt):
        call = stmt.value
        self._append(call.func.value.id, call.args[0], None, stmt)

    def _append(self, lst, value, atom, stmt):
        """``lst.append(value)`` (``atom``: ``value`` already normalized, or None)."""
        if isinstance(value, (gast.Tuple, gast.List, gast.Dict, gast.Set)):
            raise self.src.error(value, (
                f"pb.grad follows lists of arrays and numbers only: {lst}.append(...) here "
                f"appends a {type(value).__name__.lower()} (in {self.src.fn.__qualname__}); "
                f"append the values to lists of their own, or use mode='tape'"))
        current = self.env.get(lst)
        if not (isinstance(current, gast.Name) and current.id in self.fn_ir.lists):
            raise self.src.error(stmt, (
                f"pb.grad cannot follow {lst}.append(...) (in {self.src.fn.__qualname__}): "
                f"{lst} may not have been made by `{lst} = []` on every path to this line; "
                f"make it before the loops and branches that append to it, or use "
                f"mode='tape'"))
        atom = self.expr(value) if atom is None else atom
        if isinstance(atom, gast.Name) and (
                atom.id in self.fn_ir.lists or atom.id in self.tuple_values or
                atom.id in self.sequence_values or self._is_container(atom.id)):
            raise self.src.error(value, (
                f"pb.grad follows lists of arrays and numbers only: {lst}.append(...) here "
                f"appends a list, tuple or dict (in {self.src.fn.__qualname__}); append arrays "
                f"(np.stack(...) of the inner values), or use mode='tape'"))
        statement = gast.Expr(value=gast.Call(
            func=gast.Attribute(value=_name(current.id), attr="append", ctx=gast.Load()),
            args=[clone(atom)], keywords=[]))
        op = ListAppend("setitem", current.id, statement, self.line,
                        args=[_name(current.id), gast.Constant(value=None, kind=None), atom])
        self.out.append(op)

    def list_item(self, value, index, node, into):
        """``lst[i]`` of a followed list: one element (its cotangent goes to that position)."""
        expr = gast.Subscript(value=value, slice=index, ctx=gast.Load())
        return self.emit("prim", expr, into, LIST_ITEM, [value, clone(index)])

    def list_call(self, node, into, func):
        """``sum(lst)``, ``np.array(lst)`` and the joins of a followed list, or None when
        ``node`` gives none its first argument."""
        if not node.args or not self._is_list_atom(node.args[0]):
            return None
        if func in (tuple, list) and len(node.args) == 1 and not node.keywords:
            return self.expr(node.args[0])   # np.stack(tuple(lst)): the same items
        if func is builtins.sum:
            return self.prim_call(node, into, LIST_SUM)
        if func in _AS_STACK:
            return self.prim_call(node, into, lookup(np.stack))
        return None

    def _is_list_atom(self, node):
        return isinstance(node, gast.Name) and isinstance(self.env.get(node.id), gast.Name) \
            and self.env[node.id].id in self.fn_ir.lists


def _appended_list(stmt):
    """``lst`` of a statement ``lst.append(value)``, else None."""
    if isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Call):
        call = stmt.value
        if isinstance(call.func, gast.Attribute) and call.func.attr == "append" and \
                isinstance(call.func.value, gast.Name) and len(call.args) == 1 and \
                not call.keywords and not isinstance(call.args[0], gast.Starred):
            return call.func.value.id
    return None


def _placed(body, loops, counter=None):
    """``(statement, position, enclosing loops)`` for every statement, in the order they
    appear (nested blocks included, nested functions not)."""
    counter = counter if counter is not None else [0]
    for stmt in body:
        counter[0] += 1
        yield stmt, counter[0], loops
        if isinstance(stmt, gast.FunctionDef):
            continue
        inner_loops = loops + ((stmt,) if isinstance(stmt, (gast.For, gast.While)) else ())
        for field in ("body", "orelse"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list):
                yield from _placed(inner, inner_loops, counter)


def _made_anew(loop, base, group, value, write, append, allocates):
    """Whether, in each iteration of ``loop``, ``base`` is bound to a new array (a call that
    ``allocates``) before both ``write`` and ``append`` run: by a statement of the innermost
    block holding both, before them; and the list is given ``base`` itself (no other name
    may hold that array)."""
    if group != {base} or not (isinstance(value, gast.Name) and value.id == base):
        return False
    block, at = _common_block(loop.body, write, append)
    for stmt in block[:at]:
        if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(
                stmt.targets[0], gast.Name) and stmt.targets[0].id == base and \
                allocates(stmt.value):
            return True
    return False


def _common_block(body, a, b):
    """(the innermost statement list holding both ``a`` and ``b``, the index in it of the
    first statement that holds either)."""
    def path(block, target):
        for k, stmt in enumerate(block):
            if stmt is target:
                return [(block, k)]
            for field in ("body", "orelse"):
                inner = getattr(stmt, field, None)
                if isinstance(inner, list) and not isinstance(stmt, gast.FunctionDef):
                    found = path(inner, target)
                    if found:
                        return [(block, k)] + found
        return None
    pa, pb = path(body, a) or [(body, 0)], path(body, b) or [(body, 0)]
    level = 0   # down while one statement holds both, in one of its blocks
    while level + 1 < min(len(pa), len(pb)) and pa[level][1] == pb[level][1] and \
            pa[level + 1][0] is pb[level + 1][0]:
        level += 1
    return pa[level][0], min(pa[level][1], pb[level][1])


def _own_nodes(node):
    """The nodes under ``node``, not those of the functions and lambdas defined in it."""
    todo = [node]
    while todo:
        current = todo.pop()
        yield current
        for child in gast.iter_child_nodes(current):
            if not isinstance(child, (gast.FunctionDef, gast.Lambda)):
                todo.append(child)


def _bound_in(function):
    """The names a nested function or lambda binds (its parameters and assignments)."""
    args = function.args
    params = {a.id for a in list(args.args) + list(getattr(args, "kwonlyargs", []) or [])}
    return params | {n.id for n in walk(function) if isinstance(n, gast.Name)
                     and isinstance(n.ctx, gast.Store)}


def _bound(target):
    return {n.id for n in walk(target) if isinstance(n, gast.Name)}


def _ancestors(node, parents):
    up = parents.get(id(node))
    while up is not None:
        yield up
        up = parents.get(id(up))
