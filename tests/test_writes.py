"""Writes the source engine follows stay accepted (``_source._writes`` refuses only what it
cannot follow; the refused ones are in tests/corpus_unsupported.py)."""

import operator

import numpy as np
import pytest

import pullback as pb


def directional_fd_check(fn, got, x, rng):
    """``got`` (the gradient of ``fn`` at ``x``) against central differences along a random
    direction."""
    d = rng.standard_normal(x.shape)
    eps = 1e-6
    fd = (fn(x + eps * d) - fn(x - eps * d)) / (2 * eps)
    assert got @ d == pytest.approx(fd, rel=1e-6, abs=1e-9)


def assert_auto_right_or_loud(fn, x, rng, *messages):
    """``mode="auto"`` after the source engine refused: the tape's gradient matches finite
    differences, or the tape raises a TypeError with one of ``messages``."""
    try:
        got = pb.grad(fn)(x.copy())
    except TypeError as err:
        assert any(m in str(err) for m in messages), str(err)
    else:
        directional_fd_check(fn, got, x, rng)


def view_of_a_temporary(x):
    u = np.tanh(x * 2.0).T      # no other name holds tanh's result
    u += 1.0
    return np.sum(u * x)


def alias_then_write(x):
    u = x
    y = np.sin(x)
    u[0] = 0.0
    return np.sum(y * x)


def fresh_buffer(x):
    out = np.zeros(len(x))
    for i in range(1, len(x)):
        out[i] = 0.5 * (x[i] + x[i - 1])
    return np.sum(out ** 2)


def a_copy_of_a_slice(x):
    head = x[:2].copy()
    head[0] = 3.0
    return np.sum(head * x[:2])


def views_only_read(x):
    u = x.reshape(-1)[1:]
    for row in np.stack([x, x]):
        u = u + row[1:]
    return np.sum(u ** 2)


def checks_and_prints(x):
    y = np.sin(x)
    np.testing.assert_array_less(-2.0, y)
    print(end="")
    return np.sum(y ** 2)


def plain_values_in_a_list(x):
    steps = []
    for i in range(3):
        steps.append(i * 2)
    return np.sum(x ** 2) * len(steps)


def swap_rows(x):
    X = np.stack([x, 2.0 * x])
    r = X[0].copy()
    X[0] = X[1]           # copies a row's values: X is no view for it
    X[1] = r
    return np.sum(X[0] * np.arange(len(x))) + np.sum(X[1] ** 2)


CASES = [view_of_a_temporary, alias_then_write, fresh_buffer, a_copy_of_a_slice,
         views_only_read, checks_and_prints, plain_values_in_a_list, swap_rows]


@pytest.mark.parametrize("fn", CASES, ids=lambda f: f.__name__)
def test_accepted_writes_give_the_gradient_of_finite_differences_and_the_tape(fn):
    rng = np.random.default_rng(4)
    x = rng.uniform(-1.0, 1.0, 5)
    got = pb.grad(fn, mode="source")(x.copy())
    directional_fd_check(fn, got, x, rng)
    if fn is view_of_a_temporary:  # the tape cannot tell a view of a temporary: it refuses
        with pytest.raises(TypeError, match="may be a view of another array"):
            pb.grad(fn, mode="tape")(x.copy())
    elif fn not in (checks_and_prints, swap_rows):  # plain-array reads / writes: no tape
        np.testing.assert_allclose(got, pb.grad(fn, mode="tape")(x.copy()), rtol=1e-10)


def writes_through_a_view(x):
    u = x[1:]
    u += 1.0
    return np.sum(x * x)


def writes_through_a_transposed_view(x):
    u = x.reshape(2, 2).T
    u += 1.0
    return np.sum(x * x)


def writes_through_a_row(x):
    m = np.zeros((2, len(x)))
    m[0] = x
    row = m[0]
    row *= np.cos(x)      # NumPy writes into m
    m[1] += np.sin(row)   # and reads it back through m (Python: t = m[1]; t += ...; m[1] = t)
    return np.sum(m * m) + np.sum(row)


