"""A differentiated list, tuple or dict-of-lists argument used whole: ``np.stack(ws)``,
``np.sum(ws, axis=0)``, ``np.sin(x)`` of a list of floats, ``X @ w``.  The source engine
follows each such use back into the leaves (it returned zeros), or refuses it at the user's
line so that auto uses the tape.  Each case is checked against central finite differences
and the tape; pb.check_grads checks pytree arguments on the generated code too."""

import inspect

import numpy as np
import pytest

import pullback as pb

EPS = 1e-6


# --- a small finite-difference helper over nested lists, tuples and dicts -------------------

def _leaves(tree):
    if isinstance(tree, dict):
        return [leaf for v in tree.values() for leaf in _leaves(v)]
    if isinstance(tree, (list, tuple)):
        return [leaf for v in tree for leaf in _leaves(v)]
    return [tree]


def _rebuild(tree, it):
    if isinstance(tree, dict):
        return {k: _rebuild(v, it) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(_rebuild(v, it) for v in tree)
    return next(it)


def central(f, tree):
    """The gradient of scalar ``f`` at ``tree`` by central differences, leaf by leaf, with
    the structure of ``tree``."""
    leaves = _leaves(tree)
    grads = []
    for i, leaf in enumerate(leaves):
        x = np.array(leaf, dtype=float)
        g = np.zeros(x.shape)
        for idx in np.ndindex(x.shape):
            def at(step):
                moved = x.copy()
                moved[idx] += step
                new = list(leaves)
                new[i] = moved if isinstance(leaf, np.ndarray) else float(moved)
                return float(f(_rebuild(tree, iter(new))))
            g[idx] = (at(EPS) - at(-EPS)) / (2 * EPS)
        grads.append(g)
    return _rebuild(tree, iter(grads))


def assert_tree_close(actual, expected):
    assert type(actual) is type(expected) or not isinstance(expected, (list, tuple, dict))
    a, e = _leaves(actual), _leaves(expected)
    assert len(a) == len(e)
    for x, y in zip(a, e):
        assert np.shape(x) == np.shape(y)
        np.testing.assert_allclose(np.asarray(x, dtype=float), y, rtol=1e-6, atol=1e-7)


# --- functions that use a list argument whole -----------------------------------------------

X = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]])
WS = [np.array([1.0, 2.0]), np.array([3.0, -4.0])]
FLOATS = [0.5, 1.5]


def _sum_sq_stack(v):
    return np.sum(np.stack(v) ** 2)


def stack(ws):
    return np.sum(np.stack(ws) ** 2)


def concatenate(ws):
    return np.sum(np.concatenate(ws) ** 3)


def vstack(ws):
    return np.sum(np.vstack(ws) * np.array([[1.0, 2.0]]) * 2.0)


def hstack(ws):
    return np.sum(np.hstack(ws) ** 2)


def dstack(ws):
    return np.sum(np.dstack(ws) ** 3)


def column_stack(ws):
    return np.sum(np.column_stack(ws) ** 3)


def sum_axis0(ws):
    return np.sum(np.sum(ws, axis=0) ** 2)


def mean(ws):
    return np.mean(ws) * np.sum(ws[0])


def einsum(ws):
    return np.einsum("ij,ij->", ws, ws)


def einsum_floats(x):
    return np.einsum("i,i", x, x)


def norm(ws):
    return np.linalg.norm(ws)


def max_whole(ws):
    return np.max(ws) + np.sum(ws[1])


def sin_floats(x):
    return np.sum(np.sin(x) * x)


def sin_floats_reflected(x):
    return np.sum(x * np.sin(x))


def dot_floats(x):
    return np.dot(x, x)


def matmul_floats(w, X):
    return np.sum(np.tanh(X @ w) ** 2)


def rmatmul_global(x):
    return np.sum((x @ X[:, :2].T) ** 2)


def minus_array(x):
    return np.sum((x - np.array([1.0, 1.0])) ** 2)


def mean_std(x):
    return np.mean(x) * np.std(x)


def power_clip(x):
    return np.sum(np.power(x, 3)) + np.sum(np.clip(x, 0.0, 1.0) ** 2)


def where_floats(x):
    return np.sum(np.where(np.array([True, False]), x, 2.0) ** 2)


def asarray_floats(w):
    return np.sum(np.asarray(w) ** 2)


def array_of_arrays(ws):
    a = np.array(ws)
    a[0, 0] = 7.0               # its own array: the write does not reach ws
    return np.sum(a ** 2) + np.sum(np.sin(ws))


