"""Hypothesis: random compositions of rules, through the tape, agree with finite differences."""

import numpy as np
from hypothesis import given, settings, strategies as st

import pullback as pb

# Smooth everywhere, so a random point is never near a kink.
UNARY = {
    "sin": np.sin, "cos": np.cos, "tanh": np.tanh, "arctan": np.arctan,
    "square": np.square, "exp_tanh": lambda x: np.exp(np.tanh(x)),
    "softplus": lambda x: np.logaddexp(0.0, x), "log1p_sq": lambda x: np.log1p(x * x),
    "neg": np.negative, "reverse": lambda x: x[..., ::-1],
    "fancy": lambda x: x[..., [0, 0, 2]], "sqrt_1p": lambda x: np.sqrt(1.0 + x * x),
}
BINARY = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply,
    "div": lambda x, y: x / (2.0 + np.sin(y)), "hypot": lambda x, y: np.hypot(x, y + 3.0),
    "where": lambda x, y: np.where(np.arange(3) % 2 == 0, x, y),
    "logaddexp": np.logaddexp,
}
REDUCE = {  # (2, 3) -> (3,)
    "sum0": lambda x: np.sum(x, axis=0), "mean0": lambda x: np.mean(x, axis=0),
    "prod0": lambda x: np.prod(x, axis=0), "matvec": lambda x: x.T @ np.array([1.0, -0.5]),
    "max0": lambda x: np.max(x + np.array([[0.0], [5.0]]), axis=0),
}
EXPAND = {  # (3,) -> (2, 3)
    "stack": lambda x: np.stack([x, 2.0 * x]), "outer": lambda x: np.outer([1.0, -1.0], x),
    "tile": lambda x: np.tile(x, (2, 1)), "concat": lambda x: np.reshape(np.concatenate([x, x]), (2, 3)),
}

step = st.one_of(
    st.tuples(st.just("unary"), st.sampled_from(sorted(UNARY)), st.integers(0, 99), st.just(0)),
    st.tuples(st.just("binary"), st.sampled_from(sorted(BINARY)), st.integers(0, 99),
              st.integers(0, 99)),
    st.tuples(st.just("reduce"), st.sampled_from(sorted(REDUCE)), st.integers(0, 99), st.just(0)),
    st.tuples(st.just("expand"), st.sampled_from(sorted(EXPAND)), st.integers(0, 99), st.just(0)),
)


def build(program):
    """A function of (X (2, 3), v (3,)) that runs ``program`` and sums every value it made."""
    def f(X, v):
        values = [X, v]
        for kind, name, i, j in program:
            a = values[i % len(values)]
            if kind == "unary":
                values.append(UNARY[name](a))
            elif kind == "binary":
                values.append(BINARY[name](a, values[j % len(values)]))
            elif kind == "reduce":
                values.append(REDUCE[name](a) if np.ndim(a) == 2 else a)
            else:
                values.append(EXPAND[name](a) if np.ndim(a) == 1 else a)
        return sum(np.sum(np.tanh(value)) for value in values[2:]) + np.sum(values[-1])
    return f


@settings(max_examples=60, deadline=None)
@given(program=st.lists(step, min_size=1, max_size=6), seed=st.integers(0, 2**16))
def test_random_programs_match_finite_differences(program, seed):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.5, 1.5, (2, 3))
    v = rng.uniform(-1.5, 1.5, 3)
    assert pb.check_grads(build(program), (X, v), order=1, rtol=1e-4, atol=1e-6)


@settings(max_examples=25, deadline=None)
@given(program=st.lists(step, min_size=1, max_size=4), seed=st.integers(0, 2**16))
def test_random_programs_second_order(program, seed):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, (2, 3))
    v = rng.uniform(-1.0, 1.0, 3)
    assert pb.check_grads(build(program), (X, v), order=2, rtol=1e-4, atol=1e-6)