@pytest.mark.parametrize("fn", [writes_through_a_view, writes_through_a_row],
                         ids=lambda f: f.__name__)
def test_the_tape_writes_an_in_place_operator_on_an_indexed_view_into_its_array(fn):
    """``u = x[1:]; u += 1`` writes into ``x`` in NumPy; pb.grad's tape records the write
    into the array the view was taken from (a new Tensor for ``u`` alone would give the
    gradient of another function: 2x instead of 2(x + [0, 1, 1]))."""
    rng = np.random.default_rng(5)
    x = rng.uniform(-1.0, 1.0, 4)
    got = pb.grad(fn, mode="tape")(x.copy())
    directional_fd_check(fn, got, x, rng)
    np.testing.assert_allclose(pb.grad(fn)(x.copy()), got, rtol=1e-10)  # auto: either engine


def test_the_tape_refuses_an_in_place_operator_on_other_views_rather_than_rebind_it():
    with pytest.raises(TypeError, match=r"`\+=` on a Tensor that may be a view"):
        pb.grad(writes_through_a_transposed_view, mode="tape")(np.ones(4))
    with pytest.raises(TypeError):
        pb.grad(writes_through_a_transposed_view)(np.ones(4))  # auto: refused by both engines


def test_a_tape_used_directly_rebinds_as_tensorflow_does():
    x = pb.Variable(np.array([1.0, 2.0, 3.0]))
    with pb.GradientTape() as tape:
        u = x[1:]
        u += 1.0
        y = np.sum(u * u)
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [0.0, 6.0, 8.0])
    np.testing.assert_allclose(x.numpy(), [1.0, 2.0, 3.0])


def test_the_refusal_says_what_was_written_where_and_what_to_do():
    from corpus_unsupported import write_into_a_view
    with pytest.raises(pb.TransformError) as info:
        pb.grad(write_into_a_view, mode="source")(np.ones(3), np.ones(3))
    message = str(info.value)
    assert "'head'" in message and "view of another array" in message
    assert "line" in message and ".copy()" in message and "mode='tape'" in message


def two_names_one_array(x):
    a = np.sin(x)
    b = a
    a *= 2.0              # NumPy doubles b too
    return np.sum(b * x)


def test_an_array_with_two_names_written_in_place_is_refused_then_taped():
    """The source engine follows names, so it refuses; pb.grad's tape writes into the Tensor
    every name holds, as NumPy does (a GradientTape used directly rebinds, as TensorFlow)."""
    x = np.random.default_rng(5).uniform(-1.0, 1.0, 4)
    want = 2.0 * (np.sin(x) + x * np.cos(x))
    with pytest.raises(pb.TransformError) as info:
        pb.grad(two_names_one_array, mode="source")(x.copy())
    assert info.value.lineno == two_names_one_array.__code__.co_firstlineno + 3
    assert "a and b hold the same array" in str(info.value)
    np.testing.assert_allclose(pb.grad(two_names_one_array, mode="tape")(x.copy()), want,
                               rtol=1e-13)
    df = pb.grad(two_names_one_array)
    np.testing.assert_allclose(df(x.copy()), want, rtol=1e-13)
    assert df.mode == "tape"
    d = np.random.default_rng(6).standard_normal(4)
    fd = (two_names_one_array(x + 1e-6 * d) - two_names_one_array(x - 1e-6 * d)) / 2e-6
    assert want @ d == pytest.approx(fd, rel=1e-6)


def scalar_accumulator(x, s0):
    s = s0
    s += 1.0              # a float: immutable, s0 keeps its value
    return np.sum(x * s) + s0


