"""vjp, jvp, jacobian, hessian and hvp, built on pb.grad and the tape.

The source engine differentiates scalar functions, so a vector-Jacobian product runs it on
``sum(f(x) * u)``; forward-mode products and second derivatives run on nested tapes.  With
``mode="source"``, the first-order gradient inside a second derivative is the source engine's
generated code (run on the tape, which differentiates it again), and a JVP is the generated
Jacobian times the tangents.
"""

import inspect

import numpy as np

from ._grad import GradFunction, grad, run_on_tape
from ._runtime import zeros_like
from ._state import stack
from ._structure import flatten, unflatten
from ._tape import GradientTape
from ._tapenumpy import _buffer_of, recording
from ._tensor import Tensor, constant

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp"]


def _value(x):
    return x._value if isinstance(x, Tensor) else x


def _check_mode(mode):
    if mode not in ("auto", "tape", "source"):
        raise ValueError(f"mode must be 'auto', 'source' or 'tape', not {mode!r}")


def _scalarized(f, nargs):
    """``g(x1, ..., xn) = sum(f(x1, ..., xn) * u)`` with ``u`` read from the returned holder:
    a scalar function the source engine can differentiate (its source is registered with
    linecache, so pb.grad reads it like a file)."""
    import linecache
    params = ", ".join(f"x{i}" for i in range(nargs))
    name = getattr(f, "__name__", "f")
    filename = f"<pullback: sum(u * {name}(...))>"
    text = f"def projected({params}):\n    return np.sum(f({params}) * u[0])\n"
    linecache.cache[filename] = (len(text), None, text.splitlines(keepends=True), filename)
    holder = [None]
    namespace = {"np": np, "f": f, "u": holder}
    exec(compile(text, filename, "exec"), namespace)  # noqa: S102 - fixed text above
    return namespace["projected"], holder


def vjp(f, *args, mode="auto"):
    """``f(*args)`` and a function from an output cotangent to one cotangent per argument.

    Example:
        >>> import numpy as np, pullback as pb
        >>> y, pullback = pb.vjp(lambda x: x ** 2, np.array([1.0, 2.0]))
        >>> pullback(np.ones(2))[0].tolist()
        [2.0, 4.0]
    """
    value = f(*args)
    projected, holder = _scalarized(f, len(args))
    # Integer and boolean arguments (counts, indices, masks) are passed as they are; their
    # cotangent is zero
    moving = tuple(i for i, a in enumerate(args) if _floating(a))
    df = grad(projected, wrt=moving, mode=mode)

    def pullback(cotangent):
        holder[0] = np.asarray(_value(cotangent), dtype=float)
        if np.shape(holder[0]) != np.shape(value):
            raise ValueError(f"the cotangent has shape {np.shape(holder[0])} but the output "
                             f"has shape {np.shape(value)}")
        grads = dict(zip(moving, df(*args))) if moving else {}
        return tuple(grads[i] if i in grads else zeros_like(a) for i, a in enumerate(args))

    pullback.gradient_function = df
    return value, pullback


def _floating(arg):
    """Whether an argument holds a float (or complex) value to differentiate."""
    return any(np.asarray(_value(leaf)).dtype.kind in "fc" for leaf in flatten(arg)[0])


def jvp(f, primals, tangents, mode="auto"):
    """``f(*primals)`` and the directional derivative along ``tangents`` (summed over inputs).

    Example:
        >>> import numpy as np, pullback as pb
        >>> y, t = pb.jvp(np.sin, (0.0,), (2.0,))
        >>> float(y), float(t)
        (0.0, 2.0)
    """
    _check_mode(mode)
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents; give one "
                         f"tangent per primal, of the same structure")
    leaves, spec = flatten(primals)
    tleaves, tspec = flatten(tangents)
    if spec != tspec:
        raise ValueError("jvp: primals and tangents must have the same structure")
    if mode == "source":
        return _jvp_from_jacobians(f, primals, tangents)
    # Integer and boolean primals (indices, counts, masks) are passed as they are: their
    # tangents carry nothing, as JAX's float0 tangents.
    moving = [np.asarray(x).dtype.kind in "fc" for x in leaves]
    xs = [constant(np.asarray(x, dtype=float)) for x, m in zip(leaves, moving) if m]
    writable = iter([_buffer_of(x) if x.ndim else x for x in xs])  # f may write into them
    args = unflatten(spec, [next(writable) if m else x for x, m in zip(leaves, moving)])
    # A JVP is the derivative of a VJP in the cotangent: <J^T u, t> is linear in u.
    with GradientTape() as outer:
        with GradientTape(persistent=True) as inner:
            inner.watch(xs)
            out = run_on_tape(f, args, {}, "pb.jvp")
        out_t = out if isinstance(out, Tensor) else constant(out)
        u = constant(np.zeros(out_t.shape))
        outer.watch(u)
        grads = inner.gradient(out_t, xs, output_gradients=u)
        total = 0.0
        for g, t in zip(grads, [t for t, m in zip(tleaves, moving) if m]):
            if g is not None:
                total = total + np.sum(g * np.asarray(t, dtype=float))
    tangent = outer.gradient(total, u) if isinstance(total, Tensor) else None
    value = _value(out_t)
    return value, (np.zeros(np.shape(value)) if tangent is None else tangent.numpy())


