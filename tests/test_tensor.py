"""Tensor and Variable (API.md §2): conversions, operators, NumPy protocols, TF-style names."""

import numpy as np
import pytest

import pullback as pb


def test_constant_defaults_to_float64_and_copies():
    a = np.array([1.0, 2.0])
    t = pb.constant(a)
    a[0] = 10.0
    assert t.dtype == np.float64 and t.numpy().tolist() == [1.0, 2.0]
    assert pb.constant(1.5).dtype == np.float64
    assert pb.constant([1, 2]).dtype.kind == "i"
    assert pb.constant([1, 2], dtype="float32").dtype == np.float32


def test_convert_to_tensor():
    t = pb.constant(1.0)
    assert pb.convert_to_tensor(t) is t
    assert pb.convert_to_tensor([1.0, 2.0]).shape == (2,)
    assert pb.convert_to_tensor(t, dtype=np.float32).dtype == np.float32


def test_convert_to_tensor_of_a_variable_is_a_recorded_read():
    v = pb.Variable(3.0)
    with pb.GradientTape() as tape:
        t = pb.convert_to_tensor(v)
        y = t * t
    assert type(t) is pb.Tensor and float(tape.gradient(y, v)) == 6.0


def test_tensor_attributes_and_conversions():
    t = pb.constant([[1.0, 2.0], [3.0, 4.0]])
    assert t.shape == (2, 2) and t.ndim == 2 and t.size == 4 and len(t) == 2
    s = pb.constant(2.5)
    assert float(s) == 2.5 and int(s) == 2 and bool(s) and format(s, ".2f") == "2.50"
    assert isinstance(s.numpy(), np.float64) and s.numpy() == 2.5
    assert repr(s) == "<pb.Tensor: shape=(), dtype=float64, numpy=2.5>"
    assert str(s) == "pb.Tensor(2.5, shape=(), dtype=float64)"
    assert np.asarray(t).tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert [row.numpy().tolist() for row in t] == [[1.0, 2.0], [3.0, 4.0]]
    with pytest.raises(TypeError, match="scalar"):
        format(t, ".2f")


