"""Emit: the generated module as Python text, via ``ast.unparse``, with ``# line N`` comments."""

import ast

import gast

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
        out = []
        for line in code.splitlines():
            stripped = line.strip().strip("'\"")
            if stripped.startswith("__pullback_comment_") and stripped.endswith("__"):
                k = int(stripped[len("__pullback_comment_"):-2])
                indent = line[:len(line) - len(line.lstrip())]
                out.append(f"{indent}# {self.texts[k - 1]}")
            else:
                out.append(line)
        return "\n".join(out) + "\n"


def emit(module, comments):
    """Python source for the gast ``module``."""
    tree = gast.gast_to_ast(module)
    ast.fix_missing_locations(tree)
    return comments.replace(ast.unparse(tree))
