"""vjp, jvp, jacobian, hessian and hvp, built on pb.grad and the tape.

The source engine differentiates scalar functions, so a vector-Jacobian product runs it on
``sum(f(x) * u)`` (summed over the leaves of a tuple, list or dict output); forward-mode
products and second derivatives run on nested tapes.  With ``mode="source"``, the first-order
gradient inside a second derivative is the source engine's generated code (run on the tape,
which differentiates it again), and a JVP is the generated Jacobian times the tangents.

Every transform runs ``f`` on copies of the caller's arrays: ``f`` may write into its
arguments (pb.grad allows it), and the derivative is taken at the point the caller gave.
"""

import hashlib
import inspect
import linecache

import numpy as np

from ._errors import TransformError
from ._grad import GradFunction, _as_float, _kind, _plain, grad, run_on_tape
from ._runtime import _paths, zeros_like
from ._state import stack
from ._structure import flatten, unflatten
from ._tape import GradientTape
from ._tapenumpy import _buffer_of, recording
from ._tensor import Tensor, constant

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp"]

_SYNTHETIC = "<pullback: sum(u * "   # the file name of the scalarized function's text


def _value(x):
    return x._value if isinstance(x, Tensor) else x


def _name(f):
    return getattr(f, "__qualname__", None) or getattr(f, "__name__", None) or repr(f)


def _check_mode(mode):
    if mode not in ("auto", "tape", "source"):
        raise ValueError(f"mode must be 'auto', 'source' or 'tape', not {mode!r}")


def _copied(tree):
    """``tree`` with its arrays copied, so that ``f`` writing into them changes nothing of the
    caller's."""
    leaves, spec = flatten(tree)
    return unflatten(spec, [np.array(x) if isinstance(x, np.ndarray) else x for x in leaves])


def _zeros_tree(tree):
    leaves, spec = flatten(tree)
    return unflatten(spec, [zeros_like(_value(x)) for x in leaves])


def _recorded(*trees):
    """Whether a leaf is a Tensor that a recording tape follows (a derivative taken through
    the transform: pb.grad of a function that calls it)."""
    return any(isinstance(x, Tensor) and _plain(x) is x for tree in trees
               for x in flatten(tree)[0])


def _refuse_recorded(what, f, *trees):
    if _recorded(*trees):
        raise TypeError(
            f"{what} of {_name(f)} was given a pb.Tensor that a GradientTape records: a "
            f"derivative is being taken through {what} (pb.grad of a function that calls it, "
            f"say). {what} computes its result in NumPy and would drop that derivative, "
            f"silently. Call {what} outside the differentiated function, or compute the inner "
            f"derivative with nested pb.GradientTape blocks (or pb.grad / pb.vjp / "
            f"pb.jacobian, which follow it)")


# --- the output of f: its leaves, and the scalar function sum(leaf * u) -----------------------

def _output_leaves(out, f, what):
    """The leaves of ``f``'s output as arrays, and its structure (None: one array or number)."""
    leaves, spec = flatten(out)
    arrays = []
    for leaf in leaves:
        kind = "O" if leaf is None or isinstance(leaf, (str, bytes)) else \
            np.asarray(_value(leaf)).dtype.kind
        if kind not in "iuf":
            shown = "None" if leaf is None else f"a {type(leaf).__name__}" + (
                f" of dtype {np.asarray(_value(leaf)).dtype}" if kind in "bc" else "")
            raise ValueError(
                f"{what} needs {_name(f)} to return real numbers or arrays (or a tuple, list or "
                f"dict of them), but its output holds {shown}; return float values")
        arrays.append(np.asarray(_value(leaf)))
    return arrays, spec


def _output_paths(out, spec, f, what):
    """The keys that reach each leaf of a structured output (None for a plain array)."""
    if spec is None:
        return None
    paths = []
    _paths(out, (), paths)
    for path, _ in paths:
        for key in path:
            if type(key) not in (int, str):
                raise ValueError(f"{what} needs the dict keys of {_name(f)}'s output to be "
                                 f"strings or ints, not {key!r}")
    return [path for path, _ in paths]


