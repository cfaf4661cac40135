"""A corpus of user functions with control flow and mutation (issue 5), with arguments.

The companion of tests/corpus.py (straight-line code, issue 4): ``if`` / ``elif`` / ``else`` on
data, ``for`` over ranges, array rows, lists, ``enumerate`` and ``zip``, ``while`` loops whose trip
count depends on the input, ``break`` / ``continue`` / early and multiple ``return``, in-place
array writes into buffers, augmented assignment, and recursion.  Every function is written against
plain ``import numpy as np`` and returns a real scalar.  Each is registered with ``case(...)``
right below it; a function registered more than once gets one case per branch or trip count it is
meant to exercise (tests/test_source_control.py checks that, together, the cases of a function
execute every statement in it).

Arguments are chosen away from branch boundaries, loop-exit thresholds, kinks and ties, so that a
perturbation of 1e-6 changes no decision and central finite differences are accurate; the tests
check that too.

Flags of a case (see ``ControlCase``):
  ``require_source`` -- ``pb.grad(..., mode="source")`` must serve it with generated code
      (False only for recursion, where falling back to the tape with a reason is allowed);
  ``writes`` -- the function writes into an array (``buf[i] = v``, ``b = a.copy(); b[0] = v``),
      so the runtime tape may refuse it with a clear ``TypeError`` / ``ValueError`` instead of
      differentiating it -- but it must never return a different gradient;
  ``mutates_args`` -- the function itself writes into one of its arguments: run as plain Python
      it changes the caller's array, but the gradient function must not.
"""

from dataclasses import dataclass

import numpy as np

from corpus import Case


@dataclass
class ControlCase(Case):
    """One corpus entry: ``fn(*args, **kwargs)`` differentiated with respect to ``wrt``."""

    require_source: bool = True
    writes: bool = False
    mutates_args: bool = False


CASES = []


def case(fn, args, wrt=0, kwargs=None, name="", require_source=True, writes=False,
         mutates_args=False):
    CASES.append(ControlCase(fn, tuple(args), wrt, dict(kwargs or {}),
                             f"{fn.__name__}-{name}" if name else "",
                             require_source, writes, mutates_args))


def _normal(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape)


def _uniform(seed, lo, hi, *shape):
    return np.random.default_rng(seed).uniform(lo, hi, shape)


# === if / elif / else on data ==================================================================

def branch_sum_sign(x):
    if np.sum(x) > 0:
        y = np.sin(x) * x
    else:
        y = np.cos(x) + x ** 2
    return np.sum(y)


case(branch_sum_sign, (np.array([0.5, 1.2, -0.3]),), name="then")
case(branch_sum_sign, (np.array([-0.5, 0.2, -0.9]),), name="else")


def branch_compare_elements(x):
    if x[0] > x[1]:
        r = x[0] ** 2 * x[1]
    elif x[0] > 0.5 * x[1]:
        r = np.exp(x[0]) - x[1]
    else:
        r = np.sum(np.tanh(x))
    return r + 0.1 * np.sum(x ** 2)


case(branch_compare_elements, (np.array([1.3, 0.4, -0.2]),), name="if")
case(branch_compare_elements, (np.array([0.9, 1.2, 0.5]),), name="elif")
case(branch_compare_elements, (np.array([0.2, 1.5, 0.7]),), name="else")


def branch_scalar_threshold(x, w):
    if w > 1.0:
        z = x * w
    else:
        z = x / w
    return np.sum(z ** 2)


case(branch_scalar_threshold, (_normal(1, 4), 1.7), wrt=(0, 1), name="above")
case(branch_scalar_threshold, (_normal(1, 4), 0.6), wrt=(0, 1), name="below")


def branch_nested(x, w):
    s = np.sum(x)
    if s > 0:
        if w > 1.0:
            y = s * w ** 2
        else:
            y = np.sin(s * w)
    else:
        if x[0] > x[-1]:
            y = x[0] * w - s
        else:
            y = np.exp(s) * w
    return y + np.sum(x * w)


case(branch_nested, (np.array([0.5, 0.8, -0.2]), 1.5), wrt=(0, 1), name="pos-big")
case(branch_nested, (np.array([0.5, 0.8, -0.2]), 0.4), wrt=(0, 1), name="pos-small")
case(branch_nested, (np.array([0.3, -0.8, -0.4]), 0.7), wrt=(0, 1), name="neg-first")
case(branch_nested, (np.array([-0.9, -0.6, 0.4]), 0.7), wrt=(0, 1), name="neg-last")


def branch_elif_chain(x, w):
    if w < -1.0:
        y = x * w ** 3
    elif w < 0.0:
        y = np.sin(x * w)
    elif w < 1.0:
        y = x ** 2 + w
    else:
        y = np.tanh(x) * np.log(w)
    return np.sum(y * x)


