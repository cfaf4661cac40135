"""Optimize: small rewrites of a generated function that change its text, never its results.

The reverse pass already assigns a first contribution instead of adding it to zeros, uses an
adjoint under its own name instead of copying it, and drops ``unbroadcast`` where nothing can
broadcast.  The passes here, in the order ``generate`` runs them:

- ``fold_constants``: arithmetic on numbers, ``x * 1``, ``g * (1 / x)`` as ``g / x``,
  ``a + -b`` as ``a - b``;
- ``use_math_for_scalars``: ``math.sin`` instead of ``np.sin`` on Python floats;
- ``merge_restarts``: ``bx = 0.0`` then ``bx = bx + e`` is ``bx = e``;
- ``remove_dead_code``: assignments nothing reads (NumPy calls and rules count as pure),
  repeated until nothing changes; statements with effects -- saving and restoring values,
  calls into other generated functions -- always stay;
- ``propagate_copies``: ``a = b`` then reads of ``a`` read ``b``;
- ``fold_into_copies``: ``t = e; saved.append(x); x = t`` is ``saved.append(x); x = e``;
- ``inline_conditions``: ``cond = e; if cond:`` is ``if e:``.

(Values a backward loop computes again instead of saving are ``_rerun``'s business.)
"""

import gast

from ._clone import Transformer, name_nodes, nodes, statements

__all__ = ["remove_dead_code", "fold_constants", "use_math_for_scalars", "merge_restarts",
           "propagate_copies", "fold_into_copies", "inline_conditions", "blocks",
           "inner_blocks", "is_append", "stores_of"]

# Calls that only compute a value: removable when their result is unused.
_PURE_HELPERS = {"zeros_like", "unbroadcast", "take", "seed"}


def remove_dead_code(function, numpy_names=(), pure_functions=()):
    """Drop unused pure assignments from a gast FunctionDef (and its nested pullback).

    Calls of NumPy functions named through ``numpy_names`` count as pure (a forward value
    that only ``value_and_grad`` returns is not computed for ``grad``), except ``np.random``
    (it advances the generator) and calls writing into ``out=``; so do the functions named
    ``pure_functions`` (the imported rules)."""
    pure = (frozenset(numpy_names), frozenset(pure_functions) | _PURE_HELPERS)
    loads = {}  # name -> how many times the function reads it
    for n in name_nodes(function):
        if isinstance(n.ctx, gast.Load):
            loads[n.id] = loads.get(n.id, 0) + 1
    while True:
        loaded = {name for name, count in loads.items() if count}
        removed = []
        if not _sweep(function.body, loaded, pure, removed):
            return function
        for stmt in removed:  # what the removed statements read is read once less
            for n in name_nodes(stmt):
                if isinstance(n.ctx, gast.Load):
                    loads[n.id] -= 1


def _sweep(body, loaded, numpy_names, removed):
    """Drop the dead statements of ``body`` (and of the blocks inside), each into ``removed``;
    whether anything changed."""
    changed = False
    kept = []
    for stmt in body:
        if stmt.__class__ not in _NO_BLOCKS:
            for inner in inner_blocks(stmt):
                changed = _sweep(inner, loaded, numpy_names, removed) or changed
        if _dead(stmt, loaded, numpy_names) or _empty_loop(stmt, loaded, numpy_names):
            changed = True
            removed.append(stmt)
            continue
        kept.append(stmt)
    if all(_is_comment(s) for s in kept):  # a block of only comments is not a block
        kept.append(gast.Pass())
    body[:] = kept
    return changed


# Statements with no block inside (most of them): ``inner_blocks`` has nothing to find.
_NO_BLOCKS = frozenset({gast.Assign, gast.AugAssign, gast.Expr, gast.Return, gast.Pass})


def inner_blocks(stmt):
    """The statement lists inside a statement (a loop's or branch's body and else)."""
    for field in ("body", "orelse"):
        inner = getattr(stmt, field, None)
        if isinstance(inner, list) and inner:
            yield inner


