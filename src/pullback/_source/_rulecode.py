"""Registry rules as code: inline a rule's lambda body, or call the rule function by name.

The registry holds ordinary Python functions.  A rule written as ``lambda ans, x: lambda g:
EXPR`` (or an elementwise partial ``lambda ans, x: EXPR``) is found in its module's source and
inlined with the call's own names substituted; any other rule is imported into the generated
module under a readable name and called.  Nothing is written twice.
"""

import ast
import inspect
import sys

import gast

from .._reads import unread_parameters
from ._clone import clone, clone_loads
from ._translate import to_gast

__all__ = ["RuleCode"]

_PARSED = {}  # file name -> {line: its lambdas}, or None when it cannot be read


_FOUND = {}   # code object -> its gast Lambda node (or None)


def _lambda_node(fn):
    """The gast Lambda node that ``fn`` was compiled from, or None if it cannot be singled out.

    The node is shared: the caller reads it and copies what it keeps."""
    code = getattr(fn, "__code__", None)
    if code is None or fn.__name__ != "<lambda>":
        return None
    if code not in _FOUND:
        found = _find_lambda(code)
        _FOUND[code] = found
    return _FOUND[code]


def _lambdas_by_line(filename):
    """{line: [Lambda nodes starting there]} for one file, parsed once."""
    if filename not in _PARSED:
        table = None
        try:
            with open(filename, encoding="utf-8") as fh:
                module = ast.parse(fh.read())
            table = {}
            for node in ast.walk(module):
                if isinstance(node, ast.Lambda):
                    table.setdefault(node.lineno, []).append(node)
        except (OSError, SyntaxError):
            pass
        _PARSED[filename] = table
    return _PARSED[filename]


def _find_lambda(code):
    table = _lambdas_by_line(code.co_filename)
    if table is None:
        return None
    found = []
    for node in table.get(code.co_firstlineno, ()):
        compiled = compile(ast.Expression(body=node), code.co_filename, "eval")
        lam = next(c for c in compiled.co_consts if hasattr(c, "co_code"))
        if _same_shape(lam, code):
            found.append(node)
    if len(found) > 1:
        found = [n for n in found if _same_place(n, code)]
    if len(found) != 1:
        return None
    return to_gast(found[0])


def _same_shape(a, b, bytecode=False):
    """Same parameters, names, closure cells and constants (bytecode differs between compiles
    in 3.11+).  The cells tell apart ``lambda ans, x, y: lambda g: f(g, x)`` from the same with
    ``y``, whose bytecode is identical (the cell is loaded by its index)."""
    if a.co_names != b.co_names or a.co_varnames != b.co_varnames:
        return False
    if a.co_freevars != b.co_freevars or a.co_cellvars != b.co_cellvars:
        return False
    if bytecode and a.co_code != b.co_code:
        return False
    ca = [c for c in a.co_consts if not hasattr(c, "co_code")]
    cb = [c for c in b.co_consts if not hasattr(c, "co_code")]
    if ca != cb:
        return False
    na = [c for c in a.co_consts if hasattr(c, "co_code")]
    nb = [c for c in b.co_consts if hasattr(c, "co_code")]
    return len(na) == len(nb) and all(_same_shape(x, y, bytecode) for x, y in zip(na, nb))


def _same_place(node, code):
    """Whether ``code`` was compiled from the lambda ``node`` (columns; 3.11+), or, without
    column information, from identical bytecode."""
    if hasattr(code, "co_positions"):
        cols = {p[2] for p in code.co_positions() if p[2] is not None}
        return node.body.col_offset in cols
    compiled = compile(ast.Expression(body=node), code.co_filename, "eval")
    lam = next(c for c in compiled.co_consts if hasattr(c, "co_code"))
    return _same_code(lam, code)


def _same_code(a, b):
    """Identical bytecode too (where no column information tells lambdas apart)."""
    return _same_shape(a, b, bytecode=True)


def _reads_answer(fn):
    """Whether rule function ``fn`` reads its first parameter, the operation's result.  A rule
    that does not is called with ``None`` there, so the forward pass need not keep the result
    alive (or save it in a loop) for nothing."""
    code = getattr(fn, "__code__", None)
    if code is None or code.co_argcount == 0:
        return True
    return code.co_varnames[0] not in unread_parameters(fn)


def _nonzero_number(node):
    return isinstance(node, gast.Constant) and isinstance(node.value, (int, float)) and \
        not isinstance(node.value, bool) and node.value != 0