case(branch_elif_chain, (_normal(2, 3), -1.6), wrt=(0, 1), name="first")
case(branch_elif_chain, (_normal(2, 3), -0.4), wrt=(0, 1), name="second")
case(branch_elif_chain, (_normal(2, 3), 0.5), wrt=(0, 1), name="third")
case(branch_elif_chain, (_normal(2, 3), 2.2), wrt=(0, 1), name="else")


def branch_if_without_else(x, w):
    y = x * w
    if np.max(x) > 1.0:
        y = y * y
    return np.sum(y)


case(branch_if_without_else, (np.array([0.3, 1.6, -0.4]), 0.8), wrt=(0, 1), name="taken")
case(branch_if_without_else, (np.array([0.3, 0.6, -0.4]), 0.8), wrt=(0, 1), name="skipped")


def branch_reassign_in_one_branch(x, w):
    a = np.sin(x)
    b = a * w
    if w < 0.5:
        a = a * 3.0 + w
    return np.sum(a * b)


case(branch_reassign_in_one_branch, (_normal(3, 4), 0.2), wrt=(0, 1), name="taken")
case(branch_reassign_in_one_branch, (_normal(3, 4), 0.9), wrt=(0, 1), name="skipped")


def branch_boolean_operators(x, w):
    if x[0] > 0 and w > 0.5:
        y = x * w
    elif x[1] < 0 or not w < 2.0:
        y = np.sin(x) - w
    else:
        y = x ** 3
    return np.sum(y ** 2)


case(branch_boolean_operators, (np.array([0.7, -0.4]), 0.9), wrt=(0, 1), name="and")
case(branch_boolean_operators, (np.array([-0.7, -0.4]), 0.9), wrt=(0, 1), name="or")
case(branch_boolean_operators, (np.array([-0.7, 0.4]), 0.9), wrt=(0, 1), name="else")


def branch_on_int_argument(x, n):
    if n > 2:
        y = np.sum(x ** n)
    else:
        y = np.sum(np.sin(x) * n)
    return y


case(branch_on_int_argument, (_uniform(4, 0.5, 1.5, 3), 3), name="big")
case(branch_on_int_argument, (_uniform(4, 0.5, 1.5, 3), 1), name="small")


def multiple_returns(x, w):
    if np.mean(x) > w:
        return np.sum(x ** 2) * w
    else:
        return np.sum(np.exp(-x)) + w


case(multiple_returns, (np.array([1.0, 0.6, 0.9]), 0.3), wrt=(0, 1), name="then")
case(multiple_returns, (np.array([1.0, 0.6, 0.9]), 1.4), wrt=(0, 1), name="else")


# === for loops =================================================================================

def loop_range_n(x, n):
    for i in range(n):
        x = np.sin(x) + 0.5 * x
    return np.sum(x ** 2)


case(loop_range_n, (_normal(5, 3), 5))


def loop_range_start_step(x, w):
    s = 0.0
    for i in range(1, 10, 3):
        s = s + w ** i * x[i % 3]
    return s


case(loop_range_start_step, (_normal(6, 3), 0.9), wrt=(0, 1))


def loop_range_reversed(x):
    s = 0.0
    for i in range(len(x) - 1, -1, -1):
        s = np.sin(s) + x[i] * (i + 1)
    return s


case(loop_range_reversed, (_normal(7, 4),))


def loop_range_len_pairs(x):
    s = 0.0
    n = len(x)
    for i in range(n):
        s = s + x[i] * x[n - 1 - i]
    return s


case(loop_range_len_pairs, (_normal(8, 5),))


def loop_over_rows(X, w):
    s = 0.0
    for row in X:
        s = s + np.tanh(row @ w)
    return s


case(loop_over_rows, (_normal(9, 4, 3), _normal(10, 3)), wrt=(0, 1))


def loop_over_vector_elements(x, w):
    s = 0.0
    p = 1.0
    d = 0.0
    for v in x:
        s += v * w
        p *= 1.0 + 0.1 * v
        d -= v ** 2
    return s + p + d


case(loop_over_vector_elements, (_normal(11, 4), 1.3), wrt=(0, 1))


def _layer_weights(seed, sizes):
    return [0.6 * _normal(seed + i, m, n) for i, (m, n) in enumerate(zip(sizes[1:], sizes))]


def loop_over_weight_list(weights, x):
    for W in weights:
        x = np.tanh(W @ x)
    return np.sum(x ** 2)


case(loop_over_weight_list, (_layer_weights(12, [3, 4, 4, 2]), _normal(15, 3)), wrt=(0, 1))


def loop_over_dict_of_layers(params, x):
    for name in ["first", "second"]:
        layer = params[name]
        x = np.tanh(x @ layer["W"] + layer["b"])
    return np.sum(x)


case(loop_over_dict_of_layers,
     ({"first": {"W": 0.5 * _normal(16, 3, 4), "b": 0.1 * _normal(17, 4)},
       "second": {"W": 0.5 * _normal(18, 4, 2), "b": 0.1 * _normal(19, 2)}},
      _normal(20, 3)))


def loop_enumerate_rows(X):
    s = 0.0
    for i, row in enumerate(X):
        s = s + (i + 1) * np.sum(row ** 2) - np.sin(row[i % 2])
    return s


