"""The source-to-source engine (``pb.grad`` / ``pb.value_and_grad``, issue 4) on the corpus.

Every function of tests/corpus.py is checked in source mode: against central finite differences
(with the gradient's structure, shapes and types), against the tape, for not being a fallback,
for byte-identical generated code, for leaving its arguments alone, and through
``value_and_grad``.  tests/corpus_unsupported.py holds the constructs that must raise
``pb.TransformError`` in source mode and fall back to the tape in auto mode.

The finite-difference checker here is tested on its own against hand-computed gradients and
against ``pb.GradientTape``, so a failure of the engine's checks is the engine's.
"""

import ast
import copy
import dataclasses
import inspect
import json
import math
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import pullback as pb
from pullback._structure import flatten, rebuild
from corpus import CASES, Case
from corpus_unsupported import MARKER, UNSUPPORTED

EPS = 1e-6      # finite-difference step
RTOL = 1e-6     # relative to the size of the directional derivative's terms
ATOL = 1e-8
ROUNDOFF = 100 * np.finfo(float).eps / EPS   # times |f|: rounding noise of a central difference

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))


def _ids(entries):
    return [e.id for e in entries]


corpus = pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
unsupported = pytest.mark.parametrize("bad", UNSUPPORTED, ids=_ids(UNSUPPORTED))


def _case(name):
    return next(c for c in CASES if c.id == name)


# --- arguments, wrt and pytrees -----------------------------------------------------------------

def _fresh(case):
    """Private copies of the case's arguments (a buggy engine must not spoil other tests)."""
    return copy.deepcopy(case.args), copy.deepcopy(case.kwargs)


def _wrt_names(case):
    """(names of the wrt parameters, whether the gradient is a tuple)."""
    params = list(inspect.signature(case.fn).parameters)
    wrt = case.wrt if isinstance(case.wrt, tuple) else (case.wrt,)
    return [params[w] if isinstance(w, int) else w for w in wrt], isinstance(case.wrt, tuple)


def _bind(case, args=None, kwargs=None):
    return inspect.signature(case.fn).bind(*(case.args if args is None else args),
                                           **(case.kwargs if kwargs is None else kwargs))


def _wrt_values(case, args=None, kwargs=None):
    bound = _bind(case, args, kwargs)
    names, _ = _wrt_names(case)
    missing = [n for n in names if n not in bound.arguments]
    assert not missing, f"corpus error: {case.id} differentiates {missing} but does not pass it"
    return [bound.arguments[n] for n in names]


def _as_tuple(case, grads):
    """The gradient(s) as a tuple aligned with the wrt names; checks tuple-ness of the result."""
    names, is_tuple = _wrt_names(case)
    if not is_tuple:
        return (grads,)
    assert isinstance(grads, tuple), f"wrt={case.wrt!r} must give a tuple, got {type(grads)}"
    assert len(grads) == len(names), f"wrt={case.wrt!r} gave {len(grads)} gradients"
    return grads


