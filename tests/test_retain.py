"""What a tape record keeps: the rules' reads (pullback._reads) and the records' stand-ins
(pullback._retain), checked against the arrays themselves and against finite differences."""

import tracemalloc

import numpy as np
import pytest

import pullback as pb
from pullback._reads import parameters_read, unread_parameters
from pullback._registry import all_primitives, lookup
from pullback._retain import Shape, _policy, shrink_for


# --- which parameters a rule reads -------------------------------------------------------------

def test_reads_follow_nested_functions():
    assert unread_parameters(lambda ans, x, y: lambda g: g * y) == ("ans", "x")
    assert unread_parameters(lambda ans, x: lambda g: g * (1 - ans * ans)) == ("x",)
    assert unread_parameters(lambda ans, x: -ans * x) == ()


def test_two_parameters_loaded_together_are_both_read():
    # Python 3.13 loads `x * ans` with one LOAD_FAST_LOAD_FAST instruction naming both
    assert unread_parameters(lambda ans, x: x * ans) == ()
    assert unread_parameters(lambda ans, x, y: lambda g: g * (x == ans) * y) == ()


def test_the_source_engine_passes_the_answer_to_a_rule_that_reads_it():
    from pullback._source._rulecode import _reads_answer

    def maker(ans, a, axis=None):
        return lambda g: g * (a == ans)

    assert _reads_answer(maker) and _reads_answer(lambda ans, x: x * ans)
    assert not _reads_answer(lambda ans, x: lambda g: g * x)


def test_reads_of_a_def_with_a_closure_and_a_default():
    def maker(ans, a, b, dtype=None):
        n = np.ndim(a)

        def vjp(g):
            return g * b if n else g
        return vjp

    assert unread_parameters(maker) == ("ans", "dtype")


def test_a_rule_that_can_reach_its_locals_by_name_reads_everything():
    assert parameters_read(lambda ans, x: locals()["x"]) is None
    assert unread_parameters(lambda ans, x: eval("x")) == ()


def test_a_callable_without_bytecode_reads_everything():
    assert parameters_read(np.sin) is None
    assert unread_parameters(np.sin) == ()


# --- what records keep -------------------------------------------------------------------------

@pytest.mark.parametrize("fun, kept", [
    (np.add, (True, ["shape", "shape"])),
    (np.tanh, (False, ["shape"])),      # 1 - ans * ans: the argument only for its shape
    (np.sin, (True, [None])),           # cos(x): the result is not kept
    (np.negative, (True, ["drop"])),
])
def test_policies_of_common_primitives(fun, kept):
    assert _policy(lookup(fun)) == kept


def test_a_stand_in_refuses_values():
    s = Shape(np.zeros((20, 30)))
    assert (s.shape, s.ndim, s.size, s.dtype) == ((20, 30), 2, 600, np.float64)
    with pytest.raises(TypeError):
        np.ones((20, 30)) * s
    with pytest.raises(TypeError, match="internal error"):
        np.asarray(s)


SHAPES = [((20, 30), (20, 30)), ((20, 30), (30,)), ((20, 30), (20, 1)), ((400,), ()),
          ((1, 300), (20, 1))]


def _declared():
    for prim in all_primitives():
        for pos in sorted(prim.shape_only):
            yield pytest.param(prim, pos, id=f"{prim.name}[{pos}]")


@pytest.mark.parametrize("prim, pos", list(_declared()))
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
def test_declared_shape_only_vjps_agree_on_stand_ins(prim, pos, shapes):
    rng = np.random.default_rng(1)
    unary = prim.fun in (np.sum, np.mean)
    args = [rng.standard_normal(shapes[0])] if unary else [rng.standard_normal(s) for s in shapes]
    kwargs_list = [{}, {"axis": 0}, {"axis": -1, "keepdims": True}] if unary else [{}]
    for kwargs in kwargs_list:
        ans = prim.fun(*args, **kwargs)
        g = rng.standard_normal(np.shape(ans))
        stand_ins = [Shape(a) if i in prim.shape_only else a for i, a in enumerate(args)]
        for which in range(len(args)):
            maker = prim.vjp_maker(which)
            want = maker(ans, *args, **kwargs)(g)
            got = maker(ans, *stand_ins, **kwargs)(g)
            np.testing.assert_array_equal(got, want)


