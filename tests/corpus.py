"""A corpus of small user functions for the source-to-source engine (issue 4), with arguments.

Each function is written the way people write NumPy code -- ``import numpy as np`` and nothing
from pullback -- and returns a real scalar.  All of it is straight-line code: no ``if`` / ``for`` /
``while`` statements (control flow is a later issue), but conditional expressions are in scope.
Each is registered with ``case(fn, args, wrt)`` right below it; ``CASES`` lists them all.

Arguments are chosen inside each function's domain and away from kinks and ties (abs, maximum,
where, clip, max), so central finite differences are accurate there.
"""

import collections
from dataclasses import dataclass, field

import numpy
import numpy as np
from numpy import cos, sin
from numpy import exp as nexp

import corpus_helpers
from corpus_helpers import Model, rbf, smooth_abs


@dataclass
class Case:
    """One corpus entry: ``fn(*args, **kwargs)`` differentiated with respect to ``wrt``."""

    fn: object
    args: tuple
    wrt: object = 0
    kwargs: dict = field(default_factory=dict)
    name: str = ""

    @property
    def id(self):
        return self.name or self.fn.__name__


CASES = []


def case(fn, args, wrt=0, kwargs=None, name=""):
    CASES.append(Case(fn, tuple(args), wrt, dict(kwargs or {}), name))


def _normal(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape)


def _uniform(seed, lo, hi, *shape):
    return np.random.default_rng(seed).uniform(lo, hi, shape)


def _signed(seed, *shape, lo=0.3, hi=1.5):
    """Random signs, magnitudes in [lo, hi]: away from the kink of abs / where(x > 0) at zero."""
    rng = np.random.default_rng(seed)
    return rng.uniform(lo, hi, shape) * rng.choice([-1.0, 1.0], shape)


