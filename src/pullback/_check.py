"""check_grads: compare pullback's derivatives of a function with central finite differences."""

import numpy as np

from ._grad import run_on_tape
from ._structure import flatten, flatten_up_to, unflatten
from ._tape import GradientTape
from ._tensor import Tensor, convert_to_tensor

__all__ = ["check_grads"]


def check_grads(f, args, order=2, *, modes=("tape", "auto"), eps=1e-6, rtol=1e-5, atol=1e-7,
                seed=0):
    """Check derivatives of ``f`` at ``args`` up to ``order`` against central differences.

    A random direction ``v`` in input space and a random output cotangent ``u`` are drawn; the
    reverse-mode value ``<vjp(u), v>`` must match ``<u, (f(x + eps v) - f(x - eps v)) / 2 eps>``.
    For ``order=2`` the same check is applied to the function ``x -> <vjp(u)(x), v>``, which
    differentiates the backward pass itself (nested tapes).  The first-order check runs on
    each engine in ``modes``: "tape", and "source" / "auto" for the generated code of pb.grad
    (which "auto" replaces by the tape where it cannot transform ``f``).

    Args:
        f: a function of NumPy arrays / floats (or nested lists, tuples, dicts of them).
        args: a tuple of arguments for ``f``; every floating-point leaf is checked.
        order: 1 or 2.

    Raises:
        AssertionError: a mismatch; the message shows analytic and numeric values side by side.

    Example:
        >>> import numpy as np, pullback as pb
        >>> pb.check_grads(lambda x, y: np.sum(np.sin(x) * y), (np.ones(3), np.arange(3.0)))
        True
    """
    if order not in (1, 2):
        raise ValueError(f"check_grads supports order=1 or order=2, not {order!r}")
    args = tuple(args) if isinstance(args, (tuple, list)) else (args,)
    for mode in modes:
        if mode not in ("tape", "source", "auto"):
            raise ValueError(f"check_grads: unknown mode {mode!r}")
        if mode != "tape":
            _check_source(f, args, mode, np.random.default_rng(seed), eps, rtol, atol)
    if "tape" in modes:
        _check_order(f, args, order, np.random.default_rng(seed), eps, rtol, atol, "first")
    return True


def _check_source(f, args, mode, rng, eps, rtol, atol):
    """<vjp(u), v> from pb.grad's generated code against central differences; ``v`` moves
    every floating-point leaf, inside dict, list and tuple arguments too."""
    from ._transforms import vjp
    trees = [flatten(a) for a in args]
    slots = [(k, j) for k, (leaves, _) in enumerate(trees)
             for j, leaf in enumerate(leaves) if _differentiable(leaf)]
    if not slots:
        return  # constants only: the tape check says so
    x = [np.asarray(_value(trees[k][0][j]), dtype=float) for k, j in slots]
    v = [rng.standard_normal(xi.shape) for xi in x]

    def at(step):
        moved = [list(leaves) for leaves, _ in trees]
        for (k, j), xi, vi in zip(slots, x, v):
            value = xi + step * vi
            moved[k][j] = float(value) if type(trees[k][0][j]) is float else value
        return [unflatten(spec, leaves) for (_, spec), leaves in zip(trees, moved)]

    out, pullback = vjp(f, *args, mode=mode)
    u = rng.standard_normal(np.shape(out))
    plus = np.asarray(f(*at(eps)), dtype=float)
    minus = np.asarray(f(*at(-eps)), dtype=float)
    numeric = float(np.sum(u * (plus - minus))) / (2 * eps)
    moving = {k for k, _ in slots}
    grads = [flatten_up_to(spec, g) if k in moving else None
             for k, ((_, spec), g) in enumerate(zip(trees, pullback(u)))]
    analytic = float(sum(np.sum(np.asarray(grads[k][j], dtype=float) * vi)
                         for (k, j), vi in zip(slots, v)))
    if not np.isclose(analytic, numeric, rtol=rtol, atol=atol):
        raise AssertionError(
            f"check_grads: pb.grad (mode={mode!r}, ran as {pullback.gradient_function.mode!r}) "
            f"derivative of {getattr(f, '__name__', f)} does not match finite differences\n"
            f"  analytic (generated code): {analytic!r}\n  numeric (central, eps={eps}):  "
            f"{numeric!r}\n  difference: {analytic - numeric!r}")


def _check_order(f, args, order, rng, eps, rtol, atol, label):
    leaves, spec = flatten(args)
    slots = [i for i, leaf in enumerate(leaves) if _differentiable(leaf)]
    if not slots:
        raise ValueError("check_grads: no floating-point argument to differentiate")
    x = [np.asarray(_value(leaves[i]), dtype=float) for i in slots]
    v = [rng.standard_normal(xi.shape) for xi in x]

    def at(values):
        new = list(leaves)
        for i, val in zip(slots, values):
            new[i] = val
        return unflatten(spec, new)

    out = np.asarray(_value(f(*at(x))), dtype=float)
    u = rng.standard_normal(out.shape)
    plus = np.asarray(_value(f(*at([xi + eps * vi for xi, vi in zip(x, v)]))), dtype=float)
    minus = np.asarray(_value(f(*at([xi - eps * vi for xi, vi in zip(x, v)]))), dtype=float)
    numeric = float(np.sum(u * (plus - minus))) / (2 * eps)

    def projected_vjp(*values):
        """<vjp_u(x), v>: a scalar function whose gradient is the second-order check."""
        tensors = [convert_to_tensor(val) for val in values]
        with GradientTape() as tape:
            tape.watch(tensors)
            y = run_on_tape(f, at(tensors), {}, "pb.check_grads")  # buffers record writes
        grads = tape.gradient(y, tensors, output_gradients=u)
        total = 0.0
        for g, vi in zip(grads, v):
            if g is not None:
                total = total + np.sum(g * vi)
        return total

    analytic = float(_value(projected_vjp(*x)))
    if not np.isclose(analytic, numeric, rtol=rtol, atol=atol):
        raise AssertionError(
            f"check_grads: {label}-order derivative of {getattr(f, '__name__', f)} does not match "
            f"finite differences\n  analytic (reverse mode): {analytic!r}\n  numeric (central, "
            f"eps={eps}):  {numeric!r}\n  difference: {analytic - numeric!r}")
    if order == 2:
        _check_order(projected_vjp, tuple(x), 1, rng, eps, 10 * rtol, 10 * atol, "second")


def _differentiable(leaf):
    value = _value(leaf)
    return isinstance(value, float) or (
        isinstance(value, (np.ndarray, np.generic)) and np.asarray(value).dtype.kind == "f")


def _value(x):
    return x._value if isinstance(x, Tensor) else x
