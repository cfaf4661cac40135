"""Translate between ``ast`` and gast trees: gast's own translators, made faster.

gast translates a node by looking up ``visit_<class name>`` and, for most classes, building the
node of the same name from every field.  The classes here keep gast's translation of every node
(its special cases are inherited as they are) and speed up the rest: a table from node class to
method, a table from node class to the class it becomes, and the fields read once each.

Example:
    >>> tree = parse("def f(x):\\n    return x + 1\\n")
    >>> type(tree.body[0]).__module__, tree.body[0].name
    ('gast.gast', 'f')
    >>> import ast
    >>> ast.unparse(to_ast(tree))
    'def f(x):\\n    return x + 1'
"""

import ast

import gast

from ._clone import _deprecated_constant_visit, walk

try:
    from gast.ast3 import Ast3ToGAst as _ToGast, GAstToAst3 as _ToAst
except ImportError:  # pragma: no cover - another gast: its translators as they are
    _ToGast = _ToAst = None

__all__ = ["parse", "to_ast", "to_gast", "increment_lineno"]

def _faster(translator, to):
    """``translator`` (a gast translator class into the module ``to``), with the faster
    dispatch and generic case."""

    class Faster(translator):
        def __init__(self):
            self._visitors = {}   # node class -> the method that translates it

        def visit(self, node):
            cls = node.__class__
            visitor = self._visitors.get(cls)
            if visitor is None:
                visitor = getattr(type(self), "visit_" + cls.__name__, None)
                if visitor is None or _deprecated_constant_visit(type(self), visitor):
                    visitor = self.generic_visit  # (visit_Constant: the same, directly)
                else:
                    visitor = getattr(self, "visit_" + cls.__name__)
                self._visitors[cls] = visitor
            return visitor(node)

        def _visit(self, node):
            if isinstance(node, ast.AST):
                return self.visit(node)
            if isinstance(node, list):
                return [self._visit(n) for n in node]
            return node

        def generic_visit(self, node):
            cls = node.__class__
            known = layouts.get(cls)
            if known is None:
                known = layouts[cls] = _layout(cls, to)
            target, fields, attributes = known
            if target is None:
                return None  # not a node of the other tree: gast drops it too
            values = node.__dict__
            kwargs = {}
            for field, on_class in fields:
                if field in values:
                    value = values[field]
                elif on_class:
                    value = getattr(node, field)
                else:
                    continue  # missing: gast leaves it out
                if isinstance(value, ast.AST):
                    value = self.visit(value)
                elif isinstance(value, list):
                    visit = self.visit
                    value = [visit(n) if isinstance(n, ast.AST) else self._visit(n)
                             for n in value]
                kwargs[field] = value
            new = target(**kwargs)
            for attr, on_class in attributes:
                if attr in values:
                    setattr(new, attr, values[attr])
                elif on_class:
                    setattr(new, attr, getattr(node, attr))
            return new

    layouts = {}  # node class -> _layout(node class, to)
    return Faster


def _layout(cls, to):
    """(the class of the same name in ``to`` or None, its fields, its attributes), each field
    and attribute with whether the class itself has it (``getattr`` finds it when the node
    does not)."""
    return (getattr(to, cls.__name__, None), tuple((f, hasattr(cls, f)) for f in cls._fields),
            tuple((a, hasattr(cls, a)) for a in cls._attributes))


if _ToGast is not None:
    _FasterToGast = _faster(_ToGast, gast)
    _FasterToAst = _faster(_ToAst, ast)

    class _FasterToAst(_FasterToAst):
        def visit_Name(self, node):
            """gast's translation of a name (the most common node), without the generic
            visits of its id and context and ``ast.copy_location``'s checks."""
            ctx = node.ctx
            context = _CONTEXTS.get(ctx.__class__)
            new = ast.Name(node.id, context() if context is not None else self.visit(ctx))
            for attr in ("lineno", "col_offset"):    # as ast.copy_location copies them
                value = getattr(node, attr, None)
                if value is not None:
                    setattr(new, attr, value)
            for attr in ("end_lineno", "end_col_offset"):
                if hasattr(node, attr):
                    setattr(new, attr, getattr(node, attr))
            return new

    _CONTEXTS = {gast.Load: ast.Load, gast.Store: ast.Store, gast.Del: ast.Del}

    def to_gast(node):
        """The gast tree of an ``ast`` tree, as ``gast.ast_to_gast`` makes it."""
        return _FasterToGast().visit(node)

    def to_ast(node):
        """The ``ast`` tree of a gast tree, as ``gast.gast_to_ast`` makes it."""
        return _FasterToAst().visit(node)
else:  # pragma: no cover
    to_gast, to_ast = gast.ast_to_gast, gast.gast_to_ast


def parse(text):
    """The gast tree of ``text``, as ``gast.parse`` makes it."""
    return to_gast(ast.parse(text))


def increment_lineno(node, n):
    """``gast.increment_lineno``: every line number under ``node`` moved by ``n``."""
    for child in walk(node):
        attributes = child._attributes
        if "lineno" in attributes:
            child.lineno = (getattr(child, "lineno", 0) or 0) + n
        if "end_lineno" in attributes:
            child.end_lineno = (getattr(child, "end_lineno", 0) or 0) + n
    return node
