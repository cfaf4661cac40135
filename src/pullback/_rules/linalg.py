"""Derivative rules for NumPy's linear algebra: products, contractions, traces, norms, np.linalg.

Every rule body is written with NumPy functions that have rules of their own (np.matmul,
np.tensordot, np.einsum, np.linalg.inv, np.linalg.solve, np.swapaxes, np.transpose, ...), so the
tape can run a rule on Tensors and differentiate it again.  Products are multilinear, so their
JVPs come from ``deflinear`` (the product itself applied to the tangent).  Only real inputs are
supported: no rule here conjugates.  The decompositions (cholesky, eigh, svd, qr, pinv, lstsq)
come last; their conventions (one triangle read, ties, full rank) are stated above them.
"""

import string

import numpy as np

from .._errors import NoGradientRuleError
from .._registry import (defjvp, deflinear, deflinear_argnum, defvjp, defvjp_argnum,
                         unbroadcast)


def _mT(x):
    """Transpose of the last two axes (a stack of matrices)."""
    return np.swapaxes(x, -1, -2)


def _permute(x, order):
    """``x`` whose axis j holds original axis ``order[j]``, with the original axis order restored."""
    perm = tuple(int(i) for i in np.argsort(order))
    return x if perm == tuple(range(len(perm))) else np.transpose(x, perm)


# --- tensordot, dot, inner: contractions of a's axes with b's ----------------------------------
# With a_axes[i] contracted against b_axes[i], ans holds a's free axes then b's free axes.  The
# gradient for a contracts g's b-part with b's free axes; what remains of b are its contracted
# axes in increasing order, which _permute sends back to the a-axes they were paired with.

def _tensordot_axes(a, b, axes):
    na, nb = np.ndim(a), np.ndim(b)
    try:
        axes_a, axes_b = axes
    except TypeError:  # an int n: the last n axes of a with the first n of b
        return list(range(na - axes, na)), list(range(axes))
    axes_a = [axes_a] if np.ndim(axes_a) == 0 else list(axes_a)
    axes_b = [axes_b] if np.ndim(axes_b) == 0 else list(axes_b)
    return [int(i) % na for i in axes_a], [int(j) % nb for j in axes_b]


def _contract_grad_a(g, a, b, axes_a, axes_b):
    free_a = [i for i in range(np.ndim(a)) if i not in axes_a]
    free_b = [j for j in range(np.ndim(b)) if j not in axes_b]
    r = np.tensordot(g, b, axes=(list(range(len(free_a), len(free_a) + len(free_b))), free_b))
    return _permute(r, free_a + [axes_a[axes_b.index(j)] for j in sorted(axes_b)])


def _contract_grad_b(g, a, b, axes_a, axes_b):
    free_a = [i for i in range(np.ndim(a)) if i not in axes_a]
    free_b = [j for j in range(np.ndim(b)) if j not in axes_b]
    r = np.tensordot(a, g, axes=(free_a, list(range(len(free_a)))))
    return _permute(r, [axes_b[axes_a.index(i)] for i in sorted(axes_a)] + free_b)


def _dot_axes(a, b):
    """np.dot contracts a's last axis with b's second-to-last (its only axis when 1-d)."""
    na, nb = np.ndim(a), np.ndim(b)
    return ([], []) if na == 0 or nb == 0 else ([na - 1], [max(nb - 2, 0)])


def _inner_axes(a, b):
    na, nb = np.ndim(a), np.ndim(b)
    return ([], []) if na == 0 or nb == 0 else ([na - 1], [nb - 1])


defvjp(np.tensordot,
       lambda ans, a, b, axes=2: lambda g: _contract_grad_a(g, a, b, *_tensordot_axes(a, b, axes)),
       lambda ans, a, b, axes=2: lambda g: _contract_grad_b(g, a, b, *_tensordot_axes(a, b, axes)))
deflinear(np.tensordot, 0, 1)
defvjp(np.dot,
       lambda ans, a, b, out=None: lambda g: _contract_grad_a(g, a, b, *_dot_axes(a, b)),
       lambda ans, a, b, out=None: lambda g: _contract_grad_b(g, a, b, *_dot_axes(a, b)))
deflinear(np.dot, 0, 1)
defvjp(np.inner,
       lambda ans, a, b: lambda g: _contract_grad_a(g, a, b, *_inner_axes(a, b)),
       lambda ans, a, b: lambda g: _contract_grad_b(g, a, b, *_inner_axes(a, b)))
deflinear(np.inner, 0, 1)


# --- matmul (the @ operator) -------------------------------------------------------------------
# A 1-d operand is promoted to a matrix (a row on the left, a column on the right) and the added
# axis dropped from the result; batch axes broadcast.  The gradient works on the promoted
# operands and g with the dropped axes restored, then unbroadcast sums the batch axes away (for
# a 1-d a the promoted row axis, size 1, goes with them).

def _matmul_g(g, a, b):
    if np.ndim(b) == 1:
        g = np.expand_dims(g, -1)
    if np.ndim(a) == 1:
        g = np.expand_dims(g, -2)
    return g


def _matmul_vjp_a(ans, a, b, dtype=None):
    nda, ndb = np.ndim(a), np.ndim(b)
    if nda == 2 and ndb == 1:   # matrix @ vector: an outer product
        return lambda g: np.outer(g, b)
    if nda == 1 and ndb == 2:   # vector @ matrix: a matrix-vector product, no batch axes
        return lambda g: np.matmul(b, g)
    if nda == 2 and ndb == 2:
        return lambda g: np.matmul(g, _mT(b))
    b2 = np.expand_dims(b, -1) if ndb == 1 else b
    return lambda g: unbroadcast(np.matmul(_matmul_g(g, a, b), _mT(b2)), a)


def _matmul_vjp_b(ans, a, b, dtype=None):
    nda, ndb = np.ndim(a), np.ndim(b)
    if nda == 2 and ndb == 1:   # matrix @ vector: g @ a is a.T @ g as one matrix-vector product
        return lambda g: np.matmul(g, a)
    if nda == 1 and ndb == 2:
        return lambda g: np.outer(a, g)
    if nda == 2 and ndb == 2:
        return lambda g: np.matmul(_mT(a), g)
    a2 = np.expand_dims(a, 0) if nda == 1 else a

    def vjp(g):
        r = np.matmul(_mT(a2), _matmul_g(g, a, b))
        if ndb == 1:  # drop the column axis before summing batch axes
            r = np.reshape(r, np.shape(r)[:-1])
        return unbroadcast(r, b)
    return vjp


defvjp(np.matmul, _matmul_vjp_a, _matmul_vjp_b)
deflinear(np.matmul, 0, 1)


# --- outer, vdot, kron, cross ------------------------------------------------------------------
# np.outer and np.vdot flatten their inputs; the gradients are reshaped back.

