"""Fast copies, walks, comparisons and rewrites of syntax trees.

``copy.deepcopy`` is general and slow (a memo, a dispatch per object); the passes copy
expressions constantly (a rule's lambda for each use, a cotangent into each contribution).  A
gast tree is plain nodes, lists and immutable leaves, which ``clone`` copies directly; anything
else goes to ``copy.deepcopy``.  ``clone_loads`` copies a tree and replaces its loaded names in
the same pass (a rule's body with the call's arguments put in).  ``walk`` lists the nodes in the order ``ast.walk`` visits them,
reading each node's fields directly instead of through ``ast.iter_child_nodes``; ``nodes`` lists
them in the same order without the contexts and operators (a context is every third node), and
``name_nodes`` only the ``Name`` nodes (most walks look for names); ``statements`` lists only the
statements (and handlers and match cases), in the same order, without entering expressions.
``same_tree`` compares two trees as their ``gast.dump`` texts compare, without making them.
``Transformer`` is ``ast.NodeTransformer`` with its visitors looked up once per node class.

Example:
    >>> import gast
    >>> tree = gast.parse("y = f(x) + 1").body[0]
    >>> copied = clone(tree)
    >>> copied is not tree and gast.dump(copied) == gast.dump(tree)
    True
    >>> [n.id for n in name_nodes(tree)]
    ['y', 'f', 'x']
"""

import ast
import copy

import gast

__all__ = ["clone", "clone_loads", "walk", "nodes", "name_nodes", "statements", "same_tree",
           "Transformer"]

_ATOMS = (str, int, float, complex, bool, bytes, type(None), type(Ellipsis))
_ATOM_TYPES = frozenset(_ATOMS)


def clone(node):
    """A deep copy of a gast node, a list of nodes, or an immutable leaf."""
    if isinstance(node, gast.AST):
        cls = node.__class__
        new = cls.__new__(cls)
        copied = new.__dict__
        for key, value in node.__dict__.items():
            kind = type(value)
            if kind in _ATOM_TYPES:
                copied[key] = value
            elif kind is list:
                copied[key] = [v if type(v) in _ATOM_TYPES else clone(v) for v in value]
            elif isinstance(value, gast.AST):
                copied[key] = clone(value)
            elif isinstance(value, _ATOMS):
                copied[key] = value
            else:
                copied[key] = copy.deepcopy(value)
        return new
    if isinstance(node, list):
        return [clone(n) for n in node]
    if isinstance(node, _ATOMS):
        return node
    if isinstance(node, tuple):
        return tuple(clone(n) for n in node)
    return copy.deepcopy(node)


def clone_loads(node, replace):
    """A deep copy of ``node`` in which each loaded name ``n`` is ``replace(n)`` (a new node).

    Like ``clone`` followed by a ``NodeTransformer`` replacing the names, in one pass: the
    fields are visited in order, depth first, so ``replace`` sees the names in that order."""
    cls = node.__class__
    if cls is gast.Name:
        return replace(node) if isinstance(node.ctx, gast.Load) else clone(node)
    if not isinstance(node, gast.AST):
        return clone(node)
    new = cls.__new__(cls)
    fields = cls._fields
    for key, value in node.__dict__.items():
        if key not in fields:
            value = clone(value)
        elif type(value) is list:
            value = [clone_loads(v, replace) for v in value]
        elif isinstance(value, gast.AST):
            value = clone_loads(value, replace)
        elif not isinstance(value, _ATOMS):
            value = copy.deepcopy(value)
        setattr(new, key, value)
    return new


def walk(node):
    """Every node of the tree under ``node`` (itself included), breadth first like ``ast.walk``.

    A list, made before the caller looks at any node: rewriting the tree while going through
    it does not change what is visited."""
    out = [node]
    append = out.append
    ast_node = gast.AST
    for n in out:  # ``out`` grows behind the loop: breadth first
        fields = n.__dict__
        for f in n._fields:
            v = fields.get(f)
            if type(v) is list:
                for x in v:
                    if isinstance(x, ast_node):
                        append(x)
            elif isinstance(v, ast_node):
                append(v)
    return out


# Fields that hold no names: contexts, operators, comments, and a constant's value.
# (``nodes`` and ``name_nodes`` do not go into them.)
_NO_NAMES = {"ctx", "op", "ops", "type_comment", "kind"}
_CHILD_FIELDS = {}  # node class -> its fields that may hold names


def _child_fields(cls):
    fields = _CHILD_FIELDS.get(cls)
    if fields is None:
        fields = _CHILD_FIELDS[cls] = tuple(
            f for f in cls._fields
            if f not in _NO_NAMES and not (cls is gast.Constant and f == "value"))
    return fields


def nodes(node):
    """The nodes of the tree under ``node`` (itself included) in ``walk``'s order, without the
    expression contexts and operators (``Load``, ``Add``, ...)."""
    found = [node]
    append = found.append
    ast_node = gast.AST
    table = _CHILD_FIELDS
    for n in found:
        try:
            child = table[n.__class__]
        except KeyError:
            child = _child_fields(n.__class__)
        if not child:
            continue  # a Constant, a Pass: nothing inside
        fields = n.__dict__
        for f in child:
            v = fields.get(f)
            if type(v) is list:
                for x in v:
                    if isinstance(x, ast_node):
                        append(x)
            elif isinstance(v, ast_node):
                append(v)
    return found