def _empty_loop(stmt, loaded, numpy_names):
    """``for i in range(n): pass``: a for loop with nothing left in it, over a pure iterable,
    whose variable nothing reads afterwards (a while loop stays: its test decides whether the
    program ends)."""
    return (isinstance(stmt, gast.For) and not stmt.orelse
            and all(_is_comment(s) or isinstance(s, gast.Pass) for s in stmt.body)
            and not any(n.id in loaded for n in name_nodes(stmt.target))
            and _pure(stmt.iter, *numpy_names))


def _is_comment(stmt):
    return isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Constant) and str(
        stmt.value.value).startswith("__pullback_comment_")


def _dead(stmt, loaded, numpy_names):
    if isinstance(stmt, gast.Assign) and len(stmt.targets) > 1 and isinstance(
            stmt.value, gast.Constant) and all(isinstance(t, gast.Name) for t in stmt.targets):
        # ``a = b = None``: drop the names nothing reads
        kept = [t for t in stmt.targets if t.id in loaded]
        if len(kept) < len(stmt.targets):
            stmt.targets[:] = kept
            return not kept
        return False
    if isinstance(stmt, gast.AugAssign) and isinstance(stmt.target, gast.Name):
        # ``trips += 1`` with nothing reading trips (the loop it counted for went away): it
        # goes with ``trips = 0``, which it would otherwise read unbound
        return stmt.target.id not in loaded and _pure(stmt.value, *numpy_names)
    if not (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], gast.Name)):
        return False
    if stmt.targets[0].id in loaded:
        return False
    return _pure(stmt.value, *numpy_names)


def _numpy_call(call, numpy_names):
    func, chain = call.func, []
    while isinstance(func, gast.Attribute):
        chain.append(func.attr)
        func = func.value
    return isinstance(func, gast.Name) and func.id in numpy_names and chain and \
        "random" not in chain and not any(k.arg == "out" for k in call.keywords)


def pure_statement(numpy_names=(), pure_functions=()):
    """A predicate: does a statement only compute values (NumPy named through
    ``numpy_names``, the functions named ``pure_functions``, arithmetic) and bind names?"""
    numpy_names = frozenset(numpy_names)
    pure_functions = frozenset(pure_functions) | _PURE_HELPERS
    return lambda stmt: _pure(stmt, numpy_names, pure_functions)


def _pure(node, numpy_names=frozenset(), pure_functions=_PURE_HELPERS):
    """Only values, arithmetic, NumPy and the runtime's pure helpers: a user's call may have
    effects."""
    for n in nodes(node):
        if isinstance(n, gast.Call):
            if isinstance(n.func, gast.Call):
                continue  # a rule's maker called with the cotangent: the maker is checked
            if not (isinstance(n.func, gast.Name) and n.func.id in pure_functions) and \
                    not _numpy_call(n, numpy_names):
                return False
        elif isinstance(n, (gast.Lambda, gast.Yield, gast.Await, gast.NamedExpr)):
            return False
    return True


class _Fold(Transformer):
    """Arithmetic on two numbers, and ``x ** 1`` / ``x * 1`` / ``1 * x`` inside a larger
    expression (as a whole right-hand side, ``y = x * 1`` is a new array, not ``x`` itself:
    writing into ``y`` must not change ``x``)."""

    def visit_Assign(self, node):
        value = node.value
        if isinstance(value, gast.BinOp):
            value.left = self.visit(value.left)
            value.right = self.visit(value.right)
            folded = self._numbers(value)
            node.value = folded if folded is not None else _reciprocal(value)
            return node
        self.generic_visit(node)
        return node

    def _numbers(self, node):
        left, right = node.left, node.right
        if _number(left) and _number(right) and type(node.op) in self._OPS:
            try:
                value = self._OPS[type(node.op)](left.value, right.value)
            except (OverflowError, ZeroDivisionError, ValueError):
                return None
            if isinstance(value, (int, float)) and abs(value) < 1e15:
                return gast.Constant(value=value, kind=None)
        return None

    _OPS = {gast.Add: lambda a, b: a + b, gast.Sub: lambda a, b: a - b,
            gast.Mult: lambda a, b: a * b, gast.Pow: lambda a, b: a ** b}

    def visit_BinOp(self, node):
        self.generic_visit(node)
        left, right = node.left, node.right
        folded = self._numbers(node)
        if folded is not None:
            return folded
        if isinstance(node.op, gast.Pow) and _number(right) and right.value == 1:
            return left
        node = _reciprocal(node)
        if isinstance(node.op, gast.Mult) and _number(right) and right.value == 1 and \
                not isinstance(right.value, bool):
            return left
        if isinstance(node.op, gast.Mult) and _number(left) and left.value == 1 and \
                not isinstance(left.value, bool):
            return right
        return node


