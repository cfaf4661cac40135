"""generated_examples/ holds exactly what the engine emits, and each module runs on its own."""

import pathlib
import runpy
import sys

import numpy as np
import pytest

import pullback as pb

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


@pytest.mark.parametrize("fn, args, wrt", examples.EXAMPLES, ids=NAMES)
def test_checked_in_module_runs_standalone_and_is_right(fn, args, wrt):
    module = runpy.run_path(str(ROOT / f"{fn.__name__}_grad.py"))
    value, grads = module[f"grad_{fn.__name__}"](*args)
    assert value == pytest.approx(fn(*args))
    tape = pb.grad(fn, wrt=wrt, mode="tape")(*args)
    tape = tape if isinstance(wrt, tuple) else (tape,)
    for got, expected in zip(grads, tape):
        if isinstance(expected, dict):
            for key in expected:
                np.testing.assert_allclose(got[key], expected[key], rtol=1e-10, atol=1e-12)
        else:
            np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_seed_example_gives_36_and_10():
    module = runpy.run_path(str(ROOT / "seed_polynomial_grad.py"))
    value, (g1, g2) = module["grad_seed_polynomial"](5.0, 3.0)
    assert (value, g1, g2) == (105.0, 36.0, 10.0)
