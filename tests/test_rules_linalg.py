"""Rules for products, contractions, traces, norms and np.linalg, checked by finite differences."""

import warnings

import numpy as np
import pytest
from rulecheck import check_rule

from pullback._registry import lookup


def rand(shape, seed=0):
    """Standard-normal float64 array, or a Python float for shape ()."""
    a = np.random.default_rng(seed).standard_normal(shape)
    return float(a) if shape == () else a


def wellcond(shape, seed=0, scale=1.0, diag=3.0):
    """A (stack of) well-conditioned square matrices: random + diag * I."""
    return scale * np.random.default_rng(seed).standard_normal(shape) + diag * np.eye(shape[-1])


def vjp(fun, argnum, *args, **kwargs):
    """The registry's VJP of ``fun`` for one argument, as a function of g."""
    return lookup(fun).vjp_maker(argnum)(fun(*args, **kwargs), *args, **kwargs)


# --- dot, matmul, inner, outer, tensordot, vdot, kron, cross -----------------------------------

@pytest.mark.parametrize("sa,sb", [
    ((), ()), ((), (3,)), ((2, 3), ()), ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)),
    ((2, 3), (3, 4)), ((2, 2, 3), (3,)), ((3,), (2, 3, 4)), ((2, 3), (4, 3, 2)),
    ((2, 1, 3), (2, 3, 4)), ((2, 3, 4), (5, 4, 2)),
])
def test_dot(sa, sb):
    check_rule(np.dot, rand(sa, 1), rand(sb, 2))


@pytest.mark.parametrize("sa,sb", [
    ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
    ((2, 3), (5, 3, 4)), ((5, 2, 3), (5, 3, 4)), ((5, 1, 2, 3), (4, 3, 2)), ((1, 2, 3), (4, 3, 2)),
    ((3,), (5, 3, 2)), ((5, 2, 3), (3,)), ((2, 1, 2, 3), (3,)), ((1, 3), (3, 1)),
])
def test_matmul(sa, sb):
    check_rule(np.matmul, rand(sa, 1), rand(sb, 2))


@pytest.mark.parametrize("sa,sb", [
    ((), (3,)), ((2, 3), ()), ((3,), (3,)), ((2, 3), (3,)), ((3,), (2, 3)), ((2, 3), (4, 3)),
    ((2, 3, 4), (5, 4)),
])
def test_inner(sa, sb):
    check_rule(np.inner, rand(sa, 1), rand(sb, 2))


@pytest.mark.parametrize("sa,sb", [
    ((3,), (4,)), ((), (3,)), ((2, 3), (4,)), ((2, 2), (3, 1)),
])
def test_outer(sa, sb):
    check_rule(np.outer, rand(sa, 1), rand(sb, 2))


@pytest.mark.parametrize("sa,sb,axes", [
    ((2, 3, 4), (3, 4, 5), 2), ((2, 3), (4, 5), 0), ((2, 3), (3, 4), 1), ((3,), (3,), 1),
    ((2, 3), (2, 3), 2), ((), (2, 3), 0), ((2, 3, 4), (4, 2, 5), ([0, 2], [1, 0])),
    ((2, 3, 4), (4, 3), ([-1, 1], [0, -1])), ((2, 3, 4), (3, 5), (1, 0)),
    ((2, 3, 4), (4, 3, 2), ([0, 1, 2], [2, 1, 0])), ((2, 3), (5, 3), ((1,), (1,))),
])
def test_tensordot(sa, sb, axes):
    check_rule(np.tensordot, rand(sa, 1), rand(sb, 2), axes=axes)


@pytest.mark.parametrize("sa,sb", [((), ()), ((3,), (3,)), ((2, 3), (3, 2)), ((2, 3), (6,))])
def test_vdot(sa, sb):
    check_rule(np.vdot, rand(sa, 1), rand(sb, 2))


@pytest.mark.parametrize("sa,sb", [
    ((2,), (3,)), ((2, 3), (2, 2)), ((2,), (2, 3)), ((2, 2, 1), (3, 2)), ((), (2, 3)),
])
def test_kron(sa, sb):
    check_rule(np.kron, rand(sa, 1), rand(sb, 2))


@pytest.mark.parametrize("sa,sb,kwargs", [
    ((3,), (3,), {}), ((4, 3), (3,), {}), ((3,), (2, 3), {}), ((2, 1, 3), (4, 3), {}),
    ((3, 4), (4, 3), {"axisa": 0}), ((3, 1), (5, 3), {"axisa": 0}), ((3,), (5, 3), {"axisc": 0}),
    ((3, 2), (3, 2), {"axis": 0}), ((2, 3, 4), (3, 1, 4), {"axisa": 1, "axisb": 0, "axisc": -2}),
])
def test_cross(sa, sb, kwargs):
    check_rule(np.cross, rand(sa, 1), rand(sb, 2), **kwargs)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # 2-vectors, deprecated in NumPy 2
