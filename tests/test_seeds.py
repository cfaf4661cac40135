"""Every example of the seed tutorials (../shared/seeds, about tf.GradientTape), with its numbers.

``pb.`` stands in for ``tf.`` and float64 for float32, except where the seed's number depends on
float32 (the naive softplus overflowing at 100).
"""

import numpy as np
import pytest

import pullback as pb


def f(w1, w2):
    return 3 * w1 ** 2 + 2 * w1 * w2


def values(grads):
    return [None if g is None else float(g) for g in grads]


# --- Hands-On ML (seed 000) -------------------------------------------------------------------

def test_finite_difference_matches_36_and_10():
    w1, w2, eps = 5, 3, 1e-6
    assert (f(w1 + eps, w2) - f(w1, w2)) / eps == pytest.approx(36.0, abs=1e-4)
    assert (f(w1, w2 + eps) - f(w1, w2)) / eps == pytest.approx(10.0, abs=1e-4)


def test_variables_give_36_and_10():
    w1, w2 = pb.Variable(5.), pb.Variable(3.)
    with pb.GradientTape() as tape:
        z = f(w1, w2)
    gradients = tape.gradient(z, [w1, w2])
    assert values(gradients) == [36.0, 10.0]
    assert all(isinstance(g, pb.Tensor) and g.dtype == np.float64 for g in gradients)


def test_second_gradient_call_on_one_shot_tape_raises():
    w1, w2 = pb.Variable(5.), pb.Variable(3.)
    with pb.GradientTape() as tape:
        z = f(w1, w2)
    tape.gradient(z, [w1, w2])
    with pytest.raises(RuntimeError, match="persistent=True"):
        tape.gradient(z, w1)


def test_persistent_tape_serves_two_calls():
    w1, w2 = pb.Variable(5.), pb.Variable(3.)
    with pb.GradientTape(persistent=True) as tape:
        z = f(w1, w2)
    dz_dw1 = tape.gradient(z, w1)
    dz_dw2 = tape.gradient(z, w2)
    assert (float(dz_dw1), float(dz_dw2)) == (36.0, 10.0)
    del tape


def test_constants_are_not_watched():
    c1, c2 = pb.constant(5.), pb.constant(3.)
    with pb.GradientTape() as tape:
        z = f(c1, c2)
    assert tape.gradient(z, [c1, c2]) == [None, None]


def test_constant_and_variable_mixed():
    c1, v2 = pb.constant(5.), pb.Variable(3.)
    with pb.GradientTape() as tape:
        z = f(c1, v2)
    assert values(tape.gradient(z, [c1, v2])) == [None, 10.0]


def test_watched_constants_give_36_and_10():
    c1, c2 = pb.constant(5.), pb.constant(3.)
    with pb.GradientTape() as tape:
        tape.watch(c1)
        tape.watch(c2)
        z = f(c1, c2)
    assert values(tape.gradient(z, [c1, c2])) == [36.0, 10.0]


def test_stop_gradient_gives_30_and_none():
    def f_stopped(w1, w2):
        return 3 * w1 ** 2 + pb.stop_gradient(2 * w1 * w2)

    w1, w2 = pb.Variable(5.), pb.Variable(3.)
    with pb.GradientTape() as tape:
        z = f_stopped(w1, w2)
    assert float(z) == float(f(5.0, 3.0))  # same value as without stop_gradient
    assert values(tape.gradient(z, [w1, w2])) == [30.0, None]


def my_softplus(z):
    return pb.math.log(pb.exp(z) + 1.0)


@pb.custom_gradient
def my_better_softplus(z):
    exp = pb.exp(z)

    def my_softplus_gradients(grad):
        return grad / (1 + 1 / exp)

    return pb.math.log(exp + 1), my_softplus_gradients


def test_naive_softplus_gradient_is_nan_at_100_in_float32():
    x = pb.Variable(100., dtype=np.float32)
    with pb.GradientTape() as tape, np.errstate(over="ignore", invalid="ignore"):
        z = my_softplus(x)
    with np.errstate(invalid="ignore"):
        [g] = tape.gradient(z, [x])
    assert np.isnan(g.numpy()) and g.dtype == np.float32


