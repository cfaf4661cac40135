"""Findings of a bug hunt on the tape and the transforms built on it, each checked against central
finite differences (and the source engine where it applies): nested pb.grad, transforms that
ran user code without the tape's protections, lists of Tensors, unwatched Variables, and what
the errors say."""

import contextlib
import math

import numpy as np
import pytest

import pullback as pb

EPS = 1e-6


def central(fun, x, eps=EPS):
    """Central differences of ``fun`` (scalar or array valued) at float or array ``x``: shape
    ``fun(x).shape + x.shape``."""
    x = np.asarray(x, dtype=float)
    out = np.asarray(fun(x.copy()))
    result = np.zeros(out.shape + x.shape)
    for i in np.ndindex(x.shape):
        e = np.zeros(x.shape)
        e[i] = eps
        result[(...,) + i] = (np.asarray(fun(x + e)) - np.asarray(fun(x - e))) / (2 * eps)
    return result


# --- nested pb.grad ------------------------------------------------------------------------------

def cube(s):
    return s ** 3


def sum_cubes(x):
    return np.sum(x ** 3 * np.sin(x))


MODES = [("tape", "tape"), ("auto", "tape"), ("tape", "auto"), ("auto", "auto")]


@pytest.mark.parametrize("outer, inner", MODES)
def test_grad_of_grad_of_a_scalar_function(outer, inner):
    """pb.grad(pb.grad(f)) gave 0.0 (the inner gradient came back as a plain float, cut from
    the outer tape) or, in mode='auto', an AttributeError."""
    d2 = pb.grad(pb.grad(cube, mode=inner), mode=outer)
    got = d2(2.0)
    assert got == pytest.approx(12.0, rel=1e-12)
    assert got == pytest.approx(float(central(pb.grad(cube, mode="source"), 2.0)), rel=1e-7)
    assert d2.mode == "tape"
    if outer == "auto":
        assert "pb.grad" in d2.fallback_reason and "cube" in d2.fallback_reason