def test_cross_of_2_vectors_is_refused():
    a, b = rand((2,), 1), rand((2,), 2)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            np.cross(a, b)
    except ValueError:   # NumPy 2.5 and later refuse 2-vectors themselves
        with pytest.raises(ValueError, match="3-dimensional"):
            vjp(np.cross, 0, a, b)
        return
    with pytest.raises(NotImplementedError, match="3-vectors"):
        vjp(np.cross, 0, a, b)


# --- einsum ------------------------------------------------------------------------------------

@pytest.mark.parametrize("subscripts,shapes", [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),                    # implicit output
    ("i,i", [(3,), (3,)]),
    ("i,i->", [(3,), (3,)]),
    ("i,j->ij", [(2,), (3,)]),
    ("ij->ji", [(2, 3)]),
    ("ji", [(2, 3)]),                               # implicit transpose
    ("ij->i", [(2, 3)]),                            # index summed inside one operand
    ("ij->", [(2, 3)]),
    ("ii->i", [(3, 3)]),                            # diagonal
    ("ii", [(3, 3)]),                               # trace
    ("ii->", [(3, 3)]),
    ("iii->i", [(2, 2, 2)]),
    ("iij->ij", [(3, 3, 2)]),
    ("bii->bi", [(4, 3, 3)]),
    ("ii,i->i", [(3, 3), (3,)]),
    ("ijk,ikl->ijl", [(2, 3, 4), (2, 4, 5)]),
    ("...ij,...jk->...ik", [(5, 2, 3), (3, 4)]),  # ellipsis broadcasting
    ("...ij,...jk", [(2, 1, 2, 3), (4, 3, 2)]),
    ("i...,i...->...", [(2, 3, 1), (2, 4)]),        # size-1 ellipsis axis broadcasts
    ("ij,j->ij", [(2, 3), (1,)]),                   # size-1 labelled axis broadcasts
    ("ij,ij->ij", [(1, 3), (2, 3)]),
    ("ij,jk->ik", [(2, 1), (3, 4)]),                # j broadcast from size 1 in one operand
    ("ij,ij->i", [(2, 1), (1, 3)]),
    ("ii,i->i", [(1, 1), (3,)]),
    ("ijj,j->i", [(2, 1, 1), (3,)]),
    ("i...j,j...->...i", [(2, 1, 3, 3), (3, 4, 1)]),
    ("aB,Bc", [(2, 3), (3, 4)]),                    # implicit order is ASCII: 'B' < 'a'
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
    ("i,i,i", [(3,), (3,), (3,)]),
    (",i->i", [(), (3,)]),
    ("ab, bc -> ca", [(2, 3), (3, 4)]),             # spaces
])
def test_einsum(subscripts, shapes):
    check_rule(np.einsum, subscripts, *[rand(s, i + 1) for i, s in enumerate(shapes)])


@pytest.mark.parametrize("subscripts,shapes", [
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
    ("...ij,...jk", [(5, 2, 3), (3, 4)]),
])
def test_einsum_optimize(subscripts, shapes):
    check_rule(np.einsum, subscripts, *[rand(s, i + 1) for i, s in enumerate(shapes)],
               optimize=True)


@pytest.mark.parametrize("args", [
    (rand((2, 3), 1), [0, 1], rand((3, 4), 2), [1, 2], [0, 2]),
    (rand((2, 3), 1), [0, 27], rand((3,), 2), [27]),                 # implicit output
    (rand((5, 2, 3), 1), [Ellipsis, 0, 1], rand((3,), 2), [1], [Ellipsis, 0]),
    (rand((3, 3), 1), [0, 0]),
])
def test_einsum_sublist_form(args):
    check_rule(np.einsum, *args)


# --- trace -------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape,kwargs", [
    ((3, 3), {}), ((3, 4), {}), ((4, 3), {}), ((3, 4), {"offset": 1}), ((4, 3), {"offset": -2}),
    ((3, 3), {"offset": 5}), ((2, 3, 4), {}), ((2, 3, 4), {"axis1": 1, "axis2": 2}),
    ((2, 3, 4), {"offset": 1, "axis1": -1, "axis2": 0}), ((2, 3, 4, 5), {"axis1": 3, "axis2": 1}),
])
def test_trace(shape, kwargs):
    check_rule(np.trace, rand(shape, 1), **kwargs)


# --- norm --------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape,kwargs", [
    ((3,), {}), ((3,), {"ord": 2}), ((3,), {"ord": 1}), ((3,), {"ord": np.inf}),
    ((3,), {"ord": -np.inf}), ((3,), {"ord": 3}), ((3,), {"ord": 0.5}), ((3,), {"ord": -1.5}),
    ((3,), {"ord": 0}), ((3,), {"keepdims": True}),
    ((2, 3), {}), ((2, 3, 4), {}), ((2, 3, 4), {"keepdims": True}),
    ((2, 3), {"axis": 0}), ((2, 3), {"axis": -1, "keepdims": True}),
    ((2, 3, 4), {"axis": 1, "ord": 1}), ((2, 3, 4), {"axis": (1,), "ord": np.inf, "keepdims": True}),
    ((2, 3, 4), {"axis": 2, "ord": 3}),
    ((2, 3), {"ord": "fro"}), ((2, 3), {"axis": (0, 1)}),
    ((3, 4, 2), {"axis": (2, 0), "ord": "fro", "keepdims": True}),
    ((3, 4), {"ord": 1}), ((3, 4), {"ord": -1}), ((3, 4), {"ord": np.inf}), ((3, 4), {"ord": -np.inf}),
    ((3, 4), {"ord": 1, "axis": (1, 0)}), ((2, 3, 4), {"ord": np.inf, "axis": (0, 2)}),
    ((2, 3, 4), {"ord": -1, "axis": (-1, 1), "keepdims": True}),
])
def test_norm(shape, kwargs):
    check_rule(np.linalg.norm, rand(shape, 1), **kwargs)


