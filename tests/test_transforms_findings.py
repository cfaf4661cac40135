"""QA findings on the transforms (vjp, jvp, jacobian, hessian, hvp) and pb.grad's edges, each
checked against central finite differences on every engine."""

import functools

import numpy as np
import pytest

import pullback as pb

MODES = ["auto", "source", "tape"]
EPS = 1e-6


def fd_jacobian(fun, x):
    """Central differences of ``fun`` (array or tuple of arrays out) at float array ``x``:
    ``out.shape + x.shape`` per output, on copies of ``x`` (fun may write into them)."""
    x = np.asarray(x, dtype=float)
    columns = []
    for i in np.ndindex(x.shape):
        e = np.zeros(x.shape)
        e[i] = EPS
        plus, minus = fun(x.copy() + e), fun(x.copy() - e)
        if isinstance(plus, tuple):
            columns.append(tuple((np.asarray(p) - np.asarray(m)) / (2 * EPS)
                                 for p, m in zip(plus, minus)))
        else:
            columns.append((np.asarray(plus) - np.asarray(minus)) / (2 * EPS))

    def assemble(cols):
        out = np.stack(cols, axis=-1)
        return out.reshape(out.shape[:-1] + x.shape)
    if columns and isinstance(columns[0], tuple):
        return tuple(assemble([c[k] for c in columns]) for k in range(len(columns[0])))
    return assemble(columns)


def close(actual, expected):
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-7)


# --- 1. the caller's arrays are never written, and the derivative is taken at them -------------

def writes_its_argument(x):
    x[0] = x[0] * x[1]
    return x ** 2


@pytest.mark.parametrize("mode", ["auto", "tape"])
def test_jacobian_vjp_jvp_run_f_on_copies_and_differentiate_at_the_given_point(mode):
    x0 = np.array([1.0, 2.0, 3.0])
    expected = fd_jacobian(writes_its_argument, x0)
    x = x0.copy()
    close(pb.jacobian(writes_its_argument, mode=mode)(x), expected)
    value, back = pb.vjp(writes_its_argument, x, mode=mode)
    close(value, writes_its_argument(x0.copy()))
    u = np.array([1.0, -2.0, 0.5])
    close(back(u)[0], u @ expected)
    t = np.array([0.3, 1.0, -1.0])
    close(pb.jvp(writes_its_argument, (x,), (t,), mode=mode)[1], expected @ t)
    np.testing.assert_array_equal(x, x0)


@pytest.mark.parametrize("transform", ["jacobian", "vjp", "jvp"])
def test_source_mode_refuses_a_write_into_an_argument_without_making_it(transform):
    x0 = np.array([1.0, 2.0, 3.0])
    x = x0.copy()
    calls = {"jacobian": lambda: pb.jacobian(writes_its_argument, mode="source")(x),
             "vjp": lambda: pb.vjp(writes_its_argument, x, mode="source")[1](np.ones(3)),
             "jvp": lambda: pb.jvp(writes_its_argument, (x,), (np.ones(3),), mode="source")}
    with pytest.raises(pb.TransformError, match="writes into its argument"):
        calls[transform]()
    np.testing.assert_array_equal(x, x0)


# --- 2. tuple and dict outputs ----------------------------------------------------------------

def two_outputs(x):
    return np.sin(x) * x[::-1], x ** 2


@pytest.mark.parametrize("mode", MODES)
def test_tuple_outputs_give_tuple_tangents_jacobians_and_take_tuple_cotangents(mode):
    x = np.array([0.4, -1.3, 0.9])
    t = np.array([1.0, 0.5, -2.0])
    j_sin, j_sq = fd_jacobian(two_outputs, x)
    (v1, v2), (t1, t2) = pb.jvp(two_outputs, (x,), (t,), mode=mode)
    close(v1, two_outputs(x)[0])
    close(v2, x ** 2)
    close(t1, j_sin @ t)
    close(t2, j_sq @ t)
    a, b = pb.jacobian(two_outputs, mode=mode)(x)
    close(a, j_sin)
    close(b, j_sq)
    u1, u2 = np.array([1.0, 2.0, 3.0]), np.array([-1.0, 0.0, 4.0])
    _, back = pb.vjp(two_outputs, x, mode=mode)
    close(back((u1, u2))[0], u1 @ j_sin + u2 @ j_sq)


@pytest.mark.parametrize("mode", ["auto", "tape"])
def test_dict_outputs_keep_their_keys(mode):
    def named(x):
        return {"s": np.sin(x), "q": [x[0] * x[1]]}

    x, t = np.array([0.7, -0.2]), np.array([1.0, 3.0])
    expected = fd_jacobian(lambda y: (np.sin(y), np.array([y[0] * y[1]])), x)
    value, tangent = pb.jvp(named, (x,), (t,), mode=mode)
    close(value["s"], np.sin(x))
    close(tangent["s"], expected[0] @ t)
    close(np.reshape(tangent["q"][0], (1,)), expected[1] @ t)
    jac = pb.jacobian(named, mode=mode)(x)
    close(jac["s"], expected[0])
    close(np.reshape(jac["q"][0], (1, 2)), expected[1])


