"""Loop-carried adjoints restart as the number 0.0 when their value is overwritten going
forward; a rule that is not elementwise must still get an array cotangent (these crashed with
"cannot reshape array of size 1") and a value whose shape changes in the loop must keep each
adjoint's own shape."""

import numpy as np
import pytest

import pullback as pb


def overwritten_unread(x):
    m = np.stack([x, 2.0 * x])
    v = np.sin(x)
    for i in range(2):
        v = np.sum(np.tanh(m * (i + 1.0)), axis=0)   # v from the last step only
    return np.sum(v * x)


def read_before_overwritten(x):
    m = np.stack([x, 2.0 * x])
    s = 0.0
    v = np.sum(m, axis=0)
    for i in range(3):
        s = s + np.sum(np.sin(v))
        v = np.sum(np.tanh(m * i), axis=0)   # unread after the loop: enters it as 0.0
    return s


def scaled_reduction_overwritten(x):
    m = np.stack([x, np.cos(x)])
    v = x
    for i in range(2):
        v = 0.5 * np.sum(np.tanh(m * (i + 1.0)), axis=0)
    return np.sum(v * x)


def scalar_becomes_array(x, w):
    v = np.tanh(w)
    for i in range(1):
        v = np.tanh(x * x)
    return np.sum(v * x)


def matmul_overwritten(x):
    A = np.outer(x, x) + np.eye(len(x))
    y = x
    for i in range(3):
        y = A @ np.sin(x * (i + 1.0))
    return np.sum(y ** 2)


def reduction_before_the_loop_overwritten_in_it(x):
    m = np.stack([x, 2.0 * x])
    v = np.sum(np.tanh(m), axis=0)     # its adjoint leaves the loop as the restarted 0.0
    for i in range(1):
        v = np.tanh(x * x)
    return np.sum(v * x) + np.sum(m * m)


CASES = [overwritten_unread, read_before_overwritten, scaled_reduction_overwritten,
         matmul_overwritten, reduction_before_the_loop_overwritten_in_it]


@pytest.mark.parametrize("fn", CASES, ids=lambda f: f.__name__)
def test_a_loop_adjoint_restarted_unread_reaches_a_reduction_as_an_array(fn):
    rng = np.random.default_rng(3)
    x = rng.uniform(-1.0, 1.0, 3)
    got = pb.grad(fn, mode="source")(x.copy())
    d = rng.standard_normal(3)
    fd = (fn(x + 1e-6 * d) - fn(x - 1e-6 * d)) / 2e-6
    assert got @ d == pytest.approx(fd, rel=1e-6, abs=1e-9)
    np.testing.assert_allclose(pb.grad(fn, mode="tape")(x.copy()), got, rtol=1e-10, atol=1e-14)


def test_an_adjoint_keeps_the_shape_of_the_value_before_the_loop():
    x, w = np.array([0.3, -0.6, 0.9]), 0.4
    gx, gw = pb.grad(scalar_becomes_array, wrt=(0, 1), mode="source")(x, w)
    assert np.shape(gw) == () and gw == 0.0
    tx, tw = pb.grad(scalar_becomes_array, wrt=(0, 1), mode="tape")(x, w)
    np.testing.assert_allclose(gx, tx, rtol=1e-12)


def scalar_then_array_in_one_loop(x, w):
    v = np.cos(x) * w
    u = np.tanh(w)
    for i in range(1):
        v = np.sin(u) - u        # a number, overwritten unread by
        v = np.sin(x) - x        # an array
    return np.sum(v * x) + np.sin(u)


def test_a_value_that_changes_shape_in_the_loop_keeps_each_adjoint_its_shape():
    """Only a rule that is not elementwise needs the restarted adjoint as an array; making
    every restarted adjoint an array gave the number ``u`` an array gradient."""
    x, w = np.array([0.3, -0.6, 0.9]), 0.4
    gx, gw = pb.grad(scalar_then_array_in_one_loop, wrt=(0, 1), mode="source")(x, w)
    tx, tw = pb.grad(scalar_then_array_in_one_loop, wrt=(0, 1), mode="tape")(x, w)
    assert np.shape(gw) == ()
    np.testing.assert_allclose(gx, tx, rtol=1e-12)
    assert gw == pytest.approx(float(tw), rel=1e-12)
    h = 1e-6
    fd = (scalar_then_array_in_one_loop(x, w + h) - scalar_then_array_in_one_loop(x, w - h)) / (
        2 * h)
    assert gw == pytest.approx(fd, rel=1e-6)


def number_then_zero_trip_loop(x, w):
    v = np.sin(x)
    u = np.cos(x) * w
    v = np.tanh(w * w)         # a number now: its product with u is u-shaped
    for i in range(0):
        v *= np.cos(v)
    return np.sum(v * u)