def test_naive_softplus_overflows_in_float64_too_further_out():
    x = pb.Variable(1000.)
    with pb.GradientTape() as tape, np.errstate(over="ignore", invalid="ignore"):
        z = my_softplus(x)
    with np.errstate(invalid="ignore"):
        [g] = tape.gradient(z, [x])
    assert np.isnan(g.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_custom_gradient_softplus_is_1_at_100(dtype):
    x = pb.Variable(100., dtype=dtype)
    with pb.GradientTape() as tape, np.errstate(over="ignore"):
        z = my_better_softplus(x)
    [g] = tape.gradient(z, [x])
    assert float(g) == 1.0 and g.dtype == dtype


# --- Rfriend blog (seed 001) ------------------------------------------------------------------

def test_eager_loss_is_12():
    a, y = pb.constant(2.0), pb.constant(8.0)
    x = pb.Variable(10.0)
    loss = pb.math.abs(a * x - y)
    assert float(loss) == 12.0


def test_training_loop_10_8_6_4(capsys):
    a, y = pb.constant(2.0), pb.constant(8.0)
    x = pb.Variable(10.0)

    def train_func():
        with pb.GradientTape() as tape:
            loss = pb.math.abs(a * x - y)
        dx = tape.gradient(loss, x)
        print('x = {}, dx = {:.2f}'.format(x.numpy(), dx))
        x.assign(x - dx)

    for i in range(4):
        train_func()
    assert capsys.readouterr().out.splitlines() == [
        "x = 10.0, dx = 2.00", "x = 8.0, dx = 2.00", "x = 6.0, dx = 2.00", "x = 4.0, dx = 0.00"]


def test_square_gives_8():
    x = pb.Variable(4.0)
    with pb.GradientTape() as tape:
        y = x ** 2
    assert tape.gradient(y, x).numpy() == 8.0


def test_dense_layer_gradients_have_the_sources_shapes():
    w = pb.Variable(pb.random.normal((4, 2), seed=0), name='w')
    b = pb.Variable(pb.zeros(2, dtype=pb.float64), name='b')
    x = [[1.0, 2.0, 3.0, 4.0]]
    with pb.GradientTape(persistent=True) as tape:
        y = x @ w + b
        loss = pb.reduce_mean(y ** 2)
    [dl_dw, dl_db] = tape.gradient(loss, [w, b])
    assert w.shape == dl_dw.shape == (4, 2) and dl_db.shape == (2,)
    assert w.name == "w:0" and b.name == "b:0"
    yv = np.array(x) @ w.numpy() + b.numpy()
    np.testing.assert_allclose(float(loss), np.mean(yv ** 2))
    np.testing.assert_allclose(dl_dw.numpy(), np.array(x).T @ yv)  # d mean(y^2) = 2y/2
    np.testing.assert_allclose(dl_db.numpy(), yv[0])


def test_sigmoid_and_its_derivative_on_linspace():
    x = pb.linspace(-10.0, 10.0, 200 + 1)
    with pb.GradientTape() as tape:
        tape.watch(x)
        y = pb.nn.sigmoid(x)
    dy_dx = tape.gradient(y, x)
    s = 1 / (1 + np.exp(-np.asarray(x)))
    np.testing.assert_allclose(np.asarray(y), s, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(dy_dx), s * (1 - s), rtol=1e-10, atol=1e-15)
    assert dy_dx.shape == (201,) and float(dy_dx[100]) == 0.25


def test_only_the_trainable_variable_gets_a_gradient():
    x0 = pb.Variable(3.0, name='x0')
    x1 = pb.Variable(3.0, name='x1', trainable=False)
    x2 = pb.Variable(2.0, name='x2') + 1.0
    x3 = pb.constant(3.0, name='x3')
    with pb.GradientTape() as tape:
        y = (x0**2) + (x1**2) + (x2**2)
    grad = tape.gradient(y, [x0, x1, x2, x3])
    assert values(grad) == [6.0, None, None, None]
    assert [v.name for v in tape.watched_variables()] == ['x0:0']


def test_watched_constant_gives_6():
    x = pb.constant(3.0)
    with pb.GradientTape() as tape:
        tape.watch(x)
        y = x**2
    assert tape.gradient(y, x).numpy() == 6.0
    assert tape.watched_variables() == ()


def test_watched_variables_names_an_unnamed_variable():
    v = pb.Variable(1.0)
    with pb.GradientTape() as tape:
        y = v * 2.0
    assert [var.name for var in tape.watched_variables()] == ['Variable:0']


def test_watch_accessed_variables_false():
    x0 = pb.Variable(0.0)
    x1 = pb.Variable(10.0)
    with pb.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(x1)
        y0 = pb.math.sin(x0)
        y1 = pb.nn.softplus(x1)
        y = y0 + y1
        ys = pb.reduce_sum(y)
    grad = tape.gradient(ys, {'x0': x0, 'x1': x1})
    assert grad['x0'] is None
    assert round(float(grad['x1'].numpy()), 7) == 0.9999546


def test_python_control_flow_records_the_branch_taken():
    x = pb.constant(1.0)
    v0 = pb.Variable(2.0)
    v1 = pb.Variable(2.0)
    with pb.GradientTape(persistent=True) as tape:
        tape.watch(x)
        if x > 0.0:
            result = v0
        else:
            result = v1**2
    dv0, dv1 = tape.gradient(result, [v0, v1])
    assert float(dv0) == 1.0 and dv1 is None


# --- TensorFlow r1 tutorial (seeds 002 and 003) ----------------------------------------------

def test_reduce_sum_then_multiply_gives_8_everywhere():
    x = pb.ones((2, 2))
    with pb.GradientTape() as t:
        t.watch(x)
        y = pb.reduce_sum(x)
        z = pb.multiply(y, y)
    dz_dx = t.gradient(z, x)
    assert dz_dx.shape == (2, 2)
    for i in [0, 1]:
        for j in [0, 1]:
            assert dz_dx[i][j].numpy() == 8.0


def test_gradient_with_respect_to_an_intermediate_value():
    x = pb.ones((2, 2))
    with pb.GradientTape() as t:
        t.watch(x)
        y = pb.reduce_sum(x)
        z = pb.multiply(y, y)
    dz_dy = t.gradient(z, y)
    assert dz_dy.numpy() == 8.0


def test_persistent_108_and_6():
    x = pb.constant(3.0)
    with pb.GradientTape(persistent=True) as t:
        t.watch(x)
        y = x * x
        z = y * y
    dz_dx = t.gradient(z, x)  # 108.0 (4*x^3 at x = 3)
    dy_dx = t.gradient(y, x)  # 6.0
    assert (dz_dx.numpy(), dy_dx.numpy()) == (108.0, 6.0)
    del t


def loop(x, y):
    output = 1.0
    for i in range(y):
        if i > 1 and i < 5:
            output = pb.multiply(output, x)
    return output


def loop_grad(x, y):
    with pb.GradientTape() as t:
        t.watch(x)
        out = loop(x, y)
    return t.gradient(out, x)


def test_control_flow_loop_12_12_4():
    x = pb.convert_to_tensor(2.0)
    assert loop_grad(x, 6).numpy() == 12.0
    assert loop_grad(x, 5).numpy() == 12.0
    assert loop_grad(x, 4).numpy() == 4.0


def test_nested_tapes_3_and_6():
    x = pb.Variable(1.0)
    with pb.GradientTape() as t:
        with pb.GradientTape() as t2:
            y = x * x * x
        dy_dx = t2.gradient(y, x)
    d2y_dx2 = t.gradient(dy_dx, x)
    assert dy_dx.numpy() == 3.0
    assert d2y_dx2.numpy() == 6.0


# --- tf.GradientTape API page (seed 004) ------------------------------------------------------

def test_nested_watched_constant_6_and_2():
    x = pb.constant(3.0)
    with pb.GradientTape() as g:
        g.watch(x)
        with pb.GradientTape() as gg:
            gg.watch(x)
            y = x * x
        dy_dx = gg.gradient(y, x)
    d2y_dx2 = g.gradient(dy_dx, x)
    assert (float(dy_dx), float(d2y_dx2)) == (6.0, 2.0)


def test_only_the_watched_variable_gets_a_gradient():
    variable_a, variable_b = pb.Variable(3.0), pb.Variable(2.0)
    with pb.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(variable_a)
        y = variable_a ** 2  # Gradients will be available for `variable_a`.
        z = variable_b ** 3  # No gradients will be available since `variable_b` is not watched.
    assert values(tape.gradient([y, z], [variable_a, variable_b])) == [6.0, None]


def test_watching_an_empty_list_watches_nothing():
    v = pb.Variable(1.0)
    with pb.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch([])
        result = v * 3.0
    assert tape.gradient(result, [v]) == [None]


def test_reset_equals_a_fresh_tape():
    w = pb.Variable(2.0)

    def loss_fn():
        return w ** 3

    def other_loss_fn():
        return 5.0 * w

    with pb.GradientTape() as t:
        loss = loss_fn()
    with pb.GradientTape() as t:
        loss += other_loss_fn()
    first = t.gradient(loss, w)  # Only differentiates other_loss_fn, not loss_fn

    with pb.GradientTape() as t:
        loss = loss_fn()
        t.reset()
        loss += other_loss_fn()
    second = t.gradient(loss, w)
    assert float(first) == float(second) == 5.0


def test_stop_recording_around_the_gradient():
    w = pb.Variable([1.0, 2.0])
    with pb.GradientTape(persistent=True) as t:
        loss = pb.reduce_sum(w ** 2)
        with t.stop_recording():
            grads = t.gradient(loss, [w])  # not traced
        recorded = len(t._records)
    assert grads[0].numpy().tolist() == [2.0, 4.0]
    assert recorded == 2  # the two forward ops only


def test_batch_jacobian_example():
    with pb.GradientTape() as g:
        x = pb.constant([[1., 2.], [3., 4.]], dtype=pb.float64)
        g.watch(x)
        y = x * x
    batch_jacobian = g.batch_jacobian(y, x)
    assert batch_jacobian.numpy().tolist() == [[[2, 0], [0, 4]], [[6, 0], [0, 8]]]


def test_jacobian_example():
    with pb.GradientTape() as g:
        x = pb.constant([1.0, 2.0])
        g.watch(x)
        y = x * x
    jacobian = g.jacobian(y, x)
    assert jacobian.numpy().tolist() == [[2., 0.], [0., 4.]]
