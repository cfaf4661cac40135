"""Small helpers that generated gradient code calls (imported by name into each module)."""

import numpy as np

from ._structure import flatten, unflatten

__all__ = ["seed", "zeros_like", "tree_grad", "rule", "take", "zero_at"]


def seed(value, name="the function"):
    """The output's cotangent, 1.0, after checking the output is a real scalar.

    Raises:
        ValueError: a non-scalar output, pointing to pb.jacobian / pb.vjp; None (a missing
            return), a str, a bool or a complex number, saying what to return instead.

    Example:
        >>> seed(2.5), seed(np.ones((1, 1))).shape
        (1.0, (1, 1))
        >>> try:
        ...     seed(None, "loss")
        ... except ValueError as err:
        ...     print(str(err)[:59])
        pb.grad needs loss to return a real scalar, but it returned
    """
    if isinstance(value, (tuple, list, dict)):
        raise ValueError(
            f"pb.grad needs {name} to return a real scalar, but it returned a "
            f"{type(value).__name__}. Return the scalar to differentiate alone (pb.value_and_grad"
            f" gives its value with the gradient), or use pb.jacobian or pb.vjp for several "
            f"outputs")
    kind = _kind_of(value)
    if kind not in "iuf":
        what = _NOT_REAL.get(None if value is None else kind)
        if what is None:
            what = f"a {type(value).__name__}. Return the number to differentiate"
        raise ValueError(f"pb.grad needs {name} to return a real scalar, but it returned {what}")
    shape = np.shape(value)
    if shape != () and shape != (1,) * len(shape):
        raise ValueError(
            f"pb.grad needs {name} to return a real scalar, but it returned a value of shape "
            f"{shape}. Reduce the output to a scalar (e.g. with .sum()), or use pb.jacobian "
            f"or pb.vjp for non-scalar outputs")
    if shape != ():
        return np.ones(shape)
    return 1.0


_NOT_REAL = {   # what an output that is no real number is, and the fix
    None: "None: a function without a return statement returns None. Return the number to "
          "differentiate",
    "b": "a bool, which has no derivative (a comparison, say). Return the number itself",
    "c": "a complex number. Differentiate its real part (np.real) or its magnitude (np.abs)",
}


def _kind_of(value):
    """The NumPy dtype kind of an output ("O" for what is no number or array: None, a str)."""
    if isinstance(value, (str, bytes)) or value is None:
        return "O"
    dtype = getattr(value, "dtype", None)   # an array, a NumPy scalar, a Tensor
    return np.dtype(dtype).kind if dtype is not None else np.asarray(value).dtype.kind


def zeros_like(x):
    """The gradient of an argument the output does not depend on: zeros of its shape, float."""
    if isinstance(x, (int, float)) or np.ndim(x) == 0 and not isinstance(x, np.ndarray):
        return 0.0
    shape, dtype = np.shape(x), getattr(x, "dtype", None)   # a Tensor's too: not converted
    if dtype is None:
        dtype = np.asarray(x).dtype
    return np.zeros(shape, dtype if dtype.kind == "f" else np.float64)


def check_unpack(value, count):
    """Raise the ValueError that ``a, b = value`` raises when ``value`` has not ``count``
    items (generated code unpacks an array by indexing it, which would not notice)."""
    n = len(value)
    if n > count:
        raise ValueError(f"too many values to unpack (expected {count})")
    if n < count:
        raise ValueError(f"not enough values to unpack (expected {count}, got {n})")


def pieces_cotangent(pieces, given):
    """The cotangent of a list of arrays (as np.split returns) from its items' cotangents,
    ``{index: cotangent}``: zeros for the pieces nothing read; an index counted from the end
    (-1) adds to the same piece as its positive twin."""
    out = [zeros_like(p) for p in pieces]
    for index, g in given.items():
        out[index] = out[index] + g
    return out


def items_cotangent(cotangents, items):
    """The cotangent of a tuple of arrays (``w, V = np.linalg.eigh(s)`` in a loop): an item's
    adjoint that restarted as the number 0.0 becomes zeros of the item's shape."""
    return tuple(zeros_like(item) if type(g) is float and g == 0.0 and np.ndim(item) else g
                 for g, item in zip(cotangents, items))


def tree_grad(tree, leaf_grads):
    """A gradient with the structure of ``tree``: the given leaf gradients (by path), zeros
    elsewhere.  ``leaf_grads`` maps a path tuple of keys/indices to a gradient."""
    paths = []
    _paths(tree, (), paths)
    leaves = [leaf_grads[p] if p in leaf_grads else zeros_like(leaf)
              for p, leaf in paths]
    _, spec = flatten(tree)
    return unflatten(spec, leaves)


def _paths(tree, prefix, out):
    if isinstance(tree, dict):
        for k, v in tree.items():
            _paths(v, prefix + (k,), out)
    elif isinstance(tree, (list, tuple)):
        for i, v in enumerate(tree):
            _paths(v, prefix + (i,), out)
    else:
        out.append((prefix, tree))


def rule(fun, which, argnum):
    """The registry's rule for ``fun`` (a function, or a registered primitive's qualified
    name): its VJP maker ("vjp") or elementwise partial ("partial") for argument ``argnum``;
    generated code binds a lambda rule this way."""
    from ._registry import all_primitives, rule_for
    if isinstance(fun, str):  # a user's primitive, by its qualified name
        matches = [p for p in all_primitives() if p.name == fun]
        if len(matches) != 1:
            raise LookupError(f"no single primitive named {fun!r} is registered")
        prim = matches[0]
    else:
        prim = rule_for(fun)
    return prim.partials[argnum] if which == "partial" else prim.vjp_maker(argnum)


def take(adjoint, index):
    """The cotangent of ``x[index]`` inside the adjoint of array ``x`` (a copy; 0.0 while no
    gradient has reached the array)."""
    if np.ndim(adjoint) == 0:
        return adjoint
    if _is_fancy(index):   # x[[0, 0]] = v keeps one of v's values: which is NumPy's choice
        from ._rules.indexing import _written_once
        _written_once(index, np.shape(adjoint))
    if not isinstance(adjoint, np.ndarray):   # a Tensor: a second derivative records this
        return adjoint[index]
    return np.array(adjoint[index], dtype=_real_or_complex(adjoint))


def _is_fancy(index):
    parts = index if type(index) is tuple else (index,)
    return any(isinstance(p, (np.ndarray, list)) for p in parts)


def zero_at(adjoint, index):
    """The adjoint with ``[index]`` zeroed: ``x[index] = v`` overwrote those entries, so
    nothing before it reached the output through them.  In place when the array is the
    backward pass's own (made by its additions), else on a copy."""
    if np.ndim(adjoint) == 0:
        return adjoint
    if not isinstance(adjoint, np.ndarray):   # a Tensor: a recorded copy with the zeros
        from ._rules.indexing import assign_index
        return assign_index(adjoint, index, 0.0)
    if not (adjoint.flags.writeable and adjoint.flags.owndata):
        adjoint = np.array(adjoint, dtype=_real_or_complex(adjoint))  # make it the pass's own
    adjoint[index] = 0.0
    return adjoint


def _real_or_complex(adjoint):
    """float, or complex for a complex adjoint: its imaginary part is kept, so that pb.grad
    sees a complex gradient and refuses it (a cast to float would drop it silently)."""
    return adjoint.dtype if adjoint.dtype.kind == "c" else float