case(loop_enumerate_rows, (_normal(21, 4, 2),))


def loop_zip_arrays(A, B):
    s = 0.0
    for a, b in zip(A, B):
        s = s + np.dot(a, np.sin(b))
    return s


case(loop_zip_arrays, (_normal(22, 3, 4), _normal(23, 3, 4)), wrt=(0, 1))


def loop_over_constant_list(x):
    s = 0.0
    for c in [0.5, 1.0, 2.0]:
        s = s + np.sum(np.sin(c * x))
    return s


case(loop_over_constant_list, (_normal(24, 3),))


def loop_nested_triangular(x):
    s = 0.0
    for i in range(len(x)):
        for j in range(i):
            s = s + x[i] * x[j] * (j + 1)
    return s


case(loop_nested_triangular, (_normal(25, 5),))


def loop_nested_matrix(A, v):
    n, m = A.shape
    s = 0.0
    for i in range(n):
        t = 0.0
        for j in range(m):
            t = t + A[i, j] * v[j]
        s = s + np.tanh(t)
    return s


case(loop_nested_matrix, (_normal(26, 3, 4), _normal(27, 4)), wrt=(0, 1))


def loop_zero_trip_range(x, n):
    y = x * 2.0
    for i in range(n):
        y = np.sin(y) * x
    return np.sum(y ** 2)


case(loop_zero_trip_range, (_normal(28, 3), 0), name="zero")
case(loop_zero_trip_range, (_normal(28, 3), 3), name="three")


def loop_zero_trip_empty_array(x, E):
    s = np.sum(x ** 2)
    for row in E:
        s = s + np.sum(row * x)
    return s


case(loop_zero_trip_empty_array, (_normal(29, 3), np.zeros((0, 3))), wrt=(0, 1), name="empty")
case(loop_zero_trip_empty_array, (_normal(29, 3), _normal(30, 2, 3)), wrt=(0, 1), name="two")


def _cell(h, w):
    return np.tanh(h * w + 0.1)


def loop_calls_helper(x, w):
    for i in range(5):
        x = _cell(x, w) + 0.5 * x
    return np.sum(x)


case(loop_calls_helper, (_normal(31, 3), 0.8), wrt=(0, 1))


def _clipped_step(v, w):
    if v > 0:
        return v * w
    return np.sin(v) + w


def loop_calls_helper_with_branch(x, w):
    s = 0.0
    for v in x:
        s = s + _clipped_step(v, w)
    return s


case(loop_calls_helper_with_branch, (np.array([0.4, -0.7, 1.1, -0.2]), 1.3), wrt=(0, 1))


def loop_branch_inside(x):
    s = 0.0
    for v in x:
        if v > 0:
            s += v ** 2
        else:
            s -= np.sin(v)
    return s


case(loop_branch_inside, (np.array([0.5, -1.2, 0.8, -0.3, 1.4]),))


def loop_running_max(x):
    best = x[0]
    for v in x[1:]:
        if v > best:
            best = v
    return best ** 2 + np.sum(x)


case(loop_running_max, (np.array([0.3, 1.2, -0.5, 0.9, 1.6, 0.1]),))


def loop_tuple_state(x, w):
    a, b = x, w
    for i in range(5):
        a, b = b * 0.5 + a * 0.1, np.sin(a) + b
    return np.sum(a * b)


case(loop_tuple_state, (_normal(32, 3), 0.7), wrt=(0, 1))


def loop_horner(c, x):
    acc = 0.0
    for coef in c:
        acc = acc * x + coef
    return acc


case(loop_horner, (_normal(33, 5), 0.8), wrt=(0, 1))


def loop_gradient_descent_unrolled(w, X, y, lr):
    for step in range(5):
        r = X @ w - y
        w = w - lr * (X.T @ r) / len(y)
    return np.sum((X @ w - y) ** 2)


case(loop_gradient_descent_unrolled, (_normal(34, 3), _normal(35, 6, 3), _normal(36, 6), 0.3),
     wrt=(0, 1, 2, 3))


def loop_condition_on_index(w, x0, n):
    # a branch on the loop index only: the backward loop computes it again
    x = x0
    for i in range(n):
        if i % 3 == 0 and i != n - 1:
            x = np.sin(x) * w
        else:
            x = x * w + 0.1
    return x


case(loop_condition_on_index, (0.8, 0.3, 7), wrt=(0, 1))


def loop_index_rebound(w, x):
    # the loop variable is assigned in the body: a condition on it must be the one the body
    # computed, not the range's value
    for i in range(6):
        i = (i * 5) % 4
        if i > 1:
            x = x * w
        else:
            x = np.cos(x) + w
    return x


case(loop_index_rebound, (0.7, 0.4), wrt=(0, 1))


def loop_condition_on_a_value_changed_later(w, x, k):
    # the condition reads a parameter that is assigned after the loop (a new version of it:
    # the condition's k is the old one)
    for i in range(5):
        if i < k:
            x = x * w
        else:
            x = x + w
    k = k + 3
    return x * k