defvjp(np.outer,
       lambda ans, a, b, out=None: lambda g: np.reshape(np.dot(g, np.reshape(b, (-1,))), np.shape(a)),
       lambda ans, a, b, out=None: lambda g: np.reshape(np.dot(np.reshape(a, (-1,)), g), np.shape(b)))
deflinear(np.outer, 0, 1)
defvjp(np.vdot,
       lambda ans, a, b: lambda g: g * np.reshape(b, np.shape(a)),
       lambda ans, a, b: lambda g: g * np.reshape(a, np.shape(b)))
deflinear(np.vdot, 0, 1)


def _kron_vjp(argnum):
    """kron(a, b)[i*nb + j] = a[i] * b[j] per axis (the shorter shape padded with leading 1s):
    g reshaped to interleaved (a0, b0, a1, b1, ...) axes is contracted with the other operand."""
    def maker(ans, a, b):
        nd = max(np.ndim(a), np.ndim(b))
        sa = (1,) * (nd - np.ndim(a)) + np.shape(a)
        sb = (1,) * (nd - np.ndim(b)) + np.shape(b)
        inter = tuple(n for pair in zip(sa, sb) for n in pair)
        mine, other, other_shape = (a, b, sb) if argnum == 0 else (b, a, sa)
        other_axes = list(range(1 - argnum, 2 * nd, 2))
        return lambda g: np.reshape(
            np.tensordot(np.reshape(g, inter), np.reshape(other, other_shape),
                         axes=(other_axes, list(range(nd)))),
            np.shape(mine))
    return maker


defvjp(np.kron, _kron_vjp(0), _kron_vjp(1))
deflinear(np.kron, 0, 1)


