"""Fence: reject what the source engine does not transform, with the user's file and line.

Each rejection is a TransformError (a SyntaxError) pointing at the construct, so Python draws
a caret under the user's code; ``mode="auto"`` turns it into a fallback to the tape.
"""

import gast

from ._clone import walk
from ._writes import refuse_untracked_writes

__all__ = ["fence"]

# Statement and expression types the later passes handle.
_STATEMENTS = (gast.Assign, gast.AugAssign, gast.AnnAssign, gast.Return, gast.Expr, gast.Pass,
               gast.FunctionDef, gast.Assert, gast.If, gast.For, gast.While, gast.Break,
               gast.Continue)
_UNSUPPORTED = {
    gast.Try: "a `try` statement",
    gast.With: "a `with` statement", gast.Global: "a `global` declaration",
    gast.Nonlocal: "a `nonlocal` declaration", gast.Delete: "a `del` statement",
    gast.ClassDef: "a class definition", gast.AsyncFunctionDef: "an `async def`",
    gast.Raise: "a `raise` statement", gast.Import: "an import inside the function",
    gast.ImportFrom: "an import inside the function",
    gast.Yield: "`yield`", gast.YieldFrom: "`yield from`", gast.Await: "`await`",
    gast.ListComp: "a list comprehension", gast.SetComp: "a set comprehension",
    gast.DictComp: "a dict comprehension", gast.GeneratorExp: "a generator expression",
    gast.NamedExpr: "an assignment expression (:=)", gast.Starred: "a starred argument (*args)",
}
if hasattr(gast, "Match"):
    _UNSUPPORTED[gast.Match] = "a `match` statement"
if hasattr(gast, "TryStar"):
    _UNSUPPORTED[gast.TryStar] = "a `try` statement"


def fence(src, layout=None):
    """Raise TransformError at the first construct of ``src`` the engine cannot transform
    (``layout``, the arguments' symbolic shapes when known, lets it accept more writes)."""
    node = src.node
    args = node.args
    if args.vararg is not None or args.kwarg is not None:
        culprit = args.vararg or args.kwarg
        raise src.error(culprit, f"pb.grad cannot transform {src.fn.__qualname__}: it takes "
                                 f"*args or **kwargs; give it named parameters")
    body = node.body if isinstance(node.body, list) else [gast.Return(value=node.body)]
    for stmt in body:
        _check(src, stmt)
    refuse_untracked_writes(src, layout)


def _check(src, node):
    for child in walk(node):
        kind = _UNSUPPORTED.get(type(child))
        if kind is not None:
            raise src.error(child, f"pb.grad cannot transform {kind} (in "
                                   f"{src.fn.__qualname__}); use mode='tape' for this function")
        if isinstance(child, gast.stmt) and not isinstance(child, _STATEMENTS):
            raise src.error(child, f"pb.grad cannot transform a {type(child).__name__} statement "
                                   f"(in {src.fn.__qualname__}); use mode='tape'")
        if isinstance(child, gast.Assign):
            for target in child.targets:
                _check_target(src, target)
        if isinstance(child, (gast.AugAssign, gast.AnnAssign)):
            _check_target(src, child.target)


def _check_target(src, target):
    if isinstance(target, gast.Name):
        return
    if isinstance(target, (gast.Tuple, gast.List)):
        for elt in target.elts:
            _check_target(src, elt)
        return
    if isinstance(target, gast.Subscript):
        return
    raise src.error(target, f"pb.grad cannot transform assignment to a "
                            f"{type(target).__name__.lower()} (in {src.fn.__qualname__}); "
                            f"use mode='tape'")