def test_facts_after_a_loop_keep_what_later_rewrites_made_of_other_names():
    """The in-place pass took the facts of every name after a loop from before the rewrite
    that left the sum's cotangent a number, and wrote into a Python float with out= (a
    crash: 'return arrays must be of ArrayType')."""
    x, w = np.array([0.1, 0.2, 0.3]), 0.5
    got = pb.grad(number_then_zero_trip_loop, wrt=(0, 1), mode="source")(x, w)
    tape = pb.grad(number_then_zero_trip_loop, wrt=(0, 1), mode="tape")(x, w)
    np.testing.assert_allclose(got[0], tape[0], rtol=1e-12)
    assert got[1] == pytest.approx(float(tape[1]), rel=1e-12)
    d = np.array([0.3, -0.5, 0.2])
    fd = (number_then_zero_trip_loop(x + 1e-6 * d, w) -
          number_then_zero_trip_loop(x - 1e-6 * d, w)) / 2e-6
    assert got[0] @ d == pytest.approx(fd, rel=1e-6)


def reduction_read_only_in_a_loop_of_no_steps(x, w):
    m = np.stack([x, np.cos(x) * w])
    v = np.sin(x)
    u = np.sum(np.tanh(m), axis=0)   # its adjoint enters the loop as 0.0 and leaves it so
    for i in range(0):
        v = np.tanh(v * u)
    u = np.tanh(v * v)
    return np.sum(v * u) + np.sum(m * m)


def while_loop_whose_work_is_overwritten(x, w):
    v = np.cos(x) * w
    u = np.tanh(np.sin(x) ** 2)
    i = 0
    while i < 1:
        v *= np.cos(u)    # overwritten below: the loop's backward pass is empty
        i += 1
    v = np.tanh(u * u)
    return np.sum(u * v)


@pytest.mark.parametrize("fn", [reduction_read_only_in_a_loop_of_no_steps,
                                while_loop_whose_work_is_overwritten], ids=lambda f: f.__name__)
def test_loops_that_add_nothing_to_an_adjoint(fn):
    """Both crashed: a sum's rule got 0.0 for its cotangent; a while loop's step counter was
    dropped with its backward loop but still counted (UnboundLocalError)."""
    x, w = np.array([0.1, 0.2, 0.3]), 0.5
    got = pb.grad(fn, wrt=(0, 1), mode="source")(x, w)
    tape = pb.grad(fn, wrt=(0, 1), mode="tape")(x, w)
    np.testing.assert_allclose(got[0], tape[0], rtol=1e-12, atol=1e-15)
    assert got[1] == pytest.approx(float(tape[1]), rel=1e-12, abs=1e-15)
    d = np.array([0.3, -0.5, 0.2])
    fd = (fn(x + 1e-6 * d, w) - fn(x - 1e-6 * d, w)) / 2e-6
    assert got[0] @ d == pytest.approx(fd, rel=1e-6, abs=1e-9)


def reduction_before_a_loop_that_makes_it_a_number(x, w):
    m = np.stack([x, np.cos(x) * w])
    u = np.sum(np.tanh(m), axis=0)   # an array here, overwritten unread by a number below
    v = np.sin(x)
    for i in range(1):
        v = np.tanh(w * w)
        u = np.sin(v) - v
    return np.sum(v * u) + np.sum(m * m)


def test_a_reduction_takes_the_number_zero_as_its_cotangent():
    """The adjoint of ``u`` leaves the loop as 0.0 and the value's shape there is a number's,
    so no guard can give it the array's shape: the reductions' rules broadcast a number."""
    x, w = np.array([0.1, 0.2, 0.3]), 0.5
    fn = reduction_before_a_loop_that_makes_it_a_number
    got = pb.grad(fn, wrt=(0, 1), mode="source")(x, w)
    tape = pb.grad(fn, wrt=(0, 1), mode="tape")(x, w)
    np.testing.assert_allclose(got[0], tape[0], rtol=1e-12)
    assert got[1] == pytest.approx(float(tape[1]), rel=1e-12)
    d = np.array([0.3, -0.5, 0.2])
    fd = (fn(x + 1e-6 * d, w) - fn(x - 1e-6 * d, w)) / 2e-6
    assert got[0] @ d == pytest.approx(fd, rel=1e-6)


def _filled(x, n):
    out = np.zeros(n)
    for i in range(n):
        out[i] = x[i % len(x)] * (i + 1)
    return out


def calls_a_helper_that_fills_a_buffer(x):
    s = 0.0
    for k in range(2):
        s = s + np.sum(np.sin(_filled(x * (k + 1), 5)))
    return s


def test_a_helpers_pullback_restores_the_values_its_loop_saved():
    """The helper's pullback assigned t1 = saved_t1.pop() and so made t1 its own name,
    unbound where it first read it (UnboundLocalError); such names are now nonlocal."""
    x = np.array([0.4, -0.3, 0.8])
    df = pb.grad(calls_a_helper_that_fills_a_buffer, mode="source")
    got = df(x.copy())
    assert "nonlocal" in df.source
    d = np.array([0.3, -0.5, 0.2])
    fn = calls_a_helper_that_fills_a_buffer
    fd = (fn(x + 1e-6 * d) - fn(x - 1e-6 * d)) / 2e-6
    assert got @ d == pytest.approx(fd, rel=1e-6)