def test_a_float_with_two_names_is_still_followed():
    df = pb.grad(scalar_accumulator, wrt=(0, 1), mode="source")
    gx, gs = df(np.ones(3), 2.0)
    np.testing.assert_allclose(gx, [3.0, 3.0, 3.0])
    assert gs == pytest.approx(4.0)
    np.testing.assert_allclose(pb.grad(scalar_accumulator, wrt=(0, 1), mode="tape")(
        np.ones(3), 2.0)[1], 4.0)


def loop_of_copies(x, w):
    v = np.sin(x)
    for i in range(0):
        v = v
    return np.sum(v * w)


def test_a_loop_the_passes_leave_empty_is_dropped_and_the_code_compiles():
    df = pb.grad(loop_of_copies, wrt=(0, 1), mode="source")
    gx, gw = df(np.array([0.1, 0.2]), 2.0)
    np.testing.assert_allclose(gx, 2.0 * np.cos([0.1, 0.2]))
    assert gw == pytest.approx(np.sum(np.sin([0.1, 0.2])))
    code = [line.strip() for line in df.source.splitlines() if not line.strip().startswith("#")]
    assert not any(line.startswith("for ") for line in code)


def alias_made_in_a_loop(x):
    a = np.sin(x)
    b = 0.5 * x
    for i in range(2):
        a = b
    a *= 3.0              # writes into b's array too
    return np.sum(a * b)


def test_an_alias_made_in_a_loop_counts_for_a_later_write():
    x = np.array([0.3, -0.4, 1.1])
    with pytest.raises(pb.TransformError, match="hold the same array"):
        pb.grad(alias_made_in_a_loop, mode="source")(x)
    # a = b = 1.5 x after the write: the loss is 2.25 x**2
    np.testing.assert_allclose(pb.grad(alias_made_in_a_loop)(x), 4.5 * x, rtol=1e-13)


def write_after_an_alias_made_in_a_loop(x):
    a = np.sin(x)
    b = 0.5 * x
    for i in range(2):
        a = b
    a[0] = 3.0            # NumPy writes into b's array too
    return np.sum(a * b)


def test_a_write_into_an_array_a_loop_gave_two_names_is_refused():
    with pytest.raises(pb.TransformError, match="'a' .* a and b may hold the same array"):
        pb.grad(write_after_an_alias_made_in_a_loop, mode="source")(np.ones(3))


def test_a_write_into_an_array_two_names_hold_in_straight_code_is_followed():
    def f(x):
        a = 0.5 * x
        b = a
        a[2] = a[0] * a[1]
        return np.sum(b * x)
    x = np.array([0.3, -0.7, 1.2])
    got = pb.grad(f, mode="source")(x.copy())
    d = np.array([0.2, 0.1, -0.4])
    fd = (f(x + 1e-6 * d) - f(x - 1e-6 * d)) / 2e-6
    assert got @ d == pytest.approx(fd, rel=1e-6)


# --- functions of yours that write into what they are given --------------------------------

def _zero_first(a):
    a[0] = 0.0
    return a * 1.0


def calls_a_helper_that_writes(x):
    a = np.sin(x)
    b = a * x
    c = _zero_first(a)          # NumPy: a changes in the caller too
    return np.sum(a * b) + np.sum(c)


def _double(a):
    a *= 2.0
    return a


def calls_a_helper_that_doubles(x):
    a = np.sin(x)
    c = _double(a)
    return np.sum(a * x) + np.sum(c)


def _fill(a):
    a.fill(1.0)


def calls_a_helper_for_its_effect(x):
    a = np.sin(x) * 1.0
    b = a * x
    _fill(a)
    return np.sum(a * b)


def _plus_one(a):
    b = a * 2.0
    b += 1.0
    return b


def calls_a_helper_that_writes_its_own_array(x):
    return np.sum(_plus_one(np.sin(x)) * x)


@pytest.mark.parametrize("fn, says", [
    (calls_a_helper_that_writes, "writes into its argument 'a'"),
    (calls_a_helper_that_doubles, "the caller's argument"),
    (calls_a_helper_for_its_effect, "_fill(...)"),
], ids=lambda v: getattr(v, "__name__", ""))
def test_a_helper_writing_into_the_callers_array_is_refused(fn, says):
    with pytest.raises(pb.TransformError) as info:
        pb.grad(fn, mode="source")(np.array([0.3, -0.2, 0.9]))
    assert says in str(info.value)