def test_every_record_keeps_whatever_a_rule_of_its_primitive_reads():
    # For every primitive: an argument a record does not keep is one no rule reads (by the
    # rules' parameter names), and the result is dropped only when no rule reads `ans`.
    big = np.linspace(0.5, 1.5, 300)
    checked = 0
    for prim in all_primitives():
        if not prim.differentiable:
            continue
        rules = [r for r in (prim.partials or prim.vjps) if r is not None]
        width = max([r.__code__.co_argcount - 1 for r in rules if hasattr(r, "__code__")] + [0])
        vals = tuple(big.copy() for _ in range(width))
        ans = big.copy()
        kept, kept_ans = shrink_for(prim)(vals, ans)
        for pos, (before, after) in enumerate(zip(vals, kept)):
            if after is before:
                continue
            checked += 1
            for rule in rules:
                params = rule.__code__.co_varnames[:rule.__code__.co_argcount]
                if pos + 1 < len(params):
                    name = params[pos + 1]
                    if isinstance(after, Shape):
                        assert pos in prim.shape_only or prim.partials, (prim.name, pos)
                    else:
                        assert after is None and name in unread_parameters(rule), (prim.name, pos)
        if kept_ans is None:
            assert all(r.__code__.co_varnames[0] in unread_parameters(r) for r in rules), \
                prim.name
    assert checked > 20   # the policy does drop or replace arguments of many primitives


# --- through the tape: gradients unchanged, memory released ------------------------------------

def _rnn(Wx, Wh, b, xs, h):
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ Wx + h @ Wh + b)
    return np.sum(h ** 2)


def _rnn_inputs():
    rng = np.random.default_rng(0)
    return (rng.standard_normal((16, 64)) / 4, rng.standard_normal((64, 64)) / 8,
            rng.standard_normal(64) / 10, rng.standard_normal((30, 32, 16)), np.zeros((32, 64)))


def test_a_loop_on_the_tape_keeps_its_hidden_states_only():
    Wx, Wh, b, xs, h0 = _rnn_inputs()
    params = [pb.Variable(Wx), pb.Variable(Wh), pb.Variable(b)]
    data = [pb.constant(xs), pb.constant(h0)]
    tracemalloc.start()
    try:
        with pb.GradientTape() as tape:
            loss = _rnn(*params, *data)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    step = 32 * 64 * 8   # one hidden state
    # each of the 30 steps makes five such arrays; the backward pass needs one (the state)
    assert held < 30 * step * 2, f"the tape holds {held / step:.1f} states' worth of arrays"
    grads = tape.gradient(loss, params)
    direction = [np.random.default_rng(k).standard_normal(p.shape) for k, p in enumerate(params)]
    eps = 1e-6
    plus = _rnn(*[p.numpy() + eps * d for p, d in zip(params, direction)], xs, h0)
    minus = _rnn(*[p.numpy() - eps * d for p, d in zip(params, direction)], xs, h0)
    fd = (plus - minus) / (2 * eps)
    got = sum(float(np.sum(g.numpy() * d)) for g, d in zip(grads, direction))
    assert got == pytest.approx(fd, rel=1e-6)


def test_a_large_sum_and_mean_of_sums_and_differences_match_finite_differences():
    rng = np.random.default_rng(3)
    x0, y0 = rng.standard_normal((30, 20)), rng.standard_normal(20)

    def f(x, y):
        return np.mean((x - y) * (x + y), axis=0) + np.sum(np.exp(x - y), axis=0)

    x, y = pb.Variable(x0), pb.Variable(y0)
    with pb.GradientTape() as tape:
        out = np.sum(f(x, y) ** 2)
    gx, gy = tape.gradient(out, [x, y])
    for g, which in ((gx, 0), (gy, 1)):
        d = rng.standard_normal((x0, y0)[which].shape)
        args_p = [x0, y0]
        args_m = [x0, y0]
        args_p[which] = args_p[which] + 1e-6 * d
        args_m[which] = args_m[which] - 1e-6 * d
        fd = (np.sum(f(*args_p) ** 2) - np.sum(f(*args_m) ** 2)) / 2e-6
        assert float(np.sum(g.numpy() * d)) == pytest.approx(fd, rel=1e-6)


def test_a_plain_array_beside_a_tensor_is_copied_only_when_kept():
    a = np.ones(500)
    v = pb.Variable(np.full(500, 2.0))
    with pb.GradientTape() as tape:
        y = v + a        # add keeps a stand-in for a: editing a afterwards changes nothing
        z = v * a        # multiply reads a: the record keeps a copy
    a[:] = 5.0
    np.testing.assert_array_equal(tape.gradient([y, z], v).numpy(), np.full(500, 2.0))
