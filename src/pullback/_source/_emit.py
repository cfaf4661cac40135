"""Emit: the generated module as Python text, via ``ast.unparse``, with ``# line N`` comments.

The gast tree becomes an ``ast`` tree as gast translates it (``_translate``).  The only location
``ast.unparse`` reads is a statement's ``lineno`` (to find its type-ignore comment, and a
generated module has none), so statements without one get their enclosing statement's, as
``ast.fix_missing_locations`` would give them, and nothing else is filled in.
"""

import ast
import sys

import gast

from ._translate import to_ast

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
    tree = to_ast(module)
    _fill_empty_blocks(tree)
    _number_statements(tree.body, 1)
    return comments.replace(_unparse(tree))


def _fill_empty_blocks(tree):
    """A block the passes emptied (a loop whose body was all copies, since propagated) holds
    ``pass``, so the module always compiles.  (Blocks hold statements: only statements are
    visited, not the expressions in them.)"""
    todo = [tree]
    for node in todo:
        body = getattr(node, "body", None)
        if type(body) is list:
            if not body:
                body.append(ast.Pass())
            todo.extend(body)
        for field in ("orelse", "finalbody", "handlers"):
            block = getattr(node, field, None)
            if type(block) is list:
                todo.extend(block)


_unparse = ast.unparse

if sys.version_info < (3, 11):
    class _Unparser(ast._Unparser):
        """Python 3.10's unparser with 3.11's rule for tuples: parenthesized except as the
        target of an assignment or a loop (``a, b = f(x)``, ``for i, v in ...``), so the
        generated text is the same on every supported Python.  (3.10 is frozen: its private
        unparser no longer changes.)"""

        def visit_Tuple(self, node):
            with self.delimit_if("(", ")", len(node.elts) == 0
                                 or self.get_precedence(node) > ast._Precedence.TUPLE):
                self.items_view(self.traverse, node.elts)

        def visit_For(self, node):
            self.set_precedence(ast._Precedence.TUPLE, node.target)
            super().visit_For(node)

        def visit_comprehension(self, node):
            self.set_precedence(ast._Precedence.TUPLE, node.target)
            super().visit_comprehension(node)

        def visit_Assign(self, node):
            self.fill()
            for target in node.targets:
                self.set_precedence(ast._Precedence.TUPLE, target)
                self.traverse(target)
                self.write(" = ")
            self.traverse(node.value)
            type_comment = self.get_type_comment(node)
            if type_comment:
                self.write(type_comment)

    def _unparse(tree):
        return _Unparser().visit(tree)


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
