"""The layout-specialized array code (src/pullback/_source/_specialize.py).

Every function here is built to reach one rewrite -- unbroadcast dropped or turned into a sum,
a matmul VJP written as the product, a reduction's cotangent left unbroadcast, a result written
into a dead operand's buffer -- and runs under several layouts (size-1 axes, sizes that
coincide, float32 beside float64, integer data).  Each is checked against central differences
and against the tape, the caller's arrays must come back untouched, repeated calls must agree,
and the generated text must show that the rewrite happened (so a test cannot pass by the
rewrite silently not applying).
"""

import copy

import numpy as np
import pytest

import pullback as pb
from pullback._grad import clear_cache
from pullback._structure import flatten, unflatten


# --- the functions ------------------------------------------------------------------------------

def softplus_sin(x):
    return np.sum(np.log(1 + np.exp(-x)) * np.sin(x))


def logreg(w, b, X, y):
    z = X @ w + b
    return np.mean(np.log(1 + np.exp(z)) - y * z)


def mlp(W1, b1, W2, b2, X, Y):
    h = np.tanh(X @ W1 + b1)
    logits = h @ W2 + b2
    m = np.max(logits, axis=1, keepdims=True)
    lse = m + np.log(np.sum(np.exp(logits - m), axis=1, keepdims=True))
    return np.mean(lse - np.sum(Y * logits, axis=1, keepdims=True))


def row_normalized(x):
    return np.sum(x / np.sum(x * x, axis=1, keepdims=True) * np.cos(x))


def centered(x, w):
    return np.mean((x - np.mean(x, axis=0)) * w)


def scaled(x, s):
    return np.sum(np.tanh(x * s))


def reused(x):
    t = np.exp(x)
    u = t * 2.0
    v = t + u
    return np.sum(v * t)


def sum_times_mean(x):
    s = np.sum(x ** 2)
    return s * np.mean(x)


def means_and_sums(x, y):
    return np.mean(x * y) + np.mean(x) * np.sum(y)


def matvec(A, v):
    return np.sum(np.tanh(A @ v))


def vecmat(v, A):
    return np.sum((v @ A) ** 2)


def matmat(A, B):
    return np.sum(np.sin(A @ B))


def dot(a, b):
    return np.tanh(a @ b)


def transposed(A, B):
    return np.sum((A.T @ B) * 2.0)


def stable_lse(x):
    m = np.max(x, axis=1, keepdims=True)
    return np.sum(m + np.log(np.sum(np.exp(x - m), axis=1, keepdims=True)))


def copied(x):
    y = x * 1.0
    z = y + 1.0
    return np.sum(z * y)


def viewed(x):
    t = np.exp(x)
    r = np.reshape(t, (-1,))
    return np.sum(r * r) + np.sum(t)


def shared(x, y):
    t = np.sin(x)
    return np.sum(t * y) + np.sum(t)


def negated_mean(x, y):
    d = x - y
    return -np.mean(d * d)


def scalar_param(x, c):
    return np.sum(np.exp(c * x) - c)


def mean_of_row_sums(x, y):
    return -np.mean(np.sum(np.tanh(x) * y, axis=1))


def read_later_through_a_copy(x):
    t = np.exp(x)
    s = t + 1.0
    u = t
    return np.sum(s * u)


def read_later_through_a_view(x):
    t = np.exp(x)
    v = t[0]
    w = t * 2.0
    return np.sum(w) + np.sum(v * v)


def read_later_through_a_transpose(A):
    t = np.sin(A)
    tt = t.T
    w = t * 3.0
    return np.sum(w) + np.sum(tt @ t)


def read_later_through_reshape(x):
    t = np.exp(x)
    r = np.reshape(t, (-1,))
    w = t - 1.0
    return np.sum(w * w) + np.sum(r)


def mlp_params(params, x, y):
    h = np.tanh(x @ params["W1"] + params["b1"])
    out = h @ params["W2"] + params["b2"]
    return np.mean((out - y) ** 2)


def layers_list(layers, x):
    for layer in layers:
        x = np.tanh(x @ layer[0] + layer[1])
    return np.sum(x ** 2)


def nested_params(p, x):
    z = x @ p["enc"]["W"] + p["enc"]["b"]
    return np.mean(np.exp(z) * p["scale"])