def _scalarized(f, nargs, paths):
    """``g(x0, ..., xn) = sum(f(x0, ..., xn) * u[0][0])`` -- for a structured output the sum
    over its leaves of ``sum(leaf * u[0][k])`` -- with ``u`` the returned holder: a scalar
    function the source engine can differentiate (its text is registered with linecache, so
    pb.grad reads it like a file)."""
    params = ", ".join(f"x{i}" for i in range(nargs))
    if paths is None:
        body = f"    return np.sum(f({params}) * u[0][0])\n"
    else:
        terms = " + ".join(f"np.sum(out{''.join(f'[{k!r}]' for k in path)} * u[0][{i}])"
                           for i, path in enumerate(paths))
        body = f"    out = f({params})\n    return {terms or '0.0'}\n"
    text = f"def projected({params}):\n{body}"
    # one file name per text: the source engine reads it when it first generates code, which
    # for a vjp's pullback is later, after other texts may have been registered
    digest = hashlib.sha1(text.encode()).hexdigest()[:8]
    filename = f"{_SYNTHETIC}{_name(f)}(...)) {digest}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(keepends=True), filename)
    holder = [None]
    namespace = {"np": np, "f": f, "u": holder}
    exec(compile(text, filename, "exec"), namespace)  # noqa: S102 - fixed text above
    return namespace["projected"], holder


def _call(df, args, f, what):
    """``df(*args)``; a TransformError the source engine raises at the scalarized function's
    call of ``f`` (``f`` is no function it can read: a pb.grad, a functools.partial, ...) is
    told about ``f``, at ``f``'s own file and line when it has them."""
    try:
        return df(*args)
    except TransformError as err:
        if not (err.filename or "").startswith(_SYNTHETIC):
            raise
        shown = _name(f) if inspect.isfunction(f) else repr(f)
        code = getattr(inspect.unwrap(getattr(f, "func", f)), "__code__", None)
        where = (code.co_filename, code.co_firstlineno, 1, None) if code else ("?", 1, 1, None)
        reason = err.msg.split(": ", 1)[-1]   # "pb.grad cannot differentiate through f(): ..."
        raise TransformError(
            f"{what}(mode='source') cannot differentiate {shown}: {reason}. Use mode='auto' or "
            f"mode='tape', which run it on the tape", where) from err


# --- Jacobians ----------------------------------------------------------------------------------

def _jacobians(f, args, indices, mode, what, value):
    """The leaves of ``value`` (``f(*args)``), its structure, and for each leaf a tuple with its
    Jacobian w.r.t. each argument in ``indices``: a structure like that argument whose leaves
    have shape ``leaf.shape + x.shape``."""
    leaves, spec = _output_leaves(value, f, what)
    if not indices:
        return leaves, spec, [() for _ in leaves]
    projected, holder = _scalarized(f, len(args), _output_paths(value, spec, f, what))
    df = grad(projected, wrt=tuple(indices), mode=mode)
    per_leaf = []
    for k, leaf in enumerate(leaves):
        rows = []
        for e in range(leaf.size):
            u = [np.zeros(x.shape) for x in leaves]
            u[k].flat[e] = 1.0
            holder[0] = u
            rows.append(_call(df, args, f, what))
        per_leaf.append(tuple(_stacked([row[j] for row in rows], args[i], leaf.shape)
                              for j, i in enumerate(indices)))
    return leaves, spec, per_leaf


def _stacked(rows, arg, out_shape):
    """The gradients of one output leaf's elements w.r.t. ``arg`` (structured like it), as one
    structure whose leaves have shape ``out_shape + leaf.shape``."""
    arg_leaves, arg_spec = flatten(arg)
    columns = [flatten(row)[0] for row in rows]
    blocks = []
    for j, x in enumerate(arg_leaves):
        shape = np.shape(_value(x))
        column = [c[j] for c in columns]
        if _recorded(column):   # a derivative through the Jacobian: the tape follows np.stack
            block = np.stack([c if isinstance(c, Tensor) else np.asarray(c, dtype=float)
                              for c in column])
        else:
            block = np.stack([np.asarray(_value(c), dtype=float) for c in column]) \
                if column else np.zeros((0,) + shape)
        blocks.append(np.reshape(block, out_shape + shape))
    return unflatten(arg_spec, blocks)


