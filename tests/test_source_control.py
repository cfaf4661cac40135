"""Control flow and mutation in the source-to-source engine (issue 5) on tests/corpus_control.py.

Every case gets the checks tests/test_source_corpus.py applies to the straight-line corpus:
source mode against central finite differences (with the gradient's structure and types),
against the tape, not being a fallback, byte-identical generated code (within a process and
across two), leaving its arguments alone, and ``value_and_grad``.  Two kinds of case relax them:

- ``writes``: the function writes into arrays.  The runtime tape may refuse such code with a
  ``TypeError`` / ``ValueError`` instead of differentiating it, so there source mode is held to
  finite differences only -- but if the tape does answer, it must agree.
- ``require_source=False`` (recursion): ``mode="source"`` may raise ``pb.TransformError``;
  ``mode="auto"`` then falls back to the tape and names the recursion.  Never a wrong gradient.

Before the engine is held to anything, the corpus is checked on its own: every case runs as plain
Python, its finite differences are stable (no branch decision or trip count flips within the
step), the tape agrees with them where the tape can run the code, and together the cases of a
function execute every statement in it (both sides of every branch are exercised).

Standalone tests below: the seeds' loop (12, 12, 4) exactly in source and tape mode, zero-trip
loops, a 10,000-step loop (accuracy, and bounded memory under tracemalloc), the tape on a
buffer-filling loop, and recursion.
"""

import ast
import copy
import inspect
import os
import re
import sys
import textwrap
import tracemalloc

import numpy as np
import pytest

import pullback as pb
import corpus_control
from corpus_control import CASES
from test_source_corpus import (assert_gradient_types, assert_matches_fd, assert_same_gradient,
                                fd_directional, tape_reference)

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
CORPUS_FILE = os.path.abspath(corpus_control.__file__)
WRITE_REFUSAL = (TypeError, ValueError)   # what a tape may raise on code that writes into arrays


def _ids(entries):
    return [e.id for e in entries]


corpus = pytest.mark.parametrize("case", CASES, ids=_ids(CASES))


def _case(name):
    return next(c for c in CASES if c.id == name)


# --- small helpers (shared with test_source_corpus.py) -----------------------------------------

from test_source_corpus import _fresh, _grad, _tree_equal, sources_in_fresh_processes  # noqa: E402,E501