def test_operators_mix_with_numbers_lists_and_arrays():
    t = pb.constant([1.0, 2.0])
    a = np.array([10.0, 20.0])
    cases = {
        "t + 1": (t + 1, [2.0, 3.0]), "1 - t": (1 - t, [0.0, -1.0]),
        "t * a": (t * a, [10.0, 40.0]), "a * t": (a * t, [10.0, 40.0]),
        "a / t": (a / t, [10.0, 10.0]), "t ** 2": (t ** 2, [1.0, 4.0]),
        "2 ** t": (2 ** t, [2.0, 4.0]), "-t": (-t, [-1.0, -2.0]), "+t": (+t, [1.0, 2.0]),
        "abs(-t)": (abs(-t), [1.0, 2.0]), "[1, 1] + t": ([1.0, 1.0] + t, [2.0, 3.0]),
        "t % 2": (t % 2, [1.0, 0.0]), "t // 2": (t // 2, [0.0, 1.0]),
    }
    for name, (got, expected) in cases.items():
        assert isinstance(got, pb.Tensor), name
        assert got.numpy().tolist() == expected, name


def test_matmul_with_lists_and_arrays():
    w = pb.constant([[1.0], [2.0]])
    assert ([[3.0, 4.0]] @ w).numpy().tolist() == [[11.0]]
    assert (np.array([[3.0, 4.0]]) @ w).numpy().tolist() == [[11.0]]
    assert (w.T @ w).numpy().tolist() == [[5.0]]


def test_comparisons_return_boolean_tensors():
    t = pb.constant([1.0, 2.0])
    assert (t > 1.5).numpy().tolist() == [False, True]
    assert (t == 1.0).numpy().tolist() == [True, False]
    assert (t != 1.0).numpy().tolist() == [False, True]
    assert (t <= 1.0).dtype == np.bool_
    assert (~(t > 1.5)).numpy().tolist() == [True, False]
    assert ((t > 0) & (t < 1.5)).numpy().tolist() == [True, False]
    assert ((t < 0) | (t > 1.5)).numpy().tolist() == [False, True]
    with pytest.raises(TypeError):
        hash(t)


def test_numpy_functions_return_tensors():
    t = pb.constant([[1.0, -2.0], [3.0, 4.0]])
    for result in (np.sin(t), np.sum(t, axis=0), np.where(t > 0, t, 0.0),
                   np.concatenate([t, t]), np.maximum(t, 0.0), np.exp(t)):
        assert isinstance(result, pb.Tensor)
    assert np.shape(t) == (2, 2)
    assert isinstance(np.argmax(t), pb.Tensor)


def test_array_methods():
    t = pb.constant(np.arange(6.0).reshape(2, 3))
    assert t.sum().numpy() == 15.0
    assert t.mean(axis=0).numpy().tolist() == [1.5, 2.5, 3.5]
    assert t.T.shape == (3, 2) and t.transpose().shape == (3, 2)
    assert t.reshape(3, 2).shape == (3, 2) and t.reshape((6,)).shape == (6,)
    assert t.max().numpy() == 5.0 and t.min(axis=1).numpy().tolist() == [0.0, 3.0]
    assert t.dot(np.ones(3)).numpy().tolist() == [3.0, 12.0]
    assert t.ravel().shape == (6,) and t.flatten().shape == (6,)
    assert t.astype(np.float32).dtype == np.float32
    assert t[1, 2].numpy() == 5.0 and t[:, 1].numpy().tolist() == [1.0, 4.0]
    assert t.cumsum().numpy().tolist() == [0.0, 1.0, 3.0, 6.0, 10.0, 15.0]
    assert t.real.numpy().tolist() == t.numpy().tolist() and t.imag.numpy().sum() == 0.0
    assert t.conj().numpy().tolist() == t.conjugate().numpy().tolist() == t.numpy().tolist()
    assert (t / 3.0).round(2).numpy().tolist() == [[0.0, 0.33, 0.67], [1.0, 1.33, 1.67]]


METHODS = [
    ("x.repeat(2)", lambda x: x.repeat(2)),
    ("x.repeat(2, axis=0)", lambda x: x.repeat(2, axis=0)),
    ("x.take([0, 2, 2])", lambda x: x.take([0, 2, 2])),
    ("x.take([1], axis=1)", lambda x: x.take([1], axis=1)),
    ("x.trace()", lambda x: x.trace()),
    ("x.diagonal(1)", lambda x: x.diagonal(1)),
    ("x.mT", lambda x: x.mT),
    ("x[x.argsort(axis=None)...]", lambda x: x.ravel()[x.ravel().argsort()] * np.arange(6.0)),
    ("x * x.all()", lambda x: x * x.all() + x.any()),
    ("x[x.nonzero()]", lambda x: x[x.nonzero()]),
    ("divmod(x, 0.65)", lambda x: divmod(x, 0.65)[1] + divmod(2.5, x + 3.0)[1]),
]


@pytest.mark.parametrize("name, method", METHODS, ids=[m[0] for m in METHODS])
def test_more_array_methods_match_numpy_and_differentiate(name, method):
    x0 = np.array([[0.3, -1.2, 0.8], [2.1, 0.5, -0.4]])
    w = np.random.default_rng(3).standard_normal(np.shape(method(x0)))
    t = pb.constant(x0)
    with pb.GradientTape() as tape:
        tape.watch(t)
        y = method(t)
        loss = np.sum(np.sin(y) * w)
    np.testing.assert_allclose(np.asarray(y), method(x0), rtol=1e-15)
    got = tape.gradient(loss, t).numpy()
    eps, want = 1e-6, np.zeros_like(x0)
    for i in np.ndindex(x0.shape):
        e = np.zeros_like(x0)
        e[i] = eps
        want[i] = (np.sum(np.sin(method(x0 + e)) * w) - np.sum(np.sin(method(x0 - e)) * w)) / (2 * eps)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)


def test_round_to_an_int_and_sort_in_place_say_what_they_do():
    t = pb.constant(2.6)
    assert round(t) == 3 and type(round(t)) is int
    with pb.GradientTape() as tape:
        tape.watch(t)
        y = round(t, 1) * t          # round has gradient zero: d/dt = round(t, 1)
    assert abs(float(tape.gradient(y, t)) - 2.6) < 1e-12
    assert pb.constant([[1.0, 2.0]]).item(0, 1) == 2.0
    assert pb.constant(np.ones((2, 3))).nbytes == 48
    with pytest.raises(TypeError, match="np.argsort"):
        pb.constant([2.0, 1.0]).sort()


def test_real_conj_and_round_on_the_tape():
    """``.real`` and ``.conj()`` pass the gradient on; ``.round()`` has gradient zero."""
    t = pb.constant([1.2, -2.7])
    with pb.GradientTape() as tape:
        tape.watch(t)
        y = np.sum(t.real * t.conj() + t.round() * t)
    np.testing.assert_allclose(tape.gradient(y, t).numpy(), [2 * 1.2 + 1.0, 2 * -2.7 - 3.0])


def test_ufunc_reduce_maps_to_sum():
    t = pb.constant([[1.0, 2.0], [3.0, 4.0]])
    assert np.add.reduce(t).numpy().tolist() == [4.0, 6.0]
    with pb.GradientTape() as tape:
        tape.watch(t)
        y = np.add.reduce(np.multiply.reduce(t, axis=1))
    assert tape.gradient(y, t).numpy().tolist() == [[2.0, 1.0], [4.0, 3.0]]