def _positional(probe, args, kwargs, what):
    """``args`` and ``kwargs`` as positional arguments of ``f``."""
    if not kwargs:
        return tuple(args)
    bound = probe._signature.bind(*args, **kwargs)
    if bound.kwargs:
        raise TypeError(f"{what} passes arguments by position; {sorted(bound.kwargs)} of "
                        f"{_name(probe._fn)} can only be passed by keyword")
    return bound.args


def jacobian(f, wrt=0, *, mode="auto"):
    """A function returning the Jacobian of ``f`` w.r.t. argument ``wrt``.

    Args:
        f: a function of arrays, numbers or nested lists / tuples / dicts of them, returning an
            array or number -- or a tuple, list or dict of them.
        wrt: an argument position or name, or a tuple of them.
        mode: "auto", "source" or "tape", as for :func:`pullback.grad`.

    Returns:
        A function with ``f``'s arguments. For an array output and an array argument, the
        Jacobian has shape ``out.shape + arg.shape``; for a tuple ``wrt``, a tuple of them; a
        pytree argument gives its structure, and a tuple / list / dict output gives its
        structure outside (as JAX's ``jacobian``: ``J[k][i]`` for output ``k``, argument ``i``).
        ``f`` runs on copies of the arguments: the caller's arrays never change.

    Example:
        >>> import numpy as np, pullback as pb
        >>> pb.jacobian(lambda x: x ** 2)(np.array([1.0, 2.0])).tolist()
        [[2.0, 0.0], [0.0, 4.0]]
        >>> ds, dq = pb.jacobian(lambda x: (np.sin(x), x ** 2))(np.array([0.0, 2.0]))
        >>> ds.tolist(), dq.tolist()
        ([[1.0, 0.0], [0.0, -0.4161468365471424]], [[0.0, 0.0], [0.0, 4.0]])
    """
    _check_mode(mode)

    def jac(*args, **kwargs):
        probe = GradFunction(f, wrt, "tape", with_value=False)  # validates wrt
        args = _positional(probe, args, kwargs, "pb.jacobian")
        indices = tuple(probe._params.index(w) for w in probe._wrt)
        value = f(*_copied(args))
        call = list(args)
        for i in indices:   # ints as floats; a string or an object raises, naming the argument
            call[i] = _as_float(args[i], probe._params[i])
        _, spec, per_leaf = _jacobians(f, tuple(call), indices, mode, "pb.jacobian", value)
        per_leaf = [j[0] if probe._single else j for j in per_leaf]
        return per_leaf[0] if spec is None else unflatten(spec, per_leaf)
    return jac


# --- vjp -------------------------------------------------------------------------------------

