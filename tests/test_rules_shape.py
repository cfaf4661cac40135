"""Rules for shape functions: every rule over a table of shapes and axes, plus the
non-differentiable shape queries."""

import numpy as np
import pytest
from rulecheck import check_rule

import pullback as pb
from pullback._errors import NoGradientRuleError
from pullback._registry import lookup

rng = np.random.default_rng(7)


def r(*shape):
    """A standard-normal float64 array of ``shape`` (a Python float for no shape)."""
    a = rng.standard_normal(shape)
    return float(a) if shape == () else a


# (function, positional args, keyword args): one row per case, grouped by primitive
CASES = [
    # reshaping
    (np.reshape, (r(2, 3), (3, 2)), {}),
    (np.reshape, (r(2, 3), -1), {}),
    (np.reshape, (r(2, 3), 6), {}),
    (np.reshape, (r(6), (2, -1)), {}),
    (np.reshape, (r(2, 3, 4), (4, 6)), {}),
    (np.reshape, (r(), (1, 1)), {}),
    # order goes positionally: check_rule has an `order` keyword of its own
    (np.reshape, (r(2, 3), (3, 2), "F"), {}),
    (np.reshape, (r(2, 3, 4), (4, 6), "F"), {}),
    (np.reshape, (r(2, 3),), {"shape": (6, 1)}),
    (np.ravel, (r(),), {}),
    (np.ravel, (r(3),), {}),
    (np.ravel, (r(2, 3),), {}),
    (np.ravel, (r(2, 3, 4), "F"), {}),
    (np.squeeze, (r(1, 3, 1),), {}),
    (np.squeeze, (r(1, 3, 1),), {"axis": 0}),
    (np.squeeze, (r(1, 3, 1),), {"axis": -1}),
    (np.squeeze, (r(1, 3, 1),), {"axis": (0, 2)}),
    (np.squeeze, (r(1, 1),), {}),
    (np.expand_dims, (r(), 0), {}),
    (np.expand_dims, (r(3), 0), {}),
    (np.expand_dims, (r(2, 3), -1), {}),
    (np.expand_dims, (r(2, 3), (0, 2)), {}),
    (np.broadcast_to, (r(), (2, 3)), {}),
    (np.broadcast_to, (r(3), (2, 3)), {}),
    (np.broadcast_to, (r(2, 1), (2, 3)), {}),
    (np.broadcast_to, (r(1, 3), (4, 2, 3)), {}),
    (np.broadcast_to, (r(2, 3), (2, 3)), {}),
    (np.copy, (r(),), {}),
    (np.copy, (r(2, 3),), {}),
    # permuting axes
    (np.transpose, (r(),), {}),
    (np.transpose, (r(3),), {}),
    (np.transpose, (r(2, 3),), {}),
    (np.transpose, (r(2, 3, 4), (2, 0, 1)), {}),
    (np.transpose, (r(2, 3, 4), (-1, 0, -2)), {}),
    (np.transpose, (r(2, 3, 4),), {"axes": [1, 2, 0]}),
    (np.swapaxes, (r(2, 3), 0, 1), {}),
    (np.swapaxes, (r(2, 3, 4), 0, 2), {}),
    (np.swapaxes, (r(2, 3, 4), -1, 1), {}),
    (np.moveaxis, (r(2, 3, 4), 0, -1), {}),
    (np.moveaxis, (r(2, 3, 4), -1, 0), {}),
    (np.moveaxis, (r(2, 3, 4), [0, 1], [-1, 0]), {}),
    (np.matrix_transpose, (r(2, 3),), {}),
    (np.matrix_transpose, (r(4, 2, 3),), {}),
    # flipping and rotating
    (np.flip, (r(3),), {}),
    (np.flip, (r(2, 3),), {"axis": 0}),
    (np.flip, (r(2, 3),), {"axis": -1}),
    (np.flip, (r(2, 3, 4),), {"axis": (0, 2)}),
    (np.flip, (r(2, 3, 4),), {}),
    (np.fliplr, (r(2, 3),), {}),
    (np.fliplr, (r(2, 3, 4),), {}),
    (np.flipud, (r(3),), {}),
    (np.flipud, (r(2, 3),), {}),
    (np.roll, (r(5), 2), {}),
    (np.roll, (r(2, 3), 1), {}),
    (np.roll, (r(2, 3), -1), {"axis": 1}),
    (np.roll, (r(2, 3), (1, -2)), {"axis": (0, 1)}),
    (np.roll, (r(2, 3, 4), 5), {"axis": -1}),
    (np.rot90, (r(2, 3),), {}),
    (np.rot90, (r(2, 3), 2), {}),
    (np.rot90, (r(2, 3), -1), {}),
    (np.rot90, (r(2, 3, 4), 3, (1, 2)), {}),
    (np.rot90, (r(2, 3, 4),), {"k": 1, "axes": (2, 0)}),
    # promoting to at least n dimensions; several arguments give several outputs
    (np.atleast_1d, (r(),), {}),
    (np.atleast_1d, (r(3),), {}),
    (np.atleast_1d, (r(), r(2, 3)), {}),
    (np.atleast_2d, (r(),), {}),
    (np.atleast_2d, (r(3),), {}),
    (np.atleast_2d, (r(2, 3),), {}),
    (np.atleast_2d, (r(3), r(), r(2, 2, 2)), {}),
    (np.atleast_3d, (r(),), {}),
    (np.atleast_3d, (r(3),), {}),
    (np.atleast_3d, (r(2, 3),), {}),
    (np.atleast_3d, (r(2, 3), r(4)), {}),
    # joining: a sequence of arrays
    (np.concatenate, ([r(3), r(2)],), {}),
    (np.concatenate, ([r(2, 3), r(1, 3)],), {}),
    (np.concatenate, ([r(2, 3), r(2, 2), r(2, 1)],), {"axis": 1}),
    (np.concatenate, ((r(2, 3), r(2, 2)),), {"axis": -1}),
    (np.concatenate, ([r(2, 3), r(4), r(1, 1)],), {"axis": None}),
    (np.concatenate, ([r(2, 3)],), {}),
    (np.stack, ([r(), r()],), {}),
    (np.stack, ([r(3), r(3)],), {}),
    (np.stack, ([r(2, 3), r(2, 3), r(2, 3)],), {"axis": 1}),
    (np.stack, ([r(2, 3), r(2, 3)],), {"axis": -1}),
    (np.stack, ((r(2, 3), r(2, 3)), 2), {}),
    (np.hstack, ([r(), r(2)],), {}),
    (np.hstack, ([r(3), r(2)],), {}),
    (np.hstack, ([r(2, 3), r(2, 1)],), {}),
    (np.hstack, ([r(2, 3, 2), r(2, 1, 2)],), {}),
    (np.vstack, ([r(), r()],), {}),
    (np.vstack, ([r(3), r(3)],), {}),
    (np.vstack, ([r(3), r(2, 3)],), {}),
    (np.vstack, ([r(2, 3, 2), r(1, 3, 2)],), {}),
    (np.dstack, ([r(), r()],), {}),
    (np.dstack, ([r(3), r(3)],), {}),
    (np.dstack, ([r(2, 3), r(2, 3)],), {}),
    (np.dstack, ([r(2, 3), r(2, 3, 2)],), {}),
    (np.column_stack, ([r(), r()],), {}),
    (np.column_stack, ([r(3), r(3)],), {}),
    (np.column_stack, ([r(3), r(3, 2)],), {}),
    (np.append, (r(3), r(2)), {}),
    (np.append, (r(2, 3), r(2, 2)), {}),
    (np.append, (r(2, 3), r(1, 3)), {"axis": 0}),
    (np.append, (r(2, 3), r(2, 1), -1), {}),
    (np.append, (r(), r(2)), {}),
    # splitting: several outputs
    (np.split, (r(6), 3), {}),
    (np.split, (r(6), [1, 4]), {}),
    (np.split, (r(6), [2, 2]), {}),
    (np.split, (r(2, 6), 3), {"axis": 1}),
    (np.split, (r(4, 3), [1]), {}),
    (np.split, (r(2, 3, 4), [1, 3], -1), {}),
    (np.array_split, (r(7), 3), {}),
    (np.array_split, (r(2, 5), 2), {"axis": 1}),
    (np.array_split, (r(3, 2), [2]), {}),
    (np.hsplit, (r(6), 2), {}),
    (np.hsplit, (r(2, 4), [1, 3]), {}),
    (np.vsplit, (r(4, 3), 2), {}),
    (np.dsplit, (r(2, 3, 4), [1]), {}),
    (np.unstack, (r(2, 3),), {}),
    (np.unstack, (r(2, 3, 4),), {"axis": -1}),
    # repeating
    (np.tile, (r(), 3), {}),
    (np.tile, (r(3), 2), {}),
    (np.tile, (r(3), (2, 2)), {}),
    (np.tile, (r(2, 3), (2, 1)), {}),
    (np.tile, (r(2, 3), (2,)), {}),
    (np.tile, (r(2, 1, 3), (1, 3, 2)), {}),
    (np.tile, (r(2, 3), ()), {}),
    (np.repeat, (r(), 3), {}),
    (np.repeat, (r(3), 2), {}),
    (np.repeat, (r(2, 3), 2), {}),
    (np.repeat, (r(2, 3), [1, 0, 3]), {"axis": 1}),
    (np.repeat, (r(2, 3), [2, 1]), {"axis": 0}),
    (np.repeat, (r(2, 3), 3), {"axis": -2}),
    (np.repeat, (r(4), np.array([0, 1, 2, 3])), {}),
    # diagonals and triangles
    (np.diag, (r(3),), {}),
    (np.diag, (r(3), 1), {}),
    (np.diag, (r(3),), {"k": -2}),
    (np.diag, (r(3, 3),), {}),
    (np.diag, (r(3, 4), 1), {}),
    (np.diag, (r(4, 3), -1), {}),
    (np.diag, (r(4, 3), 2), {}),
    (np.diagonal, (r(3, 3),), {}),
    (np.diagonal, (r(3, 4), 1), {}),
    (np.diagonal, (r(4, 3), -2), {}),
    (np.diagonal, (r(2, 3, 4), -1, 1, 2), {}),
    (np.diagonal, (r(2, 3, 4),), {"axis1": 2, "axis2": 0}),
    (np.diagonal, (r(2, 3, 4),), {"offset": 1, "axis1": -1, "axis2": -2}),
    (np.triu, (r(3, 3),), {}),
    (np.triu, (r(3, 4), 1), {}),
    (np.triu, (r(2, 3, 3),), {"k": -1}),
    (np.triu, (r(3),), {}),
    (np.tril, (r(3, 3),), {}),
    (np.tril, (r(4, 3), -1), {}),
    (np.tril, (r(2, 3, 3),), {"k": 1}),
    (np.tril, (r(3), 1), {}),
    # real part (real input)
    (np.real, (r(),), {}),
    (np.real, (r(2, 3),), {}),
    # padding
    (np.pad, (r(3), 1), {}),
    (np.pad, (r(2, 3), ((1, 0), (2, 1))), {}),
    (np.pad, (r(2, 3), (0, 2)), {"constant_values": 3.0}),
    (np.pad, (r(), 0), {}),
    (np.pad, (r(4), 2, "edge"), {}),
    (np.pad, (r(2, 3), ((1, 2), (2, 1))), {"mode": "edge"}),
    (np.pad, (r(2, 3), ((1, 1), (2, 2))), {"mode": "reflect"}),
    (np.pad, (r(4), (3, 5)), {"mode": "reflect"}),
    (np.pad, (r(2, 3), 2), {"mode": "symmetric"}),
    (np.pad, (r(2, 3), ((1, 3), (4, 0))), {"mode": "wrap"}),
]


