"""Lists built by appending, and comprehensions, in the source engine (``_source/_lists.py``).

Every supported case is checked in ``mode="source"`` and ``mode="auto"`` (which must serve it
from generated code) against central finite differences and against the tape; the arguments
are left untouched.  Every refusal raises ``pb.TransformError`` at the user's line, and
``mode="auto"`` then runs the tape and agrees with finite differences.
"""

import inspect

import numpy as np
import pytest

import pullback as pb


# --- the supported cases -----------------------------------------------------------------------

def rnn(Wx, Wh, xs, h):
    hs = []
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ Wx + h @ Wh)
        hs.append(h)
    return np.sum(np.stack(hs) ** 2)


def stacked_sines(x, ws):
    return np.sum(np.stack([np.sin(w * x) for w in ws]))


def parts_and_generator(x):
    parts = [x[i] * i for i in range(3)]
    return np.sum(np.concatenate(parts)) + sum(p.sum() for p in parts)


def overwritten_after_append(x):
    hs = []
    h = x
    for i in range(3):
        h = np.sin(h) + 1.0
        hs.append(h)
        h = h * 2.0            # a new array: the list keeps the old one
    return np.sum(np.stack(hs) * np.arange(1.0, 4.0)[:, None]) + np.sum(h)


def modified_then_appended(x):
    a = x.copy()
    a[0] = a[0] * 3.0          # written before it is appended, at the top level
    out = []
    out.append(a)
    out.append(a * x)
    return np.sum(np.stack(out) ** 2)


def appended_views(X):
    rows = []
    for i in range(X.shape[0]):
        rows.append(X[i, :2])  # a view of X, which nothing writes into
    rows.append(X.T[0, :2])
    return np.sum(np.stack(rows) ** 3)


def same_value_twice(x):
    hs = []
    h = np.cos(x)
    hs.append(h)
    hs.append(h)
    for i in range(2):
        hs.append(h * i)
        hs.append(h * i)
    return np.sum(np.stack(hs) * np.arange(6.0)[:, None])


def appended_in_branch(x, n):
    hs = []
    for i in range(n):
        if i % 2 == 0:
            hs.append(x * i)
        elif np.sum(x) * i > 0:
            hs.append(np.exp(x) / i)
    return np.sum(np.concatenate(hs) ** 2)


def read_in_later_loops(x, w):
    hs = []
    for i in range(4):
        hs.append(np.sin(x * (i + 1)))
    total = 0.0
    for v in hs:
        total = total + np.sum(v ** 2)
    for j in range(len(hs)):
        total = total + np.sum(hs[j] * w[j])
    for k, v in enumerate(hs):
        total = total + k * np.sum(v)
    return total


def empty_or_not(x, n):
    hs = []
    for i in range(n):
        hs.append(x * (i + 1.0))
    return sum(hs) + np.sum(x ** 2) if len(hs) == 0 else np.sum(sum(hs)) + np.sum(x ** 2)


def nested_lists(x):
    rows = []
    for i in range(3):
        row = []
        for j in range(x.shape[0]):
            row.append(x[j] * (i + j))
        rows.append(np.stack(row) ** 2)
    return np.sum(np.stack(rows) * np.arange(3.0)[:, None])


def last_item_recurrence(x, w):
    hs = []
    hs.append(x)
    for i in range(3):
        hs.append(np.sin(hs[-1]) * w)
    return np.sum(hs[-1]) + np.sum(hs[0] * hs[2]) + np.sum(hs[len(hs) - 2])


def mean_of_list(x):
    vals = []
    for k in range(1, 4):
        vals.append(np.sum(x ** k))
    return sum(vals) / len(vals) + np.sum(np.array(vals) ** 2)


def joins(x):
    hs = []
    for k in range(3):
        hs.append(np.outer(x, x) * k)
    return np.sum(np.vstack(hs) ** 2) + np.sum(np.hstack(hs)[0]) + np.sum(np.asarray(hs)[1])


def sum_with_start(x, s):
    hs = []
    for k in range(3):
        hs.append(np.cos(x * k))
    return np.sum(sum(hs, s * x))