case(loop_condition_on_a_value_changed_later, (0.9, 0.5, 2), wrt=(0, 1))


def loop_recomputed_sine(w, x0):
    # sin(x) is computed again going backward from the restored x, not saved
    x = x0
    for i in range(6):
        if i % 2 == 0:
            x = np.sin(x) * w
        else:
            x = x * w + np.cos(x)
    return x


case(loop_recomputed_sine, (0.8, 0.4), wrt=(0, 1))


def loop_sine_read_in_other_branch(w, x0):
    # s is set in one branch and read in the other: going backward the other branch must see
    # the value the forward pass had, so it stays saved
    x = x0
    s = 0.5
    for i in range(7):
        if i % 3 == 0:
            s = np.sin(x)
            x = x * s * w
        else:
            x = x + s * w
    return x + s


case(loop_sine_read_in_other_branch, (0.9, 0.3), wrt=(0, 1))


def loop_in_a_branch_not_taken(x, w, threshold):
    # a loop inside a branch: after the branch the backward pass reads the shape of what the
    # loop assigns, which the loop saved only if it ran
    v0 = np.sin(x)
    v1 = np.cos(x) * w
    if np.sum(v0 * x) > threshold:
        for i in range(3):
            v0 = v0 + 0.5 * np.tanh(v1)
            v1 = np.tanh(x + w)
    return np.sum(v0 * v1)


case(loop_in_a_branch_not_taken, (_normal(70, 3), 0.4, 100.0), wrt=(0, 1), name="skipped")
case(loop_in_a_branch_not_taken, (_normal(70, 3), 0.4, -100.0), wrt=(0, 1), name="taken")


# === while loops ===============================================================================

def while_data_dependent(x, w):
    while x < 10.0:
        x = x * 1.5 + w
    return x


# trip counts 5 (1 -> 1.8 -> 3.0 -> 4.8 -> 7.5 -> 11.55) and 2 (6 -> 9.3 -> 14.25)
case(while_data_dependent, (1.0, 0.3), wrt=(0, 1), name="five")
case(while_data_dependent, (6.0, 0.3), wrt=(0, 1), name="two")


def while_newton_sqrt(a):
    x = a
    while abs(x * x - a) > 1e-10:
        x = 0.5 * (x + a / x)
    return x


case(while_newton_sqrt, (2.0,))


def while_counter(x, n):
    i = 0
    while i < n:
        x = np.sin(x) * 1.1 + 0.2
        i += 1
    return np.sum(x)


case(while_counter, (_normal(37, 3), 6))


def while_shrink_array(x):
    while np.sum(x ** 2) > 0.5:
        x = x * 0.7
    return np.sum(x ** 3)


# |x|^2 = 3.3: 3.3 -> 1.62 -> 0.79 -> 0.39, three trips, far from 0.5 at each test
case(while_shrink_array, (np.array([1.0, -1.0, 1.1]),))


def while_true_break(x, n):
    i = 0
    while True:
        x = x * 0.9 + np.sin(x)
        i += 1
        if i >= n:
            break
    return np.sum(x)


case(while_true_break, (_normal(38, 3), 4))


def while_inside_for(x):
    s = 0.0
    for i in range(3):
        y = x[i]
        while y < 5.0:
            y = y * 2.0 + 0.1
        s = s + y
    return s


# per-element trip counts 3, 1, 5: 0.7 -> 1.5 -> 3.1 -> 6.3;  3.0 -> 6.1;  0.2 -> ... -> 9.3
case(while_inside_for, (np.array([0.7, 3.0, 0.2]),))


def loop_variable_after_loop(x, n):
    s = 0.0
    for i in range(n):
        s = s + np.sin(x * i)
    return np.sum(s) * i


case(loop_variable_after_loop, (_normal(39, 3), 4))


# === break / continue / return =================================================================

def break_in_for(x):
    s = 0.0
    for i in range(len(x)):
        s = s + x[i] ** 2
        if s > 3.0:
            break
    return s * np.sum(x)


# partial sums 0.81, 2.25, 4.41: breaks after the third of six elements
case(break_in_for, (np.array([0.9, 1.2, -1.47, 0.5, 2.0, 0.3]),))


def break_inner_only(X):
    s = 0.0
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            if X[i, j] < 0:
                break
            s = s + X[i, j] ** 2 * (j + 1)
        s = s + np.sin(X[i, 0])
    return s


case(break_inner_only, (np.array([[0.5, 1.1, -0.4, 0.9],
                                  [-0.3, 0.8, 0.7, 0.2],
                                  [0.6, 0.4, 1.3, 0.8]]),))


def break_then_use_index(x):
    for i, v in enumerate(x):
        if v > 1.0:
            break
    return x[i] ** 2 + np.sum(x[:i])


case(break_then_use_index, (np.array([0.3, -0.4, 1.5, 0.2, 2.0]),))