def _reciprocal(node):
    """``g * (1 / x)`` as ``g / x`` (a rule's partial ``1 / x`` times the cotangent), and
    ``a + -b`` as ``a - b``, also when ``-b`` starts a product (``a + -b * c / d``): all exact,
    negation commutes with multiplication and division in floating point."""
    right = node.right
    if isinstance(node.op, gast.Add):
        positive = _without_negation(right)
        if positive is not None:
            return gast.BinOp(left=node.left, op=gast.Sub(), right=positive)
    if isinstance(node.op, gast.Mult) and isinstance(right, gast.BinOp) and isinstance(
            right.op, gast.Div) and _number(right.left) and right.left.value == 1:
        return gast.BinOp(left=node.left, op=gast.Div(), right=right.right)
    return node


def _without_negation(node):
    """``b`` for ``-b``, ``b * c / d`` for ``-b * c / d``; None when ``node`` is not negated."""
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub):
        return node.operand
    if isinstance(node, gast.BinOp) and isinstance(node.op, (gast.Mult, gast.Div)):
        left = _without_negation(node.left)
        if left is not None:
            return gast.BinOp(left=left, op=node.op, right=node.right)
    return None


def _number(node):
    return isinstance(node, gast.Constant) and type(node.value) in (int, float)


def fold_constants(function):
    """Fold constant arithmetic in a generated function (a literal rule leaves ``2 - 1``)."""
    if not any(type(n) is gast.BinOp and _foldable(n) for n in nodes(function)):
        return function  # (most calls: the rewrites below change nothing, so skip the visit)
    return _Fold().visit(function)


def _foldable(node):
    """Whether ``_Fold`` rewrites the BinOp ``node`` as it is (a tree without one such node
    comes out of ``_Fold`` unchanged: it rewrites bottom up, only such nodes)."""
    left, right, op = node.left, node.right, node.op
    if _number(left) and _number(right) and type(op) in _Fold._OPS:
        return True
    if isinstance(op, gast.Pow) and _number(right) and right.value == 1:
        return True
    if isinstance(op, gast.Mult) and (_number(right) and right.value == 1 or
                                      _number(left) and left.value == 1):
        return True
    return _reciprocal(node) is not node


# NumPy ufuncs and their math-module equivalents on Python floats.
_MATH = {"sin": "sin", "cos": "cos", "tan": "tan", "exp": "exp", "log": "log",
         "sqrt": "sqrt", "tanh": "tanh", "sinh": "sinh", "cosh": "cosh", "arcsin": "asin",
         "arccos": "acos", "arctan": "atan", "log1p": "log1p", "expm1": "expm1",
         "arctan2": "atan2", "hypot": "hypot"}


class _Math(Transformer):
    def __init__(self, scalar, numpy_names, math_name):
        self.scalar = scalar
        self.numpy_names = numpy_names
        self.math_name = math_name
        self.used = False

    def visit_Call(self, node):
        self.generic_visit(node)
        func = node.func
        if _numpy_math(node, self.numpy_names) and all(self.scalar(a) for a in node.args):
            self.used = True
            node.func = gast.Attribute(value=gast.Name(id=self.math_name, ctx=gast.Load(),
                                                       annotation=None, type_comment=None),
                                       attr=_MATH[func.attr], ctx=gast.Load())
        return node


def use_math_for_scalars(function, scalar, numpy_names, math_name):
    """Call ``math`` instead of NumPy on Python floats: no 0-d arrays, no ufunc dispatch.
    Returns True when the function now uses ``math``."""
    if not any(type(n) is gast.Call and _numpy_math(n, numpy_names) for n in nodes(function)):
        return False  # no call to rewrite: skip the visit
    rewriter = _Math(scalar, numpy_names, math_name)
    rewriter.visit(function)
    return rewriter.used