def comprehension_filters(x, ws):
    vals = [np.sum(np.sin(w * x)) for w in ws if w > 0.0]
    pairs = [i * np.sum(x ** 2) for i, w in enumerate(ws)]
    x2 = np.stack(tuple(np.cos(x) * k for k in range(2)))
    return sum(vals) + sum(pairs) + np.sum(x2)


def comprehension_names(x):
    ys = [x * 2.0 for x in x]      # the comprehension's own x: the argument is unchanged
    total = np.sum(np.stack(ys))
    return total + np.sum(x)


def filled_then_appended(x):
    rows = []
    for i in range(x.shape[0]):
        row = np.zeros(3)      # a new array each iteration, written before it is appended
        row[0] = x[i]
        row[1:] = np.sin(x[:2]) * i
        rows.append(row)
    return np.sum(np.stack(rows) ** 2)


def built_in_each_iteration(x):
    total = 0.0
    for i in range(3):
        parts = []
        parts.append(x * i)
        parts.append(np.sin(x))
        total = total + np.sum(np.stack(parts)[0] * parts[1])
    return total


def _helper_rows(x, n):
    rows = [np.tanh(x * k) for k in range(n)]
    return np.stack(rows)


def calls_helper(x):
    return np.sum(_helper_rows(x, 3) ** 2)


def len_in_loop(x):
    hs = []
    for i in range(3):
        n = len(hs)
        hs.append(x * (n + 1.0))
        y = hs[n] * hs[len(hs) - 1]    # read while the list still grows
        hs.append(y)
    return np.sum(np.stack(hs))


def while_loop(x):
    hs = []
    h = x
    while len(hs) < 4:
        h = np.sin(h) * 1.5
        hs.append(h)
    return np.sum(np.stack(hs) ** 2)


def with_break(x):
    hs = []
    for i in range(10):
        if i > 2 and np.sum(hs[-1]) > 2.0:
            break
        hs.append(x * i)
    return np.sum(np.stack(hs))


def early_return(x):
    hs = []
    for i in range(5):
        hs.append(x * i)
        if np.sum(hs[-1]) > 3.0:
            return np.sum(np.stack(hs) ** 2)
    return np.sum(np.stack(hs))


def broadcast_sum(x, s):
    hs = []
    hs.append(s * 2.0)
    hs.append(x)
    hs.append(np.outer(x, x))      # sum() broadcasts: each gets its own shape's cotangent
    return np.sum(sum(hs))


def scalars_in_list(x):
    vals = []
    for k in range(3):
        vals.append(np.sum(x) * k)
    return vals[0] + vals[-1] * vals[1] + sum(vals)


def index_in_while(x):
    hs = [x * k for k in range(4)]
    total = 0.0
    i = 3
    while i >= 0:
        total = total + np.sum(hs[i] * i)
        i = i - 1
    return total


def nested_helper_builds_list(x):
    def rows(y):
        out = [np.sin(y * k) for k in range(2)]
        return np.stack(out)
    hs = []
    hs.append(x)
    return np.sum(rows(x)) + np.sum(np.stack(hs))


def written_array_summed(x):
    a = x.copy()
    a[0] = a[0] * 3.0
    hs = []
    hs.append(a)
    hs.append(a * 2.0)
    a = a + 1.0                # a new array: the list keeps the written one
    return np.sum(sum(hs) * x) + np.sum(a)


def over_an_array(x):
    return sum([v ** 2 for v in x]) + sum(v * np.sin(v) for v in x)


def branchy(x):
    total = 0.0
    for i in range(4):
        parts = []
        parts.append(x * i)
        if i % 2:
            parts.append(np.sin(x))
            total = total + np.sum(np.stack(parts) ** 2)
        else:
            total = total + np.sum(parts[0] * x)
    return total

def data_branch(x):
    hs = []
    total = 0.0
    for i in range(5):
        if np.sum(x) * i > 0.5:
            hs.append(x * i)
        else:
            hs.append(np.cos(x))
        if len(hs) > 2:
            total = total + np.sum(hs[-2] * hs[-1])
    return total + np.sum(np.stack(hs))