def jacobian(f, wrt=0, *, mode="auto"):
    """A function returning the Jacobian of ``f`` w.r.t. argument ``wrt``: shape
    ``out.shape + arg.shape`` (a tuple of them for a tuple ``wrt``).

    Example:
        >>> import numpy as np, pullback as pb
        >>> pb.jacobian(lambda x: x ** 2)(np.array([1.0, 2.0])).tolist()
        [[2.0, 0.0], [0.0, 4.0]]
    """
    def jac(*args, **kwargs):
        probe = GradFunction(f, wrt, "tape", with_value=False)  # validates wrt
        if kwargs:   # by position from here on
            bound = probe._signature.bind(*args, **kwargs)
            if bound.kwargs:
                raise TypeError(f"pb.jacobian passes arguments by position; "
                                f"{sorted(bound.kwargs)} can only be passed by keyword")
            args = bound.args
        indices = tuple(probe._params.index(w) for w in probe._wrt)
        out = np.asarray(_value(f(*args)))
        xs = [np.asarray(args[i], dtype=float) for i in indices]
        projected, holder = _scalarized(f, len(args))
        df = grad(projected, wrt=indices, mode=mode)
        rows = [[] for _ in indices]
        for k in range(out.size):
            u = np.zeros(out.size)
            u[k] = 1.0
            holder[0] = u.reshape(out.shape)
            for row, g in zip(rows, df(*args)):
                row.append(np.asarray(g, dtype=float))
        jacobians = tuple(np.reshape(np.stack(row) if row else np.zeros((0,) + x.shape),
                                     out.shape + x.shape) for row, x in zip(rows, xs))
        return jacobians[0] if probe._single else jacobians
    return jac


def hessian(f, wrt=0, *, mode="auto"):
    """A function returning the Hessian of scalar ``f`` w.r.t. argument ``wrt``: shape
    ``arg.shape + arg.shape`` (nested tapes).

    Example:
        >>> import numpy as np, pullback as pb
        >>> pb.hessian(lambda x: np.sum(x ** 3))(np.array([1.0, 2.0])).tolist()
        [[6.0, 0.0], [0.0, 12.0]]
    """
    _check_mode(mode)

    def hess(*args):
        x, g, outer = _nested_gradient(f, wrt, args, lambda g: g, mode)
        if g is None:
            return np.zeros(x.shape + x.shape)
        return outer.jacobian(g, x, unconnected_gradients="zero").numpy()
    return hess


def _nested_gradient(f, wrt, args, then, mode="auto"):
    """(x, the gradient of f at x recorded by an outer tape, that tape); ``then(g)`` runs
    inside the outer tape, to record what is computed from the gradient.  The gradient is
    pb.grad's tape mode called with a Tensor the outer tape watches: a nested derivative, with
    the protections pb.grad runs user code with -- or, with mode="source", the source
    engine's generated gradient code run on that Tensor.  g is None when it does not depend
    on x."""
    probe = GradFunction(f, wrt, "tape", with_value=False)
    df = GradFunction(f, probe._wrt[0], "tape", with_value=False)
    index = df._positions[0]
    x = constant(np.asarray(args[index], dtype=float))
    call = list(args)
    call[index] = x
    if mode == "source":
        df = _generated_gradient(f, df, args)
    with GradientTape(persistent=True) as outer:
        outer.watch(x)
        g = df(*call)
        g = then(g) if isinstance(g, Tensor) else None
    return x, g, outer


def _generated_gradient(f, probe, args):
    """The source engine's gradient of ``f`` w.r.t. ``probe``'s parameter, as code that a tape
    can differentiate again: generated for plain arrays (no layout, so no writes into its own
    buffers), run on Tensors."""
    from ._errors import TransformError
    from ._grad import _kind
    from ._source import generate
    values = dict(zip(probe._params, args))
    param = probe._wrt[0]
    kinds = {p: "array" if p == param else _kind(v, False) for p, v in values.items()}
    generated = generate(f, [param], kinds, False, None)
    function = recording(generated.function)   # its np.zeros buffers record their writes
    name = getattr(f, "__qualname__", f)

    def gradient(*call):
        previous = stack.strict
        stack.strict, stack.lost = True, None   # a Tensor made a float or array: raise
        try:
            return function(*call)[0]
        except Exception as err:
            raise TransformError(
                f"the generated gradient of {name} cannot be differentiated again on the tape "
                f"({type(err).__name__}: {err}); use mode='auto' for this second derivative",
                (inspect.getsourcefile(f) or "?", 1, 1, None)) from err
        finally:
            stack.strict = previous
    return gradient


def _jvp_from_jacobians(f, primals, tangents):
    """``f(*primals)`` and the sum over the primals of (their Jacobian, by the source engine)
    times their tangent."""
    if any(isinstance(p, (dict, list, tuple)) for p in primals):
        raise ValueError("pb.jvp(mode='source') takes arrays and numbers as primals; use "
                         "mode='auto' for nested ones")
    value = np.asarray(_value(f(*primals)))
    total = np.zeros(value.shape)
    for i, (x, t) in enumerate(zip(primals, tangents)):
        if not _floating(x):
            continue
        jac = jacobian(f, wrt=i, mode="source")(*primals)
        t = np.asarray(t, dtype=float)
        total = total + np.tensordot(jac, t, axes=t.ndim)
    return value[()] if value.ndim == 0 else value, total[()] if total.ndim == 0 else total


def hvp(f, wrt=0, *, mode="auto"):
    """A function of ``(*args, v)`` returning the Hessian of ``f`` times ``v`` (like
    autograd's hessian_vector_product).

    Example:
        >>> import numpy as np, pullback as pb
        >>> pb.hvp(lambda x: np.sum(x ** 3))(np.array([1.0, 2.0]), np.array([1.0, 1.0])).tolist()
        [6.0, 12.0]
    """
    _check_mode(mode)

    def product(*args_and_v):
        *args, v = args_and_v
        v = np.asarray(v, dtype=float)
        x, s, outer = _nested_gradient(f, wrt, args, lambda g: np.sum(g * v), mode)
        if s is None:
            return np.zeros(x.shape)
        return outer.gradient(s, x, unconnected_gradients="zero").numpy()
    return product