def _tree_map(fn, tree):
    if isinstance(tree, dict):
        return {k: _tree_map(fn, v) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(_tree_map(fn, v) for v in tree)
    return fn(tree)


def _wrt_values(case):
    bound = inspect.signature(case.fn).bind(*case.args, **case.kwargs)
    wrt = case.wrt if isinstance(case.wrt, tuple) else (case.wrt,)
    params = list(inspect.signature(case.fn).parameters)
    return [bound.arguments[params[w] if isinstance(w, int) else w] for w in wrt]


def _tape_or_refusal(case, get):
    """``get(case)`` (a tape gradient), or None when the tape refuses a ``writes`` case."""
    if not case.writes:
        return get(case)
    try:
        return get(case)
    except WRITE_REFUSAL:
        return None


def _engine_grad(case):
    """The source-mode gradient; for a case that may fall back (recursion), the auto-mode one
    when source mode declines with ``pb.TransformError``."""
    try:
        return _grad(case, "source")
    except pb.TransformError:
        if case.require_source:
            raise
        return _grad(case, "auto")


# --- the corpus itself ---------------------------------------------------------------------------

def test_corpus_size_and_ids():
    assert len({c.fn for c in CASES}) >= 60
    assert len(set(_ids(CASES))) == len(CASES), "corpus ids must be unique"
    assert [c.id for c in CASES if not c.require_source], "recursion cases are missing"


@corpus
def test_corpus_function_runs_as_plain_python(case):
    args, kwargs = _fresh(case)
    out = case.fn(*args, **kwargs)
    assert np.ndim(out) == 0 and np.isfinite(out), f"{case.id} must return a finite scalar"
    if case.mutates_args:
        with pytest.raises(AssertionError, match="modified"):
            _tree_equal((args, kwargs), (case.args, case.kwargs))
    else:
        _tree_equal((args, kwargs), (case.args, case.kwargs))


@corpus
def test_corpus_finite_differences_are_stable(case):
    """The central difference with step 1e-6 agrees with one with step 1e-4: no decision (branch,
    trip count, break) flips near the arguments, so finite differences are a valid reference."""
    for seed in (0, 1):
        rng = np.random.default_rng(seed)
        directions = [_tree_map(lambda a: rng.standard_normal(np.shape(a)) if np.ndim(a)
                                else float(rng.standard_normal()), v) for v in _wrt_values(case)]
        small, f0 = fd_directional(case, directions)
        big, _ = fd_directional(case, [_tree_map(lambda d: 100.0 * d, d) for d in directions])
        big /= 100.0
        assert abs(small - big) <= 1e-5 * (1.0 + abs(small) + abs(f0)), \
            f"{case.id}: finite differences {small!r} (step 1e-6) vs {big!r} (step 1e-4)"


@corpus
def test_corpus_tape_agrees_with_finite_differences(case):
    """The reference the engine is held to.  Code that writes into arrays may be refused by
    ``pb.grad(mode="tape")`` (with a TypeError / ValueError), never differentiated wrongly.
    (A bare ``pb.GradientTape`` is only consulted for code without writes: like
    ``tf.GradientTape``, it cannot see ``buf[i] = tracked`` into a plain ndarray.)"""
    if not case.writes:
        assert_matches_fd(case, tape_reference(case))
    df = pb.grad(case.fn, wrt=case.wrt, mode="tape")
    args, kwargs = _fresh(case)
    try:
        grads = df(*args, **kwargs)
    except WRITE_REFUSAL:
        if not case.writes:
            raise
        return
    assert df.mode == "tape"
    assert_gradient_types(case, grads)
    assert_matches_fd(case, grads)


def _statement_lines(fn):
    """Line numbers of every statement in ``fn``'s body, in the corpus file."""
    lines, start = inspect.getsourcelines(fn)
    tree = ast.parse(textwrap.dedent("".join(lines)))
    body = tree.body[0].body
    return {start - 1 + node.lineno
            for top in body for node in ast.walk(top) if isinstance(node, ast.stmt)}


def _executed_lines(cases):
    executed = set()

    def local(frame, event, arg):
        if event == "line":
            executed.add(frame.f_lineno)
        return local

    def tracer(frame, event, arg):
        return local if os.path.abspath(frame.f_code.co_filename) == CORPUS_FILE else None

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        for c in cases:
            args, kwargs = _fresh(c)
            c.fn(*args, **kwargs)
    finally:
        sys.settrace(previous)
    return executed


def test_cases_exercise_every_statement_of_their_functions():
    """Both sides of every branch, loop bodies, breaks and early returns: each statement of each
    corpus function (and of the user helpers they call) runs in at least one case."""
    executed = _executed_lines(CASES)
    user_functions = [f for name, f in vars(corpus_control).items()
                      if inspect.isfunction(f) and f.__module__ == "corpus_control"
                      and name not in ("case", "_normal", "_uniform", "_layer_weights")]
    assert len(user_functions) > len({c.fn for c in CASES})   # the helpers are included
    missed = {f.__name__: sorted(_statement_lines(f) - executed) for f in user_functions}
    missed = {name: lines for name, lines in missed.items() if lines}
    assert not missed, f"statements no case executes (function: lines): {missed}"


# --- the engine on the corpus ------------------------------------------------------------------

@corpus
def test_source_gradient_matches_finite_differences(case):
    _, grads = _engine_grad(case)
    assert_gradient_types(case, grads)
    assert_matches_fd(case, grads)


@corpus
def test_source_gradient_matches_tape_mode(case):
    _, grads = _engine_grad(case)
    tape = _tape_or_refusal(case, lambda c: _grad(c, "tape"))
    if tape is None:
        return   # the tape refused the array writes; finite differences hold source mode
    df_tape, tape_grads = tape
    assert df_tape.mode == "tape"
    assert_same_gradient(case, grads, tape_grads, 1e-10, 1e-12, "source vs tape")


@corpus
def test_source_mode_is_not_a_fallback_and_auto_serves_it_from_source(case):
    if not case.require_source:
        auto, auto_grads = _grad(case, "auto")
        if auto.mode != "source":
            assert re.search(r"recurs", auto.fallback_reason or "", re.I), \
                f"{case.id}: auto fell back with reason {auto.fallback_reason!r}"
        assert_matches_fd(case, auto_grads)
        return
    df, grads = _grad(case, "source")
    assert df.mode == "source", f"{case.id}: mode {df.mode!r}, reason {df.fallback_reason!r}"
    assert df.fallback_reason is None
    auto, auto_grads = _grad(case, "auto")
    assert auto.mode == "source", f"{case.id}: auto fell back: {auto.fallback_reason}"
    assert auto.fallback_reason is None
    assert_same_gradient(case, auto_grads, grads, 1e-12, 1e-14, "auto vs source")
    default = pb.grad(case.fn, wrt=case.wrt)
    args, kwargs = _fresh(case)
    assert_same_gradient(case, default(*args, **kwargs), grads, 1e-12, 1e-14, "default mode")
    assert default.mode == "source"


def _source_or_error(case):
    try:
        df, _ = _grad(case, "source")
    except pb.TransformError as err:
        if case.require_source:
            raise
        return "TransformError: " + str(err)
    return df.source


@corpus
def test_generated_source_is_deterministic(case):
    first, second = _source_or_error(case), _source_or_error(case)
    assert isinstance(first, str) and first.strip()
    assert first == second


@pytest.fixture(scope="module")
def sources_from_two_processes():
    return sources_in_fresh_processes("corpus_control")


@corpus
def test_generated_source_is_identical_across_processes(case, sources_from_two_processes):
    a, b = (run[case.id] for run in sources_from_two_processes)
    assert not a.startswith("ERROR"), a
    assert a == b


@corpus
def test_gradient_does_not_modify_arguments(case):
    """Also for the functions that write into a parameter themselves (``x[0] = 0.0``)."""
    args, kwargs = _fresh(case)
    before = copy.deepcopy((args, kwargs))
    for mode in ("source", "auto") if case.require_source else ("auto",):
        pb.grad(case.fn, wrt=case.wrt, mode=mode)(*args, **kwargs)
        _tree_equal((args, kwargs), before)
        pb.value_and_grad(case.fn, wrt=case.wrt, mode=mode)(*args, **kwargs)
        _tree_equal((args, kwargs), before)


@corpus
def test_value_and_grad(case):
    _, grads = _engine_grad(case)
    args, kwargs = _fresh(case)
    value, vg_grads = pb.value_and_grad(case.fn, wrt=case.wrt)(*args, **kwargs)
    args, kwargs = _fresh(case)
    expected = case.fn(*args, **kwargs)
    assert np.ndim(value) == 0 and not pb.is_tensor(value)
    np.testing.assert_allclose(float(value), float(expected), rtol=1e-12, atol=1e-14)
    assert_gradient_types(case, vg_grads)
    assert_same_gradient(case, vg_grads, grads, 1e-12, 1e-14, "value_and_grad vs grad")


# --- the seeds' loop -----------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["source", "tape", "auto"])
def test_seed_loop_gradients_are_exactly_12_12_4(mode):
    df = pb.grad(corpus_control.seed_loop, mode=mode)
    assert [float(df(2.0, y)) for y in (6, 5, 4)] == [12.0, 12.0, 4.0]
    assert df.mode == ("tape" if mode == "tape" else "source")


def test_seed_loop_value_and_grad_in_source_mode():
    vg = pb.value_and_grad(corpus_control.seed_loop, mode="source")
    assert [tuple(float(v) for v in vg(2.0, y)) for y in (6, 5, 4, 2, 0)] == \
        [(8.0, 12.0), (8.0, 12.0), (4.0, 4.0), (1.0, 0.0), (1.0, 0.0)]


# --- zero-trip loops -----------------------------------------------------------------------------

def test_zero_trip_range_gives_the_straight_line_gradient():
    x = np.array([0.3, -1.2, 0.8])
    df = pb.grad(corpus_control.loop_zero_trip_range, mode="source")
    np.testing.assert_allclose(df(x, 0), 8.0 * x, rtol=1e-14)   # sum((2x)**2)
    assert df.mode == "source"
    # the same generated function, now with trips: the loop really is there
    three = _case("loop_zero_trip_range-three")
    assert_matches_fd(three, df(*copy.deepcopy(three.args)))


def test_zero_trip_loop_over_an_empty_array():
    x, empty = np.array([0.3, -1.2, 0.8]), np.zeros((0, 3))
    df = pb.grad(corpus_control.loop_zero_trip_empty_array, wrt=(0, 1), mode="source")
    gx, gE = df(x, empty)
    np.testing.assert_allclose(gx, 2.0 * x, rtol=1e-14)
    assert type(gE) is np.ndarray and gE.shape == (0, 3) and gE.dtype == np.float64
    assert df.mode == "source"


# --- long loops: accuracy and memory -------------------------------------------------------------

def long_scalar_loop(x, w):
    for i in range(10000):
        x = x + 0.001 * np.sin(x) * w
    return x


def test_ten_thousand_step_loop_matches_finite_differences():
    df = pb.grad(long_scalar_loop, wrt=(0, 1), mode="source")
    gx, gw = df(0.4, 0.8)
    assert df.mode == "source"
    h = 1e-6
    fx = (long_scalar_loop(0.4 + h, 0.8) - long_scalar_loop(0.4 - h, 0.8)) / (2 * h)
    fw = (long_scalar_loop(0.4, 0.8 + h) - long_scalar_loop(0.4, 0.8 - h)) / (2 * h)
    np.testing.assert_allclose([float(gx), float(gw)], [fx, fw], rtol=1e-6)


def long_loop_over_a_large_array(w, data):
    s = 0.0
    acc = np.zeros(data.shape)
    for i in range(10000):
        s = s + w * data[i % 10]
        acc = acc + w * data
    return s + 1e-4 * np.sum(acc)


def test_ten_thousand_step_loop_does_not_keep_a_copy_per_iteration():
    """Each iteration reads one scalar of ``data`` and overwrites the 1000-element ``acc``; the
    backward pass needs the scalars, ``data`` itself (never overwritten) and no old ``acc``.
    An engine saving ``acc`` (or ``data``) on every iteration would hold 10,000 * 8 kB = 80 MB."""
    data = np.random.default_rng(3).standard_normal(1000)
    df = pb.grad(long_loop_over_a_large_array, mode="source")
    df(0.7, data)   # generate (and cache) the code outside the measurement
    tracemalloc.start()
    try:
        g = df(0.7, data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert df.mode == "source"
    expected = 1000.0 * np.sum(data[:10]) + np.sum(data)
    np.testing.assert_allclose(float(g), expected, rtol=1e-9)
    limit = 10000 * data.nbytes / 16
    assert peak < limit, f"peak memory {peak / 1e6:.1f} MB during one gradient call " \
                         f"(limit {limit / 1e6:.1f} MB; one copy per iteration is 80 MB)"


# --- buffers on the tape -------------------------------------------------------------------------

def test_tape_on_a_buffer_filling_loop_is_right_or_refuses_clearly():
    """The classic hole: ``buf = np.zeros(n)`` is a plain ndarray, ``buf[i] = tracked`` must not
    silently drop the gradient.  Either the right gradient or a clear error about the write."""
    case = _case("buffer_zeros_fill")
    df = pb.grad(case.fn, wrt=case.wrt, mode="tape")
    try:
        grads = df(*copy.deepcopy(case.args))
    except WRITE_REFUSAL as err:
        message = str(err)
        assert re.search(r"assign|writ|in-place|mutat|immutable", message, re.I), message
        assert re.search(r"pb\.|pullback|tape|Tensor", message), \
            f"the error does not say the tape is why the write fails: {message!r}"
        return
    assert_gradient_types(case, grads)
    assert_matches_fd(case, grads)


# --- recursion -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["recursive_power", "calls_recursive_helper"])
def test_recursion_auto_mode_is_right_and_says_why_if_it_falls_back(name):
    case = _case(name)
    df, grads = _grad(case, "auto")
    assert_matches_fd(case, grads)
    if df.mode != "source":
        reason = df.fallback_reason
        assert isinstance(reason, str) and re.search(r"recurs", reason, re.I), reason
        assert "corpus_control.py" in reason, reason
    else:
        assert df.fallback_reason is None


@pytest.mark.parametrize("name", ["recursive_power", "calls_recursive_helper"])
def test_recursion_source_mode_is_right_or_raises_transform_error(name):
    case = _case(name)
    try:
        df, grads = _grad(case, "source")
    except pb.TransformError as err:
        assert isinstance(err, SyntaxError)
        assert os.path.basename(err.filename or "") == "corpus_control.py", err.filename
        return
    assert df.mode == "source"
    assert_matches_fd(case, grads)


def test_recursive_power_exact_gradient():
    for mode in ("auto", "tape"):
        assert float(pb.grad(corpus_control.recursive_power, mode=mode)(1.5, 3)) == 3 * 1.5 ** 2