@pytest.mark.parametrize("x,kwargs,expected", [
    (np.zeros(3), {}, np.zeros(3)),                                  # the zero vector: 0
    (np.zeros((2, 3)), {"ord": "fro"}, np.zeros((2, 3))),
    (np.array([1.0, -3.0, 3.0]), {"ord": np.inf}, np.array([0.0, -0.5, 0.5])),  # ties split
    (np.array([1.0, -1.0, 3.0]), {"ord": -np.inf}, np.array([0.5, -0.5, 0.0])),
    (np.array([0.0, -2.0, 1.0]), {"ord": 1}, np.array([0.0, -1.0, 1.0])),
    (np.array([[1.0, 2.0], [-3.0, 0.0]]), {"ord": 1}, np.array([[1.0, 0.0], [-1.0, 0.0]])),
    (np.array([[1.0, 2.0], [2.0, -1.0]]), {"ord": np.inf}, np.array([[0.5, 0.5], [0.5, -0.5]])),
])
def test_norm_conventions(x, kwargs, expected):
    np.testing.assert_allclose(vjp(np.linalg.norm, 0, x, **kwargs)(1.0), expected)


@pytest.mark.parametrize("ord", ["nuc", 2, -2])
@pytest.mark.parametrize("shape,axis", [((3, 3), None), ((3, 4), None), ((4, 2), None),
                                        ((2, 3, 4), (2, 1)), ((3, 2, 4), (0, 2))])
def test_norm_of_singular_values(ord, shape, axis):
    """The spectral norm, its smallest-singular-value twin and the nuclear norm (refused before,
    "it would need an SVD"): u v^T of the singular pair, or U V^T."""
    check_rule(np.linalg.norm, rand(shape, 1), ord=ord, axis=axis)
    if axis is None:
        check_rule(np.linalg.matrix_norm, rand(shape, 1), ord=ord)


@pytest.mark.parametrize("ord,x", [(2, np.eye(3)), (-2, np.diag([3.0, 1.0, 1.0])),
                                   ("nuc", np.diag([1.0, 2.0, 0.0]))])
def test_norm_of_singular_values_without_a_derivative(ord, x):
    with pytest.raises(np.linalg.LinAlgError, match="no derivative"):
        vjp(np.linalg.norm, 0, x, ord=ord)


# --- inv, det, slogdet, solve, matrix_power ----------------------------------------------------

@pytest.mark.parametrize("shape", [(1, 1), (3, 3), (2, 3, 3), (2, 1, 4, 4)])
def test_inv(shape):
    check_rule(np.linalg.inv, wellcond(shape, 1))


@pytest.mark.parametrize("shape,diag", [((1, 1), 3.0), ((3, 3), 3.0), ((3, 3), -3.0), ((2, 3, 3), 3.0),
                                        ((4, 2, 2), -3.0)])
def test_det(shape, diag):
    check_rule(np.linalg.det, wellcond(shape, 1, diag=diag))


@pytest.mark.parametrize("shape,diag", [((1, 1), 3.0), ((3, 3), 3.0), ((3, 3), -3.0), ((2, 3, 3), 3.0),
                                        ((4, 2, 2), -3.0)])
def test_slogdet(shape, diag):
    check_rule(np.linalg.slogdet, wellcond(shape, 1, diag=diag))


@pytest.mark.parametrize("sa,sb", [
    ((1, 1), (1,)), ((3, 3), (3,)), ((3, 3), (3, 2)), ((4, 3, 3), (3,)), ((4, 3, 3), (4, 3, 2)),
    ((4, 3, 3), (3, 2)), ((3, 3), (4, 3, 2)), ((2, 1, 3, 3), (4, 3, 1)),
])
def test_solve(sa, sb):
    check_rule(np.linalg.solve, wellcond(sa, 1), rand(sb, 2))


@pytest.mark.parametrize("shape,n", [
    ((3, 3), 0), ((3, 3), 1), ((3, 3), 2), ((3, 3), 3), ((3, 3), -1), ((3, 3), -2),
    ((2, 3, 3), 3), ((2, 3, 3), -2),
])
def test_matrix_power(shape, n):
    check_rule(np.linalg.matrix_power, wellcond(shape, 1, scale=0.3, diag=1.0), n)