def _numpy_math(call, numpy_names):
    """Whether ``call`` is ``np.f(...)`` with ``f`` in ``_MATH``, positional arguments only
    (what ``_Math`` rewrites when every argument is a Python float)."""
    func = call.func
    return isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name) and \
        func.value.id in numpy_names and func.attr in _MATH and not call.keywords and \
        bool(call.args)


def merge_restarts(function):
    """``bx = 0.0`` followed (in the same block, with nothing reading ``bx`` in between) by
    ``bx = bx + e`` becomes ``bx = e``: an adjoint restarted and then first added to."""
    _merge_block(function.body)
    return function


def _merge_block(body):
    i = 0
    while i < len(body):
        stmt = body[i]
        for field in ("body", "orelse"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list):
                _merge_block(inner)
        name = _zero_assignment(stmt)
        if name is not None:
            for j in range(i + 1, len(body)):
                later = body[j]
                if not _mentions(later, name):
                    continue
                value = _added_to(later, name)
                if value is not None:
                    later.value = value
                    del body[i]
                    i -= 1
                break
        i += 1


def _zero_assignment(stmt):
    if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(
            stmt.targets[0], gast.Name) and isinstance(stmt.value, gast.Constant) and \
            stmt.value.value == 0.0 and type(stmt.value.value) is float:
        return stmt.targets[0].id
    return None


def _mentions(stmt, name):
    return any(n.id == name for n in name_nodes(stmt))


def _added_to(stmt, name):
    """``e`` if ``stmt`` is ``name = name + e`` with ``e`` not reading ``name``."""
    if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(
            stmt.targets[0], gast.Name) and stmt.targets[0].id == name and isinstance(
            stmt.value, gast.BinOp) and isinstance(stmt.value.op, gast.Add) and isinstance(
            stmt.value.left, gast.Name) and stmt.value.left.id == name and not _mentions(
            stmt.value.right, name):
        return stmt.value.right
    return None


def propagate_copies(function):
    """``a = b`` followed in the same block by reads of ``a`` reads ``b`` instead, up to the
    first statement that assigns either; the copy itself goes when nothing else reads ``a``
    (``bt5 = bh; bt4 = bt5 * d`` becomes ``bt4 = bh * d``).  Both names still denote the same
    object at every rewritten read, so nothing changes but the text."""
    if not _has_copy(function):
        return function
    loads = {}
    for n in name_nodes(function):
        if isinstance(n.ctx, gast.Load):
            loads[n.id] = loads.get(n.id, 0) + 1
    names = _StatementNames()
    while _copies_in_block(function.body, loads, names):
        pass
    return function


def _has_copy(function):
    """Whether some statement assigns a name's value, ``a = b`` (or ``a[i] = b``): what the
    two passes below start from; without one they change nothing, and need not count the
    names."""
    return any(type(stmt) is gast.Assign and type(stmt.value) is gast.Name and
               len(stmt.targets) == 1 for stmt in statements(function))


class _StatementNames:
    """The Name nodes of each statement, listed once: this pass rewrites names in place and
    takes statements away, so a statement keeps the same Name nodes."""

    def __init__(self):
        self._found = {}  # id(statement) -> (statement, its Name nodes)

    def __call__(self, stmt):
        entry = self._found.get(id(stmt))
        if entry is None or entry[0] is not stmt:
            entry = self._found[id(stmt)] = (stmt, name_nodes(stmt))
        return entry[1]


def _copies_in_block(body, loads, names):
    changed = False
    for stmt in body:
        for inner in inner_blocks(stmt):
            changed = _copies_in_block(inner, loads, names) or changed
    k = 0
    while k < len(body):
        stmt = body[k]
        if not (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(
                stmt.targets[0], gast.Name) and isinstance(stmt.value, gast.Name)):
            k += 1
            continue
        a, b = stmt.targets[0].id, stmt.value.id
        if a != b:
            for later in body[k + 1:]:
                if not isinstance(later, (gast.Assign, gast.AugAssign, gast.Expr, gast.Return)):
                    break  # a loop or branch: it may run its reads after reassigning
                found = names(later)
                for node in found:
                    if node.id == a and isinstance(node.ctx, gast.Load):
                        node.id = b
                        loads[a] -= 1
                        loads[b] = loads.get(b, 0) + 1
                        changed = True
                if any(n.id in (a, b) and isinstance(n.ctx, gast.Store) for n in found):
                    break
        if a == b or not loads.get(a) or _overwritten_before_read(body, k, a, names):
            del body[k]  # ``a = a``, or a copy nothing reads any more
            loads[b] -= 1
            changed = True
            continue
        k += 1
    return changed