def continue_in_for(x):
    s = 0.0
    for v in x:
        if v < 0:
            continue
        s = s + v ** 3
    return s


case(continue_in_for, (np.array([0.5, -1.0, 1.3, -0.2, 0.8]),))


def continue_in_nested_loop(X, w):
    s = 0.0
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            if X[i, j] * w < 0.2:
                continue
            s = s + np.exp(X[i, j] * w)
    return s


case(continue_in_nested_loop, (np.array([[0.5, -1.0, 1.3], [0.9, 0.05, -0.6]]), 1.2),
     wrt=(0, 1))


def early_return_in_loop(x, w):
    for i in range(10):
        x = x * w + 0.1
        if np.sum(x) > 5.0:
            return np.sum(x ** 2)
    return -np.sum(x)


# sums 2.4 -> 3.58 -> 5.30 with w = 1.4: returns inside the loop on the third trip;
# with w = 0.5 the sum stays near 0.6: all ten trips, then the final return
case(early_return_in_loop, (np.array([0.5, 0.7, 0.3]), 1.4), wrt=(0, 1), name="inside")
case(early_return_in_loop, (np.array([0.5, 0.7, 0.3]), 0.5), wrt=(0, 1), name="after")


def early_return_before_loop(x, n):
    if np.sum(x) < 0:
        return np.sum(x ** 2)
    s = 0.0
    for i in range(n):
        s = s + np.sum(np.sin(x * (i + 1)))
    return s


case(early_return_before_loop, (np.array([-0.5, 0.2, -0.4]), 4), name="early")
case(early_return_before_loop, (np.array([0.5, 0.2, -0.4]), 4), name="loop")


# === the seeds' loop ===========================================================================

def seed_loop(x, y):
    output = 1.0
    for i in range(y):
        if 1 < i < 5:
            output = output * x
    return output


case(seed_loop, (2.0, 6), name="6")   # x ** 3: gradient 12
case(seed_loop, (2.0, 5), name="5")   # x ** 3: gradient 12
case(seed_loop, (2.0, 4), name="4")   # x ** 2: gradient 4


# === small models over Python loops ============================================================

def rnn_loss(Wx, Wh, b, xs):
    h = np.zeros(Wh.shape[0])
    for x_t in xs:
        h = np.tanh(x_t @ Wx + h @ Wh + b)
    return np.sum(h ** 2)


case(rnn_loss, (0.5 * _normal(40, 3, 4), 0.5 * _normal(41, 4, 4), 0.1 * _normal(42, 4),
                _normal(43, 6, 3)), wrt=(0, 1, 2, 3))


def euler_ode(k, y0):
    y = y0
    t = 0.0
    dt = 0.05
    for step in range(20):
        y = y + dt * (-k * y + np.sin(t))
        t = t + dt
    return np.sum(y ** 2)


case(euler_ode, (0.7, 1.3), wrt=(0, 1), name="scalar")
case(euler_ode, (0.7, _normal(44, 3)), wrt=(0, 1), name="vector")


def power_iteration(A):
    S = A + A.T
    v = np.ones(S.shape[0]) / np.sqrt(S.shape[0])
    for it in range(8):
        v = S @ v
        v = v / np.linalg.norm(v)
    return v @ S @ v


case(power_iteration, (np.diag([3.0, 1.0, 0.5]) + 0.2 * _normal(45, 3, 3),))


def overwrite_many_times(x, w):
    h = x
    h = np.tanh(h * w + 0.1)
    h = np.tanh(h * w + 0.1)
    h = np.tanh(h * w + 0.1)
    h = np.tanh(h * w + 0.1)
    h = np.tanh(h * w + 0.1)
    h = np.tanh(h * w + 0.1)
    h = np.tanh(h * w + 0.1)
    h = np.tanh(h * w + 0.1)
    h = np.tanh(h * w + 0.1)
    h = np.tanh(h * w + 0.1)
    return np.sum(h * x)


case(overwrite_many_times, (_normal(46, 3), 1.2), wrt=(0, 1))


# === mutation: buffers, index and slice assignment ==============================================

def buffer_zeros_fill(x, w):
    n = len(x)
    buf = np.zeros(n)
    for i in range(n):
        buf[i] = x[i] * w + np.sin(x[i])
    return np.sum(buf ** 2)


case(buffer_zeros_fill, (_normal(47, 4), 0.8), wrt=(0, 1), writes=True)


def buffer_index_add(x):
    buf = np.zeros(3)
    for i in range(len(x)):
        buf[i % 3] += x[i] ** 2
    return np.sum(buf * np.array([1.0, -2.0, 0.5])) + np.prod(buf)


case(buffer_index_add, (_normal(48, 7),), writes=True)


def buffer_overwrite_same_slot(x):
    buf = np.zeros(2)
    for i in range(len(x)):
        buf[0] = buf[0] * x[i] + buf[1]
        buf[1] = np.sin(x[i]) + 0.5 * buf[0]
    return buf[0] * buf[1]


