"""GradientTape semantics (API.md §3), one behaviour per test, against exact values."""

import gc
import threading
import warnings
import weakref

import numpy as np
import pytest

import pullback as pb


def floats(grads):
    return [None if g is None else g.numpy().tolist() for g in grads]


# --- what gets watched and recorded -----------------------------------------------------------

def test_trainable_variables_are_watched_when_read():
    v = pb.Variable([1.0, 2.0])
    with pb.GradientTape() as tape:
        y = np.sum(np.sin(v))
    np.testing.assert_allclose(tape.gradient(y, v).numpy(), np.cos([1.0, 2.0]))
    assert tape.watched_variables() == (v,)


def test_non_trainable_variable_only_when_watched():
    v = pb.Variable(2.0, trainable=False)
    with pb.GradientTape() as tape:
        y = v * v
    assert tape.gradient(y, v) is None
    with pb.GradientTape() as tape:
        tape.watch(v)
        y = v * v
    assert float(tape.gradient(y, v)) == 4.0


def test_only_ops_depending_on_watched_values_are_recorded():
    x = pb.constant(2.0)
    c = pb.constant(3.0)
    with pb.GradientTape() as tape:
        unrelated = c * c + 1.0          # two ops on constants: not recorded
        tape.watch(x)
        y = x * unrelated                # recorded
        z = np.sin(y) + c                # two more
    assert len(tape._records) == 3
    assert float(tape.gradient(z, x)) == pytest.approx(np.cos(20.0) * 10.0)


def test_ops_outside_any_tape_are_not_recorded():
    x = pb.constant(2.0)
    y = x * x
    with pb.GradientTape() as tape:
        tape.watch(x)
    assert tape._records == [] and tape.gradient(y, x) is None


def test_values_are_captured_when_recorded():
    v = pb.Variable(3.0)
    with pb.GradientTape() as tape:
        y = v * v
    v.assign(100.0)
    assert float(tape.gradient(y, v)) == 6.0


def test_plain_array_mutated_after_use_does_not_change_the_gradient():
    x = pb.constant([1.0, 2.0])
    a = np.array([3.0, 4.0])
    with pb.GradientTape() as tape:
        tape.watch(x)
        y = np.sum(x * a)
    a[:] = 0.0
    assert tape.gradient(y, x).numpy().tolist() == [3.0, 4.0]


def test_tensor_values_cannot_be_modified_through_numpy():
    t = pb.constant([1.0, 2.0]) * 2.0
    with pytest.raises(ValueError, match="read-only"):
        np.asarray(t)[0] = 5.0
    with pytest.raises(ValueError, match="read-only"):
        t.numpy()[0] = 5.0
    with pytest.raises(TypeError, match="immutable"):
        t[0] = 5.0


def test_integer_ops_are_not_recorded():
    x = pb.constant(2.0)
    n = pb.constant(3)
    with pb.GradientTape() as tape:
        tape.watch(x)
        k = n * 2                 # integer: no gradient
        y = x * k
    assert float(tape.gradient(y, x)) == 6.0


# --- one-shot, persistent, release ------------------------------------------------------------

def test_one_shot_tape_releases_its_records():
    x = pb.constant(np.ones(1000))
    with pb.GradientTape() as tape:
        tape.watch(x)
        y = np.sin(x)
        z = np.sum(y)
    ref = weakref.ref(y._value)
    del y
    tape.gradient(z, x)
    gc.collect()
    assert tape._records == [] and ref() is None


def test_persistent_tape_any_number_of_calls():
    x = pb.constant(2.0)
    with pb.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x ** 3
    assert [float(tape.gradient(y, x)) for _ in range(3)] == [12.0] * 3
    assert tape.jacobian(y, x).numpy() == 12.0


@pytest.mark.parametrize("second", ["gradient", "jacobian"])
def test_one_shot_tape_second_call_raises(second):
    x = pb.constant([[1.0, 2.0]])
    with pb.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    tape.jacobian(y, x)
    with pytest.raises(RuntimeError, match="persistent=True"):
        getattr(tape, second)(y, x)


# --- nesting and higher order -----------------------------------------------------------------