def test_a_helper_writing_into_an_array_of_its_own_is_followed():
    x = np.array([0.3, -0.2, 0.9])
    got = pb.grad(calls_a_helper_that_writes_its_own_array, mode="source")(x)
    want = 2.0 * np.sin(x) + 1.0 + 2.0 * x * np.cos(x)
    np.testing.assert_allclose(got, want, rtol=1e-13)


def nested_function_for_its_effect(x):
    a = np.sin(x)

    def bump():
        a[0] = 1.0
    b = a * x
    bump()
    return np.sum(a * b)


def test_a_nested_function_called_for_its_effect_is_refused_at_its_line():
    with pytest.raises(pb.TransformError, match=r"bump\(\) called for its effect") as info:
        pb.grad(nested_function_for_its_effect, mode="source")(np.ones(3))
    assert info.value.lineno == nested_function_for_its_effect.__code__.co_firstlineno + 6
    assert info.value.text.strip() == "bump()"


def write_into_the_base_of_a_view(x):
    buf = np.zeros(3)
    u = buf[1:]
    buf[:] = x[:3]        # NumPy: u sees the new values
    return np.sum(u * x[1:3])


def augmented_base_of_a_view(x):
    a = np.sin(x)
    u = a.reshape(-1)
    a += 1.0              # NumPy: u sees it
    return np.sum(u * x)


@pytest.mark.parametrize("fn", [write_into_the_base_of_a_view, augmented_base_of_a_view],
                         ids=lambda f: f.__name__)
def test_a_write_into_an_array_with_a_view_is_refused(fn):
    with pytest.raises(pb.TransformError, match="may be a view of it"):
        pb.grad(fn, mode="source")(np.array([0.3, -0.2, 0.9, 0.4]))


def view_of_an_argument_then_write(x):
    u = x[1:]
    x[1] = 5.0            # NumPy: u[0] is 5.0 now, a constant
    return np.sum(u * u)


def row_of_a_local_then_write(x):
    X = np.stack([x, 2.0 * x])
    row = X[0]            # a row: a view when X has two axes
    X[0, 1] = 5.0
    return np.sum(row * x)


FIRST_TWO = slice(0, 2)


def slice_held_by_a_global_then_write(x):
    y = x * 2.0
    v = y[FIRST_TWO]      # a slice, though spelled as a name: a view of y
    y *= 3.0
    return np.sum(v * x[:2])


def index_held_by_an_argument_then_write(x, index=slice(1, 3)):
    y = x * 2.0
    v = y[index]          # the argument holds a slice, not an int
    y[1] = 0.0
    return np.sum(v * x[1:3])


@pytest.mark.parametrize("fn", [view_of_an_argument_then_write, row_of_a_local_then_write,
                                slice_held_by_a_global_then_write,
                                index_held_by_an_argument_then_write],
                         ids=lambda f: f.__name__)
def test_a_write_is_refused_while_a_view_of_its_array_is_read_after_it(fn):
    """The view shows the write; the generated code would give the view's old values their
    gradient.  Refused at the write (auto: the tape, which refuses to read the stale view or to
    write into a plain Tensor; never a wrong number)."""
    x = np.array([0.3, -0.2, 0.9, 0.4])
    with pytest.raises(pb.TransformError, match="may be a view of it .* is read after the write"):
        pb.grad(fn, mode="source")(x.copy())
    with pytest.raises(TypeError):
        pb.grad(fn)(x.copy())


def element_of_a_vector_then_write(x):
    buf = x * 1.0
    y = buf[1]            # one element of a 1-D array: a copy, whatever is written later
    buf[1] = 5.0
    return y * np.sum(buf * x)


SECOND = 1