def _name(case):
    fun, args, kwargs = case
    shapes = ",".join(f"{np.shape(a)}" if isinstance(a, (float, np.ndarray)) else
                      "[" + ",".join(str(np.shape(e)) for e in a) + "]"
                      if isinstance(a, (list, tuple)) and a and isinstance(a[0], np.ndarray)
                      else repr(a) for a in args)
    return f"{fun.__name__}({shapes}{''.join(f',{k}={v!r}' for k, v in kwargs.items())})"


@pytest.mark.parametrize("fun,args,kwargs", CASES, ids=[_name(c) for c in CASES])
def test_shape_rule(fun, args, kwargs):
    check_rule(fun, *args, **kwargs)


# the fill value (not the shape, or the array whose shape is copied) carries the gradient
FILLING = [
    (np.full, ((2, 3), r()), {}),
    (np.full, ((2, 3), r(3)), {}),
    (np.full, ((2, 3), r(2, 1)), {}),
    (np.full_like, (r(2, 3), r()), {}),
    (np.full_like, (r(2, 3), r(3)), {}),
    (np.linspace, (r(), r(), 5), {}),
    (np.linspace, (r(), r(), 4), {"endpoint": False}),
    (np.linspace, (r(), r(), 1), {}),
    (np.linspace, (r(3), r(3), 4), {}),
    (np.linspace, (r(3), r(), 4), {"axis": -1}),
    (np.linspace, (r(2, 1), r(3), 4), {"axis": 1}),
]


