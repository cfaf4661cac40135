"""Rule facts: the shapes of pullback's own rules' results in generated code.

``_shapes.Facts`` knows NumPy; a generated function also calls the registry's rules
(``unbroadcast(e, t)``, ``sum_vjp(ans, a)(g)``, ``matmul_vjp_a(ans, a, b)(g)``, a bound VJP)
and reads values back from saved stacks.  ``RuleFacts`` adds what those return, so the
specialize pass can reason about every line of a generated function.
"""

import numpy as np

import gast

from ._shapes import Facts
from ._stacks import stack_read

__all__ = ["Rules", "RuleFacts"]


class Rules:
    """The aliases the generated module gave the rules this pass understands."""

    def __init__(self, imports):
        self.unbroadcast = imports.peek("pullback._registry", "unbroadcast")
        self.sum = imports.peek("pullback._rules.reductions", "_sum_vjp")
        self.mean = imports.peek("pullback._rules.reductions", "_mean_vjp")
        self.matmul_a = imports.peek("pullback._rules.linalg", "_matmul_vjp_a")
        self.matmul_b = imports.peek("pullback._rules.linalg", "_matmul_vjp_b")
        self.imports = imports

    def vjp_argnum(self, node):
        """For ``alias(ans, *args)(g)`` with ``alias`` a VJP of pullback's own registry bound in
        the module: the position of the argument whose gradient it returns (a VJP returns the
        argument's shape, which the rule tests assert for every rule); else None."""
        if not (isinstance(node, gast.Call) and isinstance(node.func, gast.Call) and len(
                node.args) == 1 and isinstance(node.func.func, gast.Name)):
            return None
        bound = self.imports.bound_rule(node.func.func.id)
        if bound is None:
            return None
        prim, which, argnum = bound
        maker = prim.vjp_maker(argnum) if which == "vjp" else None
        if maker is None or not str(getattr(maker, "__module__", "")).startswith("pullback."):
            return None
        return argnum + 1  # after the answer

    def rule_call(self, node):
        """(alias, rule args, rule keywords, cotangent) of ``alias(ans, ...)(g)``, or None."""
        if not (isinstance(node, gast.Call) and isinstance(node.func, gast.Call) and len(
                node.args) == 1 and not node.keywords):
            return None
        inner = node.func
        if not isinstance(inner.func, gast.Name) or inner.func.id is None:
            return None
        alias = inner.func.id
        if alias not in (self.sum, self.mean, self.matmul_a, self.matmul_b):
            return None
        return alias, inner.args, inner.keywords, node.args[0]

    def is_unbroadcast(self, node):
        return isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and \
            self.unbroadcast is not None and node.func.id == self.unbroadcast and \
            len(node.args) == 2 and not node.keywords


class RuleFacts(Facts):
    """Facts that also know the shapes of the rules' results."""

    def __init__(self, layout, numpy_names, rules):
        super().__init__(layout, numpy_names)
        self.rules = rules
        math = rules.imports.peek("math", None)
        if math is not None:
            self.math_names = {math}
        self.stacks = None        # inside a loop: stack -> facts of what the loops push
        self.shape_stacks = None  # inside a loop: stack -> the shape whose np.shape it holds

    def infer(self, node):
        if self.stacks is not None:
            stack = stack_read(node)
            if stack is not None:
                found = self.stacks.get(stack)
                return (found[0], found[1], False) if found else (None, None, False)
        return super().infer(node)

    def target_shape(self, node):
        """The shape ``unbroadcast`` sums to: its target's, or a saved ``np.shape``."""
        if self.shape_stacks is not None:
            stack = stack_read(node)
            if stack is not None:
                return self.shape_stacks.get(stack)
        return self.shape_of(node)

    def _call(self, node):
        if self.rules.is_unbroadcast(node):
            shape = self.target_shape(node.args[1])
            return shape, self.infer(node.args[0])[1] if shape is not None else None, False
        found = self.rules.rule_call(node)
        if found is None:
            position = self.rules.vjp_argnum(node)
            if position is not None and position < len(node.func.args):
                shape, dtype, _ = self.infer(node.func.args[position])
                g = self.infer(node.args[0])[1]
                # the gradient of a float argument, from a cotangent of the same float dtype:
                # that dtype (pullback's rules compute in the dtypes they are given)
                same = isinstance(dtype, np.dtype) and dtype.kind == "f" and g == dtype
                return shape, dtype if same else None, False
            return super()._call(node)
        alias, args, keywords, g = found
        dg = self.infer(g)[1]
        if alias in (self.rules.sum, self.rules.mean) and len(args) == 2:
            if any(k.arg not in ("axis", "keepdims") for k in keywords):
                return None, None, False
            dtype = dg
            if alias == self.rules.mean and dg is not None:
                dtype = _resolve(np.true_divide, (dg, int))
            return self.shape_of(args[1]), dtype, False
        if len(args) == 3 and not keywords:
            a, b = args[1], args[2]
            return self.shape_of(a if alias == self.rules.matmul_a else b), None, False
        return None, None, False


def _resolve(ufunc, dtypes):
    try:
        return ufunc.resolve_dtypes(tuple(dtypes) + (None,))[-1]
    except (TypeError, ValueError):
        return None
