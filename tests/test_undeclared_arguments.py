"""A differentiated value at an argument no rule says anything about (np.cov's weights,
np.interp's period, np.linalg.norm's ord) is refused in every mode.  Found by a QA hunt: the
gradient there was taken for zero, silently, because a rule registers makers for its first
arguments only."""

import numpy as np
import pytest

import pullback as pb

X = np.array([[1.0, 2.0, 0.5], [0.3, -1.0, 2.0]])


def cov_weights(aw):
    return np.sum(np.cov(X, None, True, False, None, None, aw))


def interp_period(p):
    return float(np.interp(2.5, [0.0, 1.0, 2.0], [1.0, 3.0, 2.0], None, None, p))


def norm_order(p):
    return np.linalg.norm(np.array([1.0, 2.0, 3.0]), p)


CASES = [(cov_weights, np.array([1.0, 2.0, 1.5]), 6), (interp_period, 3.1, 5),
         (norm_order, 3.0, 1)]


@pytest.mark.parametrize("f, x, argnum", CASES, ids=[c[0].__name__ for c in CASES])
def test_refused_in_every_mode(f, x, argnum):
    with pytest.raises(pb.TransformError, match=f"argument {argnum} of numpy") as err:
        pb.grad(f, mode="source")(x)
    assert err.value.filename == __file__
    for mode in ("auto", "tape"):   # the tape refuses it too (no rule, or a conversion)
        with pytest.raises((pb.NoGradientRuleError, TypeError),
                           match=f"argument {argnum} of numpy|converted"):
            pb.grad(f, mode=mode)(x)


def test_what_counts_as_undeclared():
    """Past the makers a rule registers; an argument declared with None (no gradient) is not
    undeclared, and a variadic rule (defvjp_argnum) declares every position."""
    from pullback._registry import lookup
    assert lookup(np.cov).undeclared(6) and not lookup(np.cov).undeclared(0)
    assert not lookup(np.linalg.matrix_power).undeclared(1)   # the power: declared None
    assert not lookup(np.einsum).undeclared(5)
