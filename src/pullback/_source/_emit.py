"""Emit: the generated module as Python text, via ``ast.unparse``, with ``# line N`` comments.

The gast tree becomes an ``ast`` tree through gast's own translator, made faster where it is
generic: a table from node class to method instead of a lookup by name for each node, and the
fields read directly.  Every node is translated as gast translates it, so the text is the same.
The only location ``ast.unparse`` reads is a statement's ``lineno`` (to find its type-ignore
comment, and a generated module has none), so statements without one get their enclosing
statement's, as ``ast.fix_missing_locations`` would give them, and nothing else is filled in.
"""

import ast

import gast

try:
    from gast.ast3 import GAstToAst3 as _GAstToAst
except ImportError:  # pragma: no cover - another gast: its translator as it is
    _GAstToAst = None

__all__ = ["Comments", "emit"]


class Comments:
    """Comment lines for the generated code.  ``ast`` keeps no comments, so each one is a
    numbered marker statement in the tree, replaced by its text after unparsing."""

    def __init__(self):
        self.texts = []

    def marker(self, text):
        """A statement that will become the comment line ``# text``."""
        self.texts.append(text)
        return gast.Expr(value=gast.Constant(value=f"__pullback_comment_{len(self.texts)}__",
                                             kind=None))

    def replace(self, code):
        lines = []
        for line in code.splitlines():
            stripped = line.strip().strip("'\"")
            indent = line[:len(line) - len(line.lstrip())]
            if stripped.startswith("__pullback_comment_") and stripped.endswith("__"):
                k = int(stripped[len("__pullback_comment_"):-2])
                lines.append((indent, True, f"{indent}# {self.texts[k - 1]}"))
            else:
                lines.append((indent, False, line))
        out = []
        after = None  # (indent, is comment) of the next line kept
        for indent, is_comment, text in reversed(lines):
            if is_comment and (after is None or len(after[0]) < len(indent) or (
                    after[1] and len(after[0]) <= len(indent))):
                continue  # a comment over no code (what it described was optimized away)
            out.append(text)
            after = (indent, is_comment)
        return "\n".join(reversed(out)) + "\n"


def emit(module, comments):
    """Python source for the gast ``module``."""
    tree = _to_ast(module)
    _number_statements(tree.body, 1)
    return comments.replace(ast.unparse(tree))


_BLOCKS = ("body", "orelse", "finalbody", "handlers", "cases")


def _number_statements(body, lineno):
    """Give each statement (and handler) under ``body`` without a ``lineno`` the one of the
    statement around it (``lineno`` at the top)."""
    for stmt in body:
        if "lineno" in stmt._attributes:
            if hasattr(stmt, "lineno"):
                own = stmt.lineno
            else:
                stmt.lineno = own = lineno
        else:
            own = lineno
        for field in _BLOCKS:
            inner = getattr(stmt, field, None)
            if inner and isinstance(inner, list):
                _number_statements(inner, own)


_MISSING = object()

if _GAstToAst is not None:
    class _ToAst(_GAstToAst):
        """gast's translator to ``ast``, with a faster dispatch and generic case."""

        def __init__(self):
            self._visitors = {}   # gast node class -> the method that translates it

        def visit(self, node):
            cls = node.__class__
            visitor = self._visitors.get(cls)
            if visitor is None:
                visitor = self._visitors[cls] = getattr(self, "visit_" + cls.__name__,
                                                        self.generic_visit)
            return visitor(node)

        def _visit(self, node):
            if isinstance(node, ast.AST):
                return self.visit(node)
            if isinstance(node, list):
                return [self._visit(n) for n in node]
            return node

        def generic_visit(self, node):
            target = _TARGETS.get(node.__class__, _MISSING)
            if target is _MISSING:
                target = _TARGETS[node.__class__] = getattr(ast, type(node).__name__, None)
            if target is None:
                return None  # not an ast node: gast drops it too
            fields = {}
            for field in node._fields:
                value = getattr(node, field, _MISSING)
                if value is not _MISSING:
                    fields[field] = self._visit(value)
            new = target(**fields)
            for attr in node._attributes:
                value = getattr(node, attr, _MISSING)
                if value is not _MISSING:
                    setattr(new, attr, value)
            return new

    _TARGETS = {}  # gast node class -> the ast class of the same name, or None

    def _to_ast(node):
        return _ToAst().visit(node)
else:  # pragma: no cover
    _to_ast = gast.gast_to_ast
