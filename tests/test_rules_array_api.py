"""Rules for NumPy 2's array-API functions (np.linalg.matmul, .vecdot, .matrix_norm,
.vector_norm, ... and np.vecdot, np.matvec, np.vecmat): they are new functions, not aliases of
the older ones, and had no rules.  Each is checked by check_rule (VJP and JVP against finite
differences, the tape, second order) and through the source engine against the tape."""

import numpy as np
import pytest
from rulecheck import check_rule

import pullback as pb

def rand(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape)


@pytest.mark.parametrize("sa, sb", [((3, 4), (4, 2)), ((2, 3, 4), (4,)), ((4,), (5, 4, 2))])
def test_linalg_matmul(sa, sb):
    check_rule(np.linalg.matmul, rand(sa, 1), rand(sb, 2))


def test_linalg_tensordot_outer_cross():
    check_rule(np.linalg.tensordot, rand((2, 3, 4), 1), rand((3, 4, 5), 2))
    check_rule(np.linalg.tensordot, rand((2, 3), 1), rand((3, 4), 2), axes=1)
    check_rule(np.linalg.outer, rand(3, 1), rand(4, 2))
    check_rule(np.linalg.cross, rand((2, 3), 1), rand((2, 3), 2))
    check_rule(np.linalg.cross, rand((3, 2), 1), rand((3, 2), 2), axis=0)


@pytest.mark.parametrize("offset", [0, 1, -1])
def test_linalg_transpose_diagonal_trace(offset):
    check_rule(np.linalg.matrix_transpose, rand((2, 3, 4), 1))
    check_rule(np.linalg.diagonal, rand((2, 3, 4), 1), offset=offset)
    check_rule(np.linalg.trace, rand((2, 4, 4), 1), offset=offset)


@pytest.mark.parametrize("fun", [np.linalg.vecdot, np.vecdot], ids=["linalg", "numpy"])
def test_vecdot(fun):
    check_rule(fun, rand((2, 3), 1), rand((2, 3), 2))
    check_rule(fun, rand((4, 3), 1), rand(3, 2))
    check_rule(fun, rand((3, 2), 1), rand((3, 2), 2), axis=0, tape=False)   # kwargs: NumPy only


def test_matvec_vecmat():
    check_rule(np.matvec, rand((2, 3, 4), 1), rand(4, 2))
    check_rule(np.vecmat, rand(3, 1), rand((2, 3, 4), 2))


@pytest.mark.parametrize("ord", ["fro", 1, np.inf, -1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_matrix_norm(ord, keepdims):
    check_rule(np.linalg.matrix_norm, rand((2, 3, 4), 1), ord=ord, keepdims=keepdims)


@pytest.mark.parametrize("axis", [None, -1, 0, (0, 2), (-1, 0, 1)])
@pytest.mark.parametrize("ord", [2, 1, 3])
@pytest.mark.parametrize("keepdims", [False, True])
def test_vector_norm(axis, ord, keepdims):
    check_rule(np.linalg.vector_norm, rand((3, 4, 2), 1), axis=axis, ord=ord,
               keepdims=keepdims)


def api_model(W, x, v):
    h = np.linalg.matmul(x, W)
    s = np.linalg.vecdot(h, v) + np.linalg.trace(np.linalg.outer(v, v))
    return np.linalg.vector_norm(s) + np.linalg.matrix_norm(W) + np.sum(
        np.linalg.diagonal(np.linalg.matrix_transpose(W @ W.T)))


@pytest.mark.parametrize("mode", ["source", "auto"])
def test_in_the_source_engine(mode):
    args = (rand((4, 3), 1), rand((5, 4), 2), rand(3, 3))
    df = pb.grad(api_model, wrt=(0, 2), mode=mode)
    got = df(*args)
    want = pb.grad(api_model, wrt=(0, 2), mode="tape")(*args)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)
    if mode == "auto":
        assert df.mode == "source"