def vjp(f, *args, mode="auto"):
    """``f(*args)`` and a function from an output cotangent to one cotangent per argument.

    ``f`` may return an array or number, or a tuple, list or dict of them (the cotangent then
    has that structure). Float arguments are differentiated; so are int arguments, as floats
    (as pb.grad does), unless ``f`` cannot run with them as floats (a count for ``range``, a
    shape, an index: ``f`` is run once more with them as floats to find out): those, and
    bools, get a zero cotangent. ``f`` runs on copies of the arguments. The cotangent may be a Tensor an outer tape records (``vjp`` inside a function
    pb.grad differentiates): the cotangents then follow it (modes "auto" and "tape").

    Example:
        >>> import numpy as np, pullback as pb
        >>> y, pullback = pb.vjp(lambda x: x ** 2, np.array([1.0, 2.0]))
        >>> pullback(np.ones(2))[0].tolist()
        [2.0, 4.0]
        >>> _, pullback = pb.vjp(lambda s: s ** 3, 2)     # an int, differentiated as a float
        >>> float(pullback(1.0)[0])
        12.0
    """
    _check_mode(mode)
    value = f(*_copied(args))
    leaves, spec = _output_leaves(value, f, "pb.vjp")
    moving = _moving(f, args)
    projected, holder = _scalarized(f, len(args), _output_paths(value, spec, f, "pb.vjp"))
    df = grad(projected, wrt=moving, mode=mode) if moving else None
    taped = []

    def pullback(cotangent):
        u = _cotangent(cotangent, leaves, spec, f)
        gradient = df
        if df is not None and any(isinstance(g, Tensor) for g in u):
            if mode == "source":
                raise ValueError(
                    f"pb.vjp(mode='source')'s pullback of {_name(f)} was given a cotangent that "
                    f"a GradientTape records (a derivative through the cotangent); generated "
                    f"code computes in plain NumPy and would lose it. Use mode='auto' or "
                    f"mode='tape'")
            if not taped:   # the tape follows the cotangent; generated code would not
                taped.append(grad(projected, wrt=moving, mode="tape"))
            gradient = taped[0]
        holder[0] = u
        grads = dict(zip(moving, _call(gradient, args, f, "pb.vjp"))) if moving else {}
        return tuple(grads[i] if i in grads else _zeros_tree(a) for i, a in enumerate(args))

    pullback.gradient_function = df
    return value, pullback


def _cotangent(cotangent, leaves, spec, f):
    """The cotangent's leaves, checked against the output's structure and shapes: arrays, or
    Tensors that a recording tape follows."""
    given, given_spec = flatten(cotangent)
    if given_spec != spec:
        raise ValueError(f"the cotangent given to pb.vjp's pullback of {_name(f)} is a "
                         f"{type(cotangent).__name__}, not the structure of its output; give "
                         f"one of the output's structure, leaf by leaf")
    out = []
    for g, leaf in zip(given, leaves):
        g = _plain(g)
        if not isinstance(g, Tensor):
            g = np.asarray(g, dtype=float)
        if np.shape(g) != leaf.shape:
            raise ValueError(f"the cotangent has shape {np.shape(g)} but the output of "
                             f"{_name(f)} has shape {leaf.shape}; give it the output's shape")
        out.append(g)
    return out


def _moving(f, args):
    """The positions of the arguments vjp differentiates: those holding floats, and those
    holding ints that ``f`` can take as floats."""
    moving, ints = [], []
    for i, a in enumerate(args):
        kinds = {"O" if x is None or isinstance(x, (str, bytes)) else
                 np.asarray(_value(x)).dtype.kind for x in flatten(a)[0]}
        if kinds & set("fc"):
            moving.append(i)
        elif kinds and kinds <= set("iu"):
            ints.append(i)
    if ints and not _runs_with_floats(f, args, ints):
        ints = [i for i in ints if _runs_with_floats(f, args, [i])]
    return tuple(sorted(moving + ints))


def _runs_with_floats(f, args, which):
    call = list(_copied(args))
    for i in which:
        call[i] = _as_float(call[i], str(i))
    try:
        f(*call)
    except Exception:
        return False
    return True


# --- jvp -------------------------------------------------------------------------------------