def outer_while(x):
    hs = []
    v = x
    k = 0
    while np.sum(v) < 5.0 and k < 10:
        inner = []
        for j in range(2):
            inner.append(v * (j + 1.0))
        v = sum(inner) * 0.8 + 0.1
        hs.append(v)
        k = k + 1
    return np.sum(hs[-1]) + len(hs)

def seeded_display(x, w):
    xs = [x, x * 2.0]          # a display, then appends: xs = [], xs.append(x), ...
    for i in range(3):
        xs.append(np.sin(xs[-1]) * w + xs[-2])
    return np.sum(np.stack(xs) ** 2)


def display_each_iteration(x):
    total = 0.0
    for i in range(3):
        pair = [x * i, np.cos(x)]
        pair.append(pair[0] * pair[1])
        total = total + np.sum(np.stack(pair))
    return total


def zipped(x, w):
    hs = [np.sin(x * k) for k in range(3)]
    gs = [np.cos(x * k) for k in range(3)]
    total = 0.0
    for h, g, c in zip(hs, gs, w):
        total = total + np.sum(h * g) * c
    return total


def last_instance(x):
    total = 0.0
    for i in range(3):
        parts = []
        parts.append(x * i)
        parts.append(np.sin(x) * i)
        total = total + np.sum(parts[0])
    return np.sum(np.stack(parts) ** 2) + total
def zero_trips(x, n):
    parts = []
    parts.append(x)
    for i in range(n):
        parts = []
        parts.append(x * i)
    return np.sum(np.stack(parts) ** 2)


def tuple_of_comprehension_indexes(x):
    idx = tuple([0 for _ in range(2)])   # still a tuple: x[(0, 0)], not x[[0, 0]]
    return np.sum(x[idx] * x)


def stacked_tuples(x):
    hs = []
    hs.append(x)
    hs.append(x * 2)
    return np.sum(np.stack(tuple(hs)) ** 2) + np.sum(
        np.stack(list(np.sin(x * k) for k in range(2))))


def filled_after_continue(x):
    rows = []
    for i in range(3):
        if i == 1:
            continue           # the rest of the body runs under a flag: still made anew
        row = np.zeros(2)
        row[0] = x[i]
        if i > 0:
            row[1] = x[0] * 2.0
        rows.append(row)
    return np.sum(np.stack(rows) ** 2)


def returns_an_item(x):
    hs = []
    for i in range(3):
        hs.append(np.sum(np.sin(x * i)))
    return hs[-1]


def returns_a_sum(x):
    return sum([np.sum(x ** k) for k in range(3)])


