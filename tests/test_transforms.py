"""vjp, jvp, jacobian, hessian, hvp (API.md §4) against finite differences, on both engines."""

import numpy as np
import pytest

import pullback as pb

EPS = 1e-6


def f(x, y):
    return np.sin(x) * y + np.outer(x, y).sum(axis=1)


def scalar_f(x):
    return np.sum(np.tanh(x) ** 2 * x[::-1]) + x[0] * x[1] ** 3


def numeric_jacobian(fun, args, index):
    x = np.asarray(args[index], dtype=float)
    out = np.asarray(fun(*args))
    jac = np.zeros(out.shape + x.shape)
    for i in np.ndindex(x.shape):
        e = np.zeros(x.shape)
        e[i] = EPS
        plus, minus = list(args), list(args)
        plus[index], minus[index] = x + e, x - e
        jac[(...,) + i] = (fun(*plus) - fun(*minus)) / (2 * EPS)
    return jac


X = np.array([0.3, -1.2, 0.8])
Y = np.array([1.5, 0.4, -0.7])


@pytest.mark.parametrize("mode", ["source", "tape", "auto"])
def test_vjp_matches_the_numeric_jacobian(mode):
    value, pullback = pb.vjp(f, X, Y, mode=mode)
    np.testing.assert_allclose(value, f(X, Y))
    u = np.array([1.0, -2.0, 0.5])
    gx, gy = pullback(u)
    np.testing.assert_allclose(gx, u @ numeric_jacobian(f, (X, Y), 0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(gy, u @ numeric_jacobian(f, (X, Y), 1), rtol=1e-6, atol=1e-8)
    if mode != "tape":
        assert pullback.gradient_function.mode == "source"


def test_vjp_cotangent_of_the_wrong_shape():
    _, pullback = pb.vjp(f, X, Y)
    with pytest.raises(ValueError, match="cotangent has shape"):
        pullback(np.ones(4))


@pytest.mark.parametrize("mode", ["auto", "source", "tape"])
def test_jvp_sums_every_input_contribution(mode):
    tx, ty = np.array([1.0, 0.0, -1.0]), np.array([0.5, 0.5, 0.5])
    value, tangent = pb.jvp(f, (X, Y), (tx, ty), mode=mode)
    expected = numeric_jacobian(f, (X, Y), 0) @ tx + numeric_jacobian(f, (X, Y), 1) @ ty
    np.testing.assert_allclose(value, f(X, Y))
    np.testing.assert_allclose(tangent, expected, rtol=1e-6, atol=1e-8)


def test_jvp_structure_mismatch():
    with pytest.raises(ValueError, match="one tangent per primal"):
        pb.jvp(f, (X, Y), (X,))


@pytest.mark.parametrize("mode", ["source", "tape"])
@pytest.mark.parametrize("wrt", [0, 1, "y"])
def test_jacobian_shape_and_values(mode, wrt):
    jac = pb.jacobian(f, wrt, mode=mode)(X, Y)
    index = 1 if wrt in (1, "y") else 0
    assert jac.shape == (3, 3)
    np.testing.assert_allclose(jac, numeric_jacobian(f, (X, Y), index), rtol=1e-6, atol=1e-8)


def test_jacobian_of_a_matrix_function():
    def g(a):
        return a @ a.T

    a = np.arange(6.0).reshape(2, 3) / 5
    jac = pb.jacobian(g)(a)
    assert jac.shape == (2, 2, 2, 3)
    np.testing.assert_allclose(jac, numeric_jacobian(g, (a,), 0), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("mode", ["auto", "source", "tape"])
def test_hessian_matches_finite_differences_of_the_gradient(mode):
    hess = pb.hessian(scalar_f, mode=mode)(X)
    gradient = pb.grad(scalar_f)
    expected = numeric_jacobian(lambda x: gradient(x), (X,), 0)
    assert hess.shape == (3, 3)
    np.testing.assert_allclose(hess, expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(hess, hess.T, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", ["auto", "source", "tape"])
def test_hvp_takes_the_vector_last(mode):
    v = np.array([0.2, -1.0, 0.4])
    np.testing.assert_allclose(pb.hvp(scalar_f, mode=mode)(X, v), pb.hessian(scalar_f)(X) @ v,
                               rtol=1e-10, atol=1e-12)


def _sines(x, n):
    out = np.zeros(len(x))
    for i in range(n):
        out[i % len(x)] = out[i % len(x)] + np.sin(x[i % len(x)] * (i + 1))
    return np.sum(out * x)


def test_second_derivatives_in_source_mode_differentiate_the_generated_gradient():
    # API section 4: each transform works on both engines; in source mode the gradient
    # inside is the generated code, which the tape differentiates again
    x = np.array([0.3, -0.7, 1.1])
    gradient = pb.grad(_sines, mode="source")
    expected = numeric_jacobian(lambda y: gradient(y, 5), (x,), 0)
    np.testing.assert_allclose(pb.hessian(_sines, mode="source")(x, 5), expected,
                               rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(pb.hessian(_sines, mode="source")(x, 5),
                               pb.hessian(_sines, mode="tape")(x, 5), rtol=1e-12, atol=1e-12)


def doubled_n_times(x, n):
    for _ in range(n):
        x = x * 2.0
    return x


@pytest.mark.parametrize("mode", ["auto", "source", "tape"])
def test_vjp_passes_an_integer_argument_as_it_is(mode):
    # every argument was made a float: range(3.0) raised
    value, pullback = pb.vjp(doubled_n_times, np.array([1.0, 2.0]), 3, mode=mode)
    np.testing.assert_array_equal(value, [8.0, 16.0])
    gx, gn = pullback(np.array([1.0, -1.0]))
    np.testing.assert_array_equal(gx, [8.0, -8.0])
    assert gn == 0.0


def _mix(x, y):
    return x * y[0] + np.sin(x) * y[1]


@pytest.mark.parametrize("mode", ["auto", "source", "tape"])
def test_jacobian_of_a_tuple_wrt_is_a_tuple_and_takes_keywords(mode):
    # wrt=(0, 1) gave the Jacobian of argument 0 alone, silently
    x, y = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    jx, jy = pb.jacobian(_mix, wrt=(0, 1), mode=mode)(x, y)
    np.testing.assert_allclose(jx, np.diag(y[0] + np.cos(x) * y[1]), rtol=1e-13)
    np.testing.assert_allclose(jy, np.stack([x, np.sin(x)], axis=1), rtol=1e-13)
    np.testing.assert_allclose(pb.jacobian(_mix, wrt="y", mode=mode)(x, y=y), jy, rtol=1e-13)