def jvp(f, primals, tangents, mode="auto"):
    """``f(*primals)`` and the directional derivative along ``tangents`` (summed over inputs).

    ``f`` may return a tuple, list or dict of arrays: the value and the tangent then both have
    that structure (as JAX's ``jvp``). Int primals are differentiated as floats when their
    tangent is not zero (as pb.grad does); ``f`` runs on copies of the primals.

    Raises:
        TypeError: primals or tangents not a tuple, or not as many as ``f`` takes.
        ValueError: tangents of another structure or shape than the primals.

    Example:
        >>> import numpy as np, pullback as pb
        >>> y, t = pb.jvp(np.sin, (0.0,), (2.0,))
        >>> float(y), float(t)
        (0.0, 2.0)
        >>> (s, q), (ds, dq) = pb.jvp(lambda x: (np.sin(x), x ** 2), (0.0,), (1.0,))
        >>> float(ds), float(dq)
        (1.0, 0.0)
    """
    _check_mode(mode)
    for label, given in (("primals", primals), ("tangents", tangents)):
        if not isinstance(given, (tuple, list)):
            raise TypeError(
                f"pb.jvp(f, primals, tangents) takes the arguments of {_name(f)} as a tuple, "
                f"but {label} is a {type(given).__name__}; for one argument write "
                f"pb.jvp({_name(f)}, (x,), (t,))")
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents; give one "
                         f"tangent per primal, of the same structure")
    _check_arity(f, primals)
    _refuse_recorded("pb.jvp", f, primals, tangents)
    moving = _check_tangents(f, primals, tangents)
    if mode == "source":
        return _jvp_from_jacobians(f, primals, tangents, moving)
    return _jvp_on_tapes(f, primals, tangents, moving)


def _check_arity(f, primals):
    try:
        signature = inspect.signature(f)
    except (TypeError, ValueError):   # a NumPy ufunc: it says so itself
        return
    try:
        signature.bind(*primals)
    except TypeError as err:
        raise TypeError(f"pb.jvp: {_name(f)}{signature} cannot take the {len(primals)} "
                        f"primals given ({err}); give one primal per positional argument"
                        ) from None


def _check_tangents(f, primals, tangents):
    """Per primal, which of its leaves move: floats, and ints with a non-zero tangent."""
    moving = []
    for i, (p, t) in enumerate(zip(primals, tangents)):
        leaves, spec = flatten(p)
        tleaves, tspec = flatten(t)
        if spec != tspec:
            raise ValueError(f"jvp: primals and tangents must have the same structure; the "
                             f"tangent of argument {i} of {_name(f)} is a "
                             f"{type(t).__name__}, its primal a {type(p).__name__}")
        flags = []
        for x, dx in zip(leaves, tleaves):
            xs, ts = np.shape(_value(x)), np.shape(_value(dx))
            if xs != ts:
                raise ValueError(f"jvp: the tangent of argument {i} of {_name(f)} has shape "
                                 f"{ts}, but its primal has shape {xs}; give each tangent its "
                                 f"primal's shape")
            kind = np.asarray(_value(x)).dtype.kind
            still = not np.any(np.asarray(_value(dx)))
            if kind not in "iuf" and not still:
                raise ValueError(f"jvp: argument {i} of {_name(f)} holds a value of dtype "
                                 f"{np.asarray(_value(x)).dtype}, which has no derivative; give "
                                 f"it a zero tangent")
            flags.append(kind == "f" or kind in "iu" and not still)
        moving.append(flags)
    return moving


def _floated(primals, moving):
    """The primals with their moving int leaves as floats, copied."""
    out = []
    for p, flags in zip(primals, moving):
        leaves, spec = flatten(_copied(p))
        out.append(unflatten(spec, [np.asarray(_value(x), dtype=float) if m and np.asarray(
            _value(x)).dtype.kind in "iu" else x for x, m in zip(leaves, flags)]))
    return tuple(out)