def _literal(value):
    """``value`` as a gast expression, when it is a plain literal; else None."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return gast.Constant(value=value, kind=None)
    if isinstance(value, tuple):
        elts = [_literal(v) for v in value]
        if all(e is not None for e in elts):
            return gast.Tuple(elts=elts, ctx=gast.Load())
    return None


# (rule function, argument count, keywords) -> its _binding_plan.  Like _FOUND's lambdas, what
# binds where is a property of the registry's rule functions, not of the code being generated.
_PLANS = {}
_UNKNOWN = object()


class _Slot:
    """A stand-in argument: where the value bound to a parameter comes from."""

    def __init__(self, source):
        self.source = source


def _binding_plan(fn, n_args, keywords):
    """How ``inspect.signature(fn).bind(ans, *args, **kwargs)`` binds ``n_args`` positional
    arguments and these keywords: [(parameter, ("position", i) | ("keyword", k) | ("default",
    value))], position 0 being ``ans``; None when it cannot bind them, or ``fn`` takes
    ``*args`` or ``**kwargs`` (its body passes them on: it is called by name)."""
    try:
        sig = inspect.signature(fn)
        bound = sig.bind(*[_Slot(("position", i)) for i in range(n_args + 1)],
                         **{k: _Slot(("keyword", k)) for k in keywords})
    except (TypeError, ValueError):
        return None
    plan = []
    for name, param in sig.parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            return None
        if name in bound.arguments:
            plan.append((name, bound.arguments[name].source))
        else:
            plan.append((name, ("default", param.default)))
    return plan


class RuleCode:
    """Turns registry rules into gast expressions for one generated module."""

    def __init__(self, imports):
        self.imports = imports  # the generated module's Imports

    def vjp(self, prim, argnum, ans, args, kwargs, g):
        """The gradient flowing to ``args[argnum]`` as an expression (``args`` are gast atoms)."""
        if prim.partials is not None:
            partial = prim.partials[argnum]
            for (which, literal), special in prim.literal_partials.items():
                if which == argnum and literal < len(args) and _nonzero_number(args[literal]):
                    partial = special
            term = self._apply(partial, ans, args, kwargs, prim, argnum)
            return self._call("unbroadcast", [gast.BinOp(left=g, op=gast.Mult(), right=term),
                                             args[argnum]])
        maker = prim.vjp_maker(argnum)
        node = _lambda_node(maker)
        bound = self._bind(maker, ans, args, kwargs)
        if (node is not None and bound is not None and isinstance(node.body, gast.Lambda)
                and len(node.body.args.args) == 1):
            inner = node.body
            mapping = dict(bound)
            mapping[inner.args.args[0].id] = g
            return self._inline(inner.body, mapping, maker)
        rule = self._callable(maker, prim, "vjp", argnum)
        return gast.Call(func=self._call_expr(rule, ans, args, kwargs, maker), args=[g],
                         keywords=[])

    # --- helpers ---------------------------------------------------------------------------

    def _apply(self, fn, ans, args, kwargs, prim, argnum):
        """``fn(ans, *args, **kwargs)`` inlined when ``fn`` is a one-expression lambda."""
        node = _lambda_node(fn)
        bound = self._bind(fn, ans, args, kwargs)
        if node is not None and bound is not None and not isinstance(node.body, gast.Lambda):
            return self._inline(node.body, dict(bound), fn)
        return self._call_expr(self._callable(fn, prim, "partial", argnum), ans, args, kwargs,
                               fn)

    def _bind(self, fn, ans, args, kwargs):
        """Parameter name -> gast expression, with defaults filled in; None if not literal."""
        key = (fn, len(args), tuple(kwargs))
        plan = _PLANS.get(key, _UNKNOWN)
        if plan is _UNKNOWN:
            plan = _PLANS[key] = _binding_plan(fn, len(args), tuple(kwargs))
        if plan is None:
            return None
        mapping = {}
        for name, (how, which) in plan:
            if how == "position":
                mapping[name] = args[which - 1] if which else ans
            elif how == "keyword":
                mapping[name] = kwargs[which]
            else:
                default = _literal(which)
                if default is None:
                    return None
                mapping[name] = default
        return mapping

    def _inline(self, body, mapping, fn):
        module = fn.__module__
        globals_ = fn.__globals__

        def rename_free(node):
            if node.id in ("np", "numpy") and globals_.get(node.id) is not None:
                return gast.Name(id=self.imports.numpy(), ctx=gast.Load(), annotation=None,
                                 type_comment=None)
            if node.id in globals_:
                obj = globals_[node.id]
                home = getattr(obj, "__module__", None) if callable(obj) else None
                if home and getattr(sys.modules.get(home), getattr(obj, "__name__", ""),
                                    None) is obj:
                    alias = self.imports.name(home, obj.__name__, obj)
                else:
                    alias = self.imports.name(module, node.id, obj)
                return gast.Name(id=alias, ctx=gast.Load(), annotation=None, type_comment=None)
            return node

        def replace(node):
            if node.id in mapping:
                return clone(mapping[node.id])
            return rename_free(clone(node))

        return clone_loads(body, replace)

    def _callable(self, fn, prim, which, argnum):
        """A name in the generated module bound to rule function ``fn``."""
        name = getattr(fn, "__name__", "rule")
        module = getattr(fn, "__module__", None)
        if name == "<lambda>" or module is None or getattr(
                inspect.getmodule(fn), name, None) is not fn:
            base = prim.name.rsplit(".", 1)[-1]
            return self.imports.bind(f"{which}_{base}" + (f"_{argnum}" if argnum else ""),
                                     prim, which, argnum)
        return self.imports.name(module, name, fn)

    def _call_expr(self, alias, ans, args, kwargs, fn=None):
        if fn is not None and not _reads_answer(fn):
            ans = gast.Constant(value=None, kind=None)
        keywords = [gast.keyword(arg=k, value=v) for k, v in kwargs.items()]
        return gast.Call(func=gast.Name(id=alias, ctx=gast.Load(), annotation=None,
                                        type_comment=None),
                         args=[ans] + list(args), keywords=keywords)

    def _call(self, helper, args):
        alias = self.imports.name("pullback._registry", helper, None)
        return gast.Call(func=gast.Name(id=alias, ctx=gast.Load(), annotation=None,
                                        type_comment=None), args=args, keywords=[])