def dict_of_floats(p):
    return np.sum(np.sin(p["w"]))


def dict_of_floats_matmul(p):
    return np.sum(np.tanh(X[:, :2] @ p["w"] + p["b"]) ** 2)


def dict_of_arrays_list(p):
    return np.sum(np.stack(p["ws"]) ** 2) * p["c"]


def dict_of_nested_lists(p):
    return np.sum(np.tanh(np.array([1.0, -1.0]) @ np.asarray(p["W"]) + np.asarray(p["b"])) ** 2)


def nested_floats(m):
    return np.sum(np.sin(m) * np.array([[1.0, 2.0], [3.0, 5.0]]))


def nested_stack(m):
    return np.sum(np.stack(m) ** 3)


def nested_concatenate(m):
    return np.sum(np.concatenate(m) ** 3)


def list_of_lists_of_arrays(ls):
    return np.sum(np.stack(ls) ** 2)


def nested_tuple(t):
    return np.sum(np.stack(t[1]) * t[0]) + np.sum(np.concatenate(t[1]) ** 2)


def inside_display(x):
    return np.sum(np.stack([x, x]) ** 2)


def alias(ws):
    v = ws
    return np.sum(np.stack(v) ** 2)


def also_items(ws):
    a, b = ws
    return np.sum(np.stack([a, b]) * np.stack(ws)) + np.sum(ws[0] ** 3)


def in_loop(ws):
    t = 0.0
    for i in range(3):
        t = t + np.sum(np.stack(ws) ** 2) * i
    return t


def in_loop_over_items(x):
    s = 0.0
    for v in x:
        s = s + v * np.sum(np.sin(x))
    return s


def in_branch(x):
    if x[0] > 0:
        y = np.sin(x)
    else:
        y = np.cos(x)
    return np.sum(y * x)


def passed_to_helper(ws):
    return _sum_sq_stack(ws)


def closed_over(x):
    f = lambda: np.sum(np.sin(x))  # noqa: E731
    return f() * 2.0


def _concatenated(v):
    return np.sum(np.concatenate(v) ** 2)


def passed_by_keyword(ws):
    return _concatenated(v=ws)


def rows_of_array(ws):
    s = 0.0
    for v in np.array(ws):
        s = s + np.sum(v ** 3)
    return s


def stack_axis(x):
    return np.sum(np.stack(x, axis=0) * np.array([1.0, 3.0]))


def concatenate_axis(ws):
    return np.sum(np.concatenate(ws, 0) ** 2)


def where_condition(x):
    return np.sum(np.where(np.array(x) > 1.0, np.asarray(x), 0.0))


COLUMN = np.array([[1.0], [2.0], [3.0]])


def broadcast_column(x):
    return np.sum(np.sin(COLUMN * x) * np.cos(x))


def broadcast_one_item(x):
    return np.sum(np.sin(np.array([1.0, 2.0, 3.0]) * x) + np.sin(x))


def broadcast_items(ws):
    return np.sum(np.sin(np.array([1.0, 2.0, 3.0]) + np.cos(ws)) * np.exp(ws))


def centered(x):
    return np.sum((x - np.mean(x)) ** 2 * np.array([1.0, 2.0, 3.0]))


ODD = [np.array([1.0, 2.0]), np.array([3.0, -4.0, 5.0])]
NESTED = [[1.0, 2.0], [3.0, 4.0]]