def rnn(Wx, Wh, b, xs, h0):
    h = h0
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ Wx + h @ Wh + b)
    return np.sum(h ** 2)


def accumulate(x, w):
    acc = 0.0
    for i in range(4):
        acc = acc + np.sin(x * w) * i
        x = x * 0.9 + w
    return np.sum(acc * x)


def power_iteration(A, v):
    for _ in range(3):
        v = A @ v
        v = v / np.sqrt(np.sum(v * v))
    return np.sum(v * (A @ v))


def grows(x):
    h = x
    for i in range(3):
        h = np.concatenate([h, np.sin(h[:1])])
    return np.sum(h * h)


def rng(seed):
    return np.random.default_rng(seed)


def _m(shape, seed, dtype=np.float64):
    return (0.5 * rng(seed).standard_normal(shape)).astype(dtype)


# (function, wrt, argument tuple): each function under several layouts.
CASES = [
    (softplus_sin, 0, (_m(7, 0),)),
    (softplus_sin, 0, (_m((3, 4), 1),)),
    (softplus_sin, 0, (_m((1, 1), 2),)),
    (softplus_sin, 0, (_m(5, 3, np.float32),)),
    (logreg, (0, 1), (_m(4, 0), 0.1, _m((9, 4), 1), (rng(2).random(9) < 0.5).astype(float))),
    (logreg, (0, 1), (_m(4, 0), 0.1, _m((4, 4), 1), (rng(2).random(4) < 0.5).astype(float))),
    (logreg, (0, 1), (_m(3, 0), 0.1, _m((6, 3), 1), rng(2).integers(0, 2, 6))),
    (logreg, (0, 1), (_m(1, 0), 0.1, _m((6, 1), 1), rng(2).integers(0, 2, 6))),
    (mlp, (0, 1, 2, 3), (_m((6, 5), 0), _m(5, 1), _m((5, 3), 2), _m(3, 3), _m((4, 6), 4),
                         np.eye(3)[[0, 2, 1, 0]])),
    (mlp, (0, 1, 2, 3), (_m((3, 3), 0), _m(3, 1), _m((3, 3), 2), _m(3, 3), _m((3, 3), 4),
                         np.eye(3))),
    (mlp, (0, 1, 2, 3), (_m((6, 5), 0), _m(5, 1), _m((5, 1), 2), _m(1, 3), _m((1, 6), 4),
                         np.ones((1, 1)))),
    (row_normalized, 0, (_m((3, 4), 0) + 2.0,)),
    (row_normalized, 0, (_m((1, 4), 0) + 2.0,)),
    (row_normalized, 0, (_m((3, 1), 0) + 2.0,)),
    (centered, (0, 1), (_m((3, 4), 0), _m(4, 1))),
    (centered, (0, 1), (_m((3, 4), 0), _m((3, 4), 1))),
    (centered, (0, 1), (_m((4, 4), 0), _m((4, 1), 1))),
    (scaled, (0, 1), (_m((3, 4), 0), _m((1, 4), 1))),
    (scaled, (0, 1), (_m((3, 4), 0), _m(4, 1))),
    (scaled, (0, 1), (_m(4, 0), _m((3, 4), 1))),
    (scaled, (0, 1), (_m((3, 4), 0), 0.7)),
    (reused, 0, (_m((2, 3), 0),)),
    (sum_times_mean, 0, (_m(6, 0),)),
    (sum_times_mean, 0, (_m((2, 3), 0),)),
    (means_and_sums, (0, 1), (_m(5, 0), _m(5, 1))),
    (means_and_sums, (0, 1), (_m((2, 5), 0), _m(5, 1))),
    (means_and_sums, (0, 1), (_m((2, 5), 0), _m((2, 1), 1))),
    (matvec, (0, 1), (_m((4, 3), 0), _m(3, 1))),
    (matvec, (0, 1), (_m((3, 3), 0), _m(3, 1))),
    (matvec, (0, 1), (_m((4, 1), 0), _m(1, 1))),
    (vecmat, (0, 1), (_m(3, 0), _m((3, 5), 1))),
    (matmat, (0, 1), (_m((2, 3), 0), _m((3, 4), 1))),
    (matmat, (0, 1), (_m((3, 3), 0), _m((3, 3), 1))),
    (dot, (0, 1), (_m(4, 0), _m(4, 1))),
    (transposed, (0, 1), (_m((3, 2), 0), _m((3, 4), 1))),
    (stable_lse, 0, (_m((3, 4), 0),)),
    (stable_lse, 0, (_m((3, 1), 0),)),
    (copied, 0, (_m((2, 3), 0),)),
    (viewed, 0, (_m((2, 3), 0),)),
    (shared, (0, 1), (_m((2, 3), 0), _m((2, 3), 1))),
    (shared, (0, 1), (_m((2, 3), 0), _m(3, 1))),
    (negated_mean, (0, 1), (_m(5, 0), _m(5, 1))),
    (negated_mean, (0, 1), (_m((2, 5), 0), _m(5, 1))),
    (scalar_param, (0, 1), (_m((2, 3), 0), 0.3)),
    (scalar_param, (0, 1), (_m((2, 3), 0, np.float32), 0.3)),
    (mean_of_row_sums, (0, 1), (_m((4, 3), 0), _m((4, 3), 1))),
    (mean_of_row_sums, (0, 1), (_m((4, 3), 0), _m(3, 1))),
    (mean_of_row_sums, (0, 1), (_m((4, 1), 0), _m((4, 3), 1))),
    (mlp_params, 0, ({"W1": _m((3, 4), 0), "b1": _m(4, 1), "W2": _m((4, 2), 2),
                      "b2": _m(2, 3)}, _m((5, 3), 4), _m((5, 2), 5))),
    (mlp_params, 0, ({"W1": _m((3, 3), 0), "b1": _m(3, 1), "W2": _m((3, 3), 2),
                      "b2": _m(3, 3)}, _m((3, 3), 4), _m((3, 3), 5))),
    (mlp_params, (0, 1), ({"W1": _m((3, 4), 0), "b1": _m((1, 4), 1), "W2": _m((4, 1), 2),
                           "b2": _m(1, 3)}, _m((5, 3), 4), _m((5, 1), 5))),
    (layers_list, 0, ([(_m((3, 4), 0), _m(4, 1)), (_m((4, 4), 2), _m(4, 3))], _m((2, 3), 4))),
    (nested_params, (0, 1), ({"enc": {"W": _m((3, 2), 0), "b": _m(2, 1)}, "scale": _m(2, 2)},
                             _m((4, 3), 3))),
    (read_later_through_a_copy, 0, (_m((2, 3), 0),)),
    (read_later_through_a_view, 0, (_m((2, 3), 0),)),
    (read_later_through_a_transpose, 0, (_m((2, 3), 0),)),
    (read_later_through_reshape, 0, (_m((2, 3), 0),)),
    (rnn, (0, 1, 2), (_m((3, 4), 0), _m((4, 4), 1), _m(4, 2), _m((5, 2, 3), 3), np.zeros((2, 4)))),
    (rnn, (0, 1, 2), (_m((3, 4), 0), _m((4, 4), 1), _m(4, 2), _m((0, 2, 3), 3), np.zeros((2, 4)))),
    (rnn, (0, 1, 2), (_m((1, 4), 0), _m((4, 4), 1), _m((1, 4), 2), _m((2, 1, 1), 3),
                      _m((1, 4), 4))),
    (rnn, (0, 1, 2, 4), (_m((3, 4), 0), _m((4, 4), 1), _m(4, 2), _m((5, 2, 3), 3), _m(4, 4))),
    (accumulate, (0, 1), (_m(5, 0), _m(5, 1))),
    (accumulate, (0, 1), (_m((2, 5), 0), _m(5, 1))),
    (accumulate, (0, 1), (_m(5, 0), 0.3)),
    (power_iteration, (0, 1), (_m((3, 3), 0) + np.eye(3), _m(3, 1))),
    (grows, 0, (_m(3, 0),)),
]