def test_third_derivative_with_three_tapes():
    x = pb.Variable(2.0)
    with pb.GradientTape() as t1:
        with pb.GradientTape() as t2:
            with pb.GradientTape() as t3:
                y = x ** 4
            d1 = t3.gradient(y, x)
        d2 = t2.gradient(d1, x)
    d3 = t1.gradient(d2, x)
    assert (float(d1), float(d2), float(d3)) == (32.0, 48.0, 48.0)


def test_persistent_tape_records_its_own_gradient_inside_its_context():
    x = pb.constant(3.0)
    with pb.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x ** 3
        dy = tape.gradient(y, x)
    assert float(dy) == 27.0
    assert float(tape.gradient(dy, x)) == 18.0


def test_hessian_through_nested_jacobian():
    x = pb.constant([1.0, 2.0])
    with pb.GradientTape() as outer:
        outer.watch(x)
        with pb.GradientTape() as inner:
            inner.watch(x)
            y = np.sum(x ** 3)
        g = inner.gradient(y, x)
    hessian = outer.jacobian(g, x)
    assert hessian.numpy().tolist() == [[6.0, 0.0], [0.0, 12.0]]


# --- jacobian and batch_jacobian --------------------------------------------------------------

def test_jacobian_shape_is_target_shape_plus_source_shape():
    x = pb.constant(np.arange(6.0).reshape(2, 3))
    w = pb.constant(np.arange(3.0))
    with pb.GradientTape(persistent=True) as tape:
        tape.watch([x, w])
        y = x * w              # (2, 3)
    jx, jw = tape.jacobian(y, [x, w])
    assert jx.shape == (2, 3, 2, 3) and jw.shape == (2, 3, 3)
    expected = np.einsum("ik,jl,l->ijkl", np.eye(2), np.eye(3), np.arange(3.0))
    np.testing.assert_array_equal(jx.numpy(), expected)
    np.testing.assert_array_equal(jw.numpy(), np.einsum("jl,ij->ijl", np.eye(3), x.numpy()))


def test_jacobian_unconnected_none_or_zero():
    x, c = pb.constant([1.0, 2.0]), pb.constant([5.0, 6.0, 7.0])
    with pb.GradientTape(persistent=True) as tape:
        tape.watch([x, c])
        y = x * 2.0
    assert tape.jacobian(y, c) is None
    zero = tape.jacobian(y, c, unconnected_gradients="zero")
    assert zero.shape == (2, 3) and not zero.numpy().any()


def test_batch_jacobian_rank_3():
    x = pb.constant(np.arange(12.0).reshape(2, 3, 2))
    with pb.GradientTape() as tape:
        tape.watch(x)
        y = np.sum(x ** 2, axis=2)    # (2, 3)
    bj = tape.batch_jacobian(y, x)
    assert bj.shape == (2, 3, 3, 2)
    for b in range(2):
        for i in range(3):
            expected = np.zeros((3, 2))
            expected[i] = 2 * x.numpy()[b, i]
            np.testing.assert_array_equal(bj.numpy()[b, i], expected)


@pytest.mark.parametrize("target_shape, source_shape, match", [
    ((3, 2), (4, 2), "batch sizes differ"),
    ((3,), (3, 2), "rank 2 or more"),
    ((3, 2), (3,), "rank 2 or more"),
])
def test_batch_jacobian_bad_shapes(target_shape, source_shape, match):
    x = pb.constant(np.ones(source_shape))
    with pb.GradientTape() as tape:
        tape.watch(x)
        y = np.sum(x) * pb.constant(np.ones(target_shape))
    with pytest.raises(ValueError, match=match):
        tape.batch_jacobian(y, x)


# --- reset, stop_recording, watched_variables -------------------------------------------------

def test_reset_forgets_records_and_watches():
    x = pb.constant(2.0)
    v = pb.Variable(1.0)
    with pb.GradientTape() as tape:
        tape.watch(x)
        y = x * v
        tape.reset()
        z = x * 3.0
    assert tape.watched_variables() == ()
    assert tape.gradient(z, x) is None        # x's watch was forgotten too
    assert tape._records == []


def test_stop_recording_pauses_only_this_tape():
    x = pb.constant(2.0)
    with pb.GradientTape() as outer, pb.GradientTape() as inner:
        outer.watch(x)
        inner.watch(x)
        with inner.stop_recording():
            y = x * x
    assert float(outer.gradient(y, x)) == 4.0
    assert inner.gradient(y, x) is None