def element_at_an_int_global_then_write(x):
    buf = x * 1.0
    i = SECOND + 1
    y = buf[i]            # an int, through a global and arithmetic: still one element
    buf[2] = 5.0
    return y * np.sum(buf * x)


def view_read_only_before_the_write(x):
    X = np.zeros((2, len(x)))
    X[0] = x
    X[1] = 2.0 * x
    row = X[0]
    s = np.sum(np.sin(row) * x)   # its backward reads row as it was: X[0, 1] is restored
    X[0, 1] = 5.0
    return s + np.sum(X * X)


def row_scaled_in_place(x):
    m = np.zeros((2, len(x)))
    m[0] = x
    m[0] *= np.cos(x)     # reads the row (a view), then writes it: t = m[0]; m[0] = t * c
    return np.sum(m * m)


def read_between_two_writes(x):
    X = np.zeros((2, len(x)))
    X[0] = x
    s = np.sum(np.sin(X))     # read after the first write, before the second
    X[0] = 3.0 * x
    return s + np.sum(X * X)


def buffer_of_literal_size(x):
    X = np.zeros(4)       # an array, though its size is a number
    X[0] = x[0]
    X[2] = x[1] * x[2]
    return np.sum(np.sin(X))


def loop_overwrites_what_it_read(x):
    X = np.zeros(3)
    s = 0.0
    for t in range(len(x)):
        X[0] = x[t] * 2.0     # the next iteration overwrites what this one's sin read
        s = s + np.sum(np.sin(X))
    return s


def loop_overwrites_a_row_it_read(x):
    X = np.zeros((2, len(x)))
    s = 0.0
    for t in range(3):
        X[0] = x * (t + 1.0)
        s = s + np.sum(np.sin(X[0]) * X[1])
        X[1] = np.cos(X[0])
    return s


@pytest.mark.parametrize("fn", [element_of_a_vector_then_write,
                                element_at_an_int_global_then_write,
                                view_read_only_before_the_write,
                                row_scaled_in_place, read_between_two_writes,
                                buffer_of_literal_size, loop_overwrites_what_it_read,
                                loop_overwrites_a_row_it_read], ids=lambda f: f.__name__)
def test_writes_after_reads_are_undone_for_the_reads_backward(fn):
    """Each of these gave a wrong gradient (or a crash) before: a write after the last read
    of a view (or after the first write) was not undone for the backward pass of the read."""
    rng = np.random.default_rng(11)
    x = rng.uniform(-1.0, 1.0, 4)
    df = pb.grad(fn, mode="source")
    got = df(x.copy())
    directional_fd_check(fn, got, x, rng)
    if fn not in (element_of_a_vector_then_write, element_at_an_int_global_then_write):
        # y = buf[1] converts on the tape
        np.testing.assert_allclose(pb.grad(fn, mode="tape")(x.copy()), got, rtol=1e-10)


def _first_row(a):
    return a[0]


def helper_view_read_after_write(x):
    m = np.zeros((2, len(x)))
    m[0] = x
    m[1] = 2.0 * x
    r = _first_row(m)     # your function may return a view of what it is given
    m[0, 1] = 5.0
    return np.sum(r * x)


def write_into_a_helper_view(x):
    m = np.zeros((2, len(x)))
    m[0] = x
    r = _first_row(m)
    r *= 2.0              # writes into m
    return np.sum(m * x)


def lambda_view_read_after_write(x):
    m = np.zeros((2, len(x)))
    m[0] = x
    r = (lambda a: a[0])(m)
    m[0, 1] = 5.0
    return np.sum(r * x)


@pytest.mark.parametrize("fn", [helper_view_read_after_write, write_into_a_helper_view,
                                lambda_view_read_after_write], ids=lambda f: f.__name__)
