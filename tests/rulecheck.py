"""Table-driven checks of registry rules against central finite differences.

``check_rule(fun, *args, **kwargs)`` checks, for every differentiable argument of ``fun``:
  * the VJP from the registry against finite differences, in a random direction;
  * the JVP from the registry against finite differences;
  * the same gradient through the runtime tape (pb.GradientTape);
  * the second-order derivative through nested tapes, when ``deriv_order=2``.

NumPy keyword arguments of ``fun`` pass through ``**kwargs``; the checker's own options are
``argnums``, ``rtol``, ``atol``, ``deriv_order`` and ``tape``.
"""

import linecache

import numpy as np

import pullback as pb
from pullback._registry import lookup

EPS = 1e-6


def _is_float(a):
    return isinstance(a, float) or (isinstance(a, np.ndarray) and a.dtype.kind == "f")


def _is_float_seq(a):
    return isinstance(a, (list, tuple)) and a and all(_is_float(e) for e in a)


def _with(args, pos, sub, value):
    args = list(args)
    if sub is None:
        args[pos] = value
    else:
        seq = list(args[pos])
        seq[sub] = value
        args[pos] = type(args[pos])(seq)
    return args


def _get(args, pos, sub):
    return args[pos] if sub is None else args[pos][sub]


def _slots(args, argnums):
    """(position, sub-index) of every differentiable input."""
    slots = []
    for pos, a in enumerate(args):
        if argnums is not None and pos not in argnums:
            continue
        if _is_float(a):
            slots.append((pos, None))
        elif _is_float_seq(a):
            slots.extend((pos, j) for j in range(len(a)))
    return slots


def _outputs(ans):
    """A function's outputs as a list of float arrays (one for a single-output function)."""
    if isinstance(ans, (tuple, list)):
        return [np.asarray(a, dtype=float) for a in ans]
    return [np.asarray(ans, dtype=float)]


def _fd_directional(fun, args, kwargs, pos, sub, v):
    """Central differences of every output of ``fun`` along ``v`` in one input."""
    x = np.asarray(_get(args, pos, sub), dtype=float)
    plus = _outputs(fun(*_with(args, pos, sub, x + EPS * v), **kwargs))
    minus = _outputs(fun(*_with(args, pos, sub, x - EPS * v), **kwargs))
    return [(p - m) / (2 * EPS) for p, m in zip(plus, minus)]


def _close(a, b, rtol, atol, what):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    assert a.shape == b.shape, f"{what}: shape {a.shape} != {b.shape}"
    if not np.allclose(a, b, rtol=rtol, atol=atol):
        raise AssertionError(f"{what}: analytic vs numeric\n{a}\n{b}")


def check_rule(fun, *args, argnums=None, rtol=1e-5, atol=1e-6, deriv_order=2, tape=True, **kwargs):
    """Check every rule of ``fun`` at ``args`` against finite differences and the tape."""
    prim = lookup(fun)
    assert prim is not None, f"no rule registered for {fun}"
    rng = np.random.default_rng(0)
    ans = fun(*args, **kwargs)
    multi = isinstance(ans, (tuple, list))
    slots = _slots(args, argnums)
    assert slots, "nothing differentiable in the arguments"
    gs = [rng.standard_normal(np.shape(a)) for a in _outputs(ans)]
    g = tuple(gs) if multi else gs[0]
    for pos, sub in slots:
        x = _get(args, pos, sub)
        v = rng.standard_normal(np.shape(x))
        fd = _fd_directional(fun, args, kwargs, pos, sub, v)
        vjp_maker = prim.vjp_maker(pos)
        assert vjp_maker is not None, f"{prim.name}: no VJP for argument {pos}"
        vjp = vjp_maker(ans, *args, **kwargs)(g)
        if sub is not None:
            vjp = vjp[sub]
        assert np.shape(vjp) == np.shape(x), f"{prim.name}: VJP shape {np.shape(vjp)} != {np.shape(x)}"
        _close(np.sum(vjp * v), sum(np.sum(f * gi) for f, gi in zip(fd, gs)), rtol, atol,
               f"{prim.name} VJP arg {pos},{sub}")
        jvp_maker = prim.jvp_maker(pos)
        assert jvp_maker is not None, f"{prim.name}: no JVP for argument {pos}"
        t = v
        if sub is not None:
            t = [np.zeros(np.shape(e)) for e in args[pos]]
            t[sub] = v
        jvp = jvp_maker(ans, *args, **kwargs)(t)
        for j, (tj, f) in enumerate(zip(jvp if multi else [jvp], fd)):
            _close(np.broadcast_to(tj, f.shape), f, rtol, atol, f"{prim.name} JVP arg {pos},{sub} out {j}")
        if tape:
            _check_tape(fun, args, kwargs, pos, sub, g, vjp, rtol, atol, prim.name)
            _check_source(fun, args, kwargs, pos, sub, g, vjp, rtol, atol, prim.name)
            if deriv_order >= 2:
                _check_second_order(fun, args, kwargs, pos, sub, g, v, rtol, atol, prim.name)