@pytest.mark.parametrize("fun,args,kwargs", FILLING, ids=[_name(c) for c in FILLING])
def test_filling_rule(fun, args, kwargs):
    # a GradientTape cannot see np.full(shape, t) (NumPy turns t into an array first, and
    # np.full_like of a plain array copies t in): pb.grad's tape can, see the test below
    filled = fun in (np.full, np.full_like)
    check_rule(fun, *args, argnums=(1,) if filled else (0, 1), tape=not filled, **kwargs)


def fill_and_space(x, w):
    a = np.full((2, 3), x[0] * w)
    b = np.full_like(a, w)
    c = np.linspace(x[1], w, 4)
    d = np.linspace(x, w * x, 3, axis=1)
    return np.sum(np.sin(a) * b) + np.sum(c ** 2) + np.sum(np.cos(d))


@pytest.mark.parametrize("mode", ["source", "tape", "auto"])
def test_filled_values_carry_their_gradient_in_every_mode(mode):
    x, w = np.array([0.3, -0.8]), 1.3
    gx, gw = pb.grad(fill_and_space, wrt=(0, 1), mode=mode)(x, w)
    eps = 1e-6
    for k in range(2):
        e = np.zeros(2)
        e[k] = eps
        fd = (fill_and_space(x + e, w) - fill_and_space(x - e, w)) / (2 * eps)
        np.testing.assert_allclose(gx[k], fd, rtol=1e-6, atol=1e-8)
    fd = (fill_and_space(x, w + eps) - fill_and_space(x, w - eps)) / (2 * eps)
    np.testing.assert_allclose(gw, fd, rtol=1e-6, atol=1e-8)


