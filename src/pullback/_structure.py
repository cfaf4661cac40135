"""Nested structures (lists, tuples, dicts of leaves): flatten to leaves and rebuild."""

__all__ = ["flatten", "unflatten"]


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
    items = [_unflatten(c, it) for c in children]
    if kind in (list, tuple):
        return kind(items)
    if hasattr(kind, "_fields"):  # namedtuple
        return kind(*items)
    return kind(items)