def name_nodes(node):
    """The ``Name`` nodes of the tree under ``node`` (itself included), in ``walk``'s order."""
    todo = [node]
    append = todo.append
    found = []
    ast_node, name_node = gast.AST, gast.Name
    table = _CHILD_FIELDS
    for n in todo:
        cls = n.__class__
        if cls is name_node:
            found.append(n)
            annotation = n.__dict__.get("annotation")
            if annotation is not None:  # a parameter's annotation
                append(annotation)
            continue
        try:
            child = table[cls]
        except KeyError:
            child = _child_fields(cls)
        if not child:
            continue  # a Constant, a Pass: nothing inside
        fields = n.__dict__
        for f in child:
            v = fields.get(f)
            if type(v) is list:
                for x in v:
                    if isinstance(x, ast_node):
                        append(x)
            elif isinstance(v, ast_node):
                append(v)
    return found


def same_tree(a, b):
    """Whether ``gast.dump(a) == gast.dump(b)``: the same classes (by name) with the same fields,
    leaves compared by ``repr``; a missing field, an empty list and a ``None`` the class
    defaults to are left out, as ``dump`` leaves them out."""
    if a is b:
        return True
    a_node, b_node = isinstance(a, gast.AST), isinstance(b, gast.AST)
    if a_node or b_node:
        if not (a_node and b_node) or type(a).__name__ != type(b).__name__:
            return False
        fa, fb = _dumped_fields(a), _dumped_fields(b)
        return len(fa) == len(fb) and all(
            na == nb and same_tree(va, vb) for (na, va), (nb, vb) in zip(fa, fb))
    if type(a) is list or type(b) is list:
        return type(a) is list and type(b) is list and len(a) == len(b) and all(
            same_tree(x, y) for x, y in zip(a, b))
    return repr(a) == repr(b)


def _dumped_fields(node):
    """The (name, value) of the fields ``gast.dump`` shows."""
    cls = type(node)
    shown = []
    for name in node._fields:
        try:
            value = getattr(node, name)
        except AttributeError:
            continue
        if value is None and getattr(cls, name, 42) is None:
            continue
        if value == []:
            continue
        shown.append((name, value))
    return shown


# Fields holding statements, handlers or match cases (no expression holds one).
_BLOCKS = {"body", "orelse", "finalbody", "handlers", "cases"}


def statements(node):
    """``node`` and the statements, handlers and match cases under it, in ``walk``'s order."""
    found = [node]
    append = found.append
    ast_node = gast.AST
    for n in found:
        fields = n.__dict__
        for f in n._fields:
            if f in _BLOCKS:
                v = fields.get(f)
                if type(v) is list:
                    for x in v:
                        if isinstance(x, ast_node):
                            append(x)
    return found


class Transformer(gast.NodeTransformer):
    """``gast.NodeTransformer``, faster: the visitor of each node class is looked up once (per
    transformer class), fields are read directly, and nodes with no fields and no visitor of
    their own (contexts, operators) are returned as they are without a call."""

    def visit(self, node):
        table = _VISITORS.get(type(self)) or _visitors(type(self))
        cls = node.__class__
        try:
            visitor = table[cls]
        except KeyError:
            visitor = table[cls] = _visitor(type(self), cls)
        if visitor is None:
            return node
        return visitor(self, node)

    def generic_visit(self, node):
        # ``visit`` inlined for the children: a child with no visitor (a context, an operator)
        # is left as it is without a call, and a field is set again only when it changes
        table = _VISITORS.get(type(self)) or _visitors(type(self))
        ast_node = gast.AST
        fields = node.__dict__
        for field in node._fields:
            old_value = fields.get(field, _ABSENT)
            if type(old_value) is list:
                new_values = []
                for value in old_value:
                    if isinstance(value, ast_node):
                        cls = value.__class__
                        try:
                            visitor = table[cls]
                        except KeyError:
                            visitor = table[cls] = _visitor(type(self), cls)
                        if visitor is not None:
                            value = visitor(self, value)
                            if value is None:
                                continue
                            if not isinstance(value, ast_node):
                                new_values.extend(value)
                                continue
                    new_values.append(value)
                old_value[:] = new_values
            elif isinstance(old_value, ast_node):
                cls = old_value.__class__
                try:
                    visitor = table[cls]
                except KeyError:
                    visitor = table[cls] = _visitor(type(self), cls)
                if visitor is None:
                    continue
                new_node = visitor(self, old_value)
                if new_node is None:
                    delattr(node, field)
                elif new_node is not old_value:
                    setattr(node, field, new_node)
        return node


def _visitors(transformer):
    """The (empty at first) table of ``transformer``'s visitors by node class."""
    return _VISITORS.setdefault(transformer, {})


_VISITORS = {}   # Transformer subclass -> {node class: its visitor function, or None}
_ABSENT = object()


def _visitor(transformer, node_class):
    visitor = getattr(transformer, "visit_" + node_class.__name__, None)
    if visitor is not None and not _deprecated_constant_visit(transformer, visitor):
        return visitor
    if (not node_class._fields or node_class is gast.Constant) and \
            transformer.generic_visit is Transformer.generic_visit:
        return None  # nothing inside (a constant's value is no node): the node is its own result
    return transformer.generic_visit


_OLD_CONSTANT_VISITORS = ("visit_Num", "visit_Str", "visit_Bytes", "visit_NameConstant",
                          "visit_Ellipsis")


def _deprecated_constant_visit(visitor_class, visitor):
    """Whether ``visitor`` is ``ast.NodeVisitor.visit_Constant``, which looks for the visitors
    of the node classes Python 3.8 retired on every constant and, when ``visitor_class`` has
    none (it is then ``generic_visit`` with a detour), visits its fields as ``generic_visit``
    does."""
    inherited = getattr(ast.NodeVisitor, "visit_Constant", None)
    return inherited is not None and visitor is inherited and not any(
        hasattr(visitor_class, name) for name in _OLD_CONSTANT_VISITORS)
