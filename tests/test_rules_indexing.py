"""Rules for indexing: getitem over every kind of index, its adjoint untake, np.take and
np.take_along_axis; exact values where repeated indices must add up."""

import numpy as np
import pytest
from rulecheck import check_rule

import pullback as pb
from pullback._registry import lookup
from pullback._rules.indexing import getitem, untake

rng = np.random.default_rng(11)
X1 = rng.standard_normal(5)
X2 = rng.standard_normal((3, 4))
X3 = rng.standard_normal((2, 3, 4))
X0 = rng.standard_normal(())

# (array, index): one row per kind of index
INDEXES = [
    # integers, negative integers, 0-d results
    (X1, 2),
    (X1, -1),
    (X2, 1),
    (X2, -3),
    (X2, (1, 2)),
    (X2, (-1, -4)),
    (X3, (1, -2, 3)),
    (X3, (0, 1)),
    # slices with steps, negative steps and negative bounds
    (X1, slice(1, 4)),
    (X1, slice(None, None, 2)),
    (X1, slice(None, None, -1)),
    (X1, slice(-1, 0, -2)),
    (X2, (slice(None), slice(1, None, 2))),
    (X3, (slice(None, None, -1), 1, slice(-3, None))),
    (X2, slice(2, 2)),  # empty
    # None / newaxis and Ellipsis
    (X1, None),
    (X2, (None, slice(None), None)),
    (X2, Ellipsis),
    (X3, (Ellipsis, 1)),
    (X3, (0, Ellipsis, None)),
    (X3, (Ellipsis, None, slice(1, 3))),
    (X0, ()),
    (X0, Ellipsis),
    (X0, None),
    (X2, ()),
    # integer arrays (fancy), with repeats
    (X1, [0, 0, 1]),
    (X1, np.array([4, -1, 4, 0])),
    (X1, np.array([[0, 1], [1, 1]])),
    (X2, [2, 2, 0]),
    (X2, ([0, 1, 1], [3, 3, 0])),
    (X2, (np.array([[0], [2]]), np.array([[1, 1, 3]]))),  # broadcast index arrays
    (X3, (slice(None), [0, 0, 2])),
    (X3, ([1, 1], slice(None), [1, 1])),  # separated: the fancy axis goes first
    (X3, (0, Ellipsis, None, [3, 3])),
    (X2, np.array(1)),  # 0-d integer array
    # boolean masks
    (X1, X1 > 0),
    (X2, X2 > 0),
    (X2, np.array([True, False, True])),
    (X3, (slice(None), np.array([False, True, True]))),
    (X3, (np.array([True, False]), Ellipsis, 2)),
    (X2, np.zeros((3, 4), dtype=bool)),  # selects nothing
    # mixed tuples
    (X3, (1, [0, 2, 2], slice(None, None, -2))),
    (X3, (slice(1, None), None, [1, 0], -1)),
    (X3, ([0, 1], np.array([True, False, True]), Ellipsis)),
]


def _id(case):
    x, index = case
    return f"{np.shape(x)}[{index!r}]".replace("\n", "")


@pytest.mark.parametrize("x,index", INDEXES, ids=[_id(c) for c in INDEXES])
def test_getitem_rule(x, index):
    check_rule(getitem, x, index)


@pytest.mark.parametrize("x,index", INDEXES, ids=[_id(c) for c in INDEXES])
def test_untake_rule(x, index):
    g = rng.standard_normal(np.shape(x[index]))
    check_rule(untake, g, index, np.shape(x))


@pytest.mark.parametrize("x,index", [(X1, [0, 0, 1]), (X2, (slice(None), [1, 1, -3])),
                                     (X3, (X3[..., 0] > 0, 2)), (X2, (1, 2))])
def test_indexing_a_tensor_records_getitem(x, index):
    """``tensor[index]`` (Tensor.__getitem__) gives the registry's gradient."""
    g = rng.standard_normal(np.shape(x[index]))
    t = pb.constant(x)
    with pb.GradientTape() as tape:
        tape.watch(t)
        y = t[index]
    got = tape.gradient(y, t, output_gradients=pb.constant(g))
    expected = lookup(getitem).vjp_maker(0)(x[index], x, index)(g)
    np.testing.assert_allclose(got.numpy(), expected, rtol=0, atol=0)


# --- repeated indices add up ----------------------------------------------------------------

def test_repeated_fancy_indices_add_up():
    x = np.array([10.0, 20.0, 30.0])
    got = lookup(getitem).vjp_maker(0)(x[[0, 0, 1]], x, [0, 0, 1])(np.array([1.0, 2.0, 4.0]))
    np.testing.assert_array_equal(got, [3.0, 4.0, 0.0])


def test_repeated_fancy_indices_add_up_through_the_tape():
    x = pb.constant([10.0, 20.0, 30.0])
    with pb.GradientTape() as tape:
        tape.watch(x)
        y = np.sum(x[[0, 0, 1]])
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [2.0, 1.0, 0.0])


def test_repeated_index_pairs_add_up():
    g = np.array([1.0, 2.0, 4.0, 8.0])
    got = untake(g, ([0, 1, 0, 0], [2, 0, 2, 2]), (2, 3))
    np.testing.assert_array_equal(got, [[0.0, 0.0, 13.0], [2.0, 0.0, 0.0]])