def test_what_your_functions_return_may_be_a_view_of_their_arguments(fn):
    """These gave wrong gradients: the fence took a call of your function for a new array."""
    x = np.array([0.3, -0.2, 0.9])
    with pytest.raises(pb.TransformError, match="may be a view of"):
        pb.grad(fn, mode="source")(x.copy())
    assert_auto_right_or_loud(fn, x, np.random.default_rng(2), "view", "immutable")


def zero_where_positive(x):
    y = x.copy()
    y[y > 0] = 0.0        # the mask is computed before the write, once
    return np.sum(y * x)


def swap_two_elements(x):
    y = x.copy()
    y[1], y[2] = y[2], y[1]     # 1-D: the right side holds numbers
    return np.sum(y * np.arange(4.0))


def read_and_write_in_one_tuple(x):
    y = x * 1.0
    a, y[0] = y[1] * 2.0, y[2]
    y[2], y[3] = np.sin(y[3]), np.cos(y[2])
    return np.sum(y * a)


@pytest.mark.parametrize("fn", [zero_where_positive, swap_two_elements,
                                read_and_write_in_one_tuple], ids=lambda f: f.__name__)
def test_masked_writes_and_writes_through_tuple_targets_are_followed(fn):
    """The mask ``y > 0`` was evaluated again in the backward pass, after the write had
    changed ``y``: a wrong gradient.  Tuple targets with ``y[i]`` in them crashed."""
    x = np.array([0.4, -0.3, 0.8, 0.6])
    got = pb.grad(fn, mode="source")(x.copy())
    directional_fd_check(fn, got, x, np.random.default_rng(6))
    df = pb.grad(fn)
    np.testing.assert_allclose(df(x.copy()), got, rtol=1e-12)
    assert df.mode == "source", df.fallback_reason


def swap_rows_through_a_tuple(x):
    X = np.stack([x, x ** 2])
    X[0], X[1] = X[1], X[0]   # rows are views: both rows end as x ** 2 in NumPy
    return np.sum(X[0] * np.arange(4.0)) + np.sum(X[1] ** 3)


def test_a_row_swap_through_a_tuple_is_refused():
    with pytest.raises(pb.TransformError, match=r"the right side may hold views of X"):
        pb.grad(swap_rows_through_a_tuple, mode="source")(np.array([0.4, -0.3, 0.8, 0.6]))


def triangle_filled_upward(x):
    M = np.zeros((len(x), len(x)))
    for i in range(len(x)):
        M[i, :i + 1] = x[:i + 1]     # the written part grows with i
    return np.sum(np.tanh(M) @ x)


def triangle_filled_downward(x):
    M = np.zeros((len(x), len(x)))
    for i in range(len(x) - 1, -1, -1):
        M[i, :i + 1] = x[:i + 1]     # the last value written has one element
    return np.sum(np.tanh(M) @ x)


@pytest.mark.parametrize("fn", [triangle_filled_upward, triangle_filled_downward],
                         ids=lambda f: f.__name__)
def test_a_loop_writing_parts_of_changing_shape_keeps_each_values_shape(fn):
    """The value's shape was read after the loop, from its last iteration: upward it crashed,
    downward the gradient of every row was summed into one number, a wrong gradient."""
    x = np.array([0.4, -0.3, 0.8, 0.6])
    got = pb.grad(fn, mode="source")(x.copy())
    directional_fd_check(fn, got, x, np.random.default_rng(8))
    np.testing.assert_allclose(pb.grad(fn, mode="tape")(x.copy()), got, rtol=1e-12)


# --- the tape (pb.grad(mode="tape"), and auto once the source engine refuses) -----------------

def written_after_a_view_of_a_temporary(x):
    a = np.sin(x)
    u = a[1:]
    a += 1.0              # NumPy: u sees it
    return np.sum(u * x[1:])


def written_beside_then_over_a_view(x):
    m = np.zeros((2, len(x)))
    m[0] = x
    row = m[0]
    m[1, 1] = 5.0         # beside row: row still views m, whose array the tape replaced
    m[0] = np.tanh(row)   # over row: NumPy shows it through row
    return np.sum(row * x)