def _first_model(x):
    return x ** 2, np.sin(x)


def _second_model(x):
    return x ** 3


for _model in (_first_model, _second_model):
    _model.__name__ = _model.__qualname__ = "model"


@pytest.mark.parametrize("mode", MODES)
def test_pullbacks_of_namesakes_each_differentiate_their_own_function(mode):
    # the source engine reads the scalarized text when a pullback is first called: one text per
    # output structure, never another namesake's
    first, second = _first_model, _second_model
    x = np.array([0.5, -1.5])
    _, back_first = pb.vjp(first, x, mode=mode)
    _, back_second = pb.vjp(second, x, mode=mode)
    close(back_second(np.ones(2))[0], 3 * x ** 2)
    close(back_first((np.ones(2), np.ones(2)))[0], 2 * x + np.cos(x))


def test_an_output_that_is_no_number_is_refused_naming_the_function():
    def labelled(x):
        return x * 2, "label"

    with pytest.raises(ValueError, match="labelled to return real numbers"):
        pb.jacobian(labelled)(np.ones(2))
    with pytest.raises(ValueError, match="labelled to return real numbers"):
        pb.jvp(labelled, (np.ones(2),), (np.ones(2),))


# --- 3. int arguments are differentiated as floats, as pb.grad does ------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_jvp_and_vjp_differentiate_an_int_argument_as_a_float(mode):
    def cube(s):
        return s ** 3

    expected = float(fd_jacobian(cube, 2.0))
    _, t = pb.jvp(cube, (2,), (1.0,), mode=mode)
    _, back = pb.vjp(cube, 2, mode=mode)
    close(float(t), expected)
    close(float(back(1.0)[0]), expected)
    close(float(pb.grad(cube, mode=mode)(2)), expected)

    def square_sum(a):
        return np.sum(a ** 2)

    ints, t = np.array([1, 2]), np.array([1.0, -1.0])
    _, tangent = pb.jvp(square_sum, (ints,), (t,), mode=mode)
    close(float(tangent), fd_jacobian(square_sum, ints) @ t)
    _, back = pb.vjp(square_sum, ints, mode=mode)
    close(back(1.0)[0], fd_jacobian(square_sum, ints))


def test_jvp_of_an_int_count_with_a_tangent_says_to_give_it_a_zero_tangent():
    def repeat(x, n):
        for _ in range(n):
            x = x * 2.0
        return x

    x = np.array([1.0, 2.0])
    _, t = pb.jvp(repeat, (x, 3), (np.ones(2), 0))
    close(t, fd_jacobian(lambda y: repeat(y, 3), x) @ np.ones(2))
    with pytest.raises(TypeError, match="zero tangent"):
        pb.jvp(repeat, (x, 3), (np.ones(2), 1))


# --- 4. hessian and hvp: tuple wrt, keyword arguments, pytrees ---------------------------------

def two_args(x, y, scale=1.0):
    return scale * np.sum(x ** 2 * y ** 3 + np.sin(x * y))


X, Y = np.array([1.0, 2.0]), np.array([0.7, -0.5])


def gradient_blocks(scale=1.0):
    """Finite differences of the gradient (by pb.grad(mode='tape')): H[i][j]."""
    grad = pb.grad(two_args, wrt=(0, 1), mode="tape")
    rows = []
    for i in range(2):
        rows.append((fd_jacobian(lambda x: grad(x, Y, scale)[i], X),
                     fd_jacobian(lambda y: grad(X, y, scale)[i], Y)))
    return rows


@pytest.mark.parametrize("mode", MODES)
def test_hessian_of_a_tuple_wrt_gives_every_block(mode):
    expected = gradient_blocks()
    hessian = pb.hessian(two_args, wrt=(0, 1), mode=mode)(X, Y)
    assert isinstance(hessian, tuple) and all(isinstance(row, tuple) for row in hessian)
    for i in range(2):
        for j in range(2):
            close(hessian[i][j], expected[i][j])
    v = (np.array([1.0, -2.0]), np.array([0.5, 3.0]))
    product = pb.hvp(two_args, wrt=(0, 1), mode=mode)(X, Y, v)
    for i in range(2):
        close(product[i], expected[i][0] @ v[0] + expected[i][1] @ v[1])