def _jvp_on_tapes(f, primals, tangents, moving):
    """A JVP is the derivative of a VJP in the cotangent: <J^T u, t> is linear in u."""
    leaves, spec = flatten(_copied(primals))
    flags = [m for per in moving for m in per]
    tleaves = [t for t, m in zip(flatten(tangents)[0], flags) if m]
    xs = [constant(np.array(_value(x), dtype=float)) for x, m in zip(leaves, flags) if m]
    writable = iter([_buffer_of(x) if x.ndim else x for x in xs])  # f may write into them
    args = unflatten(spec, [next(writable) if m else x for x, m in zip(leaves, flags)])
    with GradientTape() as outer:
        with GradientTape(persistent=True) as inner:
            inner.watch(xs)
            out = _run_floated(f, args, primals, moving)
        values, out_spec = _output_leaves(out, f, "pb.jvp")
        targets = [o if isinstance(o, Tensor) else constant(v)
                   for o, v in zip(flatten(out)[0], values)]
        us = [constant(np.zeros(v.shape)) for v in values]
        outer.watch(us)
        grads = inner.gradient(targets, xs, output_gradients=us) if targets else []
        total = 0.0
        for g, t in zip(grads, tleaves):
            if g is not None:
                total = total + np.sum(g * np.asarray(_value(t), dtype=float))
    found = outer.gradient(total, us) if isinstance(total, Tensor) else [None] * len(us)
    out_tangents = [np.zeros(v.shape) if g is None else g.numpy() for g, v in zip(found, values)]
    return unflatten(out_spec, values), unflatten(out_spec, out_tangents)


def _run_floated(f, args, primals, moving):
    """``f(*args)`` on the tape; an int primal made a float that ``f`` cannot take is told."""
    try:
        return run_on_tape(f, args, {}, "pb.jvp")
    except Exception as err:
        floated = [i for i, (p, flags) in enumerate(zip(primals, moving)) if any(
            m and np.asarray(_value(x)).dtype.kind in "iu" for x, m in zip(flatten(p)[0], flags))]
        if not floated:
            raise
        raise TypeError(f"pb.jvp differentiates the int primal(s) {floated} of {_name(f)} as "
                        f"floats (their tangents are not zero), and {_name(f)} failed with them "
                        f"as floats ({type(err).__name__}: {err}). If one is a count, a shape "
                        f"or an index, give it a zero tangent") from err


def _jvp_from_jacobians(f, primals, tangents, moving):
    """``f(*primals)`` and the sum over the primals of (their Jacobian, by the source engine)
    times their tangent."""
    value = f(*_copied(primals))
    positions = [i for i, flags in enumerate(moving) if any(flags)]
    leaves, spec, per_leaf = _jacobians(f, _floated(primals, moving), positions, "source",
                                        "pb.jvp", value)
    totals = []
    for leaf, jacs in zip(leaves, per_leaf):
        total = np.zeros(leaf.shape)
        for i, jac in zip(positions, jacs):
            for block, t in zip(flatten(jac)[0], flatten(tangents[i])[0]):
                t = np.asarray(_value(t), dtype=float)
                total = total + np.tensordot(block, t, axes=t.ndim)
        totals.append(total[()] if total.ndim == 0 else total)
    values = [x[()] if x.ndim == 0 else x for x in leaves]
    return unflatten(spec, values), unflatten(spec, totals)


# --- second derivatives ------------------------------------------------------------------------

class _Nested:
    """The gradient of ``f`` w.r.t. ``wrt`` at the given arguments, computed where an outer tape
    records it (a nested derivative, with the protections pb.grad runs user code with -- or,
    with mode="source", the source engine's generated gradient code run on Tensors).  The
    differentiated arguments are Tensors made from copies: ``sources[name] = (spec, tensors)``.
    """

    def __init__(self, f, wrt, args, kwargs, what):
        self.single = not isinstance(wrt, (tuple, list))
        self.df = GradFunction(f, (wrt,) if self.single else tuple(wrt), "tape",
                               with_value=False)
        self.names = self.df._wrt
        try:
            self.bound = self.df._signature.bind(*args, **kwargs)
        except TypeError as err:
            raise TypeError(f"{what}: {_name(f)}{self.df._signature} cannot take these "
                            f"arguments: {err}") from None
        self.bound.apply_defaults()
        _refuse_recorded(what, f, self.bound.arguments)
        self.sources = {}
        for name in dict.fromkeys(self.names):
            value = _as_float(self.bound.arguments[name], name)
            leaves, spec = flatten(value)
            tensors = [constant(np.array(_value(x), dtype=float)) for x in leaves]
            self.sources[name] = (spec, tensors)
            self.bound.arguments[name] = unflatten(spec, tensors)
        self.tensors = [t for _, ts in self.sources.values() for t in ts]

    def record(self, then, mode):
        """Run the gradient inside a persistent outer tape, and ``then(grads)`` with it (the
        gradients a tuple in ``wrt`` order, their leaves Tensors the tape follows or arrays of
        zeros); return the tape and what ``then`` returned."""
        if mode == "source":
            gradient = _generated_gradient(self.df, self.bound)
        else:
            gradient = lambda: self.df(*self.bound.args, **self.bound.kwargs)  # noqa: E731
        with GradientTape(persistent=True) as outer:
            outer.watch(self.tensors)
            result = then(gradient())
        return outer, result

    def by_name(self, leaves):
        """Per-source-tensor values rebuilt per differentiated argument, in ``wrt`` order."""
        out, position = {}, 0
        for name, (spec, tensors) in self.sources.items():
            out[name] = unflatten(spec, leaves[position:position + len(tensors)])
            position += len(tensors)
        result = tuple(out[name] for name in self.names)
        return result[0] if self.single else result


