"""Activity analysis: which values depend on the differentiated arguments ("varied"), and which
of those the output depends on ("useful").  Only values that are both get adjoints.
"""

import gast

from ._clone import name_nodes
from ._conversions import conversion_dtype
from ._ir import Branch, Loop, Op
from ._resolve import METHODS, NONDIFF_ATTRS

__all__ = ["Activity", "tree_leaves", "useful_names"]


class Activity:
    """The varied names (SSA names after normalization), and predicates over expressions."""

    def __init__(self, scope):
        self.scope = scope
        self.active = set()
        self.local_functions = {}  # name -> gast node of a nested def or lambda

    def atom(self, node):
        """True when a normalized atom (a name, or a list of names) is varied."""
        if isinstance(node, gast.Name):
            return node.id in self.active
        if isinstance(node, (gast.List, gast.Tuple)):
            return any(self.atom(e) for e in node.elts)
        return False

    def expr(self, node, env):
        """True when ``node`` (user code, read through the SSA map ``env``) may be varied."""
        return _Varied(self, env).visit(node)


class _Varied(gast.NodeVisitor):
    def __init__(self, activity, env):
        self.activity = activity
        self.env = env

    def generic_visit(self, node):
        return any(self.visit(child) for child in gast.iter_child_nodes(node))

    def visit_Name(self, node):
        if not isinstance(node.ctx, gast.Load):
            return False
        current = self.env.get(node.id)
        if current is None:
            local = self.activity.local_functions.get(node.id)
            if local is not None:   # a nested def or lambda as a value (g = h, apply(h, c))
                return self.closes_over_varied(local)
            return False
        return self.activity.atom(current)

    def closes_over_varied(self, local):
        """Whether a nested def or lambda reads a varied name of the enclosing function."""
        return any(self.activity.atom(self.env[n.id]) for n in name_nodes(local)
                   if n.id in self.env)

    def visit_Constant(self, node):
        return False

    def visit_Compare(self, node):
        return False  # booleans carry no gradient

    def visit_JoinedStr(self, node):
        return False  # an f-string: text carries no gradient

    def visit_UnaryOp(self, node):
        return not isinstance(node.op, (gast.Not, gast.Invert)) and self.visit(node.operand)

    def visit_BinOp(self, node):
        if isinstance(node.op, (gast.FloorDiv, gast.BitAnd, gast.BitOr, gast.BitXor,
                                gast.LShift, gast.RShift)):
            return False
        return self.visit(node.left) or self.visit(node.right)

    def visit_Attribute(self, node):
        if node.attr in NONDIFF_ATTRS:
            return False
        return self.visit(node.value)

    def visit_Lambda(self, node):
        # a function that closes over varied values: calling it may give a varied value, with
        # constant arguments too (fs = [lambda c: x * c]; fs[0](3.0))
        params = {a.id for a in node.args.args if isinstance(a, gast.Name)}
        return any(self.visit(n) for n in name_nodes(node.body) if n.id not in params)

    def visit_Call(self, node):
        func = node.func
        args = list(node.args) + [kw.value for kw in node.keywords]
        if conversion_dtype(node, self.activity.scope, self.visit) == "constant":
            return False   # x.astype(int): constant where differentiable, as int(x)
        if isinstance(func, gast.Attribute) and self.visit(func.value):
            entry = METHODS.get(func.attr)
            if entry is not None and not _differentiable(entry[0]):
                return False
            return True
        if isinstance(func, gast.Name) and func.id in self.activity.local_functions:
            local = self.activity.local_functions[func.id]
            return any(self.visit(a) for a in args) or self.closes_over_varied(local)
        callee_obj = self.activity.scope.static_value(func)
        from ._resolve import classify
        callee = classify(callee_obj, "") if callee_obj is not None else None
        if callee is not None and callee.kind == "nondiff":
            return False
        if callee is not None and callee.kind == "user":
            return any(self.visit(a) for a in args)  # globals are constants
        if callee is None and self.visit(func):
            return True   # a function made from varied values (make_scaler(x)(3.0), fs[0])
        return any(self.visit(a) for a in args)


def _differentiable(fun):
    from .._registry import lookup
    prim = lookup(fun)
    return prim is not None and prim.differentiable


def tree_leaves(op):
    """The leaf names of the dict or list arguments a call passes whole (see user_call)."""
    if op.kind != "call" or len(op.helper) < 3:
        return set()
    return {leaf for tree in op.helper[2] if tree for _, leaf in tree}


def useful_names(body, result):
    """Names whose values the output depends on (through varied operations), walking back.
    ``result`` is a name, a set of names (a tuple result) or None."""
    useful = set(result) if isinstance(result, (set, frozenset)) else (
        {result} if result is not None else set())
    _useful_block(body, useful)
    return useful


def _useful_block(body, useful):
    for node in reversed(body):
        if isinstance(node, Loop):
            while True:  # a later iteration may make an earlier statement useful
                before = len(useful)
                _useful_block(node.body, useful)
                if len(useful) == before:
                    break
        elif isinstance(node, Branch):
            before = set(useful)
            _useful_block(node.body, useful)
            other = set(before)
            _useful_block(node.orelse, other)
            useful |= other
        elif isinstance(node, Op) and node.active and node.target in useful:
            for arg in node.args:
                for n in name_nodes(arg):
                    useful.add(n.id)
            useful.update(tree_leaves(node))