def matmul_then_overwritten_unread(x, W):
    a = np.sin(x)
    for _ in range(2):
        a = W @ a              # its value is overwritten before anything reads it
        a = np.zeros(3)
    return np.sum(np.sin(a)) + np.sum(x * x)


def concatenate_then_overwritten_unread(x, W):
    c = np.sin(x)
    k = 0
    while k < 2:
        k += 1
        c = np.concatenate([np.tanh(c)[1:], c[:1]])
        c = 0.5 * x * np.sum(W)
    return np.sum(c * c)


@pytest.mark.parametrize("fn", [matmul_then_overwritten_unread,
                                concatenate_then_overwritten_unread], ids=lambda f: f.__name__)
def test_a_value_overwritten_unread_in_its_iteration_reaches_its_rule_as_an_array(fn):
    # its adjoint restarts as 0.0, and np.matmul (a generalized ufunc) was taken for an
    # elementwise function, np.concatenate's rule got the number: ValueError / TypeError
    x = np.array([0.1, -0.4, 0.7])
    W = np.array([[0.3, -0.2, 0.1], [0.5, 0.2, -0.4], [0.1, 0.3, 0.2]])
    got = pb.grad(fn, mode="source")(x, W)
    want = pb.grad(fn, mode="tape")(x, W)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    eps, fd = 1e-6, np.zeros(3)
    for i in range(3):
        e = np.zeros(3)
        e[i] = eps
        fd[i] = (fn(x + e, W) - fn(x - e, W)) / (2 * eps)
    np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-8)


# --- a tuple-valued result unpacked in a loop --------------------------------------------------

def _eigh_in_a_loop(S):
    w, V = np.linalg.eigh(S)
    for i in range(2):
        w, V = np.linalg.eigh(S + np.diag(w) * 0.1)
    return np.sum(w ** 2) + np.sum(V[:, 0] ** 2)


def _slogdet_in_a_loop(A):
    total = 0.0
    for i in range(3):
        sign, logdet = np.linalg.slogdet(A + i * np.eye(2))
        total = total + logdet * sign
    return total


_TUPLE_LOOPS = {
    _eigh_in_a_loop: np.array([[2.0, 0.3, 0.1], [0.3, 1.0, 0.2], [0.1, 0.2, 3.0]]),
    _slogdet_in_a_loop: np.array([[2.0, 0.3], [0.4, 1.0]]),
}


@pytest.mark.parametrize("f", list(_TUPLE_LOOPS), ids=lambda f: f.__name__)
def test_a_tuple_result_whose_items_are_unread_in_later_iterations(f):
    """V (the sign) is read after the loop only: its adjoint restarted as the number 0.0 in
    the loop and the rule got 0.0 for an array (a ValueError, in mode='auto' too)."""
    x = _TUPLE_LOOPS[f]
    df = pb.grad(f, mode="auto")
    got = df(x)
    assert df.mode == "source"
    np.testing.assert_allclose(got, pb.grad(f, mode="tape")(x), rtol=1e-9, atol=1e-12)
    fd = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        e = np.zeros(x.shape)
        e[i] = 1e-6
        fd[i] = (f(x + e) - f(x - e)) / 2e-6
    np.testing.assert_allclose(got, fd, rtol=1e-5, atol=1e-7)


# --- a loop variable reused by a later loop ----------------------------------------------------

def _range_then_enumerate(x, w):
    s = 0.0
    for i in range(2):
        s = s + np.sin(x * i)
    for i, v in enumerate(w):
        s = s + i * v
    return s


def _branch_then_enumerate(x, w, c):
    s = 0.0
    if c > 0:
        i = 2.0
        s = s + x * i
    for i, v in enumerate(w):
        s = s + i * v * x
    return s


@pytest.mark.parametrize("c", [1.0, -1.0])
def test_a_loop_variable_reused_by_a_later_loop(c):
    """The enumerate loop's backward pass left i at its own first value (0), and the range
    loop's backward pass read that i: a zero gradient where the tape gives cos(1), silently
    (found by helper-15).  The value before the loop is now restored after its backward."""
    cases = [(_range_then_enumerate, (1.0, [5.0, 6.0])),
             (_branch_then_enumerate, (1.0, [5.0, 6.0], c))]
    for f, args in cases:
        df = pb.grad(f, mode="auto")
        got = df(*args)
        assert df.mode == "source"
        assert got == pytest.approx(pb.grad(f, mode="tape")(*args), rel=1e-12)
        fd = (f(args[0] + 1e-6, *args[1:]) - f(args[0] - 1e-6, *args[1:])) / 2e-6
        assert got == pytest.approx(fd, rel=1e-6)