def _cross_vjp(argnum):
    """g . (a x b) = a . (b x g) = b . (g x a) for 3-vectors; the product is taken with its
    vector axis last so that unbroadcast sums only the broadcast batch axes."""
    def maker(ans, a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
        if axis is not None:
            axisa = axisb = axisc = axis
        if np.shape(a)[axisa] != 3 or np.shape(b)[axisb] != 3:
            raise NotImplementedError(
                "pullback differentiates np.cross of 3-vectors only, not of 2-vectors")
        x, ax = (a, axisa) if argnum == 0 else (b, axisb)
        nd = np.ndim(x)
        ax %= nd
        order = [i for i in range(nd) if i != ax] + [ax]
        last = np.broadcast_to(0.0, tuple(np.shape(x)[i] for i in order))  # shape only

        def vjp(g):
            if argnum == 0:
                r = np.cross(b, g, axisa=axisb, axisb=axisc, axisc=-1)
            else:
                r = np.cross(g, a, axisa=axisc, axisb=axisa, axisc=-1)
            return _permute(unbroadcast(r, last), order)
        return vjp
    return maker


defvjp(np.cross, _cross_vjp(0), _cross_vjp(1))
deflinear(np.cross, 0, 1)


# --- einsum ------------------------------------------------------------------------------------
# The gradient for operand k is one einsum of g with every other operand, whose output is
# operand k's subscripts.  Ellipses are spelled out as letters first (right-aligned, so they
# broadcast like NumPy's).  Three cases need an extra constant operand, since einsum output
# subscripts must be distinct and must occur in some input:
#   * an index repeated within operand k ('ii->i', 'ii'): the repeat gets a fresh letter tied
#     to the first by an identity matrix, which puts the gradient on the diagonal;
#   * an index only operand k has at full size (summed inside it, 'ij->i', or broadcast from
#     size 1 elsewhere): a ones vector broadcasts g;
#   * a size-1 axis that broadcast against a longer one: a fresh letter with a size-1 ones
#     vector, so the broadcast index is summed.

_LETTERS = string.ascii_uppercase + string.ascii_lowercase  # NumPy's sublist labels 0..51


def _einsum_spec(args):
    """(input terms, output term, operands, their argument positions, unused letters) of an
    einsum call; every term is a list of single-letter labels with '...' spelled out."""
    if isinstance(args[0], str):
        subs = args[0].replace(" ", "")
        ins, out = subs.split("->") if "->" in subs else (subs, None)
        terms = ins.split(",")
        positions = list(range(1, len(args)))
    else:  # sublist form: einsum(op0, sub0, op1, sub1, ..., [sub_out])
        def term(sub):
            return "".join("..." if s is Ellipsis else _LETTERS[s] for s in sub)
        positions = list(range(0, len(args) - 1, 2))
        terms = [term(args[p + 1]) for p in positions]
        out = term(args[-1]) if len(args) % 2 else None
    operands = [args[p] for p in positions]
    n_ell = [np.ndim(op) - len(t.replace("...", "")) for t, op in zip(terms, operands)]
    used = set("".join(terms) + (out or ""))
    fresh = (c for c in _LETTERS if c not in used)
    ell = [next(fresh) for _ in range(max(n_ell, default=0))]

    def expand(t, n):
        head, dots, tail = t.partition("...")
        return list(head) + (ell[len(ell) - n:] if dots else []) + list(tail)

    terms = [expand(t, n) for t, n in zip(terms, n_ell)]
    if out is None:  # implicit output: the ellipsis, then indices seen once, alphabetically
        labels = [c for t in terms for c in t if c not in ell]
        out = ell + sorted(c for c in set(labels) if labels.count(c) == 1)
    else:
        out = expand(out, len(ell))
    return terms, out, operands, positions, fresh


def _einsum_vjp(argnum, ans, *args, optimize=False, **kwargs):
    terms, out, operands, positions, fresh = _einsum_spec(args)
    if argnum not in positions:
        return None  # the subscripts
    k = positions.index(argnum)
    size = {}
    for t, op in zip(terms, operands):
        for c, n in zip(t, np.shape(op)):
            if n != 1:
                size[c] = n
            else:
                size.setdefault(c, 1)
    # indices the other inputs of the gradient einsum (g, other operands) carry at full size
    full = set(out).union(*({c for c, n in zip(t, np.shape(op)) if n == size[c]}
                            for j, (t, op) in enumerate(zip(terms, operands)) if j != k))
    target, const_terms, consts = [], [], []
    try:
        for c, n in zip(terms[k], np.shape(operands[k])):
            if n != size[c]:  # broadcast size-1 axis
                f = next(fresh)
                const_terms.append([f]), consts.append(np.ones(1))
                target.append(f)
            elif c in target:  # repeated index: on the diagonal
                f = next(fresh)
                const_terms.append([c, f]), consts.append(np.eye(n))
                target.append(f)
            else:
                if c not in full and terms[k].count(c) == 1:  # summed inside operand k
                    const_terms.append([c]), consts.append(np.ones(n))
                target.append(c)
    except StopIteration:
        raise NotImplementedError(
            "pullback cannot differentiate this np.einsum: its gradient needs more than the 52 "
            "index letters einsum allows") from None
    others = [op for j, op in enumerate(operands) if j != k]
    in_terms = [out] + [t for j, t in enumerate(terms) if j != k] + const_terms
    subs = ",".join("".join(t) for t in in_terms) + "->" + "".join(target)
    return lambda g: np.einsum(subs, g, *others, *consts, optimize=optimize)


defvjp_argnum(np.einsum, _einsum_vjp)
deflinear_argnum(np.einsum)


# --- trace -------------------------------------------------------------------------------------

def _trace_vjp(ans, a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    """g spread over the offset diagonal: g[..., None, None] * eye, axes moved back in place."""
    nd, shape = np.ndim(a), np.shape(a)
    ax1, ax2 = axis1 % nd, axis2 % nd
    rest = [i for i in range(nd) if i not in (ax1, ax2)]
    eye = np.eye(shape[ax1], shape[ax2], k=offset)
    gshape = tuple(shape[i] for i in rest) + (1, 1)
    return lambda g: _permute(np.reshape(g, gshape) * eye, rest + [ax1, ax2])


defvjp(np.trace, _trace_vjp)
deflinear(np.trace)


# --- norm --------------------------------------------------------------------------------------
# Both rules use D = d norm / d x (x's shape) with the norm broadcast back (keepdims shape):
# VJP g -> g * D, JVP t -> sum(D * t) over the normed axes.
# Conventions: at the zero vector the 2-norm (and 'fro') gradient is 0 (the smallest
# subgradient); at ties of the max (inf-norms, matrix 1/inf-norms) it is split evenly among
# the tied entries, like np.max.

def _norm_partial(ans, x, ord=None, axis=None, keepdims=False):
    """(D, normed axes): D is d norm / d x for a unit cotangent."""
    nd = np.ndim(x)
    if axis is None:
        axes = tuple(range(nd)) if ord is None or nd == 1 else (0, 1)
    else:
        axes = tuple(int(i) % nd for i in np.atleast_1d(axis))
    kshape = tuple(1 if i in axes else n for i, n in enumerate(np.shape(x)))
    n = np.reshape(ans, kshape)
    if ord is None or ord == 2 and len(axes) == 1 or ord in ("fro", "f"):
        return x / (n + (n == 0)), axes
    if len(axes) == 1:
        if ord == 1:
            return np.sign(x), axes
        if ord == 0:  # a count of nonzeros: locally constant
            return np.zeros(np.shape(x)), axes
        if ord in (np.inf, -np.inf):
            tied = np.abs(x) == n
            return np.sign(x) * tied / np.sum(tied, axis=axes, keepdims=True), axes
        return np.sign(x) * (np.abs(x) / (n + (n == 0))) ** (ord - 1), axes
    row, col = axes
    if ord in (2, -2, "nuc"):
        return _singular_value_partial(x, row, col, ord), axes
    if ord in (1, -1):  # max (min) over columns of the column sums
        summed, over = row, col
    elif ord in (np.inf, -np.inf):  # max (min) over rows of the row sums
        summed, over = col, row
    else:
        raise NotImplementedError(
            f"pullback has no gradient for np.linalg.norm with ord={ord!r} of a matrix; use "
            f"'fro', 'nuc', 1, -1, 2, -2, inf or -inf")
    tied = np.sum(np.abs(x), axis=summed, keepdims=True) == n
    return np.sign(x) * tied / np.sum(tied, axis=over, keepdims=True), axes


def _singular_value_partial(x, row, col, ord):
    """d norm / d x for the matrix norms made of singular values, over axes ``row``, ``col``:
    the largest (ord=2) or smallest (-2) one, u v^T of its singular vectors; their sum
    ('nuc'), U V^T.  Where that singular value is tied (or, for 'nuc', one is zero), the norm
    has no derivative: LinAlgError, as the svd rule raises."""
    m = np.moveaxis(x, (row, col), (-2, -1))
    u, s, vh = np.linalg.svd(m, full_matrices=False)
    k = np.shape(s)[-1]
    scale = _TIE * np.max(s) if np.size(s) else 0.0
    if ord == "nuc":
        if np.any(s <= scale):
            raise np.linalg.LinAlgError(
                "pullback cannot differentiate the nuclear norm of a matrix that is not of full "
                "rank (a singular value is zero within rounding): it has no derivative there")
        d = np.matmul(u, vh)
    else:
        i = 0 if ord == 2 else k - 1
        near = 1 if ord == 2 else k - 2
        if k > 1 and np.any(np.abs(s[..., i] - s[..., near]) <= scale):
            raise np.linalg.LinAlgError(
                f"pullback cannot differentiate np.linalg.norm(ord={ord}) of a matrix whose "
                f"{'largest' if ord == 2 else 'smallest'} singular value is repeated: it has no "
                f"derivative there")
        d = np.matmul(u[..., :, i:i + 1], vh[..., i:i + 1, :])
    return np.moveaxis(d, (-2, -1), (row, col))


def _norm_vjp(ans, x, ord=None, axis=None, keepdims=False):
    d, axes = _norm_partial(ans, x, ord, axis, keepdims)
    kshape = tuple(1 if i in axes else n for i, n in enumerate(np.shape(x)))
    return lambda g: np.reshape(g, kshape) * d


def _norm_jvp(ans, x, ord=None, axis=None, keepdims=False):
    d, axes = _norm_partial(ans, x, ord, axis, keepdims)
    return lambda t: np.sum(d * t, axis=axes, keepdims=keepdims)


defvjp(np.linalg.norm, _norm_vjp)
defjvp(np.linalg.norm, _norm_jvp)


# --- inv, det, slogdet, solve, matrix_power (batched over leading axes) ------------------------
# d inv(A) = -inv(A) dA inv(A);  d det(A) = det(A) tr(A^-1 dA);  d log|det A| = tr(A^-1 dA).
# They need A invertible: at a singular A they raise, like np.linalg.inv.

def _batch_matrix(x):
    """A batch of scalars as a batch of 1x1 matrices, to broadcast against matrices."""
    return np.reshape(x, np.shape(x) + (1, 1))


defvjp(np.linalg.inv, lambda ans, a: lambda g: -np.matmul(np.matmul(_mT(ans), g), _mT(ans)))
defjvp(np.linalg.inv, lambda ans, a: lambda t: -np.matmul(np.matmul(ans, t), ans))
defvjp(np.linalg.det, lambda ans, a: lambda g: _batch_matrix(g * ans) * _mT(np.linalg.inv(a)))
defjvp(np.linalg.det,
       lambda ans, a: lambda t: ans * np.trace(np.linalg.solve(a, t), axis1=-2, axis2=-1))
# slogdet returns (sign, logabsdet): the sign is locally constant and gets no gradient.
defvjp(np.linalg.slogdet, lambda ans, a: lambda g: _batch_matrix(g[1]) * _mT(np.linalg.inv(a)))
defjvp(np.linalg.slogdet, lambda ans, a: lambda t: (
    np.zeros(np.shape(ans[0])), np.trace(np.linalg.solve(a, t), axis1=-2, axis2=-1)))


# solve(a, b) takes b as one vector when b is 1-d, else as a stack of matrices; the rules work
# on b (and x = ans) as matrices, with a vector's column axis dropped again.

def _as_columns(x, b):
    return np.expand_dims(x, -1) if np.ndim(b) == 1 else x


def _from_columns(x, b):
    return np.reshape(x, np.shape(x)[:-1]) if np.ndim(b) == 1 else x


def _solve_vjp_a(ans, a, b):
    return lambda g: unbroadcast(
        -np.matmul(np.linalg.solve(_mT(a), _as_columns(g, b)), _mT(_as_columns(ans, b))), a)


def _solve_vjp_b(ans, a, b):
    return lambda g: unbroadcast(_from_columns(np.linalg.solve(_mT(a), _as_columns(g, b)), b), b)


defvjp(np.linalg.solve, _solve_vjp_a, _solve_vjp_b)
defjvp(np.linalg.solve,
       lambda ans, a, b: lambda t: -_from_columns(
           np.linalg.solve(a, np.matmul(t, _as_columns(ans, b))), b),
       lambda ans, a, b: lambda t: np.linalg.solve(a, t))


def _matrix_power_vjp(ans, a, n):
    """d A^n = sum_k A^k dA A^(n-1-k); a negative power is a power of inv(A), chained through
    d inv(A) = -inv(A) dA inv(A)."""
    base = a if n >= 0 else np.linalg.inv(a)
    m = abs(n)

    def vjp(g):
        if m == 0:
            return np.zeros(np.shape(a))
        bt = _mT(base)
        gb = sum(np.matmul(np.matmul(np.linalg.matrix_power(bt, k), g),
                           np.linalg.matrix_power(bt, m - 1 - k)) for k in range(m))
        return gb if n > 0 else -np.matmul(np.matmul(bt, gb), bt)
    return vjp


def _matrix_power_jvp(ans, a, n):
    base = a if n >= 0 else np.linalg.inv(a)
    m = abs(n)

    def jvp(t):
        if m == 0:
            return np.zeros(np.shape(ans))
        tb = t if n > 0 else -np.matmul(np.matmul(base, t), base)
        return sum(np.matmul(np.matmul(np.linalg.matrix_power(base, k), tb),
                             np.linalg.matrix_power(base, m - 1 - k)) for k in range(m))
    return jvp


defvjp(np.linalg.matrix_power, _matrix_power_vjp, None)
defjvp(np.linalg.matrix_power, _matrix_power_jvp, None)


# --- decompositions: shared helpers -------------------------------------------------------------
# Batched over leading axes like inv and det.  Conventions, for every rule below:
#   * cholesky, eigh and eigvalsh read one triangle of A only (the lower one unless told
#     otherwise), so their gradient lies in that triangle: an off-diagonal entry stands for
#     both of the symmetric matrix's entries (_fold).  On a symmetric path (A = B @ B.T) the
#     chain rule gives the same gradient as the usual symmetric one.
#   * Equal eigenvalues (singular values) within rounding, _TIE * the spectrum's 2-norm, are
#     tied.  A tied eigenvalue's cotangent is averaged over its tie (its gradient does not
#     depend on which basis LAPACK picked, as np.max shares a tie); eigenvectors (singular
#     vectors) of a tie have no derivative, and a gradient that flows into them raises
#     LinAlgError instead of returning inf or nan.

_TIE = 1e-12


def _eye(x):
    """The identity matrix of x's last axis."""
    return np.eye(np.shape(x)[-1])


def _diag_embed(v):
    """A (stack of) vector(s) as diagonal matrices."""
    return np.expand_dims(v, -1) * _eye(v)


def _diag_part(m):
    return np.diagonal(m, axis1=-2, axis2=-1)


def _symmetric_from(t, lower):
    """The symmetric matrix a function that reads one triangle of ``t`` sees."""
    return np.tril(t) + _mT(np.tril(t, -1)) if lower else np.triu(t) + _mT(np.triu(t, 1))


def _fold(m, lower):
    """The gradient for the triangle read, from ``m``, a gradient for the symmetric matrix:
    the adjoint of _symmetric_from."""
    both = m + _mT(m)
    return (np.tril(both, -1) if lower else np.triu(both, 1)) + m * _eye(m)


def _lower(uplo):
    if uplo not in ("L", "U", "l", "u"):
        raise ValueError(f"UPLO must be 'L' or 'U', not {uplo!r}")
    return uplo in ("L", "l")


def _scale(w):
    """The size of a spectrum, per matrix (kept axis): its 2-norm, which an empty one has."""
    return np.sqrt(np.sum(w * w, axis=-1, keepdims=True))


def _ties(w):
    """(d, tied): d[..., i, j] = w[j] - w[i], and which pairs are equal within rounding (the
    diagonal always)."""
    d = np.expand_dims(w, -2) - np.expand_dims(w, -1)
    return d, np.abs(d) <= _TIE * np.expand_dims(_scale(w), -1)


def _inverse_gaps(d, tied):
    """1 / d off the ties, 0 on them (the finite part of the eigenvector derivative)."""
    return np.where(tied, 0.0, 1.0 / np.where(tied, 1.0, d))


def _tie_average(g, tied):
    """``g`` (one entry per eigenvalue) averaged over each tie; unchanged without ties."""
    counts = np.sum(tied, axis=-1)
    if np.all(counts == 1):
        return g
    return np.reshape(np.matmul(tied * 1.0, np.expand_dims(g, -1)), np.shape(g)) / counts


def _refuse_tied(tied, parts, fun, values="eigenvalues", vectors="eigenvectors"):
    """Raise when a derivative flows through the vectors of a tie: ``parts`` nonzero on a tied
    pair off the diagonal (there the basis LAPACK picked is arbitrary, and the formula would
    divide by zero)."""
    off = tied * (1.0 - _eye(tied))
    if any(np.any(off * p != 0) for p in parts):
        raise np.linalg.LinAlgError(
            f"pullback cannot differentiate np.linalg.{fun} here: the gradient flows through "
            f"the {vectors} of repeated {values} (equal within rounding), which are not "
            f"unique and have no derivative there. Use only the {values} at such a matrix "
            f"(their gradient is defined), or move it away from the tie")


# --- cholesky: A = L L^T, L lower triangular -----------------------------------------------------
# dA = dL L^T + L dL^T gives L^-1 dA L^-T = X + X^T with X = L^-1 dL lower triangular, so
# dL = L phi(L^-1 dA L^-T), phi taking the lower triangle with the diagonal halved.  The VJP is
# the adjoint: L^-T phi(L^T g) L^-1, folded onto the triangle cholesky reads.  upper=True
# returns L^T and reads the upper triangle: the transposed problem.

def _phi(x):
    return np.tril(x) - 0.5 * x * _eye(x)


def _cholesky_lower_vjp(low, g):
    p = _phi(np.matmul(_mT(low), g))
    lt = _mT(low)
    return _fold(_mT(np.linalg.solve(lt, _mT(np.linalg.solve(lt, p)))), True)


def _cholesky_lower_jvp(low, t):
    s = np.linalg.solve(low, _mT(np.linalg.solve(low, _symmetric_from(t, True))))
    return np.matmul(low, _phi(s))


def _cholesky_vjp(ans, a, upper=False):
    if upper:
        return lambda g: _mT(_cholesky_lower_vjp(_mT(ans), _mT(g)))
    return lambda g: _cholesky_lower_vjp(ans, g)


def _cholesky_jvp(ans, a, upper=False):
    if upper:
        return lambda t: _mT(_cholesky_lower_jvp(_mT(ans), _mT(t)))
    return lambda t: _cholesky_lower_jvp(ans, t)


defvjp(np.linalg.cholesky, _cholesky_vjp)
defjvp(np.linalg.cholesky, _cholesky_jvp)


# --- eigh, eigvalsh: A = V diag(w) V^T ----------------------------------------------------------
# dw = diag(V^T dA V);  dV = V (F o V^T dA V), F[i, j] = 1 / (w[j] - w[i]) off the diagonal.
# VJP: V (diag(gw) + F o V^T gV) V^T, folded onto the triangle read (UPLO).

def _eigh_vjp(ans, a, UPLO="L"):
    lower = _lower(UPLO)
    w, v = ans[0], ans[1]
    d, tied = _ties(w)

    def vjp(g):
        x = np.matmul(_mT(v), g[1])
        _refuse_tied(tied, [x], "eigh")
        inner = _diag_embed(_tie_average(g[0], tied)) + _inverse_gaps(d, tied) * x
        return _fold(np.matmul(np.matmul(v, inner), _mT(v)), lower)
    return vjp


def _eigh_jvp(ans, a, UPLO="L"):
    w, v = ans[0], ans[1]
    d, tied = _ties(w)

    def jvp(t):
        p = np.matmul(np.matmul(_mT(v), _symmetric_from(t, _lower(UPLO))), v)
        _refuse_tied(tied, [p], "eigh")
        return (_tie_average(_diag_part(p), tied),
                np.matmul(v, _inverse_gaps(d, tied) * p))
    return jvp


def _eigvalsh_vjp(ans, a, UPLO="L"):
    v = np.linalg.eigh(a, UPLO)[1]
    tied = _ties(ans)[1]
    return lambda g: _fold(np.matmul(v * np.expand_dims(_tie_average(g, tied), -2), _mT(v)),
                           _lower(UPLO))


def _eigvalsh_jvp(ans, a, UPLO="L"):
    v = np.linalg.eigh(a, UPLO)[1]
    tied = _ties(ans)[1]
    return lambda t: _tie_average(
        np.einsum("...ji,...jk,...ki->...i", v, _symmetric_from(t, _lower(UPLO)), v), tied)


defvjp(np.linalg.eigh, _eigh_vjp)
defjvp(np.linalg.eigh, _eigh_jvp)
defvjp(np.linalg.eigvalsh, _eigvalsh_vjp)
defjvp(np.linalg.eigvalsh, _eigvalsh_jvp)


# --- svd, svdvals: A = U diag(s) V^T, reduced (U: m x k, V: n x k, k = min(m, n)) ---------------
# With P = U^T dA V and F[i, j] = 1 / (s[j]^2 - s[i]^2) off the diagonal:
#   ds = diag(P),  dU = U (F o (P S + S P^T)) + (I - U U^T) dA V S^-1,
#   dV = V (F o (S P + P^T S)) + (I - V V^T) dA^T U S^-1.
# The VJP is their adjoint.  The (I - ...) terms exist only for a non-square A; they divide by
# s, so a zero singular value there raises, as a tie does.

def _svd_check(a, full_matrices, compute_uv, hermitian):
    if hermitian:
        raise NoGradientRuleError(
            "pullback has no derivative rule for np.linalg.svd(..., hermitian=True), which reads "
            "one triangle of the matrix; pass hermitian=False (the default), or use "
            "np.linalg.eigh for a symmetric matrix")
    m, n = np.shape(a)[-2:]
    if full_matrices and compute_uv and m != n:
        raise NoGradientRuleError(
            f"pullback has no derivative rule for np.linalg.svd(..., full_matrices=True) of a "
            f"{m}x{n} matrix: the extra columns of U or V are not unique. Pass "
            f"full_matrices=False")


def _svd_parts(ans, a, compute_uv):
    """(U, s, V) of ``a``, from ``ans`` when it holds them."""
    if compute_uv:
        return ans[0], ans[1], _mT(ans[2])
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return u, s, _mT(vh)


def _svd_inverse_s(s):
    """1 / s, where a non-square A's projection terms need it; 0 at a zero singular value."""
    zero = s <= _TIE * _scale(s)
    return zero, np.where(zero, 0.0, 1.0 / np.where(zero, 1.0, s))


def _svd_terms(ans, a, full_matrices, compute_uv, hermitian):
    """What the VJP and the JVP of svd share: (U, s, V), the matrix's shape, the ties, the
    inverse gaps F and 1 / s (with where s is zero)."""
    _svd_check(a, full_matrices, compute_uv, hermitian)
    u, s, v = _svd_parts(ans, a, compute_uv)
    tied = _ties(s)[1]
    f = _inverse_gaps(np.expand_dims(s, -2) ** 2 - np.expand_dims(s, -1) ** 2, tied)
    return (u, s, v), np.shape(a)[-2:], tied, f, _svd_inverse_s(s)


def _svd_vjp(ans, a, full_matrices=True, compute_uv=True, hermitian=False):
    (u, s, v), (m, n), tied, f, (zero, inv_s) = _svd_terms(ans, a, full_matrices, compute_uv,
                                                           hermitian)

    def vjp(g):
        if not compute_uv:
            return np.matmul(u * np.expand_dims(_tie_average(g, tied), -2), _mT(v))
        gu, gs, gv = g[0], g[1], _mT(g[2])
        j, k = np.matmul(_mT(u), gu), np.matmul(_mT(v), gv)
        _refuse_tied(tied, [j, k], "svd", "singular values", "singular vectors")
        inner = (f * (j - _mT(j)) * np.expand_dims(s, -2) + _diag_embed(_tie_average(gs, tied))
                 + np.expand_dims(s, -1) * (f * (k - _mT(k))))
        ga = np.matmul(np.matmul(u, inner), _mT(v))
        if m > n:
            rest = gu - np.matmul(u, j)
            _refuse_zero(zero, rest, -2)
            ga = ga + np.matmul(rest * np.expand_dims(inv_s, -2), _mT(v))
        if n > m:
            rest = gv - np.matmul(v, k)
            _refuse_zero(zero, rest, -2)
            ga = ga + np.matmul(u * np.expand_dims(inv_s, -2), _mT(rest))
        return ga
    return vjp


def _refuse_zero(zero, rest, axis):
    """Raise when a projection term meets a zero singular value (its column of ``rest``)."""
    if np.any(np.expand_dims(zero, axis) * rest != 0):
        raise np.linalg.LinAlgError(
            "pullback cannot differentiate np.linalg.svd here: the matrix is not of full rank "
            "(a singular value is zero within rounding), and the gradient flows through the "
            "singular vectors of a non-square matrix, which then have no derivative. Use only "
            "the singular values there, or make the matrix full rank")


def _svd_jvp(ans, a, full_matrices=True, compute_uv=True, hermitian=False):
    (u, s, v), (m, n), tied, f, (zero, inv_s) = _svd_terms(ans, a, full_matrices, compute_uv,
                                                           hermitian)

    def jvp(t):
        p = np.matmul(np.matmul(_mT(u), t), v)
        ds = _tie_average(_diag_part(p), tied)
        if not compute_uv:
            return ds
        _refuse_tied(tied, [p], "svd", "singular values", "singular vectors")
        ps, sp = p * np.expand_dims(s, -2), np.expand_dims(s, -1) * p
        du = np.matmul(u, f * (ps + _mT(ps)))
        dv = np.matmul(v, f * (sp + _mT(sp)))
        if m > n:
            rest = np.matmul(t, v) - np.matmul(u, p)
            _refuse_zero(zero, rest, -2)
            du = du + rest * np.expand_dims(inv_s, -2)
        if n > m:
            rest = np.matmul(_mT(t), u) - np.matmul(v, _mT(p))
            _refuse_zero(zero, rest, -2)
            dv = dv + rest * np.expand_dims(inv_s, -2)
        return du, ds, _mT(dv)
    return jvp


defvjp(np.linalg.svd, _svd_vjp)
defjvp(np.linalg.svd, _svd_jvp)



def _svdvals_vjp(ans, x):
    return _svd_vjp(ans, x, compute_uv=False)


def _svdvals_jvp(ans, x):
    return _svd_jvp(ans, x, compute_uv=False)


if hasattr(np.linalg, "svdvals"):   # NumPy 2.0 and later
    defvjp(np.linalg.svdvals, _svdvals_vjp)
    defjvp(np.linalg.svdvals, _svdvals_jvp)


# --- qr: A = Q R, reduced, m >= n (Q: m x n orthonormal columns, R: n x n upper triangular) ------
# C = Q^T dA R^-1 = Q^T dQ + dR R^-1: an antisymmetric plus an upper triangular matrix, so
# W = Q^T dQ is C's strictly lower part minus its transpose, and
#   dR = (C - W) R,  dQ = dA R^-1 - Q (C - W).
# VJP: (gQ + Q sym_upper(M)) R^-T with M = gR R^T - Q^T gQ and sym_upper(M) the symmetric
# matrix with M's upper triangle.  R must be invertible (A of full column rank).

def _qr_check(a, mode):
    m, n = np.shape(a)[-2:]
    if mode not in ("reduced", "complete", "r") or (mode == "complete" and m != n):
        raise NoGradientRuleError(
            f"pullback has no derivative rule for np.linalg.qr(..., mode={mode!r})"
            f"{f' of a {m}x{n} matrix' if mode == 'complete' else ''}: the extra columns of Q "
            f"in 'complete' mode are not unique and 'raw' is LAPACK's storage. Use "
            f"mode='reduced' (the default) or mode='r'")
    if m < n:
        raise NoGradientRuleError(
            f"pullback has no derivative rule for np.linalg.qr of a {m}x{n} matrix: it "
            f"differentiates the QR of a tall or square matrix (m >= n), whose R is invertible "
            f"at full rank")


def _right_solve(y, r):
    """y R^-1, by one solve with R^T."""
    return _mT(np.linalg.solve(_mT(r), _mT(y)))


def _qr_parts(ans, a, mode):
    return np.linalg.qr(a) if mode == "r" else (ans[0], ans[1])


def _qr_vjp(ans, a, mode="reduced"):
    _qr_check(a, mode)
    q, r = _qr_parts(ans, a, mode)

    def vjp(g):
        gq, gr = (None, g) if mode == "r" else (g[0], g[1])
        m = np.matmul(gr, _mT(r))
        if gq is not None:
            m = m - np.matmul(_mT(q), gq)
        b = np.matmul(q, np.triu(m) + _mT(np.triu(m, 1)))
        if gq is not None:
            b = b + gq
        return _mT(np.linalg.solve(r, _mT(b)))
    return vjp


def _qr_jvp(ans, a, mode="reduced"):
    _qr_check(a, mode)
    q, r = _qr_parts(ans, a, mode)

    def jvp(t):
        c = np.matmul(_mT(q), _right_solve(t, r))
        low = np.tril(c, -1)
        upper = c - low + _mT(low)   # C - W
        dr = np.matmul(upper, r)
        if mode == "r":
            return dr
        return _right_solve(t, r) - np.matmul(q, upper), dr
    return jvp


defvjp(np.linalg.qr, _qr_vjp)
defjvp(np.linalg.qr, _qr_jvp)


# --- pinv, lstsq (full rank) ---------------------------------------------------------------------
# At a matrix of full rank (rank min(m, n), which stays constant nearby):
#   d A+ = -A+ dA A+ + A+ A+^T dA^T (I - A A+) + (I - A+ A) dA^T A+^T A+.
# Below full rank NumPy's cutoff makes A+ jump as small singular values cross it: no
# derivative, so the rules raise.  lstsq's x is pinv(A) b; its residuals ||b - A x||^2 (one per
# column of b, given when m > n) change by 2 r^T (db - dA x) with r = b - A x (x is optimal);
# its singular values are svdvals(A)'s; its rank is an integer (no gradient).

def _pinv_check(pinv, a, hermitian=False, rank=None):
    if hermitian:
        raise NoGradientRuleError(
            "pullback has no derivative rule for np.linalg.pinv(..., hermitian=True), which "
            "reads one triangle of the matrix; pass hermitian=False (the default)")
    k = min(np.shape(a)[-2:])
    if rank is None:   # trace(A+ A) counts the singular values kept
        rank = np.einsum("...ij,...ji->...", pinv, a)
    if np.any(np.abs(rank - k) > 0.5):
        raise np.linalg.LinAlgError(
            f"pullback cannot differentiate np.linalg.pinv or np.linalg.lstsq here: the matrix "
            f"has rank below {k} (small singular values fall under rcond), where the "
            f"pseudo-inverse jumps and has no derivative. Regularize (e.g. solve "
            f"(A^T A + lam I) x = A^T b), or make the matrix full rank")


def _pinv_grad(p, a, g):
    """The VJP of A+ = p for cotangent g."""
    pt = _mT(p)
    ga = -np.matmul(np.matmul(pt, g), pt)
    m, n = np.shape(a)[-2:]
    if m > n:   # I - A A+ is zero for a wide matrix of full rank
        left = np.eye(m) - np.matmul(a, p)
        ga = ga + np.matmul(np.matmul(left, _mT(g)), np.matmul(p, pt))
    if n > m:   # I - A+ A is zero for a tall one
        right = np.eye(n) - np.matmul(p, a)
        ga = ga + np.matmul(np.matmul(np.matmul(pt, p), _mT(g)), right)
    return ga


def _pinv_tangent(p, a, t):
    """The JVP of A+ = p along t."""
    pt = _mT(p)
    dp = -np.matmul(np.matmul(p, t), p)
    m, n = np.shape(a)[-2:]
    if m > n:
        left = np.eye(m) - np.matmul(a, p)
        dp = dp + np.matmul(np.matmul(np.matmul(p, pt), _mT(t)), left)
    if n > m:
        right = np.eye(n) - np.matmul(p, a)
        dp = dp + np.matmul(np.matmul(right, _mT(t)), np.matmul(pt, p))
    return dp


def _pinv_vjp(ans, a, rcond=None, hermitian=False, **rtol):
    _pinv_check(ans, a, hermitian)
    return lambda g: _pinv_grad(ans, a, g)


def _pinv_jvp(ans, a, rcond=None, hermitian=False, **rtol):
    _pinv_check(ans, a, hermitian)
    return lambda t: _pinv_tangent(ans, a, t)


defvjp(np.linalg.pinv, _pinv_vjp)
defjvp(np.linalg.pinv, _pinv_jvp)


def _lstsq_parts(ans, a, b):
    """(pinv(A), the residual b - A x as columns, x as columns, b as columns)."""
    _pinv_check(None, a, rank=ans[2])
    x, bc = _as_columns(ans[0], b), _as_columns(b, b)
    return np.linalg.pinv(a), bc - np.matmul(a, x), x, bc


def _lstsq_vjp_a(ans, a, b, rcond=None):
    p, r, x, bc = _lstsq_parts(ans, a, b)

    def vjp(g):
        ga = _pinv_grad(p, a, np.matmul(_as_columns(g[0], b), _mT(bc)))
        if np.size(ans[1]):
            ga = ga - 2 * np.matmul(r * g[1], _mT(x))
        if np.any(g[3] != 0):   # the singular values were used: one more SVD
            ga = ga + _svd_vjp(ans[3], a, compute_uv=False)(g[3])
        return ga
    return vjp


def _lstsq_vjp_b(ans, a, b, rcond=None):
    p, r, x, bc = _lstsq_parts(ans, a, b)

    def vjp(g):
        gb = np.matmul(_mT(p), _as_columns(g[0], b))
        if np.size(ans[1]):
            gb = gb + 2 * r * g[1]
        return _from_columns(gb, b)
    return vjp


def _lstsq_jvp_a(ans, a, b, rcond=None):
    p, r, x, bc = _lstsq_parts(ans, a, b)
    svals = _svd_jvp(ans[3], a, compute_uv=False)

    def jvp(t):
        dx = _from_columns(np.matmul(_pinv_tangent(p, a, t), bc), b)
        dres = -2 * np.sum(r * np.matmul(t, x), axis=0) if np.size(ans[1]) else ans[1] * 0.0
        return dx, dres, np.zeros(np.shape(ans[2])), svals(t)
    return jvp


def _lstsq_jvp_b(ans, a, b, rcond=None):
    p, r, x, bc = _lstsq_parts(ans, a, b)

    def jvp(t):
        dres = 2 * np.sum(r * _as_columns(t, b), axis=0) if np.size(ans[1]) else ans[1] * 0.0
        return (np.matmul(p, t), dres, np.zeros(np.shape(ans[2])),
                np.zeros(np.shape(ans[3])))
    return jvp


defvjp(np.linalg.lstsq, _lstsq_vjp_a, _lstsq_vjp_b)
defjvp(np.linalg.lstsq, _lstsq_jvp_a, _lstsq_jvp_b)


# --- multi_dot: A0 @ A1 @ ... @ Ak, the first and last may be vectors --------------------------
# The gradient for Ai is (A0 ... Ai-1)^T g (Ai+1 ... Ak)^T: products carried from both ends.

def _as_matrices(arrays):
    """The arrays as matrices (a first vector as a row, a last one as a column)."""
    mats = list(arrays)
    if np.ndim(mats[0]) == 1:
        mats[0] = np.expand_dims(mats[0], 0)
    if np.ndim(mats[-1]) == 1:
        mats[-1] = np.expand_dims(mats[-1], -1)
    return mats


def _multi_dot_vjp(ans, arrays, *, out=None):
    mats = _as_matrices(arrays)
    rights = [None] * len(mats)   # rights[i] = (Ai+1 ... Ak)^T
    for i in range(len(mats) - 2, -1, -1):
        rights[i] = _mT(mats[i + 1]) if rights[i + 1] is None else \
            np.matmul(rights[i + 1], _mT(mats[i + 1]))

    def vjp(g):
        left = np.reshape(g, (np.shape(mats[0])[0], np.shape(mats[-1])[1]))
        grads = []
        for i, x in enumerate(arrays):
            gi = left if rights[i] is None else np.matmul(left, rights[i])
            grads.append(np.reshape(gi, np.shape(x)))
            left = np.matmul(_mT(mats[i]), left)
        return grads
    return vjp


def _multi_dot_jvp(ans, arrays, *, out=None):
    def jvp(t):
        return sum(np.linalg.multi_dot(list(arrays[:i]) + [ti] + list(arrays[i + 1:]))
                   for i, ti in enumerate(t))
    return jvp


defvjp(np.linalg.multi_dot, _multi_dot_vjp)
defjvp(np.linalg.multi_dot, _multi_dot_jvp)


# --- eig, eigvals: refused ------------------------------------------------------------------------
# A general matrix's eigenvalues and eigenvectors are complex, and pullback differentiates real
# values only: a rule that raises says so, rather than "no rule" or a wrong real gradient.

def _eig_refused(ans, a):
    raise NoGradientRuleError(
        "pullback has no derivative rule for np.linalg.eig or np.linalg.eigvals: a general "
        "matrix's eigenvalues are complex, and pullback differentiates real values only. For a "
        "symmetric matrix use np.linalg.eigh or np.linalg.eigvalsh, whose rules pullback has")


defvjp(np.linalg.eig, _eig_refused)
defjvp(np.linalg.eig, _eig_refused)
defvjp(np.linalg.eigvals, _eig_refused)
defjvp(np.linalg.eigvals, _eig_refused)


# --- NumPy 2's array-API names ----------------------------------------------------------------
# np.linalg.matmul, .tensordot, .outer, .cross, .matrix_transpose, .diagonal, .trace,
# .vecdot, .matrix_norm and .vector_norm are new functions (not aliases) for the same products
# and reductions, with the array API's conventions (the last two axes, the last axis); each
# rule here is the older function's rule with those conventions spelled out.  np.vecdot,
# np.matvec and np.vecmat are generalized ufuncs over the last axes (real inputs: vecdot's
# conjugation is the identity).

def _vecdot_vjp(argnum):
    def maker(ans, a, b, axis=-1):
        mine, other = (a, b) if argnum == 0 else (b, a)
        nd = max(np.ndim(a), np.ndim(b))
        return lambda g: unbroadcast(np.expand_dims(g, axis % nd) * other, mine)
    return maker


def _matvec_vjp_matrix(ans, m, v):
    return lambda g: unbroadcast(np.expand_dims(g, -1) * np.expand_dims(v, -2), m)


def _matvec_vjp_vector(ans, m, v):
    return lambda g: unbroadcast(np.sum(m * np.expand_dims(g, -1), axis=-2), v)


def _vecmat_vjp_vector(ans, v, m):
    return lambda g: unbroadcast(np.sum(m * np.expand_dims(g, -2), axis=-1), v)


def _vecmat_vjp_matrix(ans, v, m):
    return lambda g: unbroadcast(np.expand_dims(v, -1) * np.expand_dims(g, -2), m)


def _matrix_norm_vjp(ans, x, keepdims=False, ord="fro"):
    return _norm_vjp(ans, x, ord, (-2, -1), keepdims)


def _matrix_norm_jvp(ans, x, keepdims=False, ord="fro"):
    return _norm_jvp(ans, x, ord, (-2, -1), keepdims)


def _vector_norm_partial(ans, x, axis, ord):
    """(d norm / d x, the normed axes) of a vector norm over ``axis`` (None: all axes; several
    axes: their elements as one vector)."""
    nd = np.ndim(x)
    axes = tuple(range(nd)) if axis is None else tuple(
        sorted(int(a) % nd for a in np.atleast_1d(axis)))
    rest = [i for i in range(nd) if i not in axes]
    moved = np.transpose(x, rest + list(axes))
    flat = np.reshape(moved, tuple(np.shape(x)[i] for i in rest) + (-1,))
    d, _ = _norm_partial(np.reshape(ans, np.shape(flat)[:-1]), flat, ord, -1)
    back = tuple(int(i) for i in np.argsort(rest + list(axes)))
    return np.transpose(np.reshape(d, np.shape(moved)), back), axes


def _vector_norm_vjp(ans, x, axis=None, keepdims=False, ord=2):
    d, axes = _vector_norm_partial(ans, x, axis, ord)
    kshape = tuple(1 if i in axes else n for i, n in enumerate(np.shape(x)))
    return lambda g: np.reshape(g, kshape) * d


def _vector_norm_jvp(ans, x, axis=None, keepdims=False, ord=2):
    d, axes = _vector_norm_partial(ans, x, axis, ord)
    return lambda t: np.reshape(np.sum(d * t, axis=axes), np.shape(ans))


def _undiagonal_last(g, shape, offset):
    from .shape import _undiagonal
    return _undiagonal(g, shape, offset, len(shape) - 2, len(shape) - 1)


if hasattr(np.linalg, "matrix_norm"):   # NumPy 2.0 and later
    defvjp(np.linalg.matmul, _matmul_vjp_a, _matmul_vjp_b)
    deflinear(np.linalg.matmul, 0, 1)
    defvjp(np.linalg.tensordot,
           lambda ans, a, b, axes=2: lambda g: _contract_grad_a(g, a, b,
                                                                *_tensordot_axes(a, b, axes)),
           lambda ans, a, b, axes=2: lambda g: _contract_grad_b(g, a, b,
                                                                *_tensordot_axes(a, b, axes)))
    deflinear(np.linalg.tensordot, 0, 1)
    defvjp(np.linalg.outer,
           lambda ans, a, b: lambda g: np.dot(g, b),
           lambda ans, a, b: lambda g: np.dot(a, g))
    deflinear(np.linalg.outer, 0, 1)
    defvjp(np.linalg.cross,
           lambda ans, a, b, axis=-1: _cross_vjp(0)(ans, a, b, axis=axis),
           lambda ans, a, b, axis=-1: _cross_vjp(1)(ans, a, b, axis=axis))
    deflinear(np.linalg.cross, 0, 1)
    defvjp(np.linalg.matrix_transpose, lambda ans, x: lambda g: _mT(g))
    deflinear(np.linalg.matrix_transpose)
    defvjp(np.linalg.diagonal,
           lambda ans, x, offset=0: lambda g: _undiagonal_last(g, np.shape(x), offset))
    deflinear(np.linalg.diagonal)
    defvjp(np.linalg.trace,
           lambda ans, x, offset=0, dtype=None: _trace_vjp(ans, x, offset, -2, -1))
    deflinear(np.linalg.trace)
    for _vecdot in (np.linalg.vecdot, np.vecdot):
        defvjp(_vecdot, _vecdot_vjp(0), _vecdot_vjp(1))
        deflinear(_vecdot, 0, 1)
    defvjp(np.linalg.matrix_norm, _matrix_norm_vjp)
    defjvp(np.linalg.matrix_norm, _matrix_norm_jvp)
    defvjp(np.linalg.vector_norm, _vector_norm_vjp)
    defjvp(np.linalg.vector_norm, _vector_norm_jvp)

if hasattr(np, "matvec"):   # NumPy 2.2 and later
    defvjp(np.matvec, _matvec_vjp_matrix, _matvec_vjp_vector)
    deflinear(np.matvec, 0, 1)
    defvjp(np.vecmat, _vecmat_vjp_vector, _vecmat_vjp_matrix)
    deflinear(np.vecmat, 0, 1)
