"""generated_examples/ holds exactly what the engine emits, and each module runs on its own."""

import pathlib
import runpy
import sys

import numpy as np
import pytest

import pullback as pb
from pullback._structure import flatten, unflatten

ROOT = pathlib.Path(__file__).resolve().parent.parent / "generated_examples"
sys.path.insert(0, str(ROOT))
import examples  # noqa: E402
from regenerate import generated_sources  # noqa: E402

sys.path.remove(str(ROOT))

NAMES = [fn.__name__ for fn, _, _ in examples.EXAMPLES]


def test_checked_in_files_are_what_the_engine_emits():
    for name, source in generated_sources().items():
        path = ROOT / name
        assert path.exists(), f"{name} is missing: run python generated_examples/regenerate.py"
        assert path.read_text(encoding="utf-8") == source, (
            f"generated_examples/{name} differs from what pb.grad emits now; run "
            f"python generated_examples/regenerate.py and review the change")


def test_no_stale_files():
    expected = {f"{n}_grad.py" for n in NAMES}
    present = {p.name for p in ROOT.glob("*_grad.py")}
    assert present == expected


def _directional(fn, args, wrt, grads, seed=0):
    """<gradient, v> against central differences along a random v, over array/float args."""
    rng = np.random.default_rng(seed)
    wrt = wrt if isinstance(wrt, tuple) else (wrt,)
    plus, minus, analytic = list(args), list(args), 0.0
    for w, g in zip(wrt, grads):
        leaves, spec = flatten(args[w])   # an array, a number, or a dict of them
        up, down = [], []
        for x, gx in zip(leaves, flatten(g)[0], strict=True):
            x = np.asarray(x, dtype=float)
            v = rng.standard_normal(x.shape)
            up.append(x + 1e-6 * v if x.shape else float(x + 1e-6 * v))
            down.append(x - 1e-6 * v if x.shape else float(x - 1e-6 * v))
            analytic += float(np.sum(np.asarray(gx) * v))
        plus[w], minus[w] = unflatten(spec, up), unflatten(spec, down)
    return analytic, (fn(*plus) - fn(*minus)) / 2e-6


@pytest.mark.parametrize("fn, args, wrt", examples.EXAMPLES, ids=NAMES)
def test_checked_in_module_runs_standalone_and_is_right(fn, args, wrt):
    module = runpy.run_path(str(ROOT / f"{fn.__name__}_grad.py"))
    grads = module[f"grad_{fn.__name__}"](*args)  # what pb.grad runs: the gradients only
    analytic, numeric = _directional(fn, args, wrt, grads)
    assert analytic == pytest.approx(numeric, rel=1e-5, abs=1e-7)
    try:
        tape = pb.grad(fn, wrt=wrt, mode="tape")(*args)
    except TypeError as err:  # the tape refuses writes into NumPy buffers, loudly
        assert "writes into arrays" in str(err)
        return
    tape = tape if isinstance(wrt, tuple) else (tape,)
    for got, expected in zip(grads, tape):
        for g, e in zip(flatten(got)[0], flatten(expected)[0], strict=True):  # nested dicts too
            np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("y, expected", [(6, 12.0), (5, 12.0), (4, 4.0)])
def test_seed_loop_gives_12_12_4(y, expected):
    module = runpy.run_path(str(ROOT / "seed_loop_grad.py"))
    (g,) = module["grad_seed_loop"](2.0, y)
    assert g == expected


def test_seed_example_gives_36_and_10():
    module = runpy.run_path(str(ROOT / "seed_polynomial_grad.py"))
    g1, g2 = module["grad_seed_polynomial"](5.0, 3.0)
    assert (g1, g2) == (36.0, 10.0)