@pytest.mark.parametrize("mode", MODES)
def test_hessian_and_hvp_take_keyword_arguments(mode):
    expected = gradient_blocks(scale=2.5)[0][0]
    close(pb.hessian(two_args, mode=mode)(X, Y, scale=2.5), expected)
    close(pb.hessian(two_args, mode=mode)(X, y=Y, scale=2.5), expected)
    v = np.array([0.3, 1.0])
    close(pb.hvp(two_args, mode=mode)(X, v, y=Y, scale=2.5), expected @ v)


def dict_loss(params, data):
    return np.sum(np.tanh(data @ params["w"] + params["b"]) ** 2)


@pytest.mark.parametrize("mode", MODES)
def test_hessian_and_hvp_of_a_dict_argument_nest_its_structure(mode):
    params = {"w": np.array([0.1, -0.2, 0.3]), "b": 0.5}
    data = np.arange(12.0).reshape(4, 3) / 10

    def flat(z):
        return dict_loss({"w": z[:3], "b": z[3]}, data)

    z = np.append(params["w"], params["b"])
    flat_grad = pb.grad(flat, mode="tape")
    expected = fd_jacobian(flat_grad, z)
    hessian = pb.hessian(dict_loss, mode=mode)(params, data)
    close(hessian["w"]["w"], expected[:3, :3])
    close(hessian["w"]["b"], expected[:3, 3])
    close(hessian["b"]["w"], expected[3, :3])
    close(hessian["b"]["b"], expected[3, 3])
    v = {"w": np.array([1.0, 0.0, -1.0]), "b": 2.0}
    product = pb.hvp(dict_loss, mode=mode)(params, data, v)
    flat_v = np.append(v["w"], v["b"])
    close(product["w"], (expected @ flat_v)[:3])
    close(product["b"], (expected @ flat_v)[3])


# --- 5. pb.grad of None, a str or a bool ------------------------------------------------------

def returns_none(x):
    np.sum(x ** 2)


def returns_str(x):
    return "loss"


def returns_bool(x):
    return np.sum(x) > 0


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fn", [returns_none, returns_str, returns_bool])
def test_grad_of_an_output_that_is_no_real_number_raises(mode, fn):
    expected = pb.TransformError if fn is returns_none and mode == "source" else ValueError
    with pytest.raises(expected, match="return"):
        pb.grad(fn, mode=mode)(np.array([1.0, 2.0]))


@pytest.mark.parametrize("mode", MODES)
def test_grad_of_a_complex_output_says_to_take_a_real_part(mode):
    # the tape refuses the complex value where it is made (a TypeError: the rules assume real
    # numbers); generated code computes the output first and says to take its real part
    error, says = (TypeError, "real values only") if mode == "tape" else (
        ValueError, r"complex number.*np.real")
    with pytest.raises(error, match=says):
        pb.grad(lambda a: np.sum(a) * 1j, mode=mode)(np.array([1.0, 2.0]))


# --- 6. GradientTape.jacobian of an empty target ----------------------------------------------

def test_tape_jacobian_and_batch_jacobian_of_an_empty_target_are_empty_arrays():
    x = pb.constant(np.zeros(0))
    with pb.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = x * 2
    assert tape.jacobian(y, x).shape == (0, 0)
    batch = pb.constant(np.zeros((3, 0)))
    with pb.GradientTape() as tape:
        tape.watch(batch)
        z = batch * 2
    assert tape.batch_jacobian(z, batch).shape == (3, 0, 0)


# --- 7. Tensor arguments outside any tape get arrays ---------------------------------------------

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("make", [pb.constant, pb.Variable])
def test_grad_of_a_tensor_argument_outside_a_tape_is_an_array(mode, make):
    def f(x):
        return np.sum(np.sin(x) * x)

    x = np.array([0.5, 1.5])
    g = pb.grad(f, mode=mode)(make(x))
    assert type(g) is np.ndarray
    close(g, fd_jacobian(f, x))


# --- 8. a Tensor cotangent is followed ---------------------------------------------------------

def reversed_product(x):
    return np.sin(x) * x[::-1] ** 2


X0 = np.array([0.3, -0.8, 1.1])


def through_cotangent(u):
    return np.sum(pb.vjp(reversed_product, X0)[1](u)[0] ** 2)


@pytest.mark.parametrize("mode", ["auto", "tape"])
def test_grad_through_a_vjp_cotangent(mode):
    u = np.array([1.0, 2.0, 3.0])
    close(pb.grad(through_cotangent, mode=mode)(u), fd_jacobian(through_cotangent, u))


def test_a_source_mode_vjp_refuses_a_cotangent_a_tape_records():
    _, back = pb.vjp(reversed_product, X0, mode="source")
    u = pb.constant(np.ones(3))
    with pb.GradientTape() as tape:
        tape.watch(u)
        with pytest.raises(ValueError, match="mode='auto'"):
            back(u)