case(buffer_overwrite_same_slot, (_normal(49, 5),), writes=True)


def slice_assign(x):
    buf = np.zeros(5)
    buf[1:3] = x[:2] * 2.0
    buf[3:] = np.sin(x[1:])
    buf[:2] = buf[:2] + x[2]
    return np.sum(buf * buf * np.arange(1.0, 6.0))


case(slice_assign, (_normal(50, 3),), writes=True)


def fancy_index_assign(x, w):
    buf = np.ones(4)
    buf[[0, 2]] = x ** 2 * w
    buf[np.array([3, 1])] = np.tanh(x)
    return np.sum(buf * np.array([1.0, 2.0, 3.0, 4.0])) * w


case(fancy_index_assign, (_normal(51, 2), 0.9), wrt=(0, 1), writes=True)


def empty_like_fill(a):
    b = np.empty_like(a)
    for i in range(len(a)):
        b[i] = a[i] ** 2 if a[i] > 0 else -a[i]
    return np.sum(b * a)


case(empty_like_fill, (np.array([0.5, -1.2, 0.8, -0.4]),), writes=True)


def copy_then_modify(a):
    b = a.copy()
    b[0] = b[0] * 3.0
    b[1:] += a[:-1]
    b *= a
    return np.sum(b ** 2)


case(copy_then_modify, (_normal(52, 4),), writes=True)


def fill_rows_2d(X, w):
    out = np.zeros((X.shape[0], 2))
    for i in range(X.shape[0]):
        out[i, :] = np.tanh(X[i] * w)
    return np.sum(out @ np.array([1.0, -0.5]) * np.arange(1.0, X.shape[0] + 1))


case(fill_rows_2d, (_normal(53, 3, 2), 0.7), wrt=(0, 1), writes=True)


def fill_matrix_elements(x):
    n = len(x)
    M = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1):
            M[i, j] = x[i] * x[j] + (i == j)
            M[i, j] += 0.1 * x[j]
    return np.sum(M @ x)


case(fill_matrix_elements, (_normal(54, 3),), writes=True)


def overwrite_after_use(x):
    buf = x * 1.0
    y = buf[1]
    buf[1] = np.sin(buf[1]) * 3.0
    z = buf[1]
    buf[1] = buf[1] * y
    return y * np.sum(buf) + z * y ** 2


case(overwrite_after_use, (_normal(55, 3),), writes=True)


def overwrite_row_after_use(X):
    B = X.copy()
    r = B[0] * 2.0
    B[0] = np.tanh(B[1])
    B[1] = r + B[0]
    return np.sum(B * X) + np.sum(r ** 2)


case(overwrite_row_after_use, (_normal(56, 3, 2),), writes=True)


def cumsum_with_buffer(x):
    out = np.zeros_like(x)
    acc = 0.0
    for i in range(len(x)):
        acc = acc + x[i]
        out[i] = acc
    return np.sum(out ** 2 * np.arange(1.0, len(x) + 1))


case(cumsum_with_buffer, (_normal(57, 5),), writes=True)


def write_into_parameter(x):
    x[0] = 0.0
    return np.sum(x ** 2 * np.array([1.0, 2.0, 3.0]))


case(write_into_parameter, (_normal(58, 3),), writes=True, mutates_args=True)


def write_into_parameter_in_loop(x, w):
    for i in range(len(x) - 1):
        x[i + 1] = x[i + 1] + x[i] * w
    return np.sum(np.sin(x))


case(write_into_parameter_in_loop, (_normal(59, 4), 0.6), wrt=(0, 1), writes=True,
     mutates_args=True)


# === augmented assignment with every operator, inside loops ====================================

def augassign_scalars_in_loop(x, w):
    z = x
    for i in range(3):
        z += w
        z -= 0.3 * x
        z *= w
        z /= 1.0 + z ** 2
        z **= 2
    return z


case(augassign_scalars_in_loop, (0.8, 1.3), wrt=(0, 1))


def augassign_arrays_in_loop(x, y):
    z = x.copy()
    for i in range(3):
        z += y
        z -= 0.3 * x
        z *= 0.5 + 0.1 * x ** 2
        z /= 1.0 + y ** 2
        z **= 2
    return np.sum(z)


case(augassign_arrays_in_loop, (_normal(60, 4), _normal(61, 4)), wrt=(0, 1), writes=True)


def augassign_matmul_in_loop(A, B):
    C = np.eye(A.shape[0])
    for i in range(3):
        C @= A
        C += 0.1 * B
    return np.sum(C ** 2)


case(augassign_matmul_in_loop, (0.5 * _normal(62, 3, 3), _normal(63, 3, 3)), wrt=(0, 1),
     writes=True)


# === names bound in one branch only ==========================================================
# Python lets a name be assigned in one branch and read after the if; the code reads it only
# when that branch ran.

def bound_in_one_branch(x):
    if x[0] > 0:
        y = x * 2.0
    return np.sum(np.sin(y))


case(bound_in_one_branch, (_uniform(70, 0.2, 1.0, 3),))