def test_second_derivative_through_repeated_indices():
    """d2/dx2 of sum(x[idx] ** 3) runs getitem's VJP (untake) and untake's VJP (getitem) on
    Tensors: the Hessian is diagonal with 6 * count * x."""
    idx = [0, 0, 2, 2, 2]
    xv = np.array([1.5, -2.0, 0.5])
    x = pb.constant(xv)
    with pb.GradientTape() as outer:
        outer.watch(x)
        with pb.GradientTape() as inner:
            inner.watch(x)
            y = np.sum(x[idx] ** 3)
        gx = inner.gradient(y, x)
        s = np.sum(gx * np.array([1.0, 1.0, 1.0]))
    np.testing.assert_allclose(gx.numpy(), 3 * np.array([2, 0, 3]) * xv ** 2)
    np.testing.assert_allclose(outer.gradient(s, x).numpy(), 6 * np.array([2, 0, 3]) * xv)


def test_untake_keeps_the_cotangent_dtype():
    assert untake(np.ones(2, np.float32), [0, 0], (3,)).dtype == np.float32


# --- np.take and np.take_along_axis --------------------------------------------------------

TAKES = [
    (np.take, (X1, [0, 0, 3]), {}),
    (np.take, (X1, 2), {}),
    (np.take, (X2, [-1, 0, -1]), {}),  # axis None: the flattened array
    (np.take, (X2, np.array([[0, 2], [2, 2]])), {"axis": 1}),
    (np.take, (X2, 1, 0), {}),
    (np.take, (X3, [1, 1], -1), {}),
    (np.take, (X2, [5, -1, 4]), {"axis": 1, "mode": "wrap"}),
    (np.take, (X2, [7, -3, 1]), {"axis": 0, "mode": "clip"}),
    (np.take, (X1, [9, -9]), {"mode": "clip"}),
    (np.take_along_axis, (X2, np.array([[0, 0, 3], [1, 2, 2], [3, 3, 3]]), 1), {}),
    (np.take_along_axis, (X2, np.array([[2, 0, 0, 1]]), 0), {}),
    (np.take_along_axis, (X3, np.argsort(X3, axis=1), 1), {}),
    (np.take_along_axis, (X3, np.zeros((2, 1, 4), dtype=int)), {"axis": -2}),
    (np.take_along_axis, (X1, np.array([4, 4, 0])), {"axis": None}),
    (np.take_along_axis, (X2, np.array([1, 11, 11])), {"axis": None}),
]


@pytest.mark.parametrize("fun,args,kwargs", TAKES,
                         ids=[f"{f.__name__}-{i}" for i, (f, _, _) in enumerate(TAKES)])
def test_take_rule(fun, args, kwargs):
    check_rule(fun, *args, **kwargs)


def test_take_repeats_add_up():
    x = np.zeros((2, 3))
    vjp = lookup(np.take).vjp_maker(0)(np.take(x, [2, 2, 0], axis=1), x, [2, 2, 0], axis=1)
    np.testing.assert_array_equal(vjp(np.ones((2, 3))), [[1.0, 0.0, 2.0], [1.0, 0.0, 2.0]])


def _numpy_defaults_take_along_axis_to_the_last_axis():
    try:
        np.take_along_axis(X2, np.array([[0], [3], [-1]]))
        return True
    except TypeError:   # NumPy before 2.3: axis is required
        return False


def test_take_along_axis_without_an_axis_follows_numpy():
    index = np.array([[0], [3], [-1]])
    if _numpy_defaults_take_along_axis_to_the_last_axis():
        check_rule(np.take_along_axis, X2, index)
    else:   # NumPy refuses the call, and so does the same call on the tape
        x = pb.Variable(X2)
        with pb.GradientTape():
            with pytest.raises(TypeError):
                np.take_along_axis(x, index)


def test_take_along_axis_repeats_add_up():
    x = np.zeros((2, 3))
    idx = np.array([[1, 1], [0, 2]])
    vjp = lookup(np.take_along_axis).vjp_maker(0)(np.take_along_axis(x, idx, 1), x, idx, 1)
    np.testing.assert_array_equal(vjp(np.array([[1.0, 2.0], [4.0, 8.0]])),
                                  [[0.0, 3.0, 0.0], [4.0, 0.0, 8.0]])


@pytest.mark.parametrize("fun", [getitem, untake, np.take, np.take_along_axis],
                         ids=lambda f: f.__name__)
def test_index_arguments_get_no_gradient(fun):
    prim = lookup(fun)
    assert prim.vjp_maker(1) is None and prim.jvp_maker(1) is None


# --- assign_index: the tape's record of x[index] = value ------------------------------------

from pullback._rules.indexing import assign_index  # noqa: E402


@pytest.mark.parametrize("shape, index, vshape", [
    ((5,), 2, ()), ((5,), slice(1, 4), (3,)), ((5,), slice(1, 4), ()), ((5,), [0, 3], (2,)),
    ((3, 4), (1, slice(None)), (4,)), ((3, 4), (slice(None), 2), (3,)), ((3, 4), 1, (1, 4)),
    ((3, 4), np.array([True, False, True]), (4,)),
])
def test_assign_index_rules(shape, index, vshape):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape)
    value = rng.standard_normal(vshape) if vshape else float(rng.standard_normal())
    check_rule(assign_index, x, index, value, argnums=(0, 2))


def test_assign_index_does_not_modify_its_input():
    x = np.zeros(3)
    out = assign_index(x, 1, 5.0)
    assert x.tolist() == [0.0, 0.0, 0.0] and out.tolist() == [0.0, 5.0, 0.0]


def test_assign_index_with_a_repeated_fancy_index_refuses_a_gradient():
    from pullback._registry import lookup
    maker = lookup(assign_index).vjp_maker(2)
    with pytest.raises(ValueError, match="more than once"):
        maker(None, np.zeros(3), [0, 0], np.ones(2))
