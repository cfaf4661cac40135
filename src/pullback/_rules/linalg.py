"""Derivative rules for NumPy's linear algebra: products, contractions, traces, norms, np.linalg.

Every rule body is written with NumPy functions that have rules of their own (np.matmul,
np.tensordot, np.einsum, np.linalg.inv, np.linalg.solve, np.swapaxes, np.transpose, ...), so the
tape can run a rule on Tensors and differentiate it again.  Products are multilinear, so their
JVPs come from ``deflinear`` (the product itself applied to the tangent).  Only real inputs are
supported: no rule here conjugates.
"""

import string

import numpy as np

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
    if ord in (1, -1):  # max (min) over columns of the column sums
        summed, over = row, col
    elif ord in (np.inf, -np.inf):  # max (min) over rows of the row sums
        summed, over = col, row
    else:
        raise NotImplementedError(
            f"pullback has no gradient for np.linalg.norm with ord={ord!r} of a matrix "
            f"(it would need an SVD); use 'fro', 1, -1, inf or -inf")
    tied = np.sum(np.abs(x), axis=summed, keepdims=True) == n
    return np.sign(x) * tied / np.sum(tied, axis=over, keepdims=True), axes


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