@pytest.mark.parametrize("mode", ["auto", "tape"])
def test_grad_through_a_jacobian(mode):
    def jacobian_norm(x):
        return np.sum(pb.jacobian(reversed_product, mode="tape")(x) ** 2)

    close(pb.grad(jacobian_norm, mode=mode)(X0), fd_jacobian(jacobian_norm, X0))


@pytest.mark.parametrize("transform", ["jvp", "hessian", "hvp"])
def test_grad_through_a_transform_that_would_drop_it_raises(transform):
    def total(y):
        return np.sum(reversed_product(y))

    inner = {"jvp": lambda x: pb.jvp(reversed_product, (x,), (np.ones(3),))[1],
             "hessian": lambda x: pb.hessian(total)(x),
             "hvp": lambda x: pb.hvp(total)(x, np.ones(3))}[transform]
    with pytest.raises(TypeError, match=f"derivative is being taken through pb.{transform}"):
        pb.grad(lambda x: np.sum(inner(x) ** 2), mode="tape")(X0)


# --- 9. messages that say what happened and the fix -------------------------------------------

def doubled(w):
    return w * 2


def test_jvp_messages_name_the_function_and_the_fix():
    w = np.ones(3)
    with pytest.raises(TypeError, match=r"as a tuple.*pb.jvp\(doubled, \(x,\), \(t,\)\)"):
        pb.jvp(doubled, w, w)
    with pytest.raises(TypeError, match="doubled.*cannot take the 2 primals"):
        pb.jvp(doubled, (w, w), (w, w))
    for mode in MODES:
        with pytest.raises(ValueError, match=r"tangent of argument 0 of doubled has shape \(2,\)"):
            pb.jvp(doubled, (w,), (np.ones(2),), mode=mode)


def test_a_source_mode_hessian_of_a_non_scalar_says_so_plainly():
    with pytest.raises(ValueError, match="doubled to return a real scalar.*pb.jacobian"):
        pb.hessian(doubled, mode="source")(np.ones(3))


@pytest.mark.parametrize("mode", MODES)
def test_hvp_of_a_v_of_the_wrong_shape_names_the_argument(mode):
    with pytest.raises(ValueError, match=r"v has shape \(3,\) but argument 'x' has shape \(2,\)"):
        pb.hvp(two_args, mode=mode)(X, Y, np.ones(3))


def loss(x):
    return np.sum(np.sin(x) * x)


@pytest.mark.parametrize("transform", ["jacobian", "vjp"])
def test_source_mode_errors_name_the_users_function_not_the_wrapper(transform):
    x = np.array([0.3, -0.7])
    gradient = pb.grad(loss)
    with pytest.raises(pb.TransformError) as info:
        if transform == "jacobian":
            pb.jacobian(gradient, mode="source")(x)
        else:
            pb.vjp(gradient, x, mode="source")[1](np.ones(2))
    assert info.value.filename == __file__
    assert info.value.lineno == loss.__code__.co_firstlineno
    assert "pullback gradient of loss" in info.value.msg and "mode='auto'" in info.value.msg
    with pytest.raises(pb.TransformError, match="functools.partial"):
        pb.jacobian(functools.partial(np.multiply, 2.0), mode="source")(x)


# --- second derivatives of generated code (mode="source") ---------------------------------------

def _log_sum_exp(x):
    return np.log(np.sum(np.exp(x)))


def _norm_times_mean(x):
    return np.sqrt(np.sum(x ** 2)) * np.mean(x)


def _constant(x):
    return 3.0


def _ignores_y(x, y):
    return np.sum(x ** 3)


@pytest.mark.parametrize("f", [_log_sum_exp, _norm_times_mean], ids=lambda f: f.__name__)
def test_hessian_in_source_mode_of_a_scalar_reduction(f):
    """The generated gradient computed the reduced scalar with math.log / math.sqrt, which
    turned the Tensor a second derivative runs it on into a float: a TransformError."""
    x = np.array([0.3, -0.7, 1.1])
    want = fd_jacobian(pb.grad(f, mode="source"), x)
    np.testing.assert_allclose(pb.hessian(f, mode="source")(x), want, rtol=1e-5, atol=1e-7)
    v = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(pb.hvp(f, mode="source")(x, v), want @ v, rtol=1e-5, atol=1e-7)


def test_hessian_in_source_mode_of_an_unconnected_argument():
    """The zeros of an argument the output ignores went through np.asarray of a Tensor."""
    x = np.array([0.3, -0.7])
    np.testing.assert_allclose(pb.hessian(_constant, mode="source")(x), np.zeros((2, 2)))
    h = pb.hessian(_ignores_y, wrt=1, mode="source")(x, np.array([1.0, 2.0]))
    np.testing.assert_allclose(h, np.zeros((2, 2)))
