"""The command line: demo and show."""

import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def run(*args):
    return subprocess.run([sys.executable, "-m", "pullback", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)


def test_demo_shows_generated_code_and_the_tutorials_numbers():
    result = run("demo")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "def grad_logistic_loss(w, b, X, y):" in out and "df.mode = 'source'" in out
    assert "largest difference: 0.0e+00" in out or "largest difference: " in out
    for expected in ("-> [36.0, 10.0]", "-> [30.0, None]", "-> [nan, 1.0]", "-> [108.0, 6.0]",
                     "-> [12.0, 12.0, 4.0]", "-> [3.0, 6.0]",
                     "x = 10.0, dx = 2.00; x = 8.0, dx = 2.00; x = 6.0, dx = 2.00; "
                     "x = 4.0, dx = 0.00", "dy/dx1 = 0.9999546"):
        assert expected in out, expected


def test_show_prints_the_generated_gradient():
    result = run("show", "generated_examples/examples.py:seed_polynomial", "--wrt", "w1,w2",
                 "--scalar", "w1,w2")
    assert result.returncode == 0, result.stderr
    assert "def grad_seed_polynomial(w1, w2):" in result.stdout
    assert "# line 13: return 3 * w1 ** 2 + 2 * w1 * w2" in result.stdout
    expected = (ROOT / "generated_examples" / "seed_polynomial_grad.py").read_text()
    assert result.stdout == expected


def test_show_with_shapes_prints_what_pb_grad_runs():
    result = run("show", "generated_examples/examples.py:logistic_regression", "--wrt", "w,b",
                 "--scalar", "b", "--shape", "w=3", "--shape", "X=5x3", "--shape", "y=5")
    assert result.returncode == 0, result.stderr
    expected = (ROOT / "generated_examples" / "logistic_regression_grad.py").read_text()
    assert result.stdout == expected
    assert "bw = bz @ X" in result.stdout


def test_show_value_prints_value_and_grad_code():
    result = run("show", "generated_examples/examples.py:seed_polynomial", "--wrt", "w1,w2",
                 "--scalar", "w1,w2", "--value")
    assert result.returncode == 0, result.stderr
    assert "return (t5, (bw1, " in result.stdout


def test_show_reports_unsupported_code_at_the_users_line():
    result = run("show", "tests/corpus_unsupported.py:try_except")
    assert result.returncode == 1
    assert 'corpus_unsupported.py", line' in result.stderr and "TransformError" in result.stderr
    assert "try:" in result.stderr and "^" in result.stderr


def test_show_bad_arguments():
    assert run("show", "nofile.py:f").returncode == 2
    assert run("show", "generated_examples/examples.py:nope").returncode == 2
    bad = run("show", "generated_examples/examples.py:softplus", "--wrt", "q")
    assert bad.returncode == 2 and "'q' names no parameter" in bad.stderr
    bad = run("show", "generated_examples/examples.py:softplus", "--shape", "z=3by4")
    assert bad.returncode == 2 and "NAME=3x4" in bad.stderr


@pytest.mark.parametrize("options, says", [
    (["--wrt", "5"], "there are 1 parameters"),
    (["--scalar", "q"], "--scalar 'q' names no parameter"),
    (["--shape", "z="], "NAME=3x4"),
    (["--shape", "z=3", "--shape", "z=4"], "given twice"),
    (["--scalar", "z", "--shape", "z=4"], "given twice"),
])
def test_show_checks_every_option(options, says):
    bad = run("show", "generated_examples/examples.py:softplus", *options)
    assert bad.returncode == 2 and says in bad.stderr and "Traceback" not in bad.stderr, \
        bad.stderr



def test_show_for_a_call_prints_what_pb_grad_runs_for_it():
    """--call gives the arguments themselves (a dict of dicts here): the code is byte for byte
    the checked-in example, which pb.grad generated for such a call."""
    call = ("{'hidden': {'W': np.ones((3, 4)), 'b': np.zeros(4)}, "
            "'out': {'W': np.ones((4, 3)), 'b': np.zeros(3)}}, np.ones((8, 3)), np.ones((8, 3))")
    result = run("show", "generated_examples/examples.py:layered_loss", "--call", call)
    assert result.returncode == 0, result.stderr
    expected = (ROOT / "generated_examples" / "layered_loss_grad.py").read_text()
    assert result.stdout == expected


@pytest.mark.parametrize("call, says", [("np.ones(3", "SyntaxError"),
                                        ("np.ones(3), np.ones(3), 1, 2, 3", "TypeError")])
def test_show_for_a_bad_call(call, says):
    result = run("show", "generated_examples/examples.py:layered_loss", "--call", call)
    assert result.returncode == 2 and says in result.stderr and "--call" in result.stderr
    assert "Traceback" not in result.stderr