def test_stop_recording_outside_the_context_raises():
    tape = pb.GradientTape()
    with pytest.raises(RuntimeError, match="inside the tape"):
        with tape.stop_recording():
            pass


def test_watched_variables_in_order_of_first_watch():
    a, b, c = pb.Variable(1.0, name="a"), pb.Variable(2.0, name="b"), pb.Variable(3.0, name="c")
    with pb.GradientTape() as tape:
        tape.watch(c)
        y = b * a + c
    assert [v.name for v in tape.watched_variables()] == ["c:0", "b:0", "a:0"]


# --- targets, sources, output gradients, unconnected -----------------------------------------

def test_sources_of_any_nested_structure_are_mirrored():
    w, b, s = pb.Variable([[1.0, 2.0]]), pb.Variable([3.0]), pb.Variable(4.0)
    with pb.GradientTape() as tape:
        y = np.sum(w) * b[0] + s
    grads = tape.gradient(y, {"layer": [w, (b,)], "scale": s})
    assert set(grads) == {"layer", "scale"}
    assert isinstance(grads["layer"], list) and isinstance(grads["layer"][1], tuple)
    assert grads["layer"][0].numpy().tolist() == [[3.0, 3.0]]
    assert grads["layer"][1][0].numpy().tolist() == [3.0]
    assert float(grads["scale"]) == 1.0


def test_target_that_is_a_source_gets_ones():
    x = pb.constant([[1.0, 2.0, 3.0]])
    with pb.GradientTape() as tape:
        tape.watch(x)
    assert tape.gradient(x, x).numpy().tolist() == [[1.0, 1.0, 1.0]]


def test_non_scalar_target_and_list_of_targets_are_summed():
    x = pb.constant([1.0, 2.0])
    with pb.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
        z = 3.0 * x
    assert tape.gradient(y, x).numpy().tolist() == [2.0, 4.0]
    assert tape.gradient([y, z], x).numpy().tolist() == [5.0, 7.0]


def test_output_gradients_seed_each_target():
    x = pb.constant([1.0, 2.0])
    with pb.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * x
        z = 3.0 * x
    got = tape.gradient([y, z], x, output_gradients=[np.array([1.0, 0.0]), pb.constant([0.0, 2.0])])
    assert got.numpy().tolist() == [2.0, 6.0]


def test_output_gradients_of_the_wrong_shape():
    x = pb.constant([1.0, 2.0])
    with pb.GradientTape() as tape:
        tape.watch(x)
        y = x * x
    with pytest.raises(ValueError, match=r"shape \(3,\) but its target has shape \(2,\)"):
        tape.gradient(y, x, output_gradients=np.ones(3))


@pytest.mark.parametrize("mode", ["zero", pb.UnconnectedGradients.ZERO])
def test_unconnected_zero_has_the_source_shape_and_dtype(mode):
    x = pb.constant(1.0)
    c = pb.constant(np.ones((2, 3), np.float32))
    with pb.GradientTape() as tape:
        tape.watch([x, c])
        y = x * 2.0
    gx, gc_ = tape.gradient(y, [x, c], unconnected_gradients=mode)
    assert float(gx) == 2.0
    assert gc_.shape == (2, 3) and gc_.dtype == np.float32 and not gc_.numpy().any()


def test_unknown_unconnected_gradients_value():
    x = pb.constant(1.0)
    with pb.GradientTape() as tape:
        tape.watch(x)
        y = x * 2.0
    with pytest.raises(ValueError, match="'none' or 'zero'"):
        tape.gradient(y, x, unconnected_gradients="zeros")


def test_gradient_keeps_the_source_dtype():
    x = pb.constant(np.array([1.0, 2.0], np.float32))
    with pb.GradientTape() as tape:
        tape.watch(x)
        y = np.sum(x * 2.0)
    g = tape.gradient(y, x)
    assert g.dtype == np.float32 and g.numpy().tolist() == [2.0, 2.0]


# --- bad input ----------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [np.ones(2), 3.0, [np.ones(2)]])
def test_watch_rejects_non_tensors_with_the_fix(bad):
    with pb.GradientTape() as tape:
        with pytest.raises(ValueError, match=r"pb\.constant"):
            tape.watch(bad)