def _spread(seed, *shape):
    """Distinct, evenly spread values, shuffled: no ties for max / min."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    return rng.permutation(np.linspace(-1.5, 1.7, n)).reshape(shape) + rng.uniform(0, 0.05, shape)


def _well_conditioned(seed, n):
    return 3.0 * np.eye(n) + 0.5 * _normal(seed, n, n)


_PROJ = _normal(900, 3, 2)          # a module-level constant array used by a corpus function
_MEAN_TYPE = "mean"


# === the seeds' examples and small models ======================================================

def seed_quadratic(w1, w2):
    return 3 * w1 ** 2 + 2 * w1 * w2


case(seed_quadratic, (5.0, 3.0), wrt=(0, 1))


def seed_softplus(z):
    return np.log(np.exp(z) + 1.0)


case(seed_softplus, (0.7,))


def seed_sigmoid(x):
    return np.sum(1 / (1 + np.exp(-x)))


case(seed_sigmoid, (_normal(1, 4),))


def seed_abs_loss(a, x, y):
    return np.sum(np.abs(a * x - y))


case(seed_abs_loss, (1.3, _normal(2, 5), _normal(3, 5)), wrt=(0, 1))


def logistic_regression_loss(w, b, X, y):
    z = X @ w + b
    p = 1.0 / (1.0 + np.exp(-z))
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))


case(logistic_regression_loss,
     (_normal(4, 3), 0.1, _normal(5, 6, 3), np.array([0., 1., 1., 0., 1., 0.])), wrt=(0, 1))


def _dense(x, W, b):
    return x @ W + b


def mlp_loss(params, X, Y):
    h = np.tanh(_dense(X, params["W1"], params["b1"]))
    logits = _dense(h, params["W2"], params["b2"])
    m = np.max(logits, axis=1, keepdims=True)
    lse = m + np.log(np.sum(np.exp(logits - m), axis=1, keepdims=True))
    log_probs = logits - lse
    return -np.sum(Y * log_probs) / X.shape[0]


_MLP_PARAMS = {"W1": 0.5 * _normal(6, 3, 4), "b1": 0.1 * _normal(7, 4),
               "W2": 0.5 * _normal(8, 4, 2), "b2": 0.1 * _normal(9, 2)}
case(mlp_loss, (_MLP_PARAMS, _normal(10, 5, 3), np.eye(2)[[0, 1, 1, 0, 1]]))


def ridge_loss(w, X, y, lam=0.1):
    r = X @ w - y
    return np.mean(r ** 2) + lam * np.sum(w ** 2)


case(ridge_loss, (_normal(11, 3), _normal(12, 6, 3), _normal(13, 6)))


def gaussian_log_likelihood(mu, log_sigma, x):
    sigma = np.exp(log_sigma)
    z = (x - mu) / sigma
    return np.sum(-0.5 * z ** 2 - log_sigma - 0.5 * np.log(2 * np.pi))


case(gaussian_log_likelihood, (0.3, -0.2, _normal(14, 7)), wrt=(0, 1))


def cosine_similarity(a, b):
    return np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b))


case(cosine_similarity, (_normal(15, 4), _normal(16, 4)), wrt=(0, 1))


def huber_loss(pred, y, delta=1.0):
    r = pred - y
    quadratic = 0.5 * r ** 2
    linear = delta * (np.abs(r) - 0.5 * delta)
    return np.mean(np.where(np.abs(r) <= delta, quadratic, linear))


case(huber_loss, (np.array([0.2, -1.9, 0.4, 2.5, -0.3]), np.array([0.5, 0.1, -0.1, 0.2, 0.6])))


def softmax_weighted_sum(logits, weights):
    e = np.exp(logits - np.max(logits, axis=-1, keepdims=True))
    p = e / np.sum(e, axis=-1, keepdims=True)
    return np.sum(p * weights)


case(softmax_weighted_sum, (_spread(17, 2, 3), _normal(18, 2, 3)), wrt=(0, 1))


# === assignments, unpacking and operators ======================================================

def scalar_operators(x, y):
    return (x + y) * (x - y) / y ** 2 + (-x) + (+y)


case(scalar_operators, (1.5, -0.7), wrt=(0, 1))


def array_operators_broadcast(x, y):
    return np.sum(x * y - x / y + y ** 2 - x + (-y) + (+x))


case(array_operators_broadcast, (_normal(19, 2, 3), _uniform(20, 0.5, 2.0, 3)), wrt=(0, 1))


def matmul_operator(A, B):
    return np.sum(A @ B)


case(matmul_operator, (_normal(21, 2, 3), _normal(22, 3, 4)), wrt=(0, 1))


def quadratic_form(A, v):
    return v @ A @ v


case(quadratic_form, (_normal(23, 3, 3), _normal(24, 3)), wrt=(0, 1))


def power_operators(x, p):
    return np.sum(x ** 3 + 2.0 ** x + x ** 0.5 + x ** p)


case(power_operators, (_uniform(25, 0.5, 2.0, 3), _uniform(26, 0.5, 1.5, 3)), wrt=(0, 1))


def augmented_scalars(x, y):
    z = x
    z += y
    z -= 0.5 * x
    z *= y
    z /= 1.0 + x ** 2
    z **= 2
    return z


case(augmented_scalars, (0.8, 1.7), wrt=(0, 1))


def augmented_arrays(x, y):
    z = x * 1.0
    z += y
    z -= 0.3 * x
    z *= x
    z /= 2.0 + y ** 2
    z **= 2
    return np.sum(z)


case(augmented_arrays, (_normal(27, 2, 3), _normal(28, 3)), wrt=(0, 1))


def augmented_matmul(A, B):
    C = A.copy()
    C @= B
    C += A
    return np.sum(C ** 2)


case(augmented_matmul, (_normal(29, 3, 3), _normal(30, 3, 3)), wrt=(0, 1))


def reassign_many_times(x):
    x = x * 2.0
    y = np.sin(x)
    y = y + x
    y = y * y
    y = np.sum(y)
    return y


case(reassign_many_times, (_normal(31, 4),))


def tuple_unpacking_and_swap(x, y):
    a, b = x * 2.0, y + 1.0
    a, b = b, a
    c = a * b - a
    return np.sum(c * a)


case(tuple_unpacking_and_swap, (_normal(32, 3), _normal(33, 3)), wrt=(0, 1))


def swap_scalars(a, b):
    a, b = b, a
    return a * 3.0 - b ** 2


case(swap_scalars, (0.4, 1.1), wrt=(0, 1))


def chained_assignment(x):
    a = b = np.sin(x)
    return np.sum(a * b + a)


case(chained_assignment, (_normal(34, 3),))


def annotated_signature(x: np.ndarray, scale: float = 2.0) -> float:
    y: np.ndarray = scale * x
    return np.sum(y ** 2)


case(annotated_signature, (_normal(35, 3),))


def constants_mixed_in(x):
    w = np.array([1.0, -2.0, 0.5])
    e = np.eye(3)
    return np.sum(e @ (w * x) + np.ones_like(x) * x + np.zeros(3)) * np.e


case(constants_mixed_in, (_normal(36, 3),))


def module_constant_array(x):
    return np.sum(np.tanh(x @ _PROJ))


case(module_constant_array, (_normal(37, 4, 3),))


# === registered NumPy functions ================================================================

def elementwise_unary(x):
    return np.sum(np.exp(x) * np.sin(x) + np.tanh(x) - np.log(x) + np.sqrt(x) + np.cos(x) ** 2)


case(elementwise_unary, (_uniform(38, 0.5, 2.0, 2, 3),))


def elementwise_more(x):
    return np.sum(np.log1p(x ** 2) + np.expm1(x) + np.square(x) + np.arctan(x) + np.sinh(x)
                  + np.cosh(x) + np.log2(x ** 2 + 1.0) + np.reciprocal(x ** 2 + 1.0))


case(elementwise_more, (_normal(39, 4),))


def ufunc_by_name(x, y):
    return np.sum(np.add(x, y) * np.multiply(x, y) - np.subtract(x, y) / np.power(y, 2)
                  + np.negative(x) + np.divide(x, y))


case(ufunc_by_name, (_normal(40, 3), _uniform(41, 0.5, 2.0, 3)), wrt=(0, 1))


def abs_and_maximum(x, y):
    return np.sum(np.abs(x) + np.maximum(x, y) - np.minimum(x, 0.5 * y))


case(abs_and_maximum, (np.array([0.9, -1.2, 0.4, -0.3]), np.array([0.1, -0.2, 1.3, -1.5])),
     wrt=(0, 1))


def where_and_clip(x):
    return np.sum(np.where(x > 0, x ** 2, -x) + np.clip(x, -0.5, 0.5))


case(where_and_clip, (np.array([0.3, -0.9, 1.2, -0.2, 0.7]),))


def logaddexp_pair(a, b):
    return np.sum(np.logaddexp(a, b))


case(logaddexp_pair, (_normal(42, 3), _normal(43, 3)), wrt=(0, 1))


def from_numpy_imports(x):
    return np.sum(sin(x) * cos(x) + nexp(-x))


case(from_numpy_imports, (_normal(44, 3),))


def plain_numpy_module(x):
    return numpy.sum(numpy.tanh(x) ** 2) + numpy.mean(x)


case(plain_numpy_module, (_normal(45, 4),))


# === reductions ================================================================================

def sum_mean_axis(x):
    s0 = np.sum(x, axis=0)
    m1 = np.mean(x, axis=1, keepdims=True)
    return np.sum(x * s0 - m1 ** 2)


case(sum_mean_axis, (_normal(46, 4, 3),))


def max_and_prod(x):
    return np.sum(np.max(x, axis=1)) + np.prod(x) + np.min(x)


case(max_and_prod, (_spread(47, 2, 3),))


def var_and_std(x):
    return np.sum(np.var(x, axis=0)) + np.std(x) + np.var(x, ddof=1)


case(var_and_std, (_normal(48, 4, 3),))


def standardize_keepdims(x):
    mu = np.mean(x, axis=1, keepdims=True)
    sd = np.std(x, axis=1, keepdims=True)
    z = (x - mu) / sd
    return np.sum(z ** 3 * np.arange(3.0))


case(standardize_keepdims, (_normal(49, 4, 3),))


def sum_over_axis_tuple(x):
    s = np.sum(x, axis=(0, 2))
    return np.sum(s ** 2) + np.max(x, axis=-1, keepdims=True).sum()


case(sum_over_axis_tuple, (_spread(50, 2, 3, 4),))


def stable_logsumexp(x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


case(stable_logsumexp, (_spread(51, 5),))


# === linear algebra ============================================================================

def dot_vectors(a, b):
    return np.dot(a, b) + np.dot(a, a)


case(dot_vectors, (_normal(52, 4), _normal(53, 4)), wrt=(0, 1))


def dot_and_matmul(A, x, B):
    return np.sum(np.dot(A, x) ** 2) + np.sum(np.matmul(A, B))


case(dot_and_matmul, (_normal(54, 2, 3), _normal(55, 3), _normal(56, 3, 2)), wrt=(0, 1, 2))


def einsum_contractions(A, B, v):
    total = np.einsum("ij,jk->ik", A, B).sum() + np.einsum("ij,j->", A, v)
    return total + np.einsum("ij,ij->", A, A)


case(einsum_contractions, (_normal(57, 2, 3), _normal(58, 3, 2), _normal(59, 3)), wrt=(0, 1, 2))


def inverse_and_determinant(A):
    return np.sum(np.linalg.inv(A)) + np.log(np.abs(np.linalg.det(A)))


case(inverse_and_determinant, (_well_conditioned(60, 3),))


def linear_solve(A, b):
    x = np.linalg.solve(A, b)
    return x @ x


case(linear_solve, (_well_conditioned(61, 3), _normal(62, 3)), wrt=(0, 1))


def norms(x, M):
    return np.linalg.norm(x) + np.linalg.norm(M) + np.sum(np.linalg.norm(M, axis=1))


case(norms, (_normal(63, 3), _normal(64, 2, 3)), wrt=(0, 1))


def outer_and_trace(a, b):
    P = np.outer(a, b)
    return np.trace(P) + np.sum(P ** 2)


case(outer_and_trace, (_normal(65, 3), _normal(66, 3)), wrt=(0, 1))


# === shape functions ===========================================================================

def reshape_and_transpose(x):
    y = np.reshape(x, (3, 2))
    z = np.transpose(x)
    return np.sum(y * z * np.arange(6.0).reshape(3, 2))


case(reshape_and_transpose, (_normal(67, 2, 3),))


def transpose_axes(x):
    y = np.transpose(x, (1, 0, 2))
    return np.sum(y[0] * np.arange(8.0).reshape(2, 4))


case(transpose_axes, (_normal(68, 2, 3, 4),))


def concatenate_and_stack(a, b):
    c = np.concatenate([a, b])
    d = np.concatenate((a[None], b[None]), axis=0)
    s = np.stack([a, b], axis=1)
    return np.sum(c ** 2) + np.sum(s[:, 0] * s[:, 1]) + np.sum(d[1] * 3.0)


case(concatenate_and_stack, (_normal(69, 3), _normal(70, 3)), wrt=(0, 1))


def expand_and_squeeze(x):
    e = np.expand_dims(x, 0)
    f = np.expand_dims(x, axis=-1)
    return np.sum(np.squeeze(e * e, axis=0)) + np.sum(np.squeeze(f) * x)


case(expand_and_squeeze, (_normal(71, 3),))


def broadcast_tile_repeat(x):
    w = np.arange(12.0).reshape(4, 3)
    b = np.broadcast_to(x, (4, 3))
    t = np.tile(x, 2)
    r = np.repeat(x, 2)
    return np.sum(b * w) + np.sum(t ** 2 * np.arange(6.0)) + np.sum(r * np.arange(6.0))


case(broadcast_tile_repeat, (_normal(72, 3),))


def flip_product(x):
    return np.sum(np.flip(x) * x * np.arange(4.0))


case(flip_product, (_normal(73, 4),))


def split_unpacked(x, M):
    a, b, c = np.split(x, 3)
    top, bottom = np.split(M, 2, axis=0)
    return np.sum(a * b - c) + np.sum(top * bottom ** 2)


case(split_unpacked, (_normal(74, 6), _normal(75, 4, 3)), wrt=(0, 1))


# === array methods and attributes ==============================================================

def methods_sum_mean_max(x):
    s = x.sum() + x.mean(axis=0).sum() + x.max(axis=1).sum()
    return s + x.sum(axis=0, keepdims=True).mean()


case(methods_sum_mean_max, (_spread(76, 4, 3),))


def method_stats(x):
    return x.std() + x.var(axis=0).sum() + x.prod() + x.min()


case(method_stats, (_spread(77, 2, 3),))


def transpose_attribute_and_dot(A, B):
    return A.T.dot(B).sum() + (A.T @ A).sum()


case(transpose_attribute_and_dot, (_normal(78, 3, 2), _normal(79, 3, 4)), wrt=(0, 1))


def vector_dot_method(x, y):
    return x.dot(y) * 2.0


case(vector_dot_method, (_normal(80, 3), _normal(81, 3)), wrt=(0, 1))


def reshape_methods(x):
    a = x.reshape(2, 3)
    b = x.reshape((3, 2))
    return np.sum(a @ b) + np.sum(x.reshape(-1, 2) ** 2)


case(reshape_methods, (_normal(82, 6),))


def shape_in_arithmetic(x):
    n = x.shape[0]
    z = np.zeros(x.shape)
    z = z + x ** 2
    return z.sum() / n + np.sum(x) / x.size + x.ndim * np.mean(x) + np.sum(x) / len(x)


case(shape_in_arithmetic, (_normal(83, 4, 3),))


def copy_and_ravel(x):
    y = x.copy()
    z = y.ravel()
    return np.sum(z * np.arange(z.size)) + np.sum(x.T.ravel() ** 2)


case(copy_and_ravel, (_normal(84, 2, 3),))


def more_methods(x):
    return np.sum(x.transpose() ** 2) + np.sum(x.clip(-0.5, 0.5)) + np.sum(x[None].squeeze(0) * x)


case(more_methods, (np.array([[0.2, -0.9, 1.3], [-0.1, 0.7, -1.4]]),))


# === subscripts and slices =====================================================================

def index_and_slice(x):
    return x[0] * x[-1] + x[1:3].sum() + np.sum(x[::-1] * x) + np.sum(x[-3:-1] ** 2) + x[1::2].sum()


case(index_and_slice, (_normal(85, 5),))


def index_two_dims(M):
    return M[:, 0] @ M[:, -1] + M[1].sum() + M[0, 2] * M[-1, -2] + np.sum(M[1:, :2] ** 2)


case(index_two_dims, (_normal(86, 3, 3),))


def ellipsis_and_newaxis(x):
    return np.sum(x[..., 1] ** 2) + np.sum(x[None] * 2.0) + np.sum(x[:, np.newaxis] ** 3)


case(ellipsis_and_newaxis, (_normal(87, 2, 3),))


def repeated_fancy_index(x):
    return np.sum(x[[0, 0, 2]] ** 2) + np.sum(x[np.array([3, 1, 3])] * x[:3])


case(repeated_fancy_index, (_normal(88, 4),))


def boolean_mask(x):
    return np.sum(x[x > 0] ** 2) - np.sum(x[x < 0])


case(boolean_mask, (_signed(89, 6),))


def gather_with_index_argument(x, idx):
    return np.sum(x[idx] * np.arange(4.0))


case(gather_with_index_argument, (_normal(90, 5), np.array([4, 0, 0, 2])))


def index_returns_scalar(x):
    return x[1] * x[2]


case(index_returns_scalar, (_normal(91, 3),))


# === conditional expressions ===================================================================

def conditional_on_sum(x):
    y = x * 2 if np.sum(x) > 0 else x ** 2
    return np.sum(y * x)


case(conditional_on_sum, (np.array([0.5, 1.2, -0.3]),), name="conditional_on_sum[then]")
case(conditional_on_sum, (np.array([-0.5, -1.2, 0.3]),), name="conditional_on_sum[else]")


def conditional_on_scalar(x):
    y = x if x > 1.0 else -x
    return y ** 3


case(conditional_on_scalar, (-0.6,))


def conditional_in_call(x, flag):
    return np.sum(np.sin(x) if flag else np.cos(x)) + np.sum(x ** 2 if not flag else x)


case(conditional_in_call, (_normal(92, 3), True))


def optional_mask(x, mask=None):
    m = np.ones_like(x) if mask is None else mask
    return np.sum(m * x ** 2)


case(optional_mask, (_normal(93, 4),), name="optional_mask[none]")
case(optional_mask, (_normal(93, 4), np.array([1.0, 0.0, 1.0, 0.5])), name="optional_mask[given]")


# === calls into user functions =================================================================

def _softplus(x):
    return np.log1p(np.exp(x))


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _scaled_sigmoid(x, scale):
    return scale * _sigmoid(x)


def _sq_norm(v):
    return np.sum(v * v)


def _affine(x, scale=1.0, shift=0.0):
    return scale * x + shift


def _mean_and_std(x):
    m = np.mean(x)
    s = np.std(x)
    return m, s


def calls_helper(x):
    return np.sum(_softplus(x))


case(calls_helper, (_normal(94, 4),))


def calls_helper_chain(x):
    return np.sum(_scaled_sigmoid(x, 3.0) ** 2)


case(calls_helper_chain, (_normal(95, 4),))


def calls_helper_twice(x, y):
    return _sq_norm(x) + _sq_norm(y - x)


case(calls_helper_twice, (_normal(96, 3), _normal(97, 3)), wrt=(0, 1))


def calls_helper_with_keywords(x):
    return np.sum(_affine(x, scale=2.0) * _affine(x, shift=1.0) + _affine(x))


case(calls_helper_with_keywords, (_normal(98, 3),))


def calls_helper_returning_tuple(x):
    m, s = _mean_and_std(x)
    return m * s + np.sum((x - m) ** 2 / s)


case(calls_helper_returning_tuple, (_normal(99, 5),))


def calls_helper_from_other_module(x, y):
    return np.sum(smooth_abs(x)) + rbf(x, y) + np.sum(corpus_helpers.smooth_abs(y, eps=0.5))


case(calls_helper_from_other_module, (_normal(100, 3), _normal(101, 3)), wrt=(0, 1))


def calls_helper_on_pytree_leaves(params, x):
    return np.sum(np.tanh(_dense(x, params["W"], params["b"])))


case(calls_helper_on_pytree_leaves,
     ({"W": _normal(102, 3, 2), "b": _normal(103, 2)}, _normal(104, 4, 3)))


# === keyword and default arguments of the function itself ======================================

def defaults_used(x, scale=2.0, power=3):
    return np.sum((scale * x) ** power)


case(defaults_used, (_normal(105, 3),), wrt="x")


def wrt_default_parameter_by_name(x, y=1.5):
    return np.sum(x * y ** 2) + y


case(wrt_default_parameter_by_name, (_normal(106, 3), 0.8), wrt="y")


def argument_passed_by_keyword(x, b=1.0):
    return np.sum(np.exp(b * x))


case(argument_passed_by_keyword, (_normal(107, 3),), wrt=("b", "x"), kwargs={"b": 0.7})


def keyword_only_argument(x, *, temperature=1.0):
    z = x / temperature
    return np.log(np.sum(np.exp(z)))


case(keyword_only_argument, (_normal(108, 4),), kwargs={"temperature": 2.0})


# === closures, nested defs and lambdas =========================================================

def _make_scaled_sin(c):
    def closure_over_constant(x):
        return np.sum(c * np.sin(x))
    return closure_over_constant


closure_over_constant = _make_scaled_sin(3.0)
case(closure_over_constant, (_normal(109, 3),))


def _make_projected_tanh(W):
    def closure_over_array(x):
        return np.sum(np.tanh(W @ x))
    return closure_over_array


closure_over_array = _make_projected_tanh(_normal(110, 2, 3))
case(closure_over_array, (_normal(111, 3),))


def nested_def(x):
    def inner(v):
        return np.sin(v) * v

    return np.sum(inner(x) + inner(2.0 * x))


case(nested_def, (_normal(112, 3),))


def nested_def_over_local(x):
    y = x ** 2

    def scale_by_y(v):
        return v * y

    return np.sum(scale_by_y(x) + scale_by_y(1.0))


case(nested_def_over_local, (_normal(113, 3),))


def lambda_called(x):
    sq = lambda v: v ** 2  # noqa: E731
    return np.sum(sq(x) + sq(np.sin(x)))


case(lambda_called, (_normal(114, 3),))


def lambda_over_local(x, y):
    s = x * y
    f = lambda v: v * s + v  # noqa: E731
    return np.sum(f(x) * f(y))


case(lambda_over_local, (_normal(115, 3), _normal(116, 3)), wrt=(0, 1))


# === non-differentiated objects passed in ======================================================

def model_attributes(x, model):
    return np.sum((model.scale * x + model.bias) ** 2)


case(model_attributes, (_normal(117, 3), Model(2.5, np.array([0.1, -0.2, 0.3]))))


def dict_of_constants(x, consts):
    return np.sum(consts["a"] * x ** 2 + consts["b"] * x) + consts["c"]


case(dict_of_constants, (_normal(118, 3), {"a": 0.5, "b": np.array([1.0, 2.0, 3.0]), "c": 4.0}))


def string_option(x, reduction="mean"):
    sq = x ** 2
    return np.mean(sq) if reduction == "mean" else np.sum(sq)


case(string_option, (_normal(119, 4), "sum"), name="string_option[sum]")
case(string_option, (_normal(119, 4),), name="string_option[default]")


def module_string_constant(x):
    return np.mean(x ** 3) if _MEAN_TYPE == "mean" else np.sum(x ** 3)


case(module_string_constant, (_normal(120, 4),))


# === Python ints differentiated as floats ======================================================

def int_and_float(a, b):
    return a ** 2 * b + 3 * a - b / a


case(int_and_float, (3, 2.0), wrt=(0, 1))


def int_only(n):
    return 0.5 * n * n + np.sin(n)


case(int_only, (4,))


# === pytrees ===================================================================================

def list_of_arrays(arrays):
    return np.sum(arrays[0] * arrays[1]) + np.sum(arrays[2] ** 2)


case(list_of_arrays, ([_normal(121, 3), _normal(122, 3), _normal(123, 2, 2)],))


def tuple_of_weight_and_bias(params, x):
    W, b = params
    return np.sum(np.tanh(x @ W + b))


case(tuple_of_weight_and_bias, ((_normal(124, 3, 2), _normal(125, 2)), _normal(126, 4, 3)))


def nested_dict(params, x):
    enc = params["enc"]
    h = np.tanh(x @ enc["W"] + enc["b"])
    out = h @ params["dec"]["layers"][0] @ params["dec"]["layers"][1]
    return params["scale"] * np.sum(out ** 2)


_NESTED = {"enc": {"W": _normal(127, 3, 4), "b": _normal(128, 4)},
           "dec": {"layers": [_normal(129, 4, 2), _normal(130, 2, 2)]},
           "scale": 0.5}
case(nested_dict, (_NESTED, _normal(131, 2, 3)), wrt="params")


def unused_pytree_leaf(params, x):
    return np.sum(params["w"] * x)


case(unused_pytree_leaf, ({"w": _normal(132, 3), "unused": _normal(133, 2, 2)}, _normal(134, 3)))


def unused_argument(x, y):
    return np.sum(x ** 2)


case(unused_argument, (_normal(135, 3), _normal(136, 2, 2)), wrt=(0, 1))


def pytree_and_array_by_name(params, x):
    return np.sum((x @ params["W"]) ** 2) + np.sum(params["b"] * x[0])


case(pytree_and_array_by_name,
     ({"W": _normal(137, 3, 3), "b": _normal(138, 3)}, _normal(139, 2, 3)), wrt=("params", "x"))


# --- lists and tuples written into a call of the user's function --------------------------------

def _joined(arrays):
    return np.concatenate(arrays)


def _product_of_first_two(arrays):
    return arrays[0] * arrays[1]


def list_literal_into_a_helper(x, y):
    return np.sum(np.sin(_joined([x, y]))) + np.sum(_product_of_first_two((y, y[::-1])))


case(list_literal_into_a_helper, (_normal(140, 2), _normal(141, 3)), wrt=(0, 1))



def trace_of_a_stack_of_matrices(x):
    return np.sum(np.sin(np.trace(x, axis1=1, axis2=2))) + np.sum(np.cos(np.trace(x)))


case(trace_of_a_stack_of_matrices, (_normal(144, 2, 3, 3),))


def builtin_max_and_min_of_several_values(x):
    return max(x[0], x[1] * 2.0, x[2]) * min([x[0] ** 2, x[2], 0.5]) + min((x[1], x[2]))


case(builtin_max_and_min_of_several_values, (np.array([0.3, -1.2, 0.7]),))


Params = collections.namedtuple("Params", ["w", "b"])


def namedtuple_parameters(params, x):
    return np.sum(np.tanh(x * params[0] + params[1]) ** 2)


case(namedtuple_parameters, (Params(_normal(145, 2), 0.2), _normal(146, 2)))


def last_layer_by_negative_index(weights, x):
    return np.sum(np.tanh(x @ weights[0]) @ weights[-1]) + np.sum(weights[-2] ** 2)


case(last_layer_by_negative_index, ([_normal(147, 3, 4), _normal(148, 4, 2)], _normal(149, 5, 3)))


def pieces_of_a_split_read_by_index(x, a):
    parts = np.array_split(x, 3)     # pieces of 2, 2 and 1: not an array
    return (np.sum(parts[0] * 2.0) + np.sum(np.sin(parts[-1])) + np.sum(parts[2] ** 2)
            + np.sum(np.split(x, [1])[1] ** 2) + np.linalg.slogdet(a)[1])


case(pieces_of_a_split_read_by_index, (_normal(150, 5), np.eye(2) * 2.0 + 0.1 * _normal(151, 2, 2)),
     wrt=(0, 1))