def bound_in_each_branch_read_under_the_same_test(x):
    if x[0] > 0:
        y = x * 2.0
    else:
        z = np.cos(x)
    if x[0] > 0:
        return np.sum(y * x)
    return np.sum(z)


case(bound_in_each_branch_read_under_the_same_test, (_uniform(71, 0.2, 1.0, 3),), name="y")
case(bound_in_each_branch_read_under_the_same_test, (-_uniform(71, 0.2, 1.0, 3),), name="z")


def bound_in_the_first_iteration(x):
    s = 0.0
    for i in range(3):
        if i == 0:
            y = x * 2.0
        s = s + np.sum(y * x[i])
    return s


case(bound_in_the_first_iteration, (_normal(72, 3),))


def bound_in_an_elif_without_else(x):
    if x[0] > 0:
        y = np.sin(x)
    elif x[1] > 0:
        y = np.cos(x)
    return np.sum(y * y)


case(bound_in_an_elif_without_else, (np.array([0.4, -0.3, 0.9]),), name="if")
case(bound_in_an_elif_without_else, (np.array([-0.4, 0.3, 0.9]),), name="elif")


def bound_in_a_nested_branch(x, w):
    if w > 0:
        if x[1] < 0:
            z = x * w
        t = np.sum(z)
    else:
        t = w * 1.0
    return t * w


case(bound_in_a_nested_branch, (np.array([0.3, -1.2, 0.7]), 0.5), wrt=(0, 1), name="nested")
case(bound_in_a_nested_branch, (np.array([0.3, -1.2, 0.7]), -0.5), wrt=(0, 1), name="outer")


# === loop variables that outlive their loop ==================================================
# The backward pass walks a loop's range in reverse, which leaves the loop variable at the
# range's first value: wrong for code that reads it after the loop, before it (where an
# earlier value is read), or that assigns it in the body.

def loop_variable_read_after_and_before_a_loop(x):
    for j in range(2):
        s = x[0]
    s = s * x[j]
    for j in range(3):
        s = s * x[j]
    return s


case(loop_variable_read_after_and_before_a_loop, (_normal(73, 3),))


def inner_loop_variable_read_by_the_outer_loop(x):
    s = 0.0
    for i in range(3):
        for j in range(i + 1):
            s = s * 0.9
        s = s + x[j] * x[i]
    return s


case(inner_loop_variable_read_by_the_outer_loop, (_normal(74, 3),))


def loop_variable_assigned_in_the_body(x):
    s = 0.0
    for i in range(3):
        i = 2 - i
        s = s * x[1] + x[i]
    return s


case(loop_variable_assigned_in_the_body, (_normal(75, 3),))


def nested_loops_with_one_variable(x):
    s = 0.0
    for i in range(3):
        for i in range(2):
            s = s + x[i] * x[2]
        s = s * x[i]
    return s


case(nested_loops_with_one_variable, (_normal(76, 3),))


def loop_variable_after_a_break(x):
    s = 1.0
    for j in range(3):
        s = s * x[j]
        if j == 1:
            break
    return s * x[j]


case(loop_variable_after_a_break, (_normal(77, 3),))


def _last_of_two(x):
    for j in range(2):
        y = x * 2.0
    return y[j] * x


def loop_variable_after_a_loop_in_a_helper(x):
    return np.sum(_last_of_two(x)) * 2.0


case(loop_variable_after_a_loop_in_a_helper, (_normal(78, 3),))


def tuple_assignment_of_indices_in_a_loop(x):
    i, j = 0, 1
    s = 0.0
    for _ in range(2):
        s = s + x[i] * x[j]
        i, j = 2, i + 1     # both right-hand sides before either name changes
    return s


case(tuple_assignment_of_indices_in_a_loop, (_normal(79, 3),))


def tuple_assignment_of_values_in_a_loop(x):
    a, b = x[0], x[1]
    for _ in range(4):
        a, b = b, a + b * 0.5
    return np.sum(a * b)


case(tuple_assignment_of_values_in_a_loop, (_normal(80, 3),))


# === loops over a dict argument ==============================================================

def layers_from_a_dict(params, x):
    h = x
    for name, w in params.items():
        h = np.tanh(h @ w)
    penalty = 0.0
    for name in params:
        penalty = penalty + np.sum(params[name] ** 2)
    for w in params.values():
        penalty = penalty + 0.1 * np.sum(w)
    return np.sum(h ** 2) + 0.01 * penalty


case(layers_from_a_dict, ({"first": 0.5 * _normal(81, 3, 4), "second": 0.5 * _normal(82, 4, 2)},
                          _normal(83, 5, 3)), wrt=(0, 1))


def layers_as_pairs_zipped_and_enumerated(layers, Ws, bs, x):
    h = x
    for W, b in layers:                  # a list of (W, b) tuples
        h = np.tanh(h @ W + b)
    for W, b in zip(Ws, bs):
        h = np.tanh(h @ W + b)
    for i, W in enumerate(Ws):
        h = h + 0.1 * (i + 1) * np.sum(W)
    return np.sum(h ** 2)