@pytest.mark.parametrize("mode", ["auto", "tape"])
def test_jacobian_of_a_gradient_is_the_hessian(mode):
    """pb.jacobian(pb.grad(f)) raised 'a gradient of shape (2,) for a scalar argument'."""
    x = np.array([1.0, 2.0, -0.5])
    got = pb.jacobian(pb.grad(sum_cubes, mode=mode), mode=mode)(x)
    np.testing.assert_allclose(got, central(pb.grad(sum_cubes, mode="source"), x),
                               rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(got, pb.hessian(sum_cubes)(x), rtol=1e-12)


def test_mixed_partial_through_nested_grads():
    """The inner gradient depends on an argument it does not differentiate."""
    def f(x, y):
        return np.sin(x) * y ** 3

    d_xy = pb.grad(pb.grad(f, wrt=0), wrt=1)
    expected = central(lambda y: pb.grad(f, wrt=0, mode="source")(0.7, float(y)), 1.3)
    assert d_xy(0.7, 1.3) == pytest.approx(float(expected), rel=1e-7)


def test_third_derivative_through_three_grads():
    d3 = pb.grad(pb.grad(pb.grad(lambda s: s ** 4 * np.cos(s))))
    d2 = pb.grad(pb.grad(lambda s: s ** 4 * np.cos(s)))
    assert d3(0.8) == pytest.approx(float(central(d2, 0.8)), rel=1e-6)


def test_value_and_grad_inside_grad():
    """The value of an inner value_and_grad stays differentiable too."""
    def f(s):
        value, slope = pb.value_and_grad(lambda t: np.exp(t) * t)(s)
        return value + slope

    assert pb.grad(f)(0.4) == pytest.approx(float(central(f, 0.4)), rel=1e-7)


def test_grad_called_inside_a_gradient_tape():
    x = pb.constant(0.9)
    with pb.GradientTape() as tape:
        tape.watch(x)
        slope = pb.grad(lambda s: np.sin(s) * s)(x)
    expected = central(pb.grad(lambda s: np.sin(s) * s, mode="source"), 0.9)
    assert float(tape.gradient(slope, x)) == pytest.approx(float(expected), rel=1e-7)


def test_an_inner_source_mode_gradient_under_a_tape_is_refused():
    """Generated code is first-order NumPy: the outer derivative would be lost, so it says so."""
    with pytest.raises(ValueError, match=r"mode='source'.*mode='auto'"):
        pb.grad(pb.grad(cube, mode="source"))(2.0)


def test_gradients_outside_any_tape_are_still_arrays():
    g = pb.grad(sum_cubes, mode="tape")(np.array([1.0, 2.0]))
    assert type(g) is np.ndarray


# --- transforms run user code with the tape's protections ------------------------------------

def fills_a_buffer(x):
    buf = np.zeros(2)
    buf[0] = x[0] ** 2
    buf[1] = x[1] ** 3
    return np.sum(buf)


def packs_with_np_array(x):
    return np.sum(np.array([x[0] ** 2, x[1] ** 3]))


def goes_through_a_python_float(x):
    return math.sin(x[0]) * x[1]


X2 = np.array([1.0, 2.0])


def test_hessian_of_a_function_filling_a_buffer():
    """pb.hessian gave zeros: it ran f without the recording NumPy module."""
    got = pb.hessian(fills_a_buffer)(X2)
    np.testing.assert_allclose(got, central(pb.grad(fills_a_buffer, mode="source"), X2),
                               rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(got, [[2.0, 0.0], [0.0, 12.0]], rtol=1e-12)


def test_hvp_of_a_function_filling_a_buffer():
    v = np.array([1.0, -0.5])
    got = pb.hvp(fills_a_buffer)(X2, v)
    np.testing.assert_allclose(got, central(pb.grad(fills_a_buffer, mode="source"), X2) @ v,
                               rtol=1e-6, atol=1e-8)


def test_jvp_of_a_function_filling_a_buffer():
    t = np.array([1.0, 1.0])
    value, tangent = pb.jvp(fills_a_buffer, (X2,), (t,))
    assert float(value) == pytest.approx(9.0)
    expected = (fills_a_buffer(X2 + EPS * t) - fills_a_buffer(X2 - EPS * t)) / (2 * EPS)
    assert float(tangent) == pytest.approx(expected, rel=1e-7)


def test_jvp_of_a_function_writing_into_its_argument():
    def f(x):
        x[0] = x[0] * x[1]
        return x * 2.0

    t = np.array([0.5, -1.0])
    _, tangent = pb.jvp(f, (X2.copy(),), (t,))
    expected = (f(X2 + EPS * t) - f(X2 - EPS * t)) / (2 * EPS)
    np.testing.assert_allclose(tangent, expected, rtol=1e-7)


@pytest.mark.parametrize("transform", [
    lambda f: pb.hessian(f)(X2),
    lambda f: pb.hvp(f)(X2, np.ones(2)),
    lambda f: pb.jvp(f, (X2,), (np.ones(2),)),
    lambda f: pb.grad(f, mode="tape")(X2),
], ids=["hessian", "hvp", "jvp", "grad"])
def test_a_lost_gradient_raises_in_every_transform(transform):
    """math.sin turns a Tensor into a Python float, without a gradient: zeros before, for the
    transforms that ran f on a tape without strict mode."""
    with pytest.raises(TypeError, match="silently drop"):
        transform(goes_through_a_python_float)


def test_np_array_of_a_list_of_tensors_is_packed_with_its_gradient():
    # pb.grad's tape (and every transform on it) packs the list as np.stack would
    np.testing.assert_allclose(pb.grad(packs_with_np_array, mode="tape")(X2), [2.0, 12.0])
    np.testing.assert_allclose(pb.hessian(packs_with_np_array)(X2), [[2.0, 0.0], [0.0, 12.0]])


# --- lists of Tensors ------------------------------------------------------------------------

def test_tf_names_pack_lists_of_tensors():
    """pb.reduce_sum([a * a, b]) and pb.convert_to_tensor([...]) gave None gradients."""
    a, b = pb.Variable(2.0), pb.Variable(3.0)
    with pb.GradientTape(persistent=True) as tape:
        targets = {
            "reduce_sum": pb.reduce_sum([a * a, b]),
            "reduce_prod": pb.reduce_prod([a * a, b]),
            "reduce_mean": pb.math.reduce_mean([[a * a], [b]]),
            "convert_to_tensor": np.sum(pb.convert_to_tensor([a * a, b]) ** 2),
            "nested": np.sum(pb.convert_to_tensor([[a, 1.0], (b, a * b)]) ** 2),
            "reshape": np.sum(pb.reshape([a * a, b], (2, 1)) * [[1.0], [5.0]]),
            "stack": np.sum(pb.stack([[a, b], [b, a]]) ** 3),
            "matmul": np.sum(pb.matmul([[a, b]], [[b], [a]])),
        }
    plain = {
        "reduce_sum": lambda a, b: a * a + b,
        "reduce_prod": lambda a, b: a * a * b,
        "reduce_mean": lambda a, b: (a * a + b) / 2,
        "convert_to_tensor": lambda a, b: a ** 4 + b ** 2,
        "nested": lambda a, b: a ** 2 + 1.0 + b ** 2 + (a * b) ** 2,
        "reshape": lambda a, b: a * a + 5 * b,
        "stack": lambda a, b: 2 * a ** 3 + 2 * b ** 3,
        "matmul": lambda a, b: 2 * a * b,
    }
    for name, target in targets.items():
        ga, gb = tape.gradient(target, [a, b])
        assert float(target) == pytest.approx(plain[name](2.0, 3.0)), name
        assert float(ga) == pytest.approx(float(central(lambda s: plain[name](s, 3.0), 2.0)),
                                          rel=1e-7), name
        assert float(gb) == pytest.approx(float(central(lambda s: plain[name](2.0, s), 3.0)),
                                          rel=1e-7), name


def test_a_packed_list_keeps_its_dtype_and_plain_lists_stay_constants():
    t = pb.convert_to_tensor([pb.constant(1.0), 2.0], dtype="float32")
    assert t.dtype == np.float32 and t.numpy().tolist() == [1.0, 2.0]
    assert pb.convert_to_tensor([[1, 2], [3, 4]]).dtype.kind == "i"


def test_tf_names_pack_lists_under_pb_grad():
    def f(x):
        return pb.reduce_sum([x[0] ** 2, x[1] * x[0]]) + np.sum(pb.zeros_like(x) + x)

    g = pb.grad(f, mode="tape")(X2)
    np.testing.assert_allclose(g, central(f, X2), rtol=1e-7)


def test_fill_with_a_tensor_keeps_its_gradient():
    a = pb.Variable(1.5)
    with pb.GradientTape() as tape:
        y = pb.reduce_sum(pb.fill((2, 3), a * a))
    assert float(y) == pytest.approx(6 * 1.5 ** 2)
    assert float(tape.gradient(y, a)) == pytest.approx(float(central(lambda s: 6 * s * s, 1.5)),
                                                     rel=1e-7)


def test_pb_constant_of_a_differentiated_value_raises_under_pb_grad():
    """pb.constant makes a constant; inside pb.grad that would drop the gradient silently."""
    with pytest.raises(TypeError, match="pb.constant"):
        pb.grad(lambda x: np.sum(pb.constant([x[0], 1.0]) * x), mode="tape")(X2)


# --- unwatched Variables ----------------------------------------------------------------------

def test_an_unwatched_variable_gets_none_as_in_tensorflow():
    """TensorFlow differentiates a Variable through its (recorded) read: a Variable the tape
    does not watch gets None even when a watched value meets it in one operation."""
    w, n = pb.Variable(2.0), pb.Variable(3.0, trainable=False)
    with pb.GradientTape(persistent=True) as tape:
        y = w * n
    gw, gn = tape.gradient(y, [w, n])
    assert float(gw) == pytest.approx(float(central(lambda s: s * 3.0, 2.0)))
    assert gn is None
    assert tape.jacobian(y, n) is None
    assert float(tape.gradient(y, n, unconnected_gradients="zero")) == 0.0

    a, b = pb.Variable(2.0), pb.Variable(3.0)
    with pb.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(a)
        y = a * b
    ga, gb = tape.gradient(y, [a, b])
    assert float(ga) == pytest.approx(float(central(lambda s: s * 3.0, 2.0)))
    assert gb is None


def test_an_unwatched_variable_that_is_the_target_gets_ones():
    v = pb.Variable(2.0, trainable=False)
    with pb.GradientTape(persistent=True) as tape:
        pass
    assert float(tape.gradient(v, v)) == 1.0
    assert float(tape.jacobian(v, v)) == 1.0


def test_batch_jacobian_of_an_unwatched_variable_is_none():
    x = pb.constant([[1.0, 2.0], [3.0, 4.0]])
    v = pb.Variable([[1.0, 1.0], [2.0, 2.0]], trainable=False)
    with pb.GradientTape() as tape:
        tape.watch(x)
        y = x * v
    assert tape.batch_jacobian(y, v) is None


def test_an_unwatched_constant_met_by_a_watched_value_gets_its_gradient_as_in_tensorflow():
    """TensorFlow computes the gradient of every input of a recorded operation that is asked
    for as a source, watched or not (its tape's ``unneeded_gradients`` skips only inputs that
    are neither watched nor sources); a constant has no read in between, so it gets one."""
    x, c = pb.constant(2.0), pb.constant(3.0)
    with pb.GradientTape() as tape:
        tape.watch(x)
        y = x * c
    assert float(tape.gradient(y, c)) == pytest.approx(float(central(lambda s: 2.0 * s, 3.0)))


# --- what the errors say ---------------------------------------------------------------------

def zeroes_the_diagonal(x):
    m = x.reshape(5, 1) * x.reshape(1, 5)
    m[np.diag_indices(5)] = 0.0
    return np.sum(m * x)


def zeroes_the_diagonal_in_a_with(x):
    with contextlib.nullcontext():   # the source engine refuses this: auto takes the tape
        m = x.reshape(5, 1) * x.reshape(1, 5)
    m[np.diag_indices(5)] = 0.0
    return np.sum(m * x)


def zeroes_a_copy_of_the_diagonal(x):
    m = (x.reshape(5, 1) * x.reshape(1, 5)).copy()
    m[np.diag_indices(5)] = 0.0
    return np.sum(m * x)


X5 = np.array([0.3, -1.2, 0.8, 2.0, 0.5])


def test_a_write_into_a_computed_array_says_how_to_fix_it_under_pb_grad():
    with pytest.raises(TypeError) as info:
        pb.grad(zeroes_the_diagonal, mode="tape")(X5)
    message = str(info.value)
    assert "np.zeros" in message and ".copy()" in message and "mode='source'" in message
    # the fix the message gives works
    g = pb.grad(zeroes_a_copy_of_the_diagonal, mode="tape")(X5)
    np.testing.assert_allclose(g, central(zeroes_a_copy_of_the_diagonal, X5), rtol=1e-7)
    np.testing.assert_allclose(g, pb.grad(zeroes_the_diagonal, mode="source")(X5), rtol=1e-12)


def test_a_write_into_a_computed_array_outside_pb_grad_keeps_the_tape_message():
    t = pb.constant([1.0, 2.0]) * 2.0
    with pytest.raises(TypeError, match=r"pb\.Variable and use \.assign\(\)"):
        t[0] = 5.0


def test_auto_says_why_it_took_the_tape_when_the_tape_then_fails():
    df = pb.grad(zeroes_the_diagonal_in_a_with)
    with pytest.raises(TypeError) as info:
        df(X5)
    message = str(info.value)
    assert "m = m.copy()" in message
    assert "`with` statement" in message and "source engine" in message, message


def _fills_a_buffer(x):
    buf = np.zeros(2)
    buf[0] = x[0] ** 2
    buf[1] = x[1] ** 3
    return np.sum(buf)


def test_check_grads_second_order_follows_a_filled_buffer():
    # its second-order check runs f on a tape: the buffer must record its writes there too,
    # or check_grads reports a mismatch that is not there
    assert pb.check_grads(_fills_a_buffer, (np.array([1.0, 2.0]),), order=2)


def test_a_nested_list_of_tensors_is_refused_not_a_recursion_error():
    t = pb.constant(np.ones((2, 2)))
    assert np.block([[t, t]]).shape == (2, 4)   # nothing recorded: plain values
    with pb.GradientTape() as tape:
        tape.watch(t)
        with pytest.raises(TypeError, match="nested two levels deep"):
            np.block([[t, t]])


def test_jvp_passes_integer_primals_as_they_are():
    def picked(x, i, n):
        return np.sum(x[i] ** n)

    x, i = np.array([1.0, 2.0, 3.0]), np.array([0, 2])
    value, tangent = pb.jvp(picked, (x, i, 2), (np.ones(3), np.zeros(2, int), 0))
    assert value == 10.0 and tangent == 8.0   # d/dt of (1 + t)^2 + (3 + t)^2 at t = 0


# --- user primitives in the transforms ----------------------------------------------------------

@pb.primitive
def softcube(x):
    """A user primitive with a VJP only (no JVP): x**3 / 3 + x."""
    return x ** 3 / 3.0 + x


pb.defvjp(softcube, lambda ans, x: lambda g: g * (x ** 2 + 1.0))


def uses_softcube(x):
    return np.sum(softcube(x) * np.sin(x))


@pytest.mark.parametrize("mode", ["tape", "auto"])
def test_jvp_hvp_hessian_of_a_user_primitive(mode):
    """pb.jvp, pb.hvp and pb.hessian raised NoGradientRuleError for a pb.primitive with a VJP
    rule: running f on the tape rebound the primitive's own function, which has no rule."""
    x, t = X2, np.array([0.5, -1.0])
    value, tangent = pb.jvp(softcube, (x,), (t,), mode=mode)
    np.testing.assert_allclose(value, softcube(x))
    np.testing.assert_allclose(tangent, (softcube(x + EPS * t) - softcube(x - EPS * t)) / (2 * EPS),
                               rtol=1e-7)
    hessian = central(pb.grad(uses_softcube, mode="source"), x)
    np.testing.assert_allclose(pb.hessian(uses_softcube, mode=mode)(x), hessian, rtol=1e-6)
    np.testing.assert_allclose(pb.hvp(uses_softcube, mode=mode)(x, t), hessian @ t, rtol=1e-6)


@pytest.mark.parametrize("mode", ["source", "tape", "auto"])
def test_a_primitive_declared_nondifferentiable(mode):
    """@pb.primitive then pb.nondifferentiable raised 'declared both differentiable and
    non-differentiable'; now the primitive's result is a constant, as for NumPy's own."""
    @pb.primitive
    def bucket(x):
        return np.floor(x * 4.0)

    pb.nondifferentiable(bucket)

    def f(x):
        return np.sum(bucket(x) * x ** 2)

    x = np.array([0.3, 0.6])
    np.testing.assert_allclose(pb.grad(f, mode=mode)(x), 2.0 * np.floor(x * 4.0) * x)
    with pytest.raises(pb.RuleRegistrationError, match="both differentiable"):
        pb.defvjp(bucket, lambda ans, x: lambda g: g)


def _stacked_slogdet(a):
    return np.sum(np.stack(np.linalg.slogdet(a)) ** 2)


@pytest.mark.parametrize("mode", ["tape", "auto"])
def test_a_named_tuple_of_tensors_is_unpacked_like_a_tuple(mode):
    """np.stack(np.linalg.slogdet(x)) on the tape recursed until RecursionError: the named
    tuple of Tensors was not unpacked as a plain tuple is."""
    a = np.array([[2.0, 1.0], [1.0, 3.0]])
    got = pb.grad(_stacked_slogdet, mode=mode)(a)
    np.testing.assert_allclose(got, central(_stacked_slogdet, a), rtol=1e-6)


# --- a list of differentiated numbers that NumPy makes an array of -----------------------------

def _list_times_matrix(a, b):
    return np.sum(np.array([[1.0, 2.0], [3.0, 4.0]]) * [a, b])


def _list_in_where(a, b):
    return np.sum(np.where(np.array([True, False]), [a, b], 2.0) * 3.0)


def _sine_of_a_list(a, b):
    return np.sum(np.sin([a, b]) * np.array([1.0, 2.0]))


@pytest.mark.parametrize("f, modes", [(_list_times_matrix, ("tape", "auto")),
                                      (_list_in_where, ("tape", "source", "auto")),
                                      (_sine_of_a_list, ("source", "auto"))],
                         ids=["times a matrix", "in np.where", "np.sin of a list"])
def test_a_list_of_numbers_broadcast_against_an_array(f, modes):
    """The list's gradient was summed as if the list were one number (unbroadcast read its
    shape as ()), then indexed per item: IndexError, in both engines."""
    for mode in modes:
        got = pb.grad(f, wrt=(0, 1), mode=mode)(0.5, 1.5)
        want = [(f(0.5 + 1e-6, 1.5) - f(0.5 - 1e-6, 1.5)) / 2e-6,
                (f(0.5, 1.5 + 1e-6) - f(0.5, 1.5 - 1e-6)) / 2e-6]
        np.testing.assert_allclose(got, want, rtol=1e-6)


def _filled(v):
    b = np.empty(3)
    b.fill(v)
    return np.sum(b * np.array([1.0, 2.0, 3.0]))


def test_fill_of_a_buffer():
    """buf.fill(v) on pb.grad's tape raised AttributeError ('Buffer' has no 'fill'); the
    source engine's refusal suggested np.fill, which does not exist."""
    assert pb.grad(_filled, mode="auto")(0.7) == pytest.approx(6.0)
    assert pb.grad(_filled, mode="tape")(0.7) == pytest.approx(6.0)
    with pytest.raises(pb.TransformError, match=r"write b\[\.\.\.\] = value instead"):
        pb.grad(_filled, mode="source")(0.7)