rng = np.random.default_rng(7)
_V = rng.normal(size=3)
CASES = [
    ("rnn", rnn, (rng.normal(size=(3, 4)) * 0.5, rng.normal(size=(4, 4)) * 0.5,
                  rng.normal(size=(5, 3)), rng.normal(size=4)), (0, 1, 2, 3)),
    ("stacked_sines", stacked_sines, (_V, [0.5, 1.0, 2.0]), 0),
    ("parts_and_generator", parts_and_generator, (rng.normal(size=(3, 2)),), 0),
    ("overwritten_after_append", overwritten_after_append, (_V,), 0),
    ("modified_then_appended", modified_then_appended, (_V,), 0),
    ("appended_views", appended_views, (rng.normal(size=(3, 3)),), 0),
    ("same_value_twice", same_value_twice, (_V,), 0),
    ("appended_in_branch", appended_in_branch, (np.abs(_V) + 0.1, 5), 0),
    ("appended_in_branch_negative", appended_in_branch, (-np.abs(_V) - 0.1, 5), 0),
    ("read_in_later_loops", read_in_later_loops, (_V, rng.normal(size=4)), (0, 1)),
    ("empty_list", empty_or_not, (_V, 0), 0),
    ("nonempty_list", empty_or_not, (_V, 3), 0),
    ("nested_lists", nested_lists, (_V,), 0),
    ("last_item_recurrence", last_item_recurrence, (_V, 0.7), (0, 1)),
    ("mean_of_list", mean_of_list, (_V,), 0),
    ("joins", joins, (_V,), 0),
    ("sum_with_start", sum_with_start, (_V, 1.3), (0, 1)),
    ("comprehension_filters", comprehension_filters, (_V, [0.5, -1.0, 2.0]), 0),
    ("comprehension_names", comprehension_names, (_V,), 0),
    ("filled_then_appended", filled_then_appended, (_V,), 0),
    ("built_in_each_iteration", built_in_each_iteration, (_V,), 0),
    ("calls_helper", calls_helper, (_V,), 0),
    ("len_in_loop", len_in_loop, (_V,), 0),
    ("while_loop", while_loop, (_V,), 0),
    ("with_break", with_break, (np.abs(_V),), 0),
    ("early_return", early_return, (np.abs(_V) + 0.5,), 0),
    ("broadcast_sum", broadcast_sum, (_V, 0.7), (0, 1)),
    ("scalars_in_list", scalars_in_list, (_V,), 0),
    ("index_in_while", index_in_while, (_V,), 0),
    ("nested_helper_builds_list", nested_helper_builds_list, (_V,), 0),
    ("written_array_summed", written_array_summed, (_V,), 0),
    ("over_an_array", over_an_array, (_V,), 0),
    ("branchy", branchy, (_V,), 0),
    ("data_branch", data_branch, (np.abs(_V),), 0),
    ("data_branch_negative", data_branch, (-np.abs(_V),), 0),
    ("outer_while", outer_while, (np.abs(_V) * 0.5,), 0),
    ("seeded_display", seeded_display, (_V, 0.7), (0, 1)),
    ("display_each_iteration", display_each_iteration, (_V,), 0),
    ("zipped", zipped, (_V, rng.normal(size=3)), (0, 1)),
    ("last_instance", last_instance, (_V,), 0),
    ("zero_trips", zero_trips, (_V, 0), 0),
    ("two_trips", zero_trips, (_V, 2), 0),
    ("tuple_of_comprehension_indexes", tuple_of_comprehension_indexes,
     (rng.normal(size=(2, 2)),), 0),
    ("stacked_tuples", stacked_tuples, (_V,), 0),
    ("filled_after_continue", filled_after_continue, (_V,), 0),
    ("returns_an_item", returns_an_item, (_V,), 0),
    ("returns_a_sum", returns_a_sum, (_V,), 0),
]


def _as_tuple(grads, wrt):
    return grads if isinstance(wrt, tuple) else (grads,)


def _finite_differences(fn, args, i, eps=1e-6):
    x = np.asarray(args[i], dtype=float)
    grad = np.zeros(x.shape)
    for k in np.ndindex(x.shape):
        moved = []
        for sign in (1.0, -1.0):
            y = x.copy()
            y[k] += sign * eps
            call = list(args)
            call[i] = y if np.ndim(args[i]) else float(y)
            moved.append(fn(*call))
        grad[k] = (moved[0] - moved[1]) / (2 * eps)
    return grad