def _tensor_args(args, pos, sub):
    x = pb.constant(_get(args, pos, sub))
    return x, _with(args, pos, sub, x)


def _check_tape(fun, args, kwargs, pos, sub, g, vjp, rtol, atol, name):
    x, targs = _tensor_args(args, pos, sub)
    with pb.GradientTape() as tp:
        tp.watch(x)
        y = fun(*targs, **kwargs)
    got = tp.gradient(_as_list(y), x, output_gradients=_seeds(g))
    assert got is not None, f"{name}: tape gave None for argument {pos},{sub}"
    _close(got.numpy(), vjp, rtol, atol, f"{name} tape vs registry arg {pos},{sub}")


def _check_source(fun, args, kwargs, pos, sub, g, vjp, rtol, atol, name):
    """The same rule through the source engine: pb.grad of ``sum(fun(..x..) * g)``, whose
    source is written here and registered with linecache like a file."""
    namespace = {"np": np, "fun": fun}
    parts = []
    for i, a in enumerate(args):
        if i == pos and sub is None:
            parts.append("x")
        elif i == pos:
            elts = []
            for j, e in enumerate(a):
                namespace[f"a{i}_{j}"] = e
                elts.append("x" if j == sub else f"a{i}_{j}")
            parts.append("[" + ", ".join(elts) + "]")
        else:
            namespace[f"a{i}"] = a
            parts.append(f"a{i}")
    for k, v in kwargs.items():
        namespace[f"k_{k}"] = v
        parts.append(f"{k}=k_{k}")
    call = f"fun({', '.join(parts)})"
    if isinstance(g, tuple):
        outs = [f"o{j}" for j in range(len(g))]
        namespace.update({f"g{j}": gj for j, gj in enumerate(g)})
        body = (f"    {', '.join(outs)}, = {call}\n    return " +
                " + ".join(f"np.sum(o{j} * g{j})" for j in range(len(g))))
    else:
        namespace["g"] = g
        body = f"    return np.sum({call} * g)"
    text = f"def probe(x):\n{body}\n"
    filename = f"<rule check: {name}>"
    linecache.cache[filename] = (len(text), None, text.splitlines(keepends=True), filename)
    exec(compile(text, filename, "exec"), namespace)
    x = _get(args, pos, sub)
    got = pb.grad(namespace["probe"], mode="source")(x)
    _close(got, vjp, rtol, atol, f"{name} source engine vs registry arg {pos},{sub}")


def _as_list(y):
    return list(y) if isinstance(y, (tuple, list)) else y


def _seeds(g):
    return [pb.constant(e) for e in g] if isinstance(g, tuple) else pb.constant(g)


def _check_second_order(fun, args, kwargs, pos, sub, g, v, rtol, atol, name):
    """d/dx <vjp(x, g), v> through nested tapes against finite differences of the VJP."""
    def first(xval):
        x = pb.constant(xval)
        targs = _with(args, pos, sub, x)
        with pb.GradientTape() as outer:
            outer.watch(x)
            with pb.GradientTape() as inner:
                inner.watch(x)
                y = fun(*targs, **kwargs)
            gx = inner.gradient(_as_list(y), x, output_gradients=_seeds(g))
            if gx is None:
                return np.zeros(np.shape(x)), None
            s = np.sum(gx * v)
        return gx.numpy(), outer.gradient(s, x)

    x0 = np.asarray(_get(args, pos, sub), dtype=float)
    _, hv = first(x0)
    w = np.random.default_rng(1).standard_normal(np.shape(x0))
    fd = (np.sum(first(x0 + EPS * w)[0] * v) - np.sum(first(x0 - EPS * w)[0] * v)) / (2 * EPS)
    analytic = 0.0 if hv is None else np.sum(hv.numpy() * w)
    _close(analytic, fd, 1e-4, 1e-5, f"{name} second order arg {pos},{sub}")


def shapes_unary():
    """Scalar, vector, matrix and 3-d shapes for elementwise rules."""
    return [(), (3,), (2, 3), (2, 1, 3)]


def shapes_binary():
    """Pairs of shapes: equal, and broadcast both ways."""
    return [((), ()), ((3,), (3,)), ((2, 3), (2, 3)), ((2, 3), (3,)), ((3,), (2, 3)),
            ((2, 1), (1, 3)), ((), (2, 3)), ((2, 3), ())]


def uniform(rng, shape, lo, hi):
    """A float64 array (or Python float for shape ()) drawn uniformly inside a rule's domain."""
    a = rng.uniform(lo, hi, size=shape)
    return float(a) if shape == () else a