@pytest.mark.parametrize("fn", [write_into_the_base_of_a_view, augmented_base_of_a_view,
                                written_after_a_view_of_a_temporary,
                                written_beside_then_over_a_view], ids=lambda f: f.__name__)
@pytest.mark.parametrize("mode", ["tape", "auto"])
def test_the_tape_refuses_to_read_a_view_whose_array_was_written(fn, mode):
    """The tape gives a written array a new value; a view taken before would keep the old
    one and the gradient would be that of another function.  Reading it raises instead."""
    with pytest.raises(TypeError, match="that array was written after the view was taken"):
        pb.grad(fn, mode=mode)(np.array([0.3, -0.2, 0.9, 0.4]))


def write_beside_a_view(x):
    buf = np.zeros(4)
    u = buf[1:]
    buf[0] = x[0]         # u does not share the written element
    return np.sum(u * x[1:]) + buf[0] ** 2


def view_not_read_after_the_write(x):
    buf = np.zeros(4)
    u = buf[1:]
    s = np.sum(u)
    buf[:] = x            # u changes, but nothing reads it again
    return s + np.sum(buf * x)


def rows_of_a_state_buffer(x):
    H = np.zeros((4, len(x)))
    H[0] = x
    for t in range(3):
        h = H[t]          # a row view; the write below is into the next row
        H[t + 1] = np.tanh(0.5 * h + 0.1)
    return np.sum(H ** 2)


def a_copy_is_not_a_view(x):
    c = x.copy()
    u = x[1:]
    c[1] = 3.0            # writes c only: u, a view of x, keeps its values
    f = c.flatten()
    f[0] = 2.0            # flatten copies too
    return np.sum(u * c[1:]) + np.sum(f * x)


def view_kept_across_writes_beside_it(x):
    m = np.zeros((2, len(x)))
    m[0] = x
    m[1] = 2.0 * x
    row = m[0]
    m[1, 1] = 5.0
    m[1] = np.sin(m[1])
    return np.sum(row * m[1])


@pytest.mark.parametrize("fn", [write_beside_a_view, view_not_read_after_the_write,
                                rows_of_a_state_buffer, a_copy_is_not_a_view,
                                view_kept_across_writes_beside_it],
                         ids=lambda f: f.__name__)
def test_the_tape_follows_writes_no_view_reads_back(fn):
    rng = np.random.default_rng(7)
    x = rng.uniform(-1.0, 1.0, 4)
    got = pb.grad(fn, mode="tape")(x.copy())
    directional_fd_check(fn, got, x, rng)
    np.testing.assert_allclose(pb.grad(fn)(x.copy()), got, rtol=1e-10)  # auto: either engine


def plain_array_of_a_buffer_then_write(x):
    buf = np.zeros(len(x))
    a = np.asarray(buf)       # a NumPy view of buf: NumPy shows it the write below
    buf[:] = x
    return np.sum(a * x)


def plain_array_used_before_the_write(x):
    buf = np.zeros(len(x))
    n = np.asarray(buf).shape[0]   # the view is gone before the write
    buf[:] = x
    return np.sum(buf * x) * n


@pytest.mark.parametrize("mode", ["tape", "auto"])
def test_a_write_a_plain_numpy_view_would_show_is_refused_on_the_tape(mode):
    """The plain array kept the buffer's old zeros: the gradient was 0 instead of 2x."""
    with pytest.raises(TypeError, match="a plain NumPy array taken from it"):
        pb.grad(plain_array_of_a_buffer_then_write, mode=mode)(np.array([0.1, 0.2, 0.3]))


def test_a_plain_view_no_longer_held_does_not_stop_a_write():
    x = np.array([0.1, 0.2, 0.3])
    got = pb.grad(plain_array_used_before_the_write, mode="tape")(x.copy())
    np.testing.assert_allclose(got, 6.0 * x, rtol=1e-12)


def positional_out(x):
    y = x * 1.0
    np.add(y, 1.0, y)         # the third argument of a two-input ufunc is out
    return np.sum(y * x)