def test_variable_api():
    v = pb.Variable([1.0, 2.0], name="w")
    assert v.name == "w:0" and v.trainable and v.shape == (2,) and v.dtype == np.float64
    assert v.assign([3.0, 4.0]) is v and v.numpy().tolist() == [3.0, 4.0]
    v.assign_add([1.0, 1.0])
    v.assign_sub(np.array([0.5, 0.5]))
    assert v.numpy().tolist() == [3.5, 4.5]
    copy = v.numpy()
    copy[0] = 0.0
    assert v.numpy()[0] == 3.5
    assert pb.Variable(1.0, trainable=False).trainable is False
    assert pb.Variable(1, dtype=np.float32).dtype == np.float32
    assert repr(pb.Variable(2.0, name="x")) == "<pb.Variable 'x:0' shape=() dtype=float64, numpy=2.0>"


def test_variable_assign_of_a_wrong_shape():
    v = pb.Variable([1.0, 2.0], name="w")
    with pytest.raises(ValueError, match=r"shape \(3,\) to Variable 'w:0' of shape \(2,\)"):
        v.assign([1.0, 2.0, 3.0])


def test_variable_used_with_numpy_functions():
    v = pb.Variable([0.0, 1.0])
    with pb.GradientTape() as tape:
        y = np.sum(np.exp(v))
    np.testing.assert_allclose(tape.gradient(y, v).numpy(), np.exp([0.0, 1.0]))


def test_tensorflow_style_names():
    assert pb.reduce_sum([[1.0, 2.0], [3.0, 4.0]], axis=1).numpy().tolist() == [3.0, 7.0]
    assert pb.reduce_mean([1.0, 3.0]).numpy() == 2.0
    assert pb.multiply(2.0, 3.0).numpy() == 6.0
    assert pb.matmul([[1.0, 2.0]], [[1.0], [1.0]]).numpy().tolist() == [[3.0]]
    assert pb.exp(0.0).numpy() == 1.0
    assert pb.ones((2,)).dtype == np.float64 and pb.zeros((1, 2)).shape == (1, 2)
    assert pb.linspace(0.0, 1.0, 3).numpy().tolist() == [0.0, 0.5, 1.0]
    assert pb.random.normal((2, 3), seed=1).numpy().tolist() == \
        pb.random.normal((2, 3), seed=1).numpy().tolist()
    assert pb.random.normal((2, 3)).shape == (2, 3)
    math_names = ["abs", "sin", "cos", "tan", "exp", "log", "sqrt", "square", "tanh"]
    for name in math_names:
        assert isinstance(getattr(pb.math, name)(0.5), pb.Tensor), name
    assert pb.nn.relu([-1.0, 0.0, 2.0]).numpy().tolist() == [0.0, 0.0, 2.0]
    assert float(pb.nn.sigmoid(0.0)) == 0.5
    assert float(pb.nn.tanh(0.0)) == 0.0
    assert float(pb.nn.softplus(0.0)) == pytest.approx(np.log(2.0))


def test_sigmoid_does_not_overflow():
    x = pb.constant([-1000.0, 0.0, 1000.0])
    with pb.GradientTape() as tape:
        tape.watch(x)
        y = pb.nn.sigmoid(x)
    assert y.numpy().tolist() == [0.0, 0.5, 1.0]
    assert tape.gradient(y, x).numpy().tolist() == [0.0, 0.25, 0.0]


def test_relu_gradient_is_zero_at_zero():
    x = pb.constant([-1.0, 0.0, 2.0])
    with pb.GradientTape() as tape:
        tape.watch(x)
        y = pb.nn.relu(x)
    assert tape.gradient(y, x).numpy().tolist() == [0.0, 0.0, 1.0]


def test_one_element_tensors_convert_to_python_numbers():
    # NumPy 2.4 converts only 0-d arrays; the API promises any one-element Tensor
    t = pb.constant([2.5])
    assert float(t) == 2.5 and int(t) == 2 and complex(t) == 2.5 + 0j and bool(t)
    with pytest.raises(TypeError, match="one element"):
        float(pb.constant([1.0, 2.0]))


def test_print_shows_a_variable_as_tensorflow_does():
    w = pb.Variable([1.0, 2.0], name="w")
    assert str(w) == repr(w) and str(w).startswith("<pb.Variable 'w:0' shape=(2,)")


def test_assigning_a_float_to_an_int_variable_is_refused_not_truncated():
    v = pb.Variable(3)
    with pytest.raises(TypeError, match="truncated"):
        v.assign(7.9)
    assert v.numpy() == 3
    v.assign(5)
    assert v.numpy() == 5
    f = pb.Variable(1.0)
    f.assign(2)               # an int into a float Variable: no information lost
    assert f.numpy() == 2.0