def _generated_gradient(df, bound):
    """The source engine's gradient of ``f`` w.r.t. ``df``'s parameters, as code that a tape
    can differentiate again: generated for plain arrays (no layout, so no writes into its own
    buffers), run on Tensors."""
    from ._source import generate
    f, values = df._fn, bound.arguments
    kinds = {p: _arrays(values[p]) if p in df._wrt else _kind(values[p], False)
             for p in df._params}
    # NumPy's functions for scalars too: math.log of a Tensor would turn it into a float
    generated = generate(f, list(df._wrt), kinds, False, None, scalar_math=False)
    function = recording(generated.function)   # its np.zeros buffers record their writes
    call = [values[p] for p in df._params]

    def gradient():
        previous = stack.strict
        stack.strict, stack.lost = True, None   # a Tensor made a float or array: raise
        try:
            return function(*call)
        except Exception as err:
            if isinstance(err, ValueError) and "to return a real scalar" in str(err):
                raise   # pb.grad's own check of the output: it says what to do
            raise TransformError(
                f"the generated gradient of {_name(f)} cannot be differentiated again on the "
                f"tape ({type(err).__name__}: {err}); use mode='auto' for this second "
                f"derivative", (inspect.getsourcefile(f) or "?",
                                getattr(getattr(f, "__code__", None), "co_firstlineno", 1), 1,
                                None)) from err
        finally:
            stack.strict = previous
    return gradient


def _arrays(tree):
    leaves, spec = flatten(tree)
    return unflatten(spec, ["array"] * len(leaves))


def hessian(f, wrt=0, *, mode="auto"):
    """A function returning the Hessian of scalar ``f`` w.r.t. argument ``wrt``.

    Args:
        f: a function returning a real scalar, of arrays, numbers or pytrees of them; keyword
            arguments are passed on, as pb.grad does.
        wrt: an argument position or name, or a tuple of them.
        mode: "auto", "source" or "tape", as for :func:`pullback.grad`.

    Returns:
        A function with ``f``'s arguments. For an array argument, the Hessian has shape
        ``arg.shape + arg.shape``; for a tuple ``wrt``, nested tuples of blocks,
        ``H[i][j] = d2f / d(arg i) d(arg j)`` of shape ``arg_i.shape + arg_j.shape`` (as JAX's
        ``hessian`` with a tuple ``argnums``); for a pytree argument, its structure holding its
        structure (``H["w"]["b"]``).

    Example:
        >>> import numpy as np, pullback as pb
        >>> pb.hessian(lambda x: np.sum(x ** 3))(np.array([1.0, 2.0])).tolist()
        [[6.0, 0.0], [0.0, 12.0]]
        >>> (hxx, hxy), (hyx, hyy) = pb.hessian(lambda x, y: x ** 2 * y, wrt=(0, 1))(3.0, 2.0)
        >>> float(hxx), float(hxy), float(hyx), float(hyy)
        (4.0, 6.0, 6.0, 0.0)
    """
    _check_mode(mode)

    def hess(*args, **kwargs):
        nested = _Nested(f, wrt, args, kwargs, "pb.hessian")
        outer, grads = nested.record(lambda g: g, mode)
        columns = {}   # per differentiated argument: per gradient leaf, d(leaf)/d(each source)
        for name, g in zip(nested.names, grads):
            spec, xs = nested.sources[name]
            columns[name] = [
                [j.numpy() for j in outer.jacobian(leaf, nested.tensors,
                                                   unconnected_gradients="zero")]
                if isinstance(leaf, Tensor) else
                [np.zeros(x.shape + t.shape) for t in nested.tensors]
                for leaf, x in zip(flatten(g)[0], xs)]
        rows = {name: unflatten(nested.sources[name][0],
                                [nested.by_name(column) for column in columns[name]])
                for name in columns}
        return rows[nested.names[0]] if nested.single else tuple(rows[n] for n in nested.names)
    return hess