def test_pb_grads_tape_refuses_an_allocator_without_a_rule_given_a_differentiated_value():
    def counts_from(x):
        return np.sum(np.arange(x[0], 3.0))

    with pytest.raises(NoGradientRuleError, match="arange"):
        pb.grad(counts_from, mode="tape")(np.array([0.5, 1.0]))


def _numpy_pads_with_a_dict():
    try:
        np.pad(np.zeros((2, 3)), {1: (1, 2)})
        return True
    except TypeError:   # NumPy before 2.3: pad_width is a number or pairs
        return False


def test_pad_width_as_a_dict_follows_numpy():
    x0 = r(2, 3)
    if _numpy_pads_with_a_dict():
        check_rule(np.pad, x0, {1: (1, 2)})
    else:   # NumPy refuses the call, and so does the same call on the tape
        x = pb.Variable(x0)
        with pb.GradientTape():
            with pytest.raises(TypeError):
                np.pad(x, {1: (1, 2)})


# --- exact values where copies must add up ---------------------------------------------------

def _vjp(fun, argnum, *args, **kwargs):
    ans = fun(*args, **kwargs)
    return lookup(fun).vjp_maker(argnum)(ans, *args, **kwargs)


def test_repeat_vjp_sums_the_copies():
    g = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    got = _vjp(np.repeat, 0, np.zeros(3), [0, 2, 4])(g)
    np.testing.assert_array_equal(got, [0.0, 1.0 + 2.0, 3.0 + 4.0 + 5.0 + 6.0])


def test_tile_vjp_sums_the_copies():
    g = np.arange(12.0).reshape(2, 6)
    got = _vjp(np.tile, 0, np.zeros(3), (2, 2))(g)
    # element j of the input appears at columns j and j + 3 of both rows
    np.testing.assert_array_equal(got, g[:, :3].sum(0) + g[:, 3:].sum(0))