def test_watching_an_integer_tensor_warns_and_gives_none():
    n = pb.constant(3)
    with pb.GradientTape() as tape:
        with pytest.warns(UserWarning, match="not differentiable"):
            tape.watch(n)
        y = n * 2
    assert tape.gradient(y, n) is None


def test_gradient_sources_must_be_tensors():
    x = pb.constant(1.0)
    with pb.GradientTape() as tape:
        tape.watch(x)
        y = x * 2.0
    with pytest.raises(ValueError, match="sources must be Tensors"):
        tape.gradient(y, 1.0)


def test_function_without_a_rule_is_named():
    x = pb.constant([1.0, 2.0, 3.0])
    with pb.GradientTape() as tape:
        tape.watch(x)
        with pytest.raises(pb.NoGradientRuleError, match=r"numpy\.fft\.fft"):
            np.fft.fft(x)


def test_function_without_a_rule_runs_when_nothing_is_differentiated():
    x = pb.constant([1.0, 2.0, 3.0])
    np.testing.assert_allclose(np.asarray(np.fft.fft(x)), np.fft.fft([1.0, 2.0, 3.0]))


def test_in_place_ufuncs_are_refused():
    x = pb.constant([1.0, 2.0])
    with pytest.raises(TypeError, match="out="):
        np.sin(x, out=np.empty(2))
    with pytest.raises(TypeError, match="add.at"):
        np.add.at(x, [0], 1.0)


def test_reentering_an_active_tape_raises():
    tape = pb.GradientTape()
    with tape:
        with pytest.raises(RuntimeError, match="already recording"):
            tape.__enter__()


# --- threads ------------------------------------------------------------------------------------

def test_tapes_are_per_thread():
    x = pb.constant(2.0)
    seen = {}

    def other_thread():
        seen["y"] = x * x              # not recorded: the tape belongs to the main thread

    with pb.GradientTape() as tape:
        tape.watch(x)
        worker = threading.Thread(target=other_thread)
        worker.start()
        worker.join()
        z = x * 5.0
    assert len(tape._records) == 1
    assert float(tape.gradient(z, x)) == 5.0


def test_warnings_are_not_raised_by_ordinary_use():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w = pb.Variable([1.0, 2.0])
        with pb.GradientTape() as tape:
            y = np.sum(w ** 2)
        assert tape.gradient(y, w).numpy().tolist() == [2.0, 4.0]


# --- the backward pass writes only into arrays nothing else holds -----------------------------
# Large contributions are summed in place and elementwise partials multiplied in place when the
# array is a temporary of the backward pass; these tests hold every array that must not change.

N = 300   # above the size from which the backward pass works in place


def test_shared_cotangent_reaching_two_sources_is_not_overwritten():
    x = pb.Variable(np.linspace(0.1, 1.0, N))
    with pb.GradientTape() as tape:
        y = x + x + x * 2.0          # the add passes one cotangent to both of its inputs
        z = np.sum(np.sin(y) + np.exp(y))
    g = tape.gradient(z, x).numpy()
    y0 = 4 * np.linspace(0.1, 1.0, N)
    np.testing.assert_allclose(g, 4 * (np.cos(y0) + np.exp(y0)), rtol=1e-12)


def test_recorded_values_and_user_arrays_are_untouched_by_a_persistent_tape():
    x0 = np.linspace(-1.0, 1.0, N)
    seed = np.full(N, 0.5)
    x = pb.Variable(x0)
    with pb.GradientTape(persistent=True) as tape:
        y = np.exp(x) * np.tanh(x) + np.log1p(x * x)
    ans = y.numpy().copy()
    first = tape.gradient(y, x, output_gradients=seed).numpy().copy()
    second = tape.gradient(y, x, output_gradients=seed).numpy()
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(seed, np.full(N, 0.5))
    np.testing.assert_array_equal(y.numpy(), ans)
    np.testing.assert_array_equal(x.numpy(), x0)
    want = 0.5 * (np.exp(x0) * np.tanh(x0) + np.exp(x0) * (1 - np.tanh(x0) ** 2)
                  + 2 * x0 / (1 + x0 * x0))
    np.testing.assert_allclose(first, want, rtol=1e-12)