def explicit_setitem(x):
    y = x * 1.0
    y.__setitem__(0, 5.0)
    return np.sum(y * x)


def operator_iadd(x):
    y = x * 1.0
    operator.iadd(y, x)
    return np.sum(y * x)


@pytest.mark.parametrize("fn, says", [(positional_out, "add's output argument"),
                                      (explicit_setitem, r"y.__setitem__\(...\)"),
                                      (operator_iadd, r"operator.iadd\(...\)")],
                         ids=lambda v: getattr(v, "__name__", ""))
def test_writes_spelled_another_way_are_refused(fn, says):
    """A ufunc's output passed by position and an explicit __setitem__ gave wrong gradients:
    the fence looked for out= and for y[i] = v only."""
    x = np.array([0.4, -0.3, 0.8, 0.6])
    with pytest.raises(pb.TransformError, match=says):
        pb.grad(fn, mode="source")(x.copy())
    assert_auto_right_or_loud(fn, x, np.random.default_rng(9), "out=", "immutable")


def _squashed_product(M, v):
    return np.tanh(M @ v)


_W3 = np.array([[0.3, -0.2, 0.1], [0.5, 0.2, -0.4], [0.1, 0.3, 0.2]])


def writes_a_helpers_result_into_what_it_read(x):
    M = np.copy(_W3)
    M[1] = _squashed_product(M, x)   # the helper's pullback reads M as it was given it
    return np.sum(M * M)


def test_a_write_after_a_helper_read_the_array_is_undone_for_its_pullback():
    # the pullback saw M with row 1 already overwritten: a wrong gradient, silently
    rng = np.random.default_rng(5)
    x = rng.uniform(-1.0, 1.0, 3)
    got = pb.grad(writes_a_helpers_result_into_what_it_read, mode="source")(x.copy())
    directional_fd_check(writes_a_helpers_result_into_what_it_read, got, x, rng)
    np.testing.assert_allclose(
        got, pb.grad(writes_a_helpers_result_into_what_it_read, mode="tape")(x.copy()),
        rtol=1e-10)


def element_updated_in_place(x):
    a = np.sin(x)
    q = a[1]            # one element of a 1-D array: a NumPy scalar, a copy
    q += 0.5 * x[0]     # so this rebinds q and changes nothing in a
    a[0] = 2.0 * q
    return np.sum(a) + q


def test_an_element_of_a_vector_is_no_view_for_an_in_place_operator():
    # q += ... on it was refused as a write through a view
    rng = np.random.default_rng(8)
    x = rng.uniform(-1.0, 1.0, 3)
    got = pb.grad(element_updated_in_place, mode="source")(x.copy())
    directional_fd_check(element_updated_in_place, got, x, rng)


# --- functions that may return an argument itself, or a view of it ------------------------------

def _write_into_einsum(A):
    y = np.einsum('ij->ij', A)
    y[0, 0] = 3.0
    return np.sum(A * y)


def _write_into_matrix_power(A):
    y = np.linalg.matrix_power(A, 1)
    y[0, 0] = 3.0
    return np.sum(A * y)


def _write_under_an_einsum_view(A):
    y = np.einsum('ij->ji', A)
    A[0, 1] = 5.0
    return np.sum(y * y)


@pytest.mark.parametrize("f", [_write_into_einsum, _write_into_matrix_power,
                               _write_under_an_einsum_view], ids=lambda f: f.__name__)
def test_einsum_and_matrix_power_may_return_a_view(f):
    """np.einsum('ij->ij', A) is a view of A and np.linalg.matrix_power(A, 1) is A itself: a
    write through one changes the other, which the generated code did not see (a wrong
    gradient, silently: 3.0 where finite differences give 0.0)."""
    with pytest.raises(pb.TransformError, match="view"):
        pb.grad(f, mode="source")(np.arange(1.0, 10.0).reshape(3, 3))