@pytest.mark.parametrize("name, fn, args, wrt", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("mode", ["source", "auto"])
def test_follows_lists(name, fn, args, wrt, mode):
    before = [np.copy(a) if isinstance(a, np.ndarray) else a for a in args]
    df = pb.grad(fn, wrt=wrt, mode=mode)
    grads = _as_tuple(df(*args), wrt)
    assert df.mode == "source" and df.fallback_reason is None
    tape = _as_tuple(pb.grad(fn, wrt=wrt, mode="tape")(*args), wrt)
    positions = wrt if isinstance(wrt, tuple) else (wrt,)
    for g, t, i in zip(grads, tape, positions):
        assert np.shape(g) == np.shape(args[i])
        np.testing.assert_allclose(g, t, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(g, _finite_differences(fn, args, i), rtol=1e-5, atol=1e-6)
    for a, b in zip(args, before):
        if isinstance(a, np.ndarray):
            assert np.array_equal(a, b)   # the arguments are left as they were


@pytest.mark.parametrize("name, fn, args, wrt", CASES, ids=[c[0] for c in CASES])
def test_value_and_grad(name, fn, args, wrt):
    value, grads = pb.value_and_grad(fn, wrt=wrt, mode="source")(*args)
    assert value == pytest.approx(fn(*args), rel=1e-12, abs=1e-12)
    alone = pb.grad(fn, wrt=wrt, mode="source")(*args)
    for g, a in zip(_as_tuple(grads, wrt), _as_tuple(alone, wrt)):
        np.testing.assert_allclose(g, a, rtol=1e-12, atol=1e-14)


def test_value_and_grad_and_second_call():
    args = CASES[0][2]
    value, grads = pb.value_and_grad(rnn, wrt=(0, 1), mode="source")(*args)
    assert value == pytest.approx(rnn(*args))
    df = pb.grad(rnn, wrt=(0, 1), mode="source")
    first = df(*args)
    again = df(*args)                  # the lists are built again, not kept from the first call
    for a, b, c in zip(first, again, grads):
        assert np.array_equal(a, b) and np.allclose(a, c)


def weighted_by_list_argument(x, ws):
    hs = []
    for i, w in enumerate(ws):
        hs.append(w * x * (i + 1))
    return np.sum(sum(hs) ** 2) + np.sum(np.stack([np.sin(w * x) for w in ws]))


@pytest.mark.parametrize("mode", ["source", "auto"])
@pytest.mark.parametrize("ws", [[0.5, 1.0, -2.0], [np.array([0.5, 1.0]), np.array([2.0, -1.0])]],
                         ids=["floats", "arrays"])
def test_comprehension_over_a_differentiated_list_argument(ws, mode):
    x = np.array([0.3, -0.2])
    df = pb.grad(weighted_by_list_argument, wrt=(0, 1), mode=mode)
    gx, gws = df(x, ws)
    assert df.mode == "source"
    tx, tws = pb.grad(weighted_by_list_argument, wrt=(0, 1), mode="tape")(x, ws)
    np.testing.assert_allclose(gx, tx, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gx, _finite_differences(weighted_by_list_argument, (x, ws), 0),
                               rtol=1e-5, atol=1e-6)
    assert isinstance(gws, list) and len(gws) == len(ws)
    for k, (g, t) in enumerate(zip(gws, tws)):
        assert np.shape(g) == np.shape(ws[k])
        np.testing.assert_allclose(g, t, rtol=1e-10, atol=1e-12)
        leaf = lambda v, k=k: weighted_by_list_argument(x, ws[:k] + [v] + ws[k + 1:])
        np.testing.assert_allclose(g, _finite_differences(leaf, (ws[k],), 0),
                                   rtol=1e-5, atol=1e-6)


def test_hessian_through_a_list():
    x = np.array([0.3, -0.2])
    h_source = pb.hessian(stacked_sines, mode="source")(x, [0.5, 2.0])
    h_tape = pb.hessian(stacked_sines, mode="tape")(x, [0.5, 2.0])
    np.testing.assert_allclose(h_source, h_tape, rtol=1e-10, atol=1e-12)


def test_generated_code_reads_like_the_loop():
    df = pb.grad(rnn, wrt=(0, 1), mode="source")
    df(*CASES[0][2])
    assert "hs = []" in df.source and "hs.append(" in df.source
    assert "bh = bh + pop_item(bhs, hs)" in df.source
    assert "# line 23: hs.append(h)" in df.source.replace(
        f"line {inspect.getsourcelines(rnn)[1] + 4}", "line 23")


# --- refusals -----------------------------------------------------------------------------------

def aliased(x):
    hs = []
    hs.append(np.sin(x))
    other = hs                                   # refused: aliased
    return np.sum(np.stack(other))


def inserted(x):
    hs = []
    hs.append(x)
    hs.insert(0, np.sin(x))                      # refused: insert
    return np.sum(np.stack(hs))


def popped(x):
    hs = []
    hs.append(x)
    hs.append(np.sin(x))
    last = hs.pop()                              # refused: pop
    return np.sum(last)


def extended(x):
    hs = []
    hs.extend([x, np.sin(x)])                    # refused: extend
    hs.append(x)
    return np.sum(np.stack(hs))


def added_in_place(x):
    hs = []
    hs.append(x)
    hs += [np.sin(x)]                            # refused: +=
    return np.sum(np.stack(hs))


def _keep(lst, v):
    lst.append(v)
    return 0.0


def passed_to_helper(x):
    hs = []
    hs.append(np.sin(x))
    _keep(hs, x)                                 # refused: a helper
    return np.sum(np.stack(hs))


def nested_comprehension(x):
    grid = [[x * i * j for i in range(2)] for j in range(2)]  # refused: nested
    return np.sum(np.stack([np.stack(r) for r in grid]))


def two_fors(x):
    vals = [x * i * j for i in range(2) for j in range(2)]  # refused: two fors
    return np.sum(np.stack(vals))


def appended_tuple(x):
    pairs = []
    for i in range(2):
        pairs.append((x * i, x))                 # refused: a tuple
    return np.sum(pairs[0][0])


def written_after_append(x):
    hs = []
    h = np.sin(x)
    hs.append(h)
    h[0] = 0.0                                   # refused: written after
    return np.sum(np.stack(hs))


def grown_after_append(x):
    hs = []
    h = np.sin(x)
    hs.append(h)
    h += 1.0                                     # refused: h += in place
    return np.sum(np.stack(hs)) + np.sum(h)


def written_in_loop(x):
    rows = []
    row = np.zeros(3)
    for i in range(2):
        row[0] = x[i]
        rows.append(row)                         # refused: the same array, written again
    return np.sum(np.stack(rows))


_BUFFER = np.zeros(2)


def _buffer():
    return _BUFFER


def shared_buffer(x):
    rows = []
    for i in range(2):
        row = _buffer()        # the same array each time: not made anew
        row[0] = x[i]
        rows.append(row)                         # refused: the same array, written again
    return np.sum(np.stack(rows) * np.array([[1.0, 0.0], [2.0, 0.0]]))


def sliced(x):
    hs = []
    for i in range(3):
        hs.append(x * i)
    return np.sum(np.stack(hs[1:]))              # refused: a slice


def generator_to_stack(x):
    return np.sum(np.stack(np.sin(x * k) for k in range(2)))  # refused: generator


def comprehension_in_while(x):
    while len([v for v in x]) < 0:               # refused: in a while test
        x = x + 1.0
    return np.sum(x ** 2)


def comprehension_in_ifexp(x, c):
    return np.sum(x) if c else np.sum(np.stack([x * k for k in range(2)]))  # refused: arm


def rebound_to_array(x):
    hs = []
    hs.append(np.sin(x))
    hs = np.stack(hs)                            # refused: rebound
    return np.sum(hs)


def kept_as_tuple(x):
    hs = []
    hs.append(x)
    t = tuple(hs)                                # refused: a tuple of it kept
    return np.sum(t[0])


def set_comprehension(x):
    s = {k for k in range(3)}                    # refused: a set comprehension
    return np.sum(x * len(s))


def dict_comprehension(x):
    d = {k: x * k for k in range(3)}             # refused: a dict comprehension
    return np.sum(d[1])


def made_by_list_call(x):
    hs = list()                                  # refused: not a display
    hs.append(np.sin(x))
    return np.sum(np.stack(hs))


def read_by_nested_function(x):
    hs = []
    hs.append(np.sin(x))

    def total():
        return np.sum(np.stack(hs))              # refused: read by a nested def
    return total()


def summed_by_numpy(x):
    hs = []
    hs.append(np.sin(x))
    return np.sum(hs)                            # refused: np.sum of the list


REFUSALS = [
    (aliased, (np.ones(2),), "other = hs"),
    (inserted, (np.ones(2),), "hs.insert"),
    (popped, (np.ones(2),), "hs.pop"),
    (extended, (np.ones(2),), "hs.extend"),
    (added_in_place, (np.ones(2),), "hs += "),
    (passed_to_helper, (np.ones(2),), "_keep(hs, x)"),
    (nested_comprehension, (np.ones(2),), "grid = "),
    (two_fors, (np.ones(2),), "vals = "),
    (appended_tuple, (np.ones(2),), "pairs.append"),
    (written_after_append, (np.ones(2),), "hs.append(h)"),
    (grown_after_append, (np.ones(2),), "hs.append(h)"),
    (written_in_loop, (np.ones(3),), "rows.append"),
    (shared_buffer, (np.ones(2),), "rows.append(row)"),
    (sliced, (np.ones(2),), "hs[1:]"),
    (generator_to_stack, (np.ones(2),), "np.stack(np.sin"),
    (comprehension_in_while, (np.ones(2),), "while len"),
    (comprehension_in_ifexp, (np.ones(2), False), "if c else"),
    (rebound_to_array, (np.ones(2),), "hs = np.stack"),
    (made_by_list_call, (np.ones(2),), "hs = list()"),
    (set_comprehension, (np.ones(2),), "s = {k"),
    (kept_as_tuple, (np.ones(2),), "t = tuple(hs)"),
    (dict_comprehension, (np.ones(2),), "d = {k"),
    (read_by_nested_function, (np.ones(2),), "return np.sum(np.stack(hs))"),
    (summed_by_numpy, (np.ones(2),), "return np.sum(hs)"),
]


def _line_of(fn, text):
    lines, start = inspect.getsourcelines(fn)
    found = [start + k for k, line in enumerate(lines) if text in line]
    assert len(found) == 1, (fn.__name__, text)
    return found[0]


@pytest.mark.parametrize("fn, args, marker", REFUSALS, ids=[r[0].__name__ for r in REFUSALS])
def test_refused_at_the_line(fn, args, marker):
    with pytest.raises(pb.TransformError) as info:
        pb.grad(fn, mode="source")(*args)
    err = info.value
    assert err.lineno == _line_of(fn, marker), str(err)
    assert err.filename == __file__
    assert "mode='tape'" in str(err)
    df = pb.grad(fn)                   # auto: the tape, and why
    try:
        g = df(*args)
    except (TypeError, ValueError, IndexError):
        assert df.mode == "tape"       # the tape may refuse such code too, but not silently
        return
    assert df.mode == "tape" and f"line {err.lineno}" in df.fallback_reason
    np.testing.assert_allclose(g, _finite_differences(fn, args, 0), rtol=1e-5, atol=1e-6)


def test_lists_of_constants_stay_as_written():
    def indices_then_take(x):
        keep = []
        for i in range(x.shape[0]):
            if i % 2 == 0:
                keep.append(i)
        return np.sum(x[keep] ** 2)

    x = np.arange(1.0, 5.0)
    df = pb.grad(indices_then_take, mode="source")
    np.testing.assert_allclose(df(x), [2.0, 0.0, 6.0, 0.0])
    assert "pop_item" not in df.source


def _two_lists_made_together(x):
    hs, cs = [], []
    h = x
    for i in range(3):
        h = np.sin(h) * 0.9
        hs.append(h)
        cs.append(h * 2.0)
    return np.sum(np.stack(hs) ** 2) + np.sum(np.stack(cs))


def test_two_lists_made_by_one_assignment():
    """hs, cs = [], [] was refused (the error blamed the line that made them); it is hs = []
    and cs = [] (found by helper-24)."""
    x = np.array([0.3, 0.7])
    df = pb.grad(_two_lists_made_together, mode="auto")
    got = df(x)
    assert df.mode == "source"
    np.testing.assert_allclose(got, pb.grad(_two_lists_made_together, mode="tape")(x),
                               rtol=1e-12)
    e = np.eye(2)
    fd = [(_two_lists_made_together(x + 1e-6 * e[i]) - _two_lists_made_together(x - 1e-6 * e[i]))
          / 2e-6 for i in range(2)]
    np.testing.assert_allclose(got, fd, rtol=1e-6)
