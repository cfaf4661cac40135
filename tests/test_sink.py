"""The sink pass (``_source._sink``): an array is computed just before its first reader, when
that is safe and lengthens no other array's life -- and the gradients stay right."""

import gast
import numpy as np
import pytest

import pullback as pb
from pullback._source._sink import sink_to_first_use



def softplus_sin(x):
    return np.sum(np.log(1 + np.exp(-x)) * np.sin(x))


def _sunk(code, pure=lambda stmt: True, array=lambda name: True):
    fn = gast.parse(code).body[0]
    sink_to_first_use(fn, pure, array)
    return [gast.unparse(s).strip() for s in fn.body]


def test_a_value_moves_to_just_before_its_first_reader():
    got = _sunk("def g(x):\n a = np.sin(x)\n b = np.cos(x)\n c = b * 2\n return a + c\n")
    assert got == ["b = np.cos(x)", "c = b * 2", "a = np.sin(x)", "return a + c"]


def test_a_copy_moves_and_takes_its_source_along():
    got = _sunk("def g(x):\n t = np.sin(x)\n bt = t\n u = np.cos(x)\n return bt * u\n")
    assert got == ["u = np.cos(x)", "t = np.sin(x)", "bt = t", "return bt * u"]


def test_it_does_not_pass_a_statement_that_rebinds_what_it_reads():
    code = "def g(x):\n a = np.sin(x)\n x = np.cos(x)\n return a + x\n"
    assert _sunk(code) == ["a = np.sin(x)", "x = np.cos(x)", "return a + x"]


def test_it_does_not_pass_a_statement_that_rebinds_its_own_name():
    code = "def g(x):\n a = np.sin(x)\n b = a * 2\n a = np.cos(x)\n return b + a\n"
    assert _sunk(code) == ["a = np.sin(x)", "b = a * 2", "a = np.cos(x)", "return b + a"]


def test_it_does_not_pass_a_statement_with_an_effect():
    code = "def g(x):\n a = np.sin(x)\n b = user_function(x)\n return a + b\n"
    effect_free = lambda stmt: "user_function" not in gast.unparse(stmt)  # noqa: E731
    assert _sunk(code, pure=effect_free)[0] == "a = np.sin(x)"


def test_it_does_not_make_an_operand_live_longer():
    # moving c below d would keep t (read by nothing after d) alive through d
    code = "def g(x):\n t = np.exp(x)\n c = t * 2\n d = np.cos(x)\n return c + d\n"
    assert _sunk(code) == ["t = np.exp(x)", "c = t * 2", "d = np.cos(x)", "return c + d"]


def test_parameters_and_globals_never_count_as_lengthened():
    code = "def g(x):\n a = np.sin(x) * K\n b = np.cos(x)\n return b - a\n"
    assert _sunk(code) == ["b = np.cos(x)", "a = np.sin(x) * K", "return b - a"]


def test_scalars_and_lookups_stay_where_they_are():
    code = "def g(x, p):\n s = 2.0 * 3.0\n w = p['w']\n b = np.cos(x)\n return s * w * b\n"
    assert _sunk(code, array=lambda name: name != "s")[:2] == ["s = 2.0 * 3.0", "w = p['w']"]


def test_nothing_moves_past_comments_alone():
    code = ("def g(x):\n a = np.sin(x)\n '__pullback_comment_1__'\n b = a * 2\n"
            " return b\n")
    assert _sunk(code)[0] == "a = np.sin(x)"


def test_softplus_sin_computes_sin_where_the_backward_pass_reads_it():
    x = np.random.default_rng(0).standard_normal(50)
    df = pb.grad(softplus_sin, mode="source")
    got = df(x)
    lines = [line.strip() for line in df.source.splitlines()]
    assert lines.index("t5 = np.sin(x)") > lines.index("bx = np.multiply(t4, np.cos(x), out=t4)")
    want = pb.grad(softplus_sin, mode="tape")(x)
    e = np.exp(-x)
    hand = np.log1p(e) * np.cos(x) - e / (1 + e) * np.sin(x)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(got, hand, rtol=1e-12)


def _reordered(x, y):
    a = np.tanh(x)          # read only by the backward pass of the last line
    b = np.exp(y) * x
    c = np.sin(b) + y
    return np.sum(a * c)


@pytest.mark.parametrize("seed", range(3))
def test_a_moved_value_gives_the_gradient_of_finite_differences_and_the_tape(seed):
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal(40), rng.standard_normal(40)
    gx, gy = pb.grad(_reordered, wrt=(0, 1), mode="source")(x, y)
    tx, ty = pb.grad(_reordered, wrt=(0, 1), mode="tape")(x, y)
    np.testing.assert_allclose(gx, tx, rtol=1e-12)
    np.testing.assert_allclose(gy, ty, rtol=1e-12)
    d = rng.standard_normal(40)
    eps = 1e-6
    fd = (_reordered(x + eps * d, y) - _reordered(x - eps * d, y)) / (2 * eps)
    assert gx @ d == pytest.approx(fd, rel=1e-6)