def _leaves(tree):
    return flatten(tree)[0]


def _id(case):
    fn, _, args = case
    shapes = ",".join("x".join(map(str, np.shape(a))) + (
        str(a.dtype) if isinstance(a, np.ndarray) and a.dtype != np.float64 else "")
        for arg in args for a in _leaves(arg))
    return f"{fn.__name__}[{shapes}]"


def _tuple(g, wrt):
    return g if isinstance(wrt, tuple) else (g,)


def _positions(wrt):
    return wrt if isinstance(wrt, tuple) else (wrt,)


def _copies(args):
    return copy.deepcopy(args)


def _fd(fn, args, wrt, seed):
    """Central difference along one random direction, in float64, against <grad, direction>:
    (the difference quotient, {position: direction, a tree like the argument})."""
    r = rng(100 + seed)
    directions = {}
    for i in _positions(wrt):
        leaves, spec = flatten(args[i])
        directions[i] = unflatten(spec, [r.standard_normal(np.shape(leaf)) if np.ndim(leaf)
                                         else float(r.standard_normal()) for leaf in leaves])

    def at(step):
        moved = list(args)
        for i, d in directions.items():
            leaves, spec = flatten(args[i])
            moved[i] = unflatten(spec, [np.asarray(leaf, dtype=np.float64) + step * dl
                                        if np.ndim(leaf) else leaf + step * dl
                                        for leaf, dl in zip(leaves, _leaves(d))])
        return float(fn(*moved))
    eps = 1e-6
    return (at(eps) - at(-eps)) / (2 * eps), directions