case(layers_as_pairs_zipped_and_enumerated,
     ([(0.5 * _normal(86, 3, 3), _normal(87, 3)), (0.5 * _normal(88, 3, 3), _normal(89, 3))],
      [0.5 * _normal(90, 3, 3), 0.5 * _normal(91, 3, 3)], [_normal(92, 3), _normal(93, 3)],
      _normal(94, 4, 3)), wrt=(0, 1, 2, 3))


# === dict and list arguments in loops and helpers =============================================

def dict_leaves_read_in_a_loop(params, xs):
    h = np.zeros(3)
    for t in range(4):
        h = np.tanh((xs[t] + h) @ params["W"] + params["b"])
    return np.sum(h ** 2)


case(dict_leaves_read_in_a_loop, ({"W": 0.5 * _normal(95, 3, 3), "b": _normal(96, 3)},
                                  _normal(97, 4, 3)), wrt=(0, 1))


def sub_dict_read_before_its_leaves_in_a_loop(params, xs):
    cell = params["cell"]
    h = np.zeros(3)
    for t in range(3):
        if t > 0:
            h = h * cell["decay"]
        h = np.tanh((xs[t] + h) @ cell["W"])
    return np.sum(h ** 2)


case(sub_dict_read_before_its_leaves_in_a_loop,
     ({"cell": {"W": 0.5 * _normal(105, 3, 3), "decay": 0.8}}, _normal(106, 3, 3)), wrt=(0, 1))


def _dense(p, x):
    return np.tanh(x @ p["W"] + p["b"])


def _affine(p, x):
    return x @ p[0] + p[1]


def dict_passed_whole_to_helpers(params, layers, xs):
    h = _dense(params["first"], xs[0])
    for t in range(1, 3):
        h = _dense(params["cell"], xs[t] + h)

    def head(v):
        return _affine(layers, v)        # a list argument, read whole from the closure

    return np.sum(head(h) ** 2) + np.sum(params["cell"]["W"] * 0.1)


case(dict_passed_whole_to_helpers,
     ({"first": {"W": 0.5 * _normal(98, 3, 3), "b": _normal(99, 3)},
       "cell": {"W": 0.5 * _normal(100, 3, 3), "b": _normal(101, 3)}},
      [0.5 * _normal(102, 3, 2), _normal(103, 2)], _normal(104, 3, 3)), wrt=(0, 1, 2))


# === unpacking ==================================================================================

def unpacks_an_array_argument(theta, x):
    mu, log_sigma = theta          # an array: its items, indexed
    a, b = theta * 2.0
    return np.sum((x - mu) ** 2) * np.exp(-log_sigma) + a * b


case(unpacks_an_array_argument, (np.array([0.3, -0.2]), _normal(84, 4)), wrt=(0, 1))


def _lstm_like_cell(x, h, c, w):
    c = 0.5 * c + np.tanh(x * w + h)
    h = np.tanh(c) * 0.9
    return h, c


def unpacks_a_helpers_pair_in_a_loop(xs, w):
    h, c = 0.1, 0.0
    total = 0.0
    for t in range(3):
        old = h * 2.0
        h, c = _lstm_like_cell(xs[t], h, c, w)
        total = total + old * h
    return total + h * c


case(unpacks_a_helpers_pair_in_a_loop, (_normal(85, 3), 0.7), wrt=(0, 1))


def _squashed_and_total(v):
    return np.tanh(v), 0.3 * np.sum(v)


def _scaled_pair(v):
    return np.stack([v * 2.0, np.sin(v)])   # one array, not a tuple


def items_of_helper_results(x):
    total = _squashed_and_total(x)[1]
    squashed = _squashed_and_total(x * 0.5)[0]
    first, second = _scaled_pair(x)        # an array: unpacked by index
    return total * np.sum(squashed) + np.sum(first * second)


case(items_of_helper_results, (_normal(107, 3),))


def conditional_expression_keeping_the_old_value(x, s):
    p = np.tanh(s)
    p = np.sin(x[0]) if np.max(x) > 0.5 else p     # the else arm reads p before the new one
    return np.sum(x * p)


case(conditional_expression_keeping_the_old_value, (np.array([0.1, -0.4, 0.2]), 0.3),
     wrt=(0, 1), name="else")
case(conditional_expression_keeping_the_old_value, (np.array([0.9, -0.4, 0.2]), 0.3),
     wrt=(0, 1), name="if")


# === recursion =================================================================================

def recursive_power(x, n):
    if n == 0:
        return 1.0
    return x * recursive_power(x, n - 1)


case(recursive_power, (1.3, 4), require_source=False)


def _poly_rec(x, n):
    if n == 0:
        return np.sin(x)
    return x * _poly_rec(x, n - 1) + n


def calls_recursive_helper(x, n):
    return np.sum(_poly_rec(x, n) ** 2)


case(calls_recursive_helper, (_normal(64, 3), 3), require_source=False)