# (function, argument, the tape: the "same" answer, or it "raises" -- it refuses a list it
# would convert to an array; it never answers wrong)
FOLLOWED = [
    (stack, WS, "same"),
    (stack, tuple(WS), "same"),
    (concatenate, ODD, "same"),
    (concatenate, tuple(ODD), "same"),
    (vstack, WS, "same"),
    (hstack, WS, "same"),
    (dstack, WS, "same"),
    (column_stack, WS, "same"),
    (sum_axis0, WS, "raises"),
    (mean, WS, "raises"),
    (einsum, WS, "raises"),
    (einsum_floats, FLOATS, "raises"),
    (norm, WS, "raises"),
    (max_whole, WS, "raises"),
    (sin_floats, FLOATS, "raises"),
    (sin_floats, (0.5, 1.5), "raises"),
    (sin_floats_reflected, FLOATS, "raises"),
    (dot_floats, FLOATS, "raises"),
    (rmatmul_global, FLOATS, "raises"),
    (minus_array, FLOATS, "raises"),
    (mean_std, FLOATS, "raises"),
    (power_clip, FLOATS, "raises"),
    (where_floats, FLOATS, "raises"),
    (asarray_floats, [0.1, 0.2, 0.3], "same"),
    (array_of_arrays, WS, "raises"),
    (dict_of_floats, {"w": FLOATS}, "raises"),
    (dict_of_floats_matmul, {"w": FLOATS, "b": 0.3}, "raises"),
    (dict_of_arrays_list, {"ws": WS, "c": 2.0}, "same"),
    (dict_of_nested_lists, {"W": NESTED, "b": [0.1, 0.2]}, "same"),
    (nested_floats, NESTED, "raises"),
    (nested_stack, NESTED, "raises"),
    (nested_concatenate, [(1.0, 2.0), [3.0, 4.0]], "raises"),
    (list_of_lists_of_arrays, [WS, [np.array([1.0, 0.5]), np.array([2.0, 1.5])]], "raises"),
    (nested_tuple, (np.array([1.0, 2.0]), (np.array([3.0, 4.0]), np.array([5.0, 6.0]))),
     "same"),
    (inside_display, FLOATS, "raises"),
    (alias, WS, "same"),
    (also_items, WS, "same"),
    (in_loop, WS, "same"),
    (in_loop_over_items, FLOATS, "raises"),
    (in_branch, FLOATS, "raises"),
    (passed_to_helper, WS, "same"),
    (closed_over, FLOATS, "raises"),
    (passed_by_keyword, ODD, "same"),
    (rows_of_array, WS, "same"),
    (stack_axis, FLOATS, "same"),
    (concatenate_axis, ODD, "same"),
    (where_condition, FLOATS, "same"),
    (broadcast_column, FLOATS, "raises"),
    (broadcast_one_item, [0.5], "raises"),
    (broadcast_items, [np.array([0.5]), np.array([1.5])], "raises"),
    (centered, [0.5, 1.5, 2.5], "raises"),
]


def _id(case):
    f, arg, _ = case
    return f"{f.__name__}-{type(arg).__name__}"


@pytest.mark.parametrize("case", FOLLOWED, ids=_id)
def test_followed_matches_finite_differences_and_the_tape(case):
    f, arg, tape = case
    expected = central(f, arg)
    for mode in ("source", "auto"):
        df = pb.grad(f, mode=mode)
        assert_tree_close(df(arg), expected)
        assert df.mode == "source", df.fallback_reason
    try:
        grad = pb.grad(f, mode="tape")(arg)
    except (TypeError, IndexError):
        # the tape refuses a list it would convert to an array (TypeError); IndexError is
        # its failure on a list of numbers beside an array (x - np.array(...)): an error,
        # not a wrong answer
        assert tape == "raises"
        return
    assert_tree_close(grad, expected)


def test_value_and_grad_and_other_arguments():
    w = [0.1, 0.2, 0.3]
    value, grad = pb.value_and_grad(matmul_floats)(w, X)
    assert value == matmul_floats(w, X)
    assert_tree_close(grad, central(lambda v: matmul_floats(v, X), w))
    gw, gX = pb.grad(matmul_floats, wrt=(0, 1), mode="source")(w, X)
    assert_tree_close(gw, grad)
    assert_tree_close(gX, central(lambda M: matmul_floats(w, M), X))


def test_generated_code_reads_the_items():
    df = pb.grad(sin_floats, mode="source")
    df(FLOATS)
    assert "x_array = np.stack([x_k0, x_k1])" in df.source
    assert "t2 = t1 * x\n" in df.source     # the product as written: Python decides what it is
    assert "{}" not in df.source              # no gradient dropped into tree_grad(x, {})
    df = pb.grad(concatenate, mode="source")
    df(ODD)
    assert "np.concatenate([ws_k0, ws_k1])" in df.source


def test_a_ragged_list_raises_as_numpy_does():
    with pytest.raises(ValueError):
        sum_axis0(ODD)
    with pytest.raises(ValueError):
        pb.grad(sum_axis0, mode="source")(ODD)


# --- uses that are refused: the error names the line, auto uses the tape ---------------------

def returned_by_helper(ws):
    a, b = _returned(ws)
    return np.sum(a * b)


def _returned(v):
    return v  # refused here


def returned_in_tuple(ws):
    a, b = _first_and_all(ws)
    return np.sum(a * np.stack(b))