def _map(fn, tree):
    """``tree`` with ``fn`` applied to every leaf (dict / list / tuple are the containers)."""
    if isinstance(tree, dict):
        return {k: _map(fn, v) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return rebuild(tree, (_map(fn, v) for v in tree))
    return fn(tree)


def _map2(fn, tree, other):
    if isinstance(tree, dict):
        return {k: _map2(fn, v, other[k]) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return rebuild(tree, (_map2(fn, v, o) for v, o in zip(tree, other)))
    return fn(tree, other)


def _pairs(arg, grad, path):
    """(path, argument leaf, gradient leaf) of every leaf; fails unless ``grad`` mirrors ``arg``."""
    if isinstance(arg, dict):
        assert isinstance(grad, dict), f"{path}: gradient is {type(grad).__name__}, not a dict"
        assert set(grad) == set(arg), f"{path}: gradient keys {sorted(grad)} != {sorted(arg)}"
        for k in arg:
            yield from _pairs(arg[k], grad[k], f"{path}[{k!r}]")
    elif isinstance(arg, (list, tuple)):
        assert type(grad) is type(arg), \
            f"{path}: gradient is {type(grad).__name__}, argument is {type(arg).__name__}"
        assert len(grad) == len(arg), f"{path}: gradient has {len(grad)} items, not {len(arg)}"
        for i, (a, g) in enumerate(zip(arg, grad)):
            yield from _pairs(a, g, f"{path}[{i}]")
    else:
        yield path, arg, grad


def _leaf_pairs(case, grads, args=None, kwargs=None):
    names, _ = _wrt_names(case)
    values = _wrt_values(case, args, kwargs)
    for name, value, grad in zip(names, values, _as_tuple(case, grads)):
        yield from _pairs(value, grad, name)


def assert_gradient_types(case, grads):
    """Structure mirrors the wrt arguments; array leaves are float64 ndarrays of the argument's
    shape; scalar leaves are float / np.float64 / 0-d float64 arrays."""
    for path, a, g in _leaf_pairs(case, grads):
        if isinstance(a, np.ndarray) and a.ndim > 0:
            assert type(g) is np.ndarray, f"{path}: gradient is {type(g).__name__}, not ndarray"
            assert g.shape == a.shape, f"{path}: gradient shape {g.shape} != {a.shape}"
        else:
            assert isinstance(g, (float, np.floating)) or (type(g) is np.ndarray and g.ndim == 0), \
                f"{path}: scalar argument's gradient is {type(g).__name__}: {g!r}"
        assert np.asarray(g).dtype == np.float64, f"{path}: gradient dtype {np.asarray(g).dtype}"


# --- finite differences --------------------------------------------------------------------------

def _direction(rng, tree):
    def leaf(a):
        shape = np.shape(a)
        return float(rng.standard_normal()) if shape == () else rng.standard_normal(shape)
    return _map(leaf, tree)


def _shifted(tree, direction, step):
    def leaf(a, d):
        return np.asarray(a, dtype=float) + step * d if np.ndim(a) else float(a) + step * d
    return _map2(leaf, tree, direction)


def fd_directional(case, directions):
    """(central difference of ``case.fn`` along ``directions`` -- one per wrt argument -- and
    the function's value at the case's arguments)."""
    names, _ = _wrt_names(case)

    def at(step):
        args, kwargs = _fresh(case)
        bound = _bind(case, args, kwargs)
        for name, d in zip(names, directions):
            bound.arguments[name] = _shifted(bound.arguments[name], d, step)
        return float(case.fn(*bound.args, **bound.kwargs))

    return (at(EPS) - at(-EPS)) / (2 * EPS), at(0.0)


def assert_matches_fd(case, grads, seeds=(0, 1)):
    """<grads, v> against the central difference along v, for random directions v."""
    values = _wrt_values(case)
    for seed in seeds:
        rng = np.random.default_rng(seed)
        directions = [_direction(rng, v) for v in values]
        fd, f0 = fd_directional(case, directions)
        terms = [np.asarray(g, dtype=float) * d
                 for (_, _, g), d in zip(_leaf_pairs(case, grads), _leaves(directions))]
        analytic = float(sum(np.sum(t) for t in terms))
        size = max(sum(float(np.sum(np.abs(t))) for t in terms), abs(fd))
        tol = ATOL + RTOL * size + ROUNDOFF * abs(f0)
        assert abs(analytic - fd) <= tol, (
            f"{case.id}: directional derivative (seed {seed}) analytic {analytic!r} vs "
            f"finite differences {fd!r}, |diff| {abs(analytic - fd):.3g} > tol {tol:.3g}\n"
            f"gradient: {grads!r}")


def _leaves(tree):
    if isinstance(tree, dict):
        return [leaf for v in tree.values() for leaf in _leaves(v)]
    if isinstance(tree, (list, tuple)):
        return [leaf for v in tree for leaf in _leaves(v)]
    return [tree]


def assert_same_gradient(case, got, expected, rtol, atol, what):
    """Leaf-by-leaf agreement of two gradients of the same case, structure included."""
    expected_leaves = [g for _, _, g in _leaf_pairs(case, expected)]
    for (path, _, g), e in zip(_leaf_pairs(case, got), expected_leaves):
        assert e is not None, f"{case.id} {path}: {what} reference gradient is None"
        np.testing.assert_allclose(np.asarray(g, dtype=float), np.asarray(e, dtype=float),
                                   rtol=rtol, atol=atol, err_msg=f"{case.id} {path}: {what}")


def _tree_equal(a, b, path="arg"):
    """Exact equality of arguments: values, array dtypes and shapes, containers, object state."""
    assert type(a) is type(b), f"{path}: type changed from {type(b).__name__} to {type(a).__name__}"
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, f"{path}: dtype or shape changed"
        assert np.array_equal(a, b), f"{path}: array was modified\nbefore {b}\nafter  {a}"
    elif isinstance(a, dict):
        assert list(a) == list(b), f"{path}: keys changed"
        for k in a:
            _tree_equal(a[k], b[k], f"{path}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{path}: length changed"
        for i, (x, y) in enumerate(zip(a, b)):
            _tree_equal(x, y, f"{path}[{i}]")
    elif hasattr(a, "__dict__"):
        _tree_equal(vars(a), vars(b), f"{path}.__dict__")
    else:
        assert a == b, f"{path}: {b!r} became {a!r}"


def _grad(case, mode):
    args, kwargs = _fresh(case)
    df = pb.grad(case.fn, wrt=case.wrt, mode=mode)
    return df, df(*args, **kwargs)


def tape_reference(case):
    """The gradient from ``pb.GradientTape`` directly (independent of ``pb.grad``)."""
    args, kwargs = _fresh(case)
    bound = _bind(case, args, kwargs)
    names, is_tuple = _wrt_names(case)
    sources = [_map(lambda a: pb.constant(np.asarray(a, dtype=float)), bound.arguments[n])
               for n in names]
    with pb.GradientTape() as tape:
        tape.watch(sources)
        for name, s in zip(names, sources):
            bound.arguments[name] = s
        y = case.fn(*bound.args, **bound.kwargs)
    grads = tape.gradient(y, sources, unconnected_gradients="zero")
    grads = tuple(_map(lambda t: t.numpy(), g) for g in grads)
    return grads if is_tuple else grads[0]


# --- the corpus itself, and the checker ----------------------------------------------------------

def test_corpus_has_seventy_distinct_functions():
    functions = {c.fn for c in CASES}
    assert len(functions) >= 70
    assert len(set(_ids(CASES))) == len(CASES), "corpus ids must be unique"


@corpus
def test_corpus_function_is_straight_line(case):
    tree = ast.parse(textwrap.dedent(inspect.getsource(case.fn)))
    control = [type(n).__name__ for n in ast.walk(tree)
               if isinstance(n, (ast.If, ast.For, ast.While, ast.Try, ast.With, ast.Match))]
    assert not control, f"{case.id} uses {control}: control flow is a later issue"
    args, kwargs = _fresh(case)
    assert np.ndim(case.fn(*args, **kwargs)) == 0, f"{case.id} must return a scalar"
    _tree_equal((args, kwargs), (case.args, case.kwargs))   # the function leaves them alone


HAND_GRADIENTS = {
    "seed_quadratic": lambda w1, w2: (6 * w1 + 2 * w2, 2 * w1),
    "seed_sigmoid": lambda x: np.exp(-x) / (1 + np.exp(-x)) ** 2,
    "seed_abs_loss": lambda a, x, y: (np.sum(np.sign(a * x - y) * x), np.sign(a * x - y) * a),
    "ridge_loss": lambda w, X, y: 2 * X.T @ (X @ w - y) / len(y) + 0.2 * w,
    "int_and_float": lambda a, b: (2.0 * a * b + 3 + b / a ** 2, a ** 2 - 1.0 / a),
}


@pytest.mark.parametrize("name", sorted(HAND_GRADIENTS))
def test_fd_checker_accepts_hand_gradient_and_rejects_a_wrong_one(name):
    case = _case(name)
    grads = HAND_GRADIENTS[name](*case.args)
    assert_gradient_types(case, grads)
    assert_matches_fd(case, grads)
    wrong = _map(lambda g: g * (1 + 1e-4), grads)
    with pytest.raises(AssertionError, match="finite differences"):
        assert_matches_fd(case, wrong)


def test_fd_checker_seed_quadratic_is_36_and_10():
    assert HAND_GRADIENTS["seed_quadratic"](5.0, 3.0) == (36.0, 10.0)
    d, _ = fd_directional(_case("seed_quadratic"), [1.0, 0.0])
    assert d == pytest.approx(36.0, rel=1e-9)


def test_gradient_type_checker_rejects_wrong_structures():
    case = _case("mlp_loss")
    good = {k: np.zeros_like(v) for k, v in case.args[0].items()}
    assert_gradient_types(case, good)
    for bad in ({k: v for k, v in good.items() if k != "b2"},
                {**good, "W1": pb.constant(good["W1"])},
                {**good, "b1": np.zeros(5)},
                {**good, "b2": np.zeros(2, dtype=np.float32)},
                [good]):
        with pytest.raises(AssertionError):
            assert_gradient_types(case, bad)
    pair = _case("tuple_of_weight_and_bias")
    assert_gradient_types(pair, tuple(np.zeros_like(a) for a in pair.args[0]))
    with pytest.raises(AssertionError, match="not tuple|is list"):
        assert_gradient_types(pair, [np.zeros_like(a) for a in pair.args[0]])


@corpus
def test_fd_checker_agrees_with_gradient_tape(case):
    """The reference the engine is held to: finite differences and the tape agree."""
    assert_matches_fd(case, tape_reference(case))


# --- the engine on the corpus ------------------------------------------------------------------

@corpus
def test_source_gradient_matches_finite_differences(case):
    _, grads = _grad(case, "source")
    assert_gradient_types(case, grads)
    assert_matches_fd(case, grads)


@corpus
def test_source_gradient_matches_tape_mode(case):
    _, grads = _grad(case, "source")
    df_tape, tape_grads = _grad(case, "tape")
    assert df_tape.mode == "tape"
    assert_same_gradient(case, grads, tape_grads, 1e-10, 1e-12, "source vs tape")


@corpus
def test_source_mode_is_not_a_fallback_and_auto_serves_it_from_source(case):
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


@corpus
def test_generated_source_is_deterministic(case):
    first, _ = _grad(case, "source")
    second, _ = _grad(case, "source")
    assert isinstance(first.source, str) and first.source.strip()
    assert first.source == second.source


_DUMP_SOURCES = """
import copy, json, sys
import pullback as pb
from {module} import CASES
out = {{}}
for c in CASES:
    try:
        df = pb.grad(c.fn, wrt=c.wrt, mode="source")
        df(*copy.deepcopy(c.args), **copy.deepcopy(c.kwargs))
        out[c.id] = df.source
    except pb.TransformError as e:  # a case the engine may refuse (recursion) refuses alike
        required = getattr(c, "require_source", True)
        out[c.id] = ("ERROR " if required else "TRANSFORM-ERROR ") + str(e)
    except Exception as e:
        out[c.id] = "ERROR " + type(e).__name__ + ": " + str(e)
sys.stdout.write(json.dumps(out))
"""


def sources_in_fresh_processes(module):
    """Every case's generated source in ``module``'s CASES, from two fresh interpreters with
    different hash seeds (so no cache is shared and set / dict-of-str ordering may differ)."""
    runs = []
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed,
                   PYTHONPATH=os.pathsep.join([TESTS_DIR, os.environ.get("PYTHONPATH", "")]))
        proc = subprocess.run([sys.executable, "-c", _DUMP_SOURCES.format(module=module)],
                              cwd=TESTS_DIR, env=env, capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, proc.stderr
        runs.append(json.loads(proc.stdout))
    return runs


@pytest.fixture(scope="module")
def sources_from_two_processes():
    return sources_in_fresh_processes("corpus")


@corpus
def test_generated_source_is_identical_across_processes(case, sources_from_two_processes):
    a, b = (run[case.id] for run in sources_from_two_processes)
    assert not a.startswith("ERROR"), a
    assert a == b


@corpus
def test_gradient_does_not_modify_arguments(case):
    args, kwargs = _fresh(case)
    before = copy.deepcopy((args, kwargs))
    pb.grad(case.fn, wrt=case.wrt, mode="source")(*args, **kwargs)
    _tree_equal((args, kwargs), before)


@corpus
def test_value_and_grad(case):
    _, grads = _grad(case, "source")
    args, kwargs = _fresh(case)
    value, vg_grads = pb.value_and_grad(case.fn, wrt=case.wrt)(*args, **kwargs)
    args, kwargs = _fresh(case)
    expected = case.fn(*args, **kwargs)
    assert np.ndim(value) == 0 and not pb.is_tensor(value)
    np.testing.assert_allclose(float(value), float(expected), rtol=1e-12, atol=1e-14)
    assert_gradient_types(case, vg_grads)
    assert_same_gradient(case, vg_grads, grads, 1e-12, 1e-14, "value_and_grad vs grad")


# --- wrt, bad arguments and outputs --------------------------------------------------------------

def two_args(x, y):
    return np.sum(x * y ** 2)


def vector_output(x):
    return x * 2.0


def square(n):
    return n ** 2


X2, Y2 = np.array([1.0, -2.0]), np.array([0.5, 3.0])


def test_default_wrt_is_the_first_argument():
    np.testing.assert_allclose(pb.grad(two_args, mode="source")(X2, Y2), Y2 ** 2, rtol=1e-14)


def test_wrt_by_position():
    np.testing.assert_allclose(pb.grad(two_args, wrt=1, mode="source")(X2, Y2), 2 * X2 * Y2,
                               rtol=1e-14)


def test_wrt_by_name():
    np.testing.assert_allclose(pb.grad(two_args, wrt="y", mode="source")(X2, Y2), 2 * X2 * Y2,
                               rtol=1e-14)


def test_wrt_tuple_returns_a_tuple_in_the_same_order():
    gy, gx = pb.grad(two_args, wrt=("y", 0), mode="source")(X2, Y2)
    np.testing.assert_allclose(gy, 2 * X2 * Y2, rtol=1e-14)
    np.testing.assert_allclose(gx, Y2 ** 2, rtol=1e-14)
    grads = pb.grad(two_args, wrt=(1, 0), mode="source")(X2, Y2)
    assert isinstance(grads, tuple) and len(grads) == 2
    np.testing.assert_allclose(grads[0], 2 * X2 * Y2, rtol=1e-14)


@pytest.mark.parametrize("mode", ["source", "auto", "tape"])
def test_non_scalar_output_points_to_jacobian_and_vjp(mode):
    with pytest.raises(ValueError) as info:
        pb.grad(vector_output, mode=mode)(X2)
    assert "pb.jacobian" in str(info.value) and "pb.vjp" in str(info.value)


def loss_and_prediction(x):
    return np.sum(x * x), x


@pytest.mark.parametrize("mode", ["source", "auto", "tape"])
def test_a_tuple_output_is_named_and_points_to_value_and_grad(mode):
    with pytest.raises(ValueError) as info:
        pb.grad(loss_and_prediction, mode=mode)(X2)
    message = str(info.value)
    assert "loss_and_prediction" in message and "returned a tuple" in message
    assert "pb.value_and_grad" in message


class Scaled:
    def __init__(self, scale):
        self.scale = scale

    def loss(self, x):
        return np.sum(np.sin(x) * x) * self.scale

    def twice(self, x):
        return self.loss(x) * 2.0


@pytest.mark.parametrize("mode", ["source", "auto", "tape"])
def test_a_bound_method_is_differentiated_with_its_instance(mode):
    x = np.array([0.5, -1.0, 2.0])
    for scale in (3.0, 5.0):
        df = pb.grad(Scaled(scale).loss, mode=mode)
        for _ in range(2):   # the second call takes the cached path
            np.testing.assert_allclose(df(x), (np.cos(x) * x + np.sin(x)) * scale, rtol=1e-13)
        assert df.mode == ("tape" if mode == "tape" else "source")


def test_a_method_called_on_an_argument_is_refused_with_the_fix():
    with pytest.raises(pb.TransformError, match=r"self.loss\(\).*module-level function"):
        pb.grad(Scaled(2.0).twice, mode="source")(np.array([0.5, 1.0]))
    df = pb.grad(Scaled(2.0).twice)
    x = np.array([0.5, 1.0])
    np.testing.assert_allclose(df(x), (np.cos(x) * x + np.sin(x)) * 4.0, rtol=1e-13)
    assert df.mode == "tape"


def test_unknown_mode_is_named():
    with pytest.raises(ValueError, match="bogus"):
        pb.grad(square, mode="bogus")(3.0)


@pytest.mark.parametrize("wrt, shown", [("nope", "nope"), (5, "5")])
def test_wrt_naming_no_parameter_is_named(wrt, shown):
    with pytest.raises((ValueError, TypeError), match=shown):
        pb.grad(two_args, wrt=wrt)(X2, Y2)


@pytest.mark.parametrize("mode", ["source", "auto", "tape"])
def test_int_argument_gives_a_float_gradient(mode):
    g = pb.grad(square, mode=mode)(3)
    assert isinstance(g, (float, np.floating)) or (type(g) is np.ndarray and g.ndim == 0)
    assert np.asarray(g).dtype == np.float64 and float(g) == 6.0


@pytest.mark.parametrize("mode", ["source", "auto", "tape"])
def test_unused_inputs_get_zeros_of_their_shape(mode):
    case = _case("unused_pytree_leaf")
    _, grads = _grad(case, mode)
    assert type(grads["unused"]) is np.ndarray and grads["unused"].dtype == np.float64
    np.testing.assert_array_equal(grads["unused"], np.zeros((2, 2)))
    case = _case("unused_argument")
    _, (_, gy) = _grad(case, mode)
    np.testing.assert_array_equal(gy, np.zeros((2, 2)))
    assert type(gy) is np.ndarray


def test_decorator_forms():
    @pb.grad
    def d_cube(x):
        return x ** 3

    @pb.grad(wrt=(0, 1))
    def d_product(x, y):
        return x * y ** 2

    assert float(d_cube(2.0)) == 12.0
    assert d_cube.mode == "source"
    assert tuple(float(g) for g in d_product(2.0, 3.0)) == (9.0, 12.0)


# --- unsupported constructs ----------------------------------------------------------------------

def marked_line(bad):
    """(line number in corpus_unsupported.py, line text) of the ``# <-- unsupported`` marker."""
    lines, start = inspect.getsourcelines(bad.site or bad.fn)
    marked = [(start + i, line.rstrip("\n")) for i, line in enumerate(lines) if MARKER in line]
    assert len(marked) == 1, f"{bad.id}: expected one marker line, found {marked}"
    return marked[0]


def test_marked_line_is_found_in_the_file():
    lineno, text = marked_line(UNSUPPORTED[0])
    with open(inspect.getsourcefile(UNSUPPORTED[0].fn)) as f:
        assert f.read().splitlines()[lineno - 1] == text
    assert text.strip().startswith("try:")


@unsupported
def test_unsupported_function_runs_on_the_tape(bad):
    """The fallback has something to fall back to: the tape differentiates it correctly."""
    case = Case(bad.fn, bad.args)
    assert_matches_fd(case, tape_reference(case))


@unsupported
def test_unsupported_construct_raises_transform_error_at_its_line(bad):
    lineno, line = marked_line(bad)
    with pytest.raises(pb.TransformError) as info:
        pb.grad(bad.fn, mode="source")(*copy.deepcopy(bad.args))
    err = info.value
    assert isinstance(err, SyntaxError)
    assert os.path.basename(err.filename or "") == "corpus_unsupported.py", err.filename
    assert err.lineno == lineno, f"{bad.construct}: reported line {err.lineno}, marker {lineno}"
    code = line.split("#")[0].strip()
    assert err.text and code in err.text, f"{bad.construct}: text {err.text!r}"
    columns = [line.index(a) + 1 for a in bad.anchors]   # SyntaxError.offset is 1-based
    assert err.offset in columns, \
        f"{bad.construct}: offset {err.offset}, expected one of {columns} in {line!r}"


@unsupported
def test_unsupported_construct_falls_back_to_tape_in_auto_mode(bad):
    lineno, _ = marked_line(bad)
    df = pb.grad(bad.fn, mode="auto")
    grads = df(*copy.deepcopy(bad.args))
    assert df.mode in ("tape", "mixed")
    reason = df.fallback_reason
    assert isinstance(reason, str) and "corpus_unsupported.py" in reason, reason
    assert re.search(rf"\b{lineno}\b", reason), f"line {lineno} not named in {reason!r}"
    tape_grads = pb.grad(bad.fn, mode="tape")(*copy.deepcopy(bad.args))
    for got, want in zip(flatten(grads)[0], flatten(tape_grads)[0], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_tracebacks_show_each_generated_functions_own_lines(tmp_path):
    """Two functions both named ``f`` (in two files) get generated code under two linecache
    names: an error inside either one shows that one's line."""
    import importlib.util
    import linecache
    import traceback

    fns = []
    for name, body in (("first_module", "np.sum(x @ x)"), ("second_module", "np.sum(x.T @ x.T)")):
        path = tmp_path / f"{name}.py"
        path.write_text(f"import numpy as np\n\n\ndef f(x):\n    return {body}\n")
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        fns.append(module.f)
    shown = []
    for fn in fns:
        df = pb.grad(fn, mode="source")
        with pytest.raises(ValueError) as info:
            df(np.ones((2, 3)))              # the product's shapes do not match
        frame = traceback.extract_tb(info.value.__traceback__)[-1]
        assert frame.filename.startswith("<pullback: gradient of f (")
        line = linecache.getline(frame.filename, frame.lineno)
        assert line.strip() and line in df.source
        shown.append(frame.filename)
    assert shown[0] != shown[1]


def test_a_helper_taking_starred_arguments_is_named_in_the_refusal():
    from corpus_unsupported import calls_a_function_of_starred_arguments as f
    with pytest.raises(pb.TransformError, match=r"_product_of_all\(\): it takes \*factors"):
        pb.grad(f, mode="source")(np.array([1.0, 2.0]))


@dataclasses.dataclass
class _Weights:
    a: np.ndarray
    b: float


def _weighted(weights, x):
    return np.sum(weights.a * x) + weights.b


@pytest.mark.parametrize("mode", ["source", "auto", "tape"])
def test_differentiating_an_object_argument_says_how_to_pass_its_arrays(mode):
    weights = _Weights(np.array([1.0, 2.0]), 0.5)
    with pytest.raises(TypeError, match=r"'weights': it holds a _Weights object.*asdict"):
        pb.grad(_weighted, mode=mode)(weights, np.ones(2))
    np.testing.assert_array_equal(pb.grad(_weighted, wrt=1, mode=mode)(weights, np.ones(2)),
                                  [1.0, 2.0])   # as a constant it is fine


def _fills_twice(v):
    out = np.zeros(2)
    out[np.array([0, 0])] = v      # NumPy keeps one of v's values in out[0]: which is its choice
    return out[0]


@pytest.mark.parametrize("mode", ["source", "auto", "tape"])
def test_a_fancy_write_of_one_element_twice_is_refused_in_every_mode(mode):
    with pytest.raises(ValueError, match="writes the same element more than once"):
        pb.grad(_fills_twice, mode=mode)(np.array([3.0, 5.0]))


def array_of_differentiated_numbers(x, w):
    v = np.array([x[0] * w, np.sin(x[1]), 1.5])   # np.stack's gradient, as pb.grad's tape packs it
    m = np.asarray((x * 2.0, np.cos(x)))
    label = f"{np.sum(v):.3f}"                     # text: no gradient
    return np.sum(v ** 2) + np.sum(m @ x) + len(label)


@pytest.mark.parametrize("mode", ["source", "auto", "tape"])
def test_np_array_of_differentiated_numbers_in_every_mode(mode):
    # (not in the corpus: a bare GradientTape, its reference, cannot see into np.array([...]))
    case = Case(array_of_differentiated_numbers, (np.array([0.3, -1.2, 0.8]), 0.7), (0, 1))
    df, grads = _grad(case, mode)
    assert_matches_fd(case, grads)
    assert df.mode == ("tape" if mode == "tape" else "source")


def test_a_function_whose_file_was_edited_after_it_was_loaded_is_refused(tmp_path, monkeypatch):
    # the engine would differentiate the new text while the program runs the old code
    import importlib
    module_file = tmp_path / "edited_module.py"
    module_file.write_text("import numpy as np\n\ndef f(x):\n    return np.sum(x * 2.0)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import edited_module
    x = np.ones(3)
    np.testing.assert_array_equal(pb.grad(edited_module.f, mode="source")(x), [2.0, 2.0, 2.0])
    module_file.write_text("import numpy as np\n\ndef f(x):\n    return np.sum(x * 5.0) + 0.0\n")
    stale = edited_module.f
    from pullback._grad import clear_cache
    clear_cache()   # as after any eviction: the code is generated again from the file
    with pytest.raises(pb.TransformError, match="file was edited"):
        pb.grad(stale, mode="source")(np.ones(4))
    df = pb.grad(stale)
    np.testing.assert_array_equal(df(np.ones(4)), [2.0] * 4)   # auto: the tape runs f as it is
    assert df.mode == "tape"
    importlib.reload(edited_module)
    np.testing.assert_array_equal(pb.grad(edited_module.f, mode="source")(x), [5.0, 5.0, 5.0])


def math_logarithms_of_a_float(x, w):
    return math.log(w * 2.0) * np.sum(x) + math.log10(w) + math.asinh(w) + math.log2(w + 1.0)


def test_math_logarithms_of_a_differentiated_float():
    # (the tape cannot follow math functions: they make a Tensor a Python float)
    case = Case(math_logarithms_of_a_float, (np.array([0.3, -1.2, 0.8]), 0.7), (0, 1))
    df, grads = _grad(case, "auto")
    assert df.mode == "source"
    assert_matches_fd(case, grads)


def _log_in_base_two(w):
    return math.log(w, 2.0) * 3.0


def test_math_log_with_a_base_is_refused_with_the_fix():
    with pytest.raises(pb.TransformError, match=r"math.log\(x\) / math.log\(base\)"):
        pb.grad(_log_in_base_two, mode="source")(0.7)


def test_a_function_whose_lines_now_hold_another_function_is_refused(tmp_path, monkeypatch):
    # code added above f moved it down: its old lines hold g, whose gradient pb.grad gave
    module_file = tmp_path / "moved_module.py"
    module_file.write_text("import numpy as np\n\ndef f(x):\n    return np.sum(x ** 2)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import moved_module
    module_file.write_text("import numpy as np\n\ndef g(x):\n    return np.sum(x ** 3)\n\n"
                           "def f(x):\n    return np.sum(x ** 2)\n")
    x = np.array([1.0, 2.0])
    with pytest.raises(pb.TransformError, match="file was edited"):
        pb.grad(moved_module.f, mode="source")(x)
    df = pb.grad(moved_module.f)
    np.testing.assert_array_equal(df(x), 2 * x)   # auto: the tape runs f as it is
    assert df.mode == "tape"
