"""Differentiated values passed to NumPy functions by keyword.  Found by a QA hunt:
np.full(3, fill_value=v) and np.linspace(0.0, stop=s) on pb.grad's tape gave a zero gradient,
silently (the keyword was converted to an array before any rule); the source engine refused
every keyword.  Both now move the value to its position, where the rules read it."""

import numpy as np
import pytest

import pullback as pb


def full(v):
    return np.sum(np.full(3, fill_value=v) * np.array([1.0, 2.0, 1.2]))


def full_like(v):
    return np.sum(np.full_like(np.zeros(3), fill_value=v) ** 2)


def linspace_stop(s):
    return np.sum(np.linspace(0.0, stop=s, num=5) ** 2)


def linspace_start(s):
    return np.sum(np.linspace(start=s, stop=3.0, num=5) ** 2)


def interp_right(r):
    return np.interp(2.0, [0.0, 1.0], [1.0, 3.0], right=r) * r


def sort_a(x):
    return np.sum(np.sort(a=x) * np.array([1.0, 2.0, 3.0]))


def clip_a(x):
    return np.sum(np.clip(a=x, a_min=0.0, a_max=1.0) ** 2)


def stack_arrays(x):
    return np.sum(np.stack(arrays=[x, x * 2.0]) ** 2)   # a list by keyword: the tape recursed


def select_choicelist(x):
    return np.sum(np.select([x > 0.6, x <= 0.6], choicelist=[x * 2.0, x ** 2]))


SCALARS = [full, full_like, linspace_stop, linspace_start, interp_right]
ARRAYS = [sort_a, clip_a, stack_arrays, select_choicelist]
X = np.array([0.3, 0.9, 0.5])


def fd(f, x):
    x = np.asarray(x, dtype=float)
    g = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        e = np.zeros(x.shape)
        e[i] = 1e-6
        g[i] = (f(x + e if x.ndim else float(x + e)) - f(x - e if x.ndim else float(x - e))) / 2e-6
    return g


@pytest.mark.parametrize("f", SCALARS + ARRAYS, ids=lambda f: f.__name__)
def test_a_keyword_argument_gets_its_gradient(f):
    x = X if f in ARRAYS else 1.3
    want = fd(f, x)
    for mode in ("source", "auto", "tape"):
        if mode == "tape" and f is interp_right:
            continue   # np.interp converts right= itself: the tape refuses it, loudly
        df = pb.grad(f, mode=mode)
        np.testing.assert_allclose(df(x), want, rtol=1e-6, atol=1e-9)
        if mode == "auto":
            assert df.mode == "source"


def test_the_tape_refuses_what_numpy_converts_itself():
    with pytest.raises(TypeError, match="converted"):
        pb.grad(interp_right, mode="tape")(1.3)


def exp_with_dtype(z):
    return np.sum(np.exp(z, dtype=np.float64))


def test_a_ufunc_keyword_is_refused_not_passed_to_the_rule():
    """np.exp(z, dtype=...) reached the rule's maker: "got an unexpected keyword argument
    'dtype'" from inside the generated code, in mode='auto' too."""
    z = np.array([0.1, 0.2])
    with pytest.raises(pb.TransformError, match="without keyword arguments") as err:
        pb.grad(exp_with_dtype, mode="source")(z)
    assert err.value.filename == __file__
    with pytest.raises(TypeError, match="keyword arguments"):
        pb.grad(exp_with_dtype, mode="auto")(z)