def _low_precision(args):
    return any(isinstance(a, np.ndarray) and a.dtype == np.float32
               for arg in args for a in _leaves(arg))


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_specialized_gradient_matches_finite_differences_and_tape(case):
    fn, wrt, args = case
    before = _copies(args)
    got = _tuple(pb.grad(fn, wrt=wrt, mode="source")(*args), wrt)
    for a, b in zip(args, before):  # the caller's arrays are never written into
        for la, lb in zip(_leaves(a), _leaves(b)):
            np.testing.assert_array_equal(la, lb)
    tape = _tuple(pb.grad(fn, wrt=wrt, mode="tape")(*args), wrt)
    low = _low_precision(args)
    tol = dict(rtol=2e-4, atol=2e-5) if low else dict(rtol=1e-9, atol=1e-11)
    for g, t, i in zip(got, tape, _positions(wrt)):
        for gl, tl, al in zip(_leaves(g), _leaves(t), _leaves(args[i])):
            assert np.shape(gl) == np.shape(al)
            if isinstance(al, np.ndarray):
                assert gl.dtype == al.dtype
            np.testing.assert_allclose(gl, tl, **tol)
    if not low:
        for seed in (0, 1):
            numeric, directions = _fd(fn, args, wrt, seed)
            analytic = sum(float(np.sum(gl * dl)) for g, i in zip(got, _positions(wrt))
                           for gl, dl in zip(_leaves(g), _leaves(directions[i])))
            assert analytic == pytest.approx(numeric, rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_repeated_calls_agree_and_return_fresh_arrays(case):
    fn, wrt, args = case
    df = pb.grad(fn, wrt=wrt, mode="source")
    first = [gl for g in _tuple(df(*args), wrt) for gl in _leaves(g)]
    kept = [np.array(g) for g in first]
    second = [gl for g in _tuple(df(*args), wrt) for gl in _leaves(g)]  # the fast path
    inputs = [a for arg in args for a in _leaves(arg) if isinstance(a, np.ndarray)]
    for a, b, k in zip(first, second, kept):
        np.testing.assert_array_equal(a, k)  # the second call wrote into nothing of the first
        np.testing.assert_array_equal(b, k)
        if isinstance(a, np.ndarray):
            assert not np.shares_memory(a, b)
            assert not any(np.shares_memory(a, x) for x in inputs)


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_value_and_grad_value_is_the_functions_value(case):
    fn, wrt, args = case
    value, grads = pb.value_and_grad(fn, wrt=wrt, mode="source")(*args)
    np.testing.assert_allclose(value, fn(*args), rtol=1e-6)
    expected = _tuple(pb.grad(fn, wrt=wrt, mode="source")(*args), wrt)
    for g, e in zip(_tuple(grads, wrt), expected):
        for gl, el in zip(_leaves(g), _leaves(e)):
            np.testing.assert_allclose(gl, el, rtol=1e-12, atol=1e-14)


# --- the rewrites really happen ------------------------------------------------------------------

def _source(fn, wrt, *args):
    df = pb.grad(fn, wrt=wrt, mode="source")
    df(*args)
    return df.source


def test_elementwise_chain_is_written_in_place_with_no_helper_calls():
    src = _source(softplus_sin, 0, _m(7, 0))
    assert "out=" in src and "bx -= " in src
    assert "unbroadcast" not in src and "sum_vjp" not in src
    code = [line for line in src.splitlines() if not line.lstrip().startswith("#")]
    assert not any("np.sum(" in line for line in code)  # grad needs no value: no forward sum


def test_mean_cotangent_is_a_scalar_divided_by_the_count():
    src = _source(logreg, (0, 1), _m(4, 0), 0.1, _m((9, 4), 1), rng(2).random(9))
    assert "mean_vjp" not in src and "unbroadcast" not in src
    assert "/ y.size" in src or "/ X.shape[0]" in src
    assert "bw = bz @ X" in src and "bb = np.sum(bz)" in src
    assert "bz += " in src


def test_a_scalar_cotangent_passes_through_a_sum_over_an_axis():
    src = _source(mean_of_row_sums, (0, 1), _m((4, 3), 0), _m((4, 3), 1))
    assert "sum_vjp" not in src and "mean_vjp" not in src and "/ x.shape[0]" in src


def test_matmul_vjps_are_written_as_products():
    src = _source(mlp, (0, 1, 2, 3), *CASES[8][2])
    assert "@ W2.T" in src and "h.T @ " in src and "X.T @ " in src
    assert "matmul_vjp" not in src and "np.sum(bt2, axis=0)" in src
    assert "sum_vjp" not in src and "mean_vjp" not in src


def test_arrays_inside_a_parameter_dict_are_specialized_too():
    src = _source(mlp_params, 0, *CASES[[c[0] for c in CASES].index(mlp_params)][2])
    assert "@ params_W2.T" in src and "x.T @ " in src and "matmul_vjp" not in src


def test_outer_products_for_matrix_vector():
    src = _source(matvec, (0, 1), _m((4, 3), 0), _m(3, 1))
    assert "np.outer(" in src and "matmul_vjp" not in src


def test_value_and_grad_keeps_the_forward_value():
    df = pb.value_and_grad(softplus_sin, mode="source")
    x = _m(7, 0)
    value, _ = df(x)
    assert "np.sum(" in df.source and float(value) == pytest.approx(softplus_sin(x))


def test_one_layout_serves_every_size_and_a_new_layout_generates_new_code(monkeypatch):
    import pullback._source as source
    made = []
    real = source.generate
    monkeypatch.setattr(source, "generate", lambda *a, **k: made.append(a[3:]) or real(*a, **k))
    clear_cache()
    df = pb.grad(logreg, wrt=(0, 1), mode="source")
    df(_m(4, 0), 0.1, _m((9, 4), 1), rng(2).random(9))
    first = df.source
    g = df(_m(6, 0), 0.2, _m((11, 6), 1), rng(3).random(11))   # other sizes, same layout
    assert df.source is first and len(made) == 1
    assert np.shape(g[0]) == (6,)
    df(_m(4, 0), 0.1, _m((1, 4), 1), rng(2).random(1))         # a batch of one: a new layout
    assert len(made) == 2


def test_loop_over_range_gets_products_and_no_saved_shapes():
    src = _source(rnn, (0, 1, 2), *CASES[-9][2])
    assert "@ Wh.T" in src and "h.T @ " in src and "xs[t].T @ " in src
    assert "np.sum(bt4, axis=0)" in src
    assert "unbroadcast" not in src and "matmul_vjp" not in src and "_shape" not in src


def test_specialized_code_is_skipped_for_functions_that_write_into_arrays():
    def filled(x):
        buf = np.zeros(x.shape[0])
        for i in range(x.shape[0]):
            buf[i] = np.sin(x[i])
        return np.sum(buf * x)
    src = _source(filled, 0, _m(5, 0))
    assert "out=" not in src
    x = _m(5, 0)
    np.testing.assert_allclose(pb.grad(filled, mode="source")(x), np.sin(x) + x * np.cos(x))


def _dead_log(w):
    a = np.exp(w)
    b = np.log(np.sum(a) - 100.0)  # noqa: F841  (unused: NumPy gives nan, math.log raised)
    return np.sum(a)


def test_an_unused_scalar_log_is_not_computed():
    """The generated code kept b = math.log(t) (dead: the gradient does not need it), which
    raised ValueError where the user's np.log gave nan."""
    df = pb.grad(_dead_log, mode="source")
    np.testing.assert_allclose(df(np.zeros(2)), np.ones(2))
    code = [line for line in df.source.splitlines() if not line.lstrip().startswith("#")]
    assert not any(".log(" in line for line in code), df.source
