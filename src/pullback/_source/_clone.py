"""Fast copies and walks of syntax trees.

``copy.deepcopy`` is general and slow (a memo, a dispatch per object); the passes copy
expressions constantly (a rule's lambda for each use, a cotangent into each contribution).  A
gast tree is plain nodes, lists and immutable leaves, which ``clone`` copies directly; anything
else goes to ``copy.deepcopy``.  ``walk`` visits the nodes in the order ``ast.walk`` does, reading
each node's fields directly instead of through ``ast.iter_child_nodes``.

Example:
    >>> import gast
    >>> tree = gast.parse("y = f(x) + 1").body[0]
    >>> copied = clone(tree)
    >>> copied is not tree and gast.dump(copied) == gast.dump(tree)
    True
"""

import copy
from collections import deque

import gast

__all__ = ["clone", "walk"]

_ATOMS = (str, int, float, complex, bool, bytes, type(None), type(Ellipsis))


def clone(node):
    """A deep copy of a gast node, a list of nodes, or an immutable leaf."""
    if isinstance(node, gast.AST):
        cls = type(node)
        new = cls.__new__(cls)
        fields = node.__dict__
        for key, value in fields.items():
            if isinstance(value, (gast.AST, list)):
                value = clone(value)
            elif not isinstance(value, _ATOMS):
                value = copy.deepcopy(value)
            setattr(new, key, value)
        return new
    if isinstance(node, list):
        return [clone(n) for n in node]
    if isinstance(node, _ATOMS):
        return node
    if isinstance(node, tuple):
        return tuple(clone(n) for n in node)
    return copy.deepcopy(node)


def walk(node):
    """Every node of the tree under ``node`` (itself included), breadth first like ``ast.walk``."""
    todo = deque([node])
    pop, push, extend = todo.popleft, todo.append, todo.extend
    ast_node = gast.AST
    while todo:
        n = pop()
        yield n
        fields = n.__dict__
        for f in n._fields:
            v = fields.get(f)
            if type(v) is list:
                extend([x for x in v if isinstance(x, ast_node)])
            elif isinstance(v, ast_node):
                push(v)
