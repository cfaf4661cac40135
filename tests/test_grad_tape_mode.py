"""pb.grad(mode="tape"): the runtime tape behind the same API, including writes into arrays."""

import numpy as np
import pytest

import pullback as pb
from corpus_helpers import fill_preallocated, fill_recursively, fill_with_plain_numpy
from pullback import _tapenumpy


def fill(x, w):
    buf = np.zeros(len(x))
    for i in range(len(x)):
        buf[i] = np.sin(x[i] * w)
    return np.sum(buf ** 2)


def slices_and_copies(x):
    out = np.empty_like(x)
    out[:] = 0.0
    out[1:] = x[:-1] * 2.0
    y = x.copy()
    y[0] = out[2] ** 2
    return np.sum(out * y)


def writes_its_argument(x):
    x[0] = 0.0
    return np.sum(x ** 2)


def numeric(f, args, index):
    x = np.asarray(args[index], dtype=float)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = 1e-6
        plus, minus = list(args), list(args)
        plus[index], minus[index] = x + e, x - e
        g[i] = (f(*[np.copy(a) for a in plus]) - f(*[np.copy(a) for a in minus])) / 2e-6
    return g


@pytest.mark.parametrize("f, args", [
    (fill, (np.array([0.3, -1.0, 2.0]), 0.7)),
    (slices_and_copies, (np.array([0.5, -1.5, 2.0, 1.0]),)),
    (writes_its_argument, (np.array([1.0, 2.0, 3.0]),)),
])
def test_writes_into_arrays_are_recorded(f, args):
    before = [np.copy(a) for a in args]
    tape = pb.grad(f, mode="tape")(*args)
    source = pb.grad(f, mode="source")(*args)
    for a, b in zip(args, before):
        np.testing.assert_array_equal(a, b)  # arguments untouched
    np.testing.assert_allclose(tape, numeric(f, args, 0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(tape, source, rtol=1e-12, atol=1e-14)


def test_a_write_the_tape_cannot_see_is_refused_not_dropped():
    with pytest.raises(TypeError, match="silently drop"):
        pb.grad(fill_preallocated, mode="tape")(np.array([1.0, 2.0, 3.0]))


def _fill_cycle(x, n):
    out = np.zeros(n)
    for i in range(n):
        out[i] = x[i % len(x)] * (i + 1)
    return out


def calls_a_filling_helper(x):
    return np.sum(_fill_cycle(x, 6) ** 2)


def calls_helpers_in_another_module(x):
    return fill_with_plain_numpy(x) + np.sum(np.sin(fill_recursively(x, len(x))))


def _make_closure_helper(scale):
    def helper(x):
        buf = np.ones_like(x)
        buf[::2] = x[::2] * scale
        return buf

    def f(x):
        return np.sum(helper(x) ** 3)
    return f


def counted(x):
    counted.calls = getattr(counted, "calls", 0) + 1
    return np.sum(_fill_cycle(x, 3))


@pytest.mark.parametrize("f", [calls_a_filling_helper, fill_with_plain_numpy,
                               _make_closure_helper(1.5)],
                         ids=["module helper", "other module", "closure helper"])
def test_buffers_made_by_the_users_helpers_record_their_writes(f):
    x = np.array([0.3, -1.2, 0.8, 2.0])
    tape = pb.grad(f, mode="tape")(x)
    np.testing.assert_allclose(tape, numeric(f, (x,), 0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(tape, pb.grad(f, mode="source")(x), rtol=1e-12, atol=1e-14)


def test_a_recursive_helper_in_another_module_records_its_writes_and_auto_falls_back_to_it():
    f = calls_helpers_in_another_module   # fill_recursively: the source engine refuses it
    x = np.array([0.3, -1.2, 0.8, 2.0])
    tape = pb.grad(f, mode="tape")(x)
    np.testing.assert_allclose(tape, numeric(f, (x,), 0), rtol=1e-6, atol=1e-8)
    auto = pb.grad(f, mode="auto")
    np.testing.assert_array_equal(auto(x), tape)
    assert auto.mode == "tape"


def test_rebinding_numpy_for_the_tape_leaves_the_users_functions_as_they_were():
    x = np.array([1.0, 2.0])
    counted.calls = 0
    pb.grad(counted, mode="tape")(x)
    assert counted.calls == 1  # attributes of the function are shared with the copy run
    assert _fill_cycle.__globals__["np"] is np  # the module's own names are untouched
    buf = _fill_cycle(x, 2)
    assert type(buf) is np.ndarray


def test_only_the_users_functions_are_rebound():
    assert _tapenumpy._users_function(calls_a_filling_helper)
    assert _tapenumpy._users_function(fill_recursively)
    assert not _tapenumpy._users_function(np.testing.assert_allclose)  # NumPy's Python code
    assert not _tapenumpy._users_function(pb.grad)               # pullback's own
    import json
    assert not _tapenumpy._users_function(json.dumps)            # the standard library


def test_tape_mode_reports_itself():
    df = pb.grad(fill, mode="tape")
    df(np.array([0.1, 0.2]), 1.0)
    assert df.mode == "tape" and "mode='tape'" in df.fallback_reason


def scaled_by_options(x, *extra, **options):
    return np.sum(x ** 2) * options.get("scale", 1.0) + len(extra) * np.sum(x)


@pytest.mark.parametrize("mode", ["tape", "auto"])
def test_starred_parameters_reach_the_function_as_written(mode):
    # the tape called f(x=..., extra=(...), options={...}): extras were lost or refused
    x = np.array([0.5, -1.0, 2.0])
    value, g = pb.value_and_grad(scaled_by_options, mode=mode)(x, 7, 8, scale=3.0)
    assert value == pytest.approx(scaled_by_options(x, 7, 8, scale=3.0))
    np.testing.assert_allclose(g, 6.0 * x + 2.0, rtol=1e-13)
    options = pb.grad(scaled_by_options, wrt="options", mode=mode)(x, scale=3.0)
    assert options == {"scale": pytest.approx(np.sum(x ** 2))}


def product(x, y):
    return np.sum(x * y)


@pytest.mark.parametrize("mode", ["tape", "source", "auto"])
def test_a_parameter_named_twice_in_wrt_gets_its_gradient_twice(mode):
    x, y = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    for wrt in ((0, 0), (0, "x")):
        gx, gx_again = pb.grad(product, wrt=wrt, mode=mode)(x, y)
        np.testing.assert_array_equal(gx, y)
        np.testing.assert_array_equal(gx_again, y)
