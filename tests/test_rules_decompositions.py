"""Rules for np.linalg's decompositions: cholesky, eigh, eigvalsh, svd, svdvals, qr, pinv, lstsq,
multi_dot -- against finite differences, the tape (to second order), the source engine, and each
other; and what they refuse.

cholesky, eigh and eigvalsh read one triangle of their argument, so check_rule's unsymmetric
finite differences check exactly what NumPy computes; the user functions below reach them
through a symmetric matrix (B @ B.T + n I) instead, as a program would.
"""

import numpy as np
import pytest
from rulecheck import check_rule

import pullback as pb


def rand(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def spd(shape, seed=0):
    """A (stack of) symmetric positive definite matrices with well-separated eigenvalues."""
    b = rand(shape, seed)
    n = shape[-1]
    return b @ np.swapaxes(b, -1, -2) + n * np.eye(n) + np.diag(np.arange(n) * 1.5)


# --- each rule alone: VJP and JVP against finite differences, the tape to second order, and the
# source engine (check_rule) -----------------------------------------------------------------------

SQUARE = [(1, 1), (3, 3), (2, 4, 4)]


@pytest.mark.parametrize("shape", SQUARE)
@pytest.mark.parametrize("upper", [False, True])
def test_cholesky(shape, upper):
    check_rule(np.linalg.cholesky, spd(shape), upper=upper)


@pytest.mark.parametrize("shape", SQUARE)
@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh(shape, uplo):
    check_rule(np.linalg.eigh, spd(shape), UPLO=uplo)


@pytest.mark.parametrize("shape", SQUARE)
@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigvalsh(shape, uplo):
    check_rule(np.linalg.eigvalsh, spd(shape), UPLO=uplo)


RECTANGULAR = [(1, 1), (3, 3), (4, 2), (2, 4), (3, 1), (1, 3), (2, 5, 3), (3, 2, 4)]


@pytest.mark.parametrize("shape", RECTANGULAR)
def test_svd(shape):
    check_rule(np.linalg.svd, rand(shape), full_matrices=False)


@pytest.mark.parametrize("shape", [(3, 3), (2, 3, 3)])
def test_svd_full_matrices_of_a_square_matrix(shape):
    check_rule(np.linalg.svd, rand(shape))   # full_matrices=True is the reduced SVD here


@pytest.mark.parametrize("shape", RECTANGULAR)
def test_svd_singular_values_only(shape):
    # compute_uv=False given through a variable: the source engine needs it written out, so
    # test_source_engine_follows_decompositions covers it there
    check_rule(np.linalg.svd, rand(shape), compute_uv=False, tape=False)
    check_rule(np.linalg.svdvals, rand(shape))


TALL = [(1, 1), (3, 3), (4, 2), (3, 1), (2, 5, 3)]


@pytest.mark.parametrize("shape", TALL)
def test_qr(shape):
    check_rule(np.linalg.qr, rand(shape))


@pytest.mark.parametrize("shape,mode", [((4, 2), "r"), ((2, 3, 3), "r"), ((3, 3), "complete")])
def test_qr_modes(shape, mode):
    check_rule(np.linalg.qr, rand(shape), mode=mode, tape=False)


@pytest.mark.parametrize("shape", RECTANGULAR)
def test_pinv(shape):
    check_rule(np.linalg.pinv, rand(shape))


@pytest.mark.parametrize("sa,sb", [((4, 2), (4,)), ((4, 2), (4, 3)), ((3, 3), (3,)),
                                   ((2, 4), (2,)), ((2, 4), (2, 3)), ((5, 1), (5, 2))])
def test_lstsq(sa, sb):
    check_rule(np.linalg.lstsq, rand(sa, 1), rand(sb, 2))   # every output, rank included


@pytest.mark.parametrize("shapes", [
    [(2, 3), (3, 4)], [(3,), (3, 4), (4, 2)], [(2, 3), (3, 4), (4,)],
    [(3,), (3, 4), (4, 5), (5,)], [(2, 3), (3, 3), (3, 4), (4, 2)],
])
def test_multi_dot(shapes):
    check_rule(np.linalg.multi_dot, [rand(s, i) for i, s in enumerate(shapes)])


# --- user functions: the source engine (mode='source', and 'auto' serving generated code), the
# tape and finite differences on symmetric paths ----------------------------------------------------

N = 3
EYE = np.eye(N)
WEIGHTS = np.arange(N * N, dtype=float).reshape(N, N) / 10


def eigh_of_gram(a):
    w, v = np.linalg.eigh(a @ a.T + EYE)
    return np.sum(w ** 2) + np.sum(v[:, 0] ** 2)


def eigenvectors_used(a):
    w, v = np.linalg.eigh(a @ a.T + N * EYE + np.diag(np.arange(N) * 2.0))
    return np.sum((v @ np.diag(np.exp(-w)) @ v.T) * WEIGHTS) + np.sum(v[0] * v[1] * w)


def eigh_upper_attributes(a):
    res = np.linalg.eigh(a.T @ a + EYE, UPLO="U")
    return np.sum(res.eigenvalues ** 3) + np.sum(np.abs(res.eigenvectors[:, -1]) * WEIGHTS[0])


def eigvalsh_max(a):
    return np.max(np.linalg.eigvalsh(a + a.T))


def cholesky_logdet(a):
    s = a @ a.T + N * EYE
    L = np.linalg.cholesky(s)
    return np.sum(np.log(np.diag(L)))


def cholesky_upper_solve(a):
    r = np.linalg.cholesky(a @ a.T + N * EYE, upper=True)
    return np.sum(np.linalg.solve(r, WEIGHTS) ** 2)


def svd_unpacked(a):
    U, s, Vh = np.linalg.svd(a, full_matrices=False)
    return np.sum(s ** 2) + np.sum(U[:, 0] * WEIGHTS[0]) * np.sum(Vh[0] * WEIGHTS[1])


def svd_indexed(a):
    return np.sum(np.linalg.svd(a, full_matrices=False)[1] ** 3)


def svd_attribute(a):
    res = np.linalg.svd(a, full_matrices=False)
    return np.sum(res.S) + np.sum(res.U @ res.Vh * WEIGHTS)


def svd_values_only(a):
    return np.sum(np.linalg.svd(a, compute_uv=False) ** 2) + np.linalg.svdvals(a)[0]


def qr_unpacked(a):
    Q, R = np.linalg.qr(a)
    return np.sum(Q * WEIGHTS) + np.sum(np.abs(np.diag(R)))


def qr_fields_and_r_mode(a):
    return np.sum(np.linalg.qr(a).R ** 2) + np.sum(np.linalg.qr(a, mode="r")[0])


def pinv_and_multi_dot(a):
    p = np.linalg.pinv(a[:, :2])
    return np.linalg.multi_dot([WEIGHTS[0], a, p.T, WEIGHTS[1, :2]]) + np.sum(p ** 2)


def lstsq_solution(a):
    x, residuals, rank, sv = np.linalg.lstsq(a[:, :2], WEIGHTS[2], rcond=None)
    return np.sum(x ** 2) + residuals[0] + sv[0]


def lstsq_indexed(a):
    return np.sum(np.linalg.lstsq(a, WEIGHTS)[0] * WEIGHTS)


def batched(a):
    stack = np.stack([a, a.T * 2, a + EYE])
    w, v = np.linalg.eigh(stack @ np.swapaxes(stack, -1, -2) + EYE)
    return np.sum(np.log(w)) + np.sum(np.linalg.svd(stack, compute_uv=False))


def decompose(s):
    return np.linalg.eigh(s)


def helper_returns_the_tuple(a):
    w, v = decompose(a @ a.T + EYE)
    factor = lambda m: np.linalg.qr(m)   # noqa: E731 - a local lambda helper
    q, r = factor(a)
    return np.sum(w) + np.sum(v[0] * v[1]) + np.sum(q * r)


USER_FUNCTIONS = [helper_returns_the_tuple, eigh_of_gram, eigenvectors_used, eigh_upper_attributes, eigvalsh_max,
                  cholesky_logdet, cholesky_upper_solve, svd_unpacked, svd_indexed,
                  svd_attribute, svd_values_only, qr_unpacked, qr_fields_and_r_mode,
                  pinv_and_multi_dot, lstsq_solution, lstsq_indexed, batched]


@pytest.mark.parametrize("f", USER_FUNCTIONS, ids=lambda f: f.__name__)
def test_source_engine_follows_decompositions(f):
    a = rand((N, N), 3) + 2 * EYE
    source = pb.grad(f, mode="source")(a)
    tape = pb.grad(f, mode="tape")(a)
    np.testing.assert_allclose(source, tape, rtol=1e-9, atol=1e-12)
    auto = pb.grad(f)
    np.testing.assert_allclose(auto(a), tape, rtol=1e-9, atol=1e-12)
    assert auto.mode == "source", auto.fallback_reason
    assert pb.check_grads(f, (a,), order=1, modes=("tape", "source"))


def test_generated_code_names_the_rules():
    df = pb.grad(svd_unpacked, mode="source")
    df(rand((N, N), 3))
    assert "U = t1[0]" in df.source and "bt1 = (bU, bs, bVh)" in df.source
    assert "svd_vjp(t1, a, full_matrices=False)(bt1)" in df.source
    df = pb.grad(svd_attribute, mode="source")
    df(rand((N, N), 3))
    code = [line for line in df.source.splitlines() if not line.lstrip().startswith("#")]
    assert "    res_1 = res[1]" in code and not any(".S" in line for line in code)


SECOND_ORDER = [cholesky_logdet, cholesky_upper_solve, eigenvectors_used, eigh_upper_attributes,
                qr_unpacked, qr_fields_and_r_mode, svd_unpacked, svd_values_only,
                pinv_and_multi_dot, lstsq_solution]


@pytest.mark.parametrize("f", SECOND_ORDER, ids=lambda f: f.__name__)
def test_second_derivatives(f):
    # the tape differentiates the rules themselves, against finite differences of the gradient
    assert pb.check_grads(f, (rand((N, N), 3) + 2 * EYE,), order=2, modes=("tape",))


@pytest.mark.parametrize("f", [cholesky_logdet, eigenvectors_used, qr_unpacked, svd_unpacked,
                               lstsq_solution], ids=lambda f: f.__name__)
def test_second_derivatives_of_generated_code(f):
    # mode='source' runs the generated gradient on the tape.  (Not yet where an item is read
    # by index or field, e.g. res.S: its zeros for the other items convert Tensors to arrays,
    # and pullback says to use mode='auto'.)
    a, v = rand((N, N), 3) + 2 * EYE, rand((N, N), 4)
    np.testing.assert_allclose(pb.hvp(f, mode="source")(a, v), pb.hvp(f, mode="tape")(a, v),
                               rtol=1e-8, atol=1e-10)


# --- ties, rank deficiency and what is refused ---------------------------------------------------

def double_top(b):
    """B + B.T + 2 I: at b = the identity's eigenvectors, eigenvalues 4, 4, 2 (a tie on top)."""
    return b + b.T + 2 * EYE


def top_eigenvalue(b):
    return np.linalg.eigvalsh(double_top(b))[-1]


def top_two_eigenvalues(b):
    w = np.linalg.eigvalsh(double_top(b))
    return w[-1] + w[-2]


def squares_of_eigenvalues(b):
    w, v = np.linalg.eigh(double_top(b))
    return np.sum(w ** 2)


def squares_of_entries(b):
    return np.sum(double_top(b) ** 2)   # the same function: sum(w**2) = ||S||_F^2


def rotated_by_eigenvectors(b):
    w, v = np.linalg.eigh(double_top(b))
    return np.sum(v * WEIGHTS)


TIED = np.diag([1.0, 1.0, 0.0])


@pytest.mark.parametrize("mode", ["source", "tape"])
def test_tied_eigenvalues_have_a_gradient(mode):
    # a function of a whole tie is smooth: its gradient is exact, and equals a formula's
    np.testing.assert_allclose(pb.grad(squares_of_eigenvalues, mode=mode)(TIED),
                               pb.grad(squares_of_entries, mode="tape")(TIED), atol=1e-12)
    assert pb.check_grads(top_two_eigenvalues, (TIED,), order=1, modes=(mode,))
    # one eigenvalue of the tie gets its share: the tie's cotangent is averaged, as np.max's is
    np.testing.assert_allclose(pb.grad(top_eigenvalue, mode=mode)(TIED),
                               pb.grad(top_two_eigenvalues, mode=mode)(TIED) / 2, atol=1e-12)


@pytest.mark.parametrize("mode", ["source", "tape"])
def test_eigenvectors_of_a_tie_are_refused(mode):
    with pytest.raises(np.linalg.LinAlgError, match="eigenvectors of repeated eigenvalues"):
        pb.grad(rotated_by_eigenvectors, mode=mode)(TIED)
    assert np.all(np.isfinite(pb.grad(rotated_by_eigenvectors, mode=mode)(TIED + np.diag(
        [0.1, 0.0, 0.0]))))


def singular_vectors_used(a):
    U, s, Vh = np.linalg.svd(a, full_matrices=False)
    return np.sum(U * WEIGHTS[:, :2])


def pinv_sum(a):
    return np.sum(np.linalg.pinv(a))


def svd_full_matrices(a):
    U, s, Vh = np.linalg.svd(a)
    return np.sum(U)


def qr_sum(a):
    Q, R = np.linalg.qr(a)
    return np.sum(R)


def qr_complete(a):
    Q, R = np.linalg.qr(a, mode="complete")
    return np.sum(Q)


def svd_hermitian(a):
    return np.sum(np.linalg.svd(a, compute_uv=False, hermitian=True))


_TRIANGULAR = np.array([[1.0, 2.0, 3.0], [0.0, 4.0, 5.0], [0.0, 0.0, 6.0]])


def eigenvalues_of_a_general_matrix(a):
    return np.sum(np.linalg.eigvals(a))


def eig_of_a_general_matrix(a):
    w, v = np.linalg.eig(a)
    return np.sum(w)


RANK_ONE = np.outer([1.0, 2.0, 3.0], [1.0, -1.0])
REFUSED = [
    (singular_vectors_used, np.hstack([EYE[:, :1], EYE[:, :1]]), np.linalg.LinAlgError,
     "singular vectors"),
    (singular_vectors_used, np.eye(3, 2), np.linalg.LinAlgError, "repeated singular values"),
    (pinv_sum, RANK_ONE, np.linalg.LinAlgError, "rank below 2"),
    (lstsq_indexed, np.outer([1.0, 2.0, 3.0], [1.0, 1.0, 1.0]), np.linalg.LinAlgError,
     "rank below 3"),
    (svd_full_matrices, rand((3, 2)), pb.NoGradientRuleError, "Pass full_matrices=False"),
    (svd_hermitian, spd((3, 3)), pb.NoGradientRuleError, "pass hermitian=False"),
    (qr_sum, rand((2, 3)), pb.NoGradientRuleError, "tall or square"),
    (qr_complete, rand((3, 2)), pb.NoGradientRuleError, "mode='reduced'"),
    # a triangular matrix: real eigenvalues on every LAPACK, so the rule itself refuses (a
    # complex result is refused as such where it is made: test_conversions_findings)
    # (NumPy 2.5 returns eig's values as complex even when they are real: then the tape
    # refuses the complex value where it is made, a TypeError)
    (eigenvalues_of_a_general_matrix, _TRIANGULAR, (pb.NoGradientRuleError, TypeError),
     "complex"),
    (eig_of_a_general_matrix, _TRIANGULAR, (pb.NoGradientRuleError, TypeError),
     "use np.linalg.eigh|real values only"),
]


@pytest.mark.parametrize("f,a,error,message", REFUSED, ids=[r[0].__name__ for r in REFUSED])
@pytest.mark.parametrize("mode", ["source", "tape"])
def test_refused(f, a, error, message, mode):
    with pytest.raises(error, match=message):
        pb.grad(f, mode=mode)(a)


def test_eigenvalues_of_a_general_matrix_are_refused_on_the_tape():
    a = pb.constant(_TRIANGULAR)
    with pytest.raises((pb.NoGradientRuleError, TypeError),
                       match="pullback differentiates real values only"):
        with pb.GradientTape() as tape:
            tape.watch(a)
            w = np.linalg.eigvals(a)   # NumPy 2.5: complex, refused here
        tape.gradient(w, a)


def second_singular_value(res):
    return res[1][1]


def tuple_passed_whole(a):
    return second_singular_value(np.linalg.svd(a, full_matrices=False))


def tuple_read_by_a_nested_function(a):
    res = np.linalg.svd(a, full_matrices=False)

    def second():
        return res.S[1]
    return second()


def svd_indexed_second(a):
    return np.linalg.svd(a, full_matrices=False)[1][1]


@pytest.mark.parametrize("f", [tuple_passed_whole, tuple_read_by_a_nested_function])
def test_a_tuple_passed_whole_to_a_helper_is_refused(f):
    a = rand((3, 2))
    with pytest.raises(pb.TransformError, match="unpack it first"):
        pb.grad(f, mode="source")(a)
    auto = pb.grad(f)
    np.testing.assert_allclose(auto(a), pb.grad(svd_indexed_second, mode="source")(a))
    assert auto.mode == "tape"


def log_abs_det(pair):
    return pair[1]


def slogdet_passed_whole(a):
    return log_abs_det(np.linalg.slogdet(a)) * 2


def test_slogdet_passed_whole_to_a_helper_still_works():
    a = rand((3, 3)) + 3 * EYE
    df = pb.grad(slogdet_passed_whole)
    np.testing.assert_allclose(df(a), pb.grad(slogdet_passed_whole, mode="tape")(a))
    assert df.mode == "source"


# Items read outside the block that made the tuple: the tuple's cotangent is gathered where it
# was made, so these lost their gradient (zeros, silently); they are refused, and 'auto' takes
# them to the tape.

def item_in_a_conditional_expression(a):
    res = np.linalg.eigh(a @ a.T + EYE)
    w = res[0] if a.shape[0] == N else res[1][0]
    return np.sum(w ** 2)


def unpacked_inside_an_if(a):
    res = np.linalg.svd(a, full_matrices=False)
    if a.shape[0] == N:
        u, s, vh = res
    else:
        s = a[0]
    return np.sum(s ** 2)


def item_inside_a_loop(a):
    q, r = np.linalg.qr(a), 0.0
    for i in range(2):
        r = r + np.sum(q.R ** 2) * (i + 1)
    return r


def item_after_the_loop_that_made_it(a):
    for i in range(2):
        res = np.linalg.eigh(a @ a.T + (i + 1) * EYE)
    return np.sum(res[0])


def piece_of_a_split_inside_an_if(a):
    parts = np.split(a, 3)
    if a.shape[0] == N:
        w = parts[0]
    else:
        w = parts[1]
    return np.sum(w * w)


def pair(x):
    return x * 2, np.sin(x)


def helpers_pair_inside_a_loop(a):
    p, t = pair(a), 0.0
    for i in range(2):
        t = t + np.sum(p[1]) * i
    return t


OUTSIDE_THEIR_BLOCK = [item_in_a_conditional_expression, unpacked_inside_an_if,
                       item_inside_a_loop, item_after_the_loop_that_made_it,
                       piece_of_a_split_inside_an_if, helpers_pair_inside_a_loop]


@pytest.mark.parametrize("f", OUTSIDE_THEIR_BLOCK, ids=lambda f: f.__name__)
def test_items_read_outside_the_block_that_made_them_are_refused(f):
    a = rand((N, N), 3) + 2 * EYE
    with pytest.raises(pb.TransformError, match="only in the block that made it"):
        pb.grad(f, mode="source")(a)
    auto = pb.grad(f)
    np.testing.assert_allclose(auto(a), pb.grad(f, mode="tape")(a))
    assert auto.mode == "tape"
    assert pb.check_grads(f, (a,), order=1, modes=("tape",))


def assigned_in_an_if(a):
    res = np.linalg.svd(a, full_matrices=False)
    if a.shape[0] == N:
        res = np.linalg.svd(a * 2, full_matrices=False)
    return np.sum(res[1])


def test_a_tuple_assigned_in_an_if_is_refused():
    # generated code took the merged tuple for an array (ValueError, in mode='auto' too)
    a = rand((N, N), 3)
    with pytest.raises(pb.TransformError, match="unpack it in the branch"):
        pb.grad(assigned_in_an_if, mode="source")(a)
    auto = pb.grad(assigned_in_an_if)
    np.testing.assert_allclose(auto(a), pb.grad(assigned_in_an_if, mode="tape")(a))
    assert auto.mode == "tape"


COMPUTE_UV = False


def svd_flag_in_a_variable(a):
    return np.sum(np.linalg.svd(a, compute_uv=COMPUTE_UV))


def singular_value_sum(a):
    return np.sum(np.linalg.svd(a, compute_uv=False))


def test_a_flag_that_decides_the_result_must_be_written_out():
    a = rand((3, 2))
    with pytest.raises(pb.TransformError, match="compute_uv= of svd"):
        pb.grad(svd_flag_in_a_variable, mode="source")(a)
    auto = pb.grad(svd_flag_in_a_variable)
    np.testing.assert_allclose(auto(a), pb.grad(singular_value_sum, mode="source")(a))
    assert auto.mode == "tape" and "compute_uv" in auto.fallback_reason


def eigvalsh_lower(m):
    return np.sum(np.linalg.eigvalsh(m) ** 3)


def eigvalsh_upper(m):
    return np.sum(np.linalg.eigvalsh(m, UPLO="U") ** 3)


def cholesky_lower(m):
    return np.sum(np.linalg.cholesky(m) ** 2 * WEIGHTS)


def cholesky_upper(m):
    return np.sum(np.linalg.cholesky(m, upper=True) ** 2 * WEIGHTS)


S0 = spd((3, 3))


def eigvalsh_lower_on_a_symmetric_path(b):
    return eigvalsh_lower(S0 + b + b.T)


def eigvalsh_upper_on_a_symmetric_path(b):
    return eigvalsh_upper(S0 + b + b.T)


def cholesky_lower_on_a_symmetric_path(b):
    return cholesky_lower(S0 + b + b.T)


def cholesky_upper_on_a_symmetric_path(b):
    return cholesky_upper(S0 + b + b.T)


@pytest.mark.parametrize("direct,symmetric,upper", [
    (eigvalsh_lower, eigvalsh_lower_on_a_symmetric_path, False),
    (eigvalsh_upper, eigvalsh_upper_on_a_symmetric_path, True),
    (cholesky_lower, cholesky_lower_on_a_symmetric_path, False),
    (cholesky_upper, cholesky_upper_on_a_symmetric_path, True),
], ids=["eigvalsh", "eigvalsh-U", "cholesky", "cholesky-upper"])
def test_one_triangle_is_read(direct, symmetric, upper):
    # differentiated directly, a symmetric matrix's gradient lies in the triangle NumPy reads
    # (finite differences agree: the other one does not change the result); symmetrized, it is
    # the gradient along symmetric directions, as on a symmetric path (S0 + B + B.T at B = 0)
    g = pb.grad(direct, mode="source")(S0)
    assert pb.check_grads(direct, (S0,), order=1, modes=("tape", "source"))
    assert not np.any(np.tril(g, -1) if upper else np.triu(g, 1))
    np.testing.assert_allclose(g + g.T, pb.grad(symmetric, mode="source")(np.zeros((3, 3))),
                               rtol=1e-10)


def test_empty_matrices():
    for f in (singular_value_sum, lambda a: np.sum(np.linalg.eigvalsh(a))):
        assert pb.grad(f, mode="tape")(np.zeros((0, 0))).shape == (0, 0)