def _names_of(node):
    return {n.id for n in name_nodes(node)}


def stores_of(stmt):
    return {n.id for n in name_nodes(stmt) if isinstance(n.ctx, gast.Store)}


def _overwritten_before_read(body, k, name, names):
    """Whether, after ``body[k]``, the same block assigns ``name`` again before reading it."""
    for later in body[k + 1:]:
        if not isinstance(later, (gast.Assign, gast.AugAssign, gast.Expr, gast.Return)):
            return False  # a loop or branch: it may read it
        found = names(later)
        if isinstance(later, gast.AugAssign) and name in _names_of(later.target) or any(
                n.id == name and isinstance(n.ctx, gast.Load) for n in found):
            return False
        if any(n.id == name and isinstance(n.ctx, gast.Store) for n in found):
            return True
    return False


def fold_into_copies(function):
    """``t = e`` then ``saved.append(x)`` ... then ``x = t``, with ``t`` read nowhere else,
    becomes ``saved.append(x)`` ... ``x = e``: a loop's new value is computed where it is
    assigned (the saves in between only read the old one)."""
    if not _has_copy(function):
        return function
    loads, stores = {}, {}
    for n in name_nodes(function):
        table = loads if isinstance(n.ctx, gast.Load) else stores
        table[n.id] = table.get(n.id, 0) + 1
    _fold_copies_block(function.body, loads, stores)
    return function


def _fold_copies_block(body, loads, stores):
    for stmt in body:
        for inner in inner_blocks(stmt):
            _fold_copies_block(inner, loads, stores)
    k = 0
    while k < len(body):
        stmt = body[k]
        if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(
                stmt.targets[0], gast.Name):
            t = stmt.targets[0].id
            if loads.get(t) == 1 and stores.get(t) == 1:
                j = k + 1
                while j < len(body) and is_append(body[j]) and t not in {
                        n.id for n in name_nodes(body[j])}:
                    j += 1
                if j < len(body) and isinstance(body[j], gast.Assign) and len(
                        body[j].targets) == 1 and isinstance(body[j].value, gast.Name) and \
                        body[j].value.id == t:
                    body[j].value = stmt.value
                    del body[k]
                    continue
        k += 1


def is_append(stmt):
    return isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Call) and isinstance(
        stmt.value.func, gast.Attribute) and stmt.value.func.attr == "append" and isinstance(
        stmt.value.func.value, gast.Name)


def inline_conditions(function):
    """``cond = e`` directly followed by ``if cond:`` becomes ``if e:`` when every read of
    ``cond`` in the function is such a test, right after its own assignment."""
    pairs = {}
    for block in blocks(function):
        for stmt, branch in zip(block, block[1:]):
            if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and isinstance(
                    stmt.targets[0], gast.Name) and isinstance(branch, gast.If) and isinstance(
                    branch.test, gast.Name) and branch.test.id == stmt.targets[0].id:
                pairs.setdefault(branch.test.id, []).append((block, stmt, branch))
    if not pairs:
        return function
    reads = {}
    for n in name_nodes(function):
        if n.id in pairs and isinstance(n.ctx, gast.Load):
            reads.setdefault(n.id, set()).add(id(n))
    for name, found in pairs.items():
        if reads.get(name) != {id(branch.test) for _, _, branch in found}:
            continue
        for block, stmt, branch in found:
            branch.test = stmt.value
            block.remove(stmt)
    return function


def blocks(function):
    """Every statement list of a function (its body and those of its loops and branches)."""
    out = []
    for node in statements(function):
        for field in ("body", "orelse"):
            block = getattr(node, field, None)
            if isinstance(block, list) and block and isinstance(block[0], gast.stmt):
                out.append(block)
    return out