def _first_and_all(v):
    return v[0], v  # refused here


def _pair(pair):
    return np.sum(np.stack(pair[0]) ** 2) + np.sum(pair[1])


def inside_display_to_helper(ws):
    return _pair([ws, ws[0]])  # refused here


def chosen(ws):
    v = ws if ws[0][0] > 0 else ws  # refused here
    return np.sum(np.stack(v) ** 2)


def copied_in_loop(ws):
    v = ws[0]
    for i in range(2):
        v = ws  # refused here
    return np.sum(np.stack(v) ** 2)


def repeated(ws):
    return np.sum(np.stack(ws * 2) ** 2)  # refused here


def list_copy(ws):
    return np.sum(np.stack(ws.copy()) ** 2)  # refused here


REFUSED = [returned_by_helper, returned_in_tuple, inside_display_to_helper, chosen,
           copied_in_loop, repeated, list_copy]


def _line(f):
    """The line marked "# refused here" in ``f``, or just below it (in its helper)."""
    lines, start = inspect.getsourcelines(f)
    if not any("# refused here" in text for text in lines):
        below = inspect.getsourcelines(inspect.getmodule(f))[0][start - 1 + len(lines):]
        lines, start = below, start + len(lines)
    return start + next(i for i, text in enumerate(lines) if "# refused here" in text)


@pytest.mark.parametrize("f", REFUSED, ids=lambda f: f.__name__)
def test_refused_at_the_line_and_auto_uses_the_tape(f):
    with pytest.raises(pb.TransformError) as err:
        pb.grad(f, mode="source")(WS)
    assert err.value.lineno == _line(f)
    assert err.value.filename == __file__
    assert "mode='tape'" in str(err.value)
    df = pb.grad(f)
    grad = df(WS)
    assert df.mode == "tape" and df.fallback_reason
    assert_tree_close(grad, central(f, WS))


def dict_as_array(p):
    return np.sum(np.sin(p))  # refused here


def negated(x):
    return np.sum(-x)  # refused here


def transposed(x):
    return np.sum(x.T)  # refused here


def scaled_by_local(x):
    c = np.ones(2) * 2.0
    return np.sum((c * x) ** 2)  # refused here


def float_of(x):
    return np.sin(float(x))  # refused here


def builtin_abs(x):
    return np.sum(abs(x))  # refused here


@pytest.mark.parametrize("f, arg", [(dict_as_array, {"a": 1.0}), (negated, FLOATS),
                                    (transposed, FLOATS), (scaled_by_local, FLOATS),
                                    (float_of, FLOATS), (builtin_abs, FLOATS)],
                         ids=lambda v: getattr(v, "__name__", type(v).__name__))
def test_refused_where_python_decides_otherwise(f, arg):
    """Uses a list argument whole that raise in Python (-x, float(x), abs(x)) or whose meaning
    the engine cannot know (c * x: an int c would repeat the list): refused, not taken for
    NumPy's conversion; the error says how to make the array."""
    with pytest.raises(pb.TransformError) as err:
        pb.grad(f, mode="source")(arg)
    assert err.value.lineno == _line(f)
    assert "np.asarray" in str(err.value) or "entries" in str(err.value)


# --- pb.check_grads checks pytree arguments on the generated code ---------------------------

@pb.primitive
def _twice(x):
    return 2.0 * x


pb.defvjp(_twice, lambda ans, x: lambda g: 3.0 * g)   # wrong on purpose: 2 g is right


def wrong_in_a_dict(p):
    return np.sum(_twice(p["w"]) ** 2)


def test_check_grads_finds_a_wrong_pytree_gradient_of_the_generated_code():
    args = ({"w": np.array([0.5, -1.0])},)
    with pytest.raises(AssertionError, match="generated code"):
        pb.check_grads(wrong_in_a_dict, args, order=1, modes=("source",))
    with pytest.raises(AssertionError):
        pb.check_grads(wrong_in_a_dict, args, order=1)
    # and right ones pass, a list used whole, ints and Python floats among the leaves
    assert pb.check_grads(stack, (WS,), order=1, modes=("source", "auto"))
    assert pb.check_grads(dict_of_floats_matmul, ({"w": FLOATS, "b": 0.3},), order=1,
                          modes=("source",))
    assert pb.check_grads(lambda p, n: np.sum(p["a"] ** n) * p["b"][0],
                          ({"a": np.ones(3), "b": [2.0, 1]}, 3), order=1, modes=("source",))