def test_broadcast_to_vjp_sums_the_copies():
    got = _vjp(np.broadcast_to, 0, np.zeros((2, 1)), (2, 3))(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(got, [[3.0], [12.0]])


def test_concatenate_vjp_splits_for_every_element():
    a, c = np.zeros((2, 3)), np.ones((1, 3), dtype=int)  # c: an integer constant
    g = np.arange(9.0).reshape(3, 3)
    ga, gc = _vjp(np.concatenate, 0, [a, c])(g)
    np.testing.assert_array_equal(ga, g[:2])
    np.testing.assert_array_equal(gc, g[2:])


def test_pad_edge_vjp_adds_the_border_to_the_edge():
    got = _vjp(np.pad, 0, np.zeros(3), 2, "edge")(np.arange(7.0))
    np.testing.assert_array_equal(got, [0.0 + 1.0 + 2.0, 3.0, 4.0 + 5.0 + 6.0])


def test_pad_constant_jvp_ignores_the_constant():
    ans = np.pad(np.ones(2), 1, constant_values=5.0)
    jvp = lookup(np.pad).jvp_maker(0)(ans, np.ones(2), 1, constant_values=5.0)
    np.testing.assert_array_equal(jvp(np.array([2.0, 3.0])), [0.0, 2.0, 3.0, 0.0])


def test_atleast_jvp_leaves_the_other_outputs_still():
    a, b = np.ones(2), 1.0
    ans = np.atleast_2d(a, b)
    t = lookup(np.atleast_2d).jvp_maker(1)(ans, a, b)(np.array(4.0))
    np.testing.assert_array_equal(t[0], np.zeros((1, 2)))
    np.testing.assert_array_equal(t[1], [[4.0]])


def test_append_jvp_leaves_the_other_argument_still():
    a, v = np.ones(2), np.full(3, 7.0)
    ans = np.append(a, v)
    t = lookup(np.append).jvp_maker(0)(ans, a, v)(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(t, [1.0, 2.0, 0.0, 0.0, 0.0])


def test_real_of_complex_pulls_back_to_a_complex_cotangent():
    z = np.array([1.0 + 2.0j, 3.0 - 1.0j])
    got = _vjp(np.real, 0, z)(np.array([1.0, 2.0]))
    assert np.iscomplexobj(got)
    np.testing.assert_array_equal(got, [1.0 + 0.0j, 2.0 + 0.0j])


# --- cases with no rule, rather than a wrong one ---------------------------------------------

@pytest.mark.parametrize("fun,args,kwargs", [
    (np.reshape, (np.ones((2, 3)), (3, 2)), {"order": "A"}),
    (np.ravel, (np.ones((2, 3)),), {"order": "K"}),
    (np.pad, (np.ones(3), 1), {"mode": "mean"}),
    (np.pad, (np.ones(3), 1), {"mode": "linear_ramp"}),
    (np.pad, (np.ones(3), 1), {"mode": "reflect", "reflect_type": "odd"}),
])
def test_layout_or_mode_without_rule_raises(fun, args, kwargs):
    with pytest.raises(NoGradientRuleError):
        _vjp(fun, 0, *args, **kwargs)


# --- shape queries and constructors carry no gradient ----------------------------------------

NONDIFFERENTIABLE = [
    np.shape, np.ndim, np.size, np.result_type, np.iscomplexobj, np.isrealobj,
    np.argmax, np.argmin, np.argsort, np.argpartition, np.lexsort, np.argwhere, np.nonzero,
    np.flatnonzero, np.searchsorted, np.digitize, np.unravel_index, np.ravel_multi_index,
    np.count_nonzero, np.any, np.all, np.isclose, np.allclose, np.array_equal, np.array_equiv,
    np.zeros_like, np.ones_like, np.empty_like,
]


@pytest.mark.parametrize("fun", NONDIFFERENTIABLE, ids=lambda f: f.__name__)
def test_declared_nondifferentiable(fun):
    prim = lookup(fun)
    assert prim is not None, f"{fun.__name__} is not declared"
    assert prim.differentiable is False


def _by_nan_extrema(z):
    return z[np.nanargmin(z)] * 2.0 + z[np.nanargmax(z)]


@pytest.mark.parametrize("mode", ["source", "auto", "tape"])
def test_nanargmin_and_nanargmax_are_indices(mode):
    """np.nanargmin / np.nanargmax had no rule (refused in every mode); like np.argmin they
    give indices, which carry no gradient (found by helper-24)."""
    z = np.array([0.3, -0.7, 1.2, np.nan])
    np.testing.assert_allclose(pb.grad(_by_nan_extrema, mode=mode)(z), [0.0, 2.0, 1.0, 0.0])