def test_a_partial_that_returns_an_array_held_elsewhere_is_not_overwritten():
    held = np.full(N, 3.0)

    @pb.primitive
    def triple(x):
        return 3.0 * x

    pb.defelementwise(triple, lambda ans, x: held)   # the partial: an array the rule keeps
    x = pb.Variable(np.ones(N))
    for _ in range(2):
        with pb.GradientTape() as tape:
            y = np.sum(triple(x) * triple(x))
        np.testing.assert_allclose(tape.gradient(y, x).numpy(), np.full(N, 18.0))
    np.testing.assert_array_equal(held, np.full(N, 3.0))


def test_a_partial_that_returns_a_view_of_its_input_is_not_overwritten():
    @pb.primitive
    def half_square(x):
        return 0.5 * x * x

    pb.defelementwise(half_square, lambda ans, x: x[...])   # d/dx = x, as a view of x
    x0 = np.linspace(1.0, 2.0, N)
    x = pb.Variable(x0)
    with pb.GradientTape() as tape:
        y = np.sum(half_square(x) * 2.0)
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), 2.0 * x0)
    np.testing.assert_array_equal(x.numpy(), x0)


def test_in_place_accumulation_keeps_the_dtype_of_the_out_of_place_sum():
    x = pb.Variable(np.linspace(0.1, 1.0, N).astype(np.float32))
    with pb.GradientTape() as tape:
        y = np.sum(x * np.float64(2.0)) + np.sum(np.sin(x))
    g = tape.gradient(y, x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g.numpy(), 2.0 + np.cos(x.numpy()), rtol=1e-6)


def test_a_gradient_wrt_a_subset_of_the_watched_values_skips_the_rest():
    a, b = pb.Variable(np.full(N, 2.0)), pb.Variable(np.full(N, 3.0))
    with pb.GradientTape(persistent=True) as tape:
        y = np.sum(a * b + np.sin(b))
    np.testing.assert_allclose(tape.gradient(y, a).numpy(), np.full(N, 3.0))
    np.testing.assert_allclose(tape.gradient(y, [b])[0].numpy(), 2.0 + np.cos(np.full(N, 3.0)))
    ga, gb = tape.gradient(y, [a, b])
    np.testing.assert_allclose(ga.numpy(), np.full(N, 3.0))


def test_variables_read_by_operators_and_functions_are_watched_directly():
    v = pb.Variable(0.5)
    with pb.GradientTape() as tape:
        y = np.sin(v) * v + 2.0 * v - (-v)
    assert tape.watched_variables() == (v,)
    assert float(tape.gradient(y, v)) == pytest.approx(np.cos(0.5) * 0.5 + np.sin(0.5) + 3.0)


def test_a_cotangent_is_overwritten_only_at_its_last_use():
    # exp's partial is its own result, so its VJP writes g * ans into g when g is free; the
    # multiply and the add hand one cotangent to two inputs, which must both see it unchanged
    x0 = np.linspace(-1.0, 1.0, N)
    x = pb.Variable(x0)
    with pb.GradientTape() as tape:
        e = np.exp(x)
        y = np.sum(np.exp(e * e) + e + np.exp(x * 0.5) * np.tanh(x))
    e0 = np.exp(x0)
    want = (np.exp(e0 * e0) * 2 * e0 * e0 + e0 + 0.5 * np.exp(0.5 * x0) * np.tanh(x0)
            + np.exp(0.5 * x0) * (1 - np.tanh(x0) ** 2))
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), want, rtol=1e-12)


def test_a_binary_elementwise_rule_sees_the_same_cotangent_for_both_inputs():
    a0, b0 = np.linspace(0.5, 1.5, N), np.linspace(2.0, 1.0, N)
    a, b = pb.Variable(a0), pb.Variable(b0)
    with pb.GradientTape() as tape:
        y = np.sum(np.sin(np.hypot(a, b)) + np.cos(a ** b))
    ga, gb = tape.gradient(y, [a, b])
    h, p = np.hypot(a0, b0), a0 ** b0
    np.testing.assert_allclose(ga.numpy(), np.cos(h) * a0 / h - np.sin(p) * b0 * a0 ** (b0 - 1),
                               rtol=1e-12)
    np.testing.assert_allclose(gb.numpy(), np.cos(h) * b0 / h - np.sin(p) * p * np.log(a0),
                               rtol=1e-12)