def hvp(f, wrt=0, *, mode="auto"):
    """A function of ``(*args, v)`` returning the Hessian of ``f`` times ``v`` (like
    autograd's hessian_vector_product): ``v`` last, keyword arguments passed on to ``f``.

    ``v`` has the structure and shapes of the argument ``wrt``; for a tuple ``wrt``, ``v`` is a
    tuple with one vector per argument, and so is the result: ``sum_j H[i][j] v[j]``.

    Raises:
        ValueError: a ``v`` of another structure or shape than its argument.

    Example:
        >>> import numpy as np, pullback as pb
        >>> pb.hvp(lambda x: np.sum(x ** 3))(np.array([1.0, 2.0]), np.array([1.0, 1.0])).tolist()
        [6.0, 12.0]
    """
    _check_mode(mode)

    def product(*args_and_v, **kwargs):
        if not args_and_v:
            raise TypeError(f"pb.hvp of {_name(f)} takes f's arguments and then the vector: "
                            f"hvp(*args, v)")
        *args, v = args_and_v
        nested = _Nested(f, wrt, args, kwargs, "pb.hvp")
        _refuse_recorded("pb.hvp", f, v)
        vs = _vectors(f, nested, v)
        outer, s = nested.record(lambda grads: _dot(grads, vs), mode)
        if s is None:
            return nested.by_name([np.zeros(t.shape) for t in nested.tensors])
        found = outer.gradient(s, nested.tensors, unconnected_gradients="zero")
        return nested.by_name([g.numpy() for g in found])
    return product


def _vectors(f, nested, v):
    """``v`` per differentiated argument, as float leaves checked against its shapes."""
    if not nested.single:
        if not isinstance(v, (tuple, list)) or len(v) != len(nested.names):
            raise ValueError(f"pb.hvp of {_name(f)} with wrt={nested.names} takes v as a tuple "
                             f"of {len(nested.names)} vectors, one per argument; got "
                             f"{type(v).__name__}")
    out = []
    for name, given in zip(nested.names, (v,) if nested.single else v):
        spec, xs = nested.sources[name]
        leaves, given_spec = flatten(given)
        if given_spec != spec:
            raise ValueError(f"pb.hvp of {_name(f)}: v must have the structure of argument "
                             f"{name!r}; got a {type(given).__name__}")
        for leaf, x in zip(leaves, xs):
            if np.shape(_value(leaf)) != x.shape:
                raise ValueError(
                    f"pb.hvp of {_name(f)}: v has shape {np.shape(_value(leaf))} but argument "
                    f"{name!r} has shape {x.shape}; give v the shape of the argument (it "
                    f"multiplies the Hessian w.r.t. that argument)")
        out.append([np.asarray(_value(leaf), dtype=float) for leaf in leaves])
    return out


def _dot(grads, vs):
    total = None
    for g, leaves in zip(grads, vs):
        for leaf, v in zip(flatten(g)[0], leaves):
            if isinstance(leaf, Tensor):
                term = np.sum(leaf * v)
                total = term if total is None else total + term
    return total
