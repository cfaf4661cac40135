"""Nested structures (lists, tuples, dicts of leaves): flatten to leaves and rebuild."""

__all__ = ["flatten", "flatten_up_to", "unflatten", "rebuild", "frozen"]


def flatten(tree):
    """Leaves of ``tree`` in a fixed order, and a description to rebuild it with ``unflatten``.

    Example:
        >>> leaves, spec = flatten({"w": 1, "b": [2, 3]})
        >>> leaves
        [1, 2, 3]
        >>> unflatten(spec, ["a", "b", "c"])
        {'w': 'a', 'b': ['b', 'c']}
    """
    leaves = []
    spec = _flatten(tree, leaves)
    return leaves, spec


def _flatten(tree, leaves):
    if isinstance(tree, dict):
        return (dict, [(k, _flatten(v, leaves)) for k, v in tree.items()])
    if isinstance(tree, (list, tuple)):
        return (type(tree), [_flatten(v, leaves) for v in tree])
    leaves.append(tree)
    return None


def unflatten(spec, leaves):
    """Rebuild the structure described by ``spec`` with ``leaves`` in place of the old ones."""
    it = iter(leaves)
    return _unflatten(spec, it)


def _unflatten(spec, it):
    if spec is None:
        return next(it)
    kind, children = spec
    if kind is dict:
        return {k: _unflatten(c, it) for k, c in children}
    return _of_kind(kind, [_unflatten(c, it) for c in children])


def frozen(tree):
    """``tree`` (dicts, lists and tuples of hashable leaves) as a hashable key.

    Example:
        >>> frozen({"w": "array", "b": ["scalar"]})
        ('dict', ('w', 'array'), ('b', ('list', 'scalar')))
    """
    if isinstance(tree, dict):
        return ("dict",) + tuple((k, frozen(v)) for k, v in tree.items())
    if isinstance(tree, (list, tuple)):
        return (type(tree).__name__,) + tuple(frozen(v) for v in tree)
    return tree


def rebuild(like, items):
    """A list or tuple of ``like``'s type (a namedtuple too) holding ``items``."""
    return _of_kind(type(like), list(items))


def _of_kind(kind, items):
    if kind in (list, tuple):
        return kind(items)
    if hasattr(kind, "_fields"):  # namedtuple
        return kind(*items)
    return kind(items)


def flatten_up_to(spec, tree):
    """The parts of ``tree`` that sit where the leaves of ``spec`` are (they may be nested
    values themselves, such as a list of numbers standing for one array).

    Example:
        >>> _, spec = flatten([1, (2, 3)])
        >>> flatten_up_to(spec, [[1.0, 1.0], ([2.0], 3.0)])
        [[1.0, 1.0], [2.0], 3.0]
    """
    parts = []
    _up_to(spec, tree, parts)
    return parts


def _up_to(spec, tree, parts):
    if spec is None:
        parts.append(tree)
        return
    kind, children = spec
    if kind is dict:
        if not isinstance(tree, dict) or set(tree) != {k for k, _ in children}:
            raise ValueError(f"expected a dict with keys {[k for k, _ in children]}, got {tree!r}")
        for k, c in children:
            _up_to(c, tree[k], parts)
        return
    if not isinstance(tree, (list, tuple)) or len(tree) != len(children):
        raise ValueError(f"expected a sequence of {len(children)} entries, got {tree!r}")
    for c, t in zip(children, tree):
        _up_to(c, t, parts)
