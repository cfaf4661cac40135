"""The benchmark suite never rots: every workload runs once, tiny, through the benchmark's own
code path, and every column's gradient must agree with the hand-written one.

Correctness only: nothing here asserts a time (benchmarks/ and docs/performance.md do the timing).
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import pullback as pb  # noqa: E402
from benchmarks import extras, harness, run  # noqa: E402
from benchmarks import peers as bench_peers  # noqa: E402
from benchmarks.workloads import WORKLOADS  # noqa: E402

IDS = [w.name for w in WORKLOADS]


def _numeric_gradient(fn, inputs, name, eps=1e-6):
    """Central differences of fn(**inputs) with respect to inputs[name]."""
    value = inputs[name]
    if isinstance(value, float):
        plus = fn(**{**inputs, name: value + eps})
        minus = fn(**{**inputs, name: value - eps})
        return np.asarray((plus - minus) / (2 * eps))
    grad = np.zeros_like(value)
    for i in np.ndindex(value.shape):
        shifted = value.copy()
        shifted[i] += eps
        plus = fn(**{**inputs, name: shifted})
        shifted[i] -= 2 * eps
        minus = fn(**{**inputs, name: shifted})
        grad[i] = (plus - minus) / (2 * eps)
    return grad


@pytest.mark.parametrize("workload", WORKLOADS, ids=IDS)
def test_hand_gradients_match_finite_differences(workload):
    """The reference itself is right: each hand gradient against central differences."""
    inputs = workload.make_inputs("tiny", 0)
    hands = [workload.hand(*workload.args(inputs))]
    if workload.hand_math is not None:
        hands.append(workload.hand_math(*workload.args(inputs)))
    for hand in hands:
        assert len(hand) == len(workload.wrt)
        for name, g in zip(workload.wrt, hand):
            numeric = _numeric_gradient(workload.fn, inputs, name)
            assert np.shape(g) == np.shape(inputs[name])
            np.testing.assert_allclose(g, numeric, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("workload", WORKLOADS, ids=IDS)
def test_every_column_agrees_with_the_hand_gradient(workload):
    inputs = workload.make_inputs("tiny", 0)
    columns = harness.build_columns(workload, inputs)
    messages = []
    failed = harness.check_columns(workload, columns, log=messages.append)
    assert failed == 0, "\n".join(messages)
    by_name = {c.name: c for c in columns}
    assert set(by_name) == set(harness.COLUMNS)
    for name in ("hand", "pb source", "pb auto", "pb tape"):
        assert by_name[name].status == "ok", (name, by_name[name].note)
        assert by_name[name].error <= harness.RTOL
    assert by_name["hand math"].status == ("ok" if workload.name == "W2" else "-")
    # mode="auto" serves every workload from generated code
    assert by_name["pb source"].mode == "source"
    assert by_name["pb auto"].mode == "source", by_name["pb auto"].note
    for name in bench_peers.COLUMNS:      # installed peers agree too; missing ones are n/a
        assert by_name[name].status in ("ok", "n/a"), (name, by_name[name].note)


def test_a_wrong_column_is_reported_and_not_timed():
    workload = WORKLOADS[0]
    inputs = workload.make_inputs("tiny", 0)
    wrong = harness.Column("pb source", lambda w1, w2: (6 * w1 + 2 * w2, 2 * w1 + 1e-6),
                           workload.args(inputs))
    raises = harness.Column("pb auto", lambda w1, w2: 1 / 0, workload.args(inputs))
    columns = [harness.Column("hand", workload.hand, workload.args(inputs)), wrong, raises]
    messages = []
    assert harness.check_columns(workload, columns, log=messages.append) == 2
    assert wrong.status == "MISMATCH" and raises.status == "error"
    assert any("MISMATCH" in m for m in messages) and any("ZeroDivisionError" in m
                                                          for m in messages)
    harness.time_columns(columns, target=1e-4, rounds=2, warmup=0.0)
    assert wrong.samples == [] and raises.samples == []
    assert len(columns[0].samples) == 2


def test_relative_error_catches_shape_and_value_differences():
    want = [np.ones(3)]
    assert harness.relative_error([np.ones(3)], want)[0] == 0.0
    assert harness.relative_error([np.ones(4)], want)[0] == float("inf")
    assert harness.relative_error([np.ones(3), 1.0], want)[0] == float("inf")
    assert harness.relative_error([np.array([1.0, 1.0, np.nan])], want)[0] == float("inf")
    assert harness.relative_error([np.array([1.0, 1.0, 1.001])], want)[0] > harness.RTOL


def test_rebinding_np_keeps_the_function():
    wl = WORKLOADS[4]
    inputs = wl.make_inputs("tiny", 0)
    assert bench_peers.rebind(wl.fn, np)(**inputs) == wl.fn(**inputs)


def test_the_command_line_runs_quick_and_tiny(tmp_path, capsys):
    out_json, out_png = tmp_path / "r.json", tmp_path / "r.png"
    status = run.main(["--quick", "--sizes", "tiny", "--sections", "workloads", "--peers",
                       "none", "--json", str(out_json), "--plot", str(out_png)])
    printed = capsys.readouterr().out
    assert status == 0, printed
    assert "MISMATCH" not in printed
    results = json.loads(out_json.read_text())
    assert [w["name"] for w in results["workloads"]] == IDS
    for w in results["workloads"]:
        assert w["failed"] == 0
        for name in ("hand", "pb source", "pb auto", "pb tape"):
            c = w["columns"][name]
            assert c["status"] == "ok" and c["us"] > 0 and c["batches"] > 0
    assert "| W1 " in printed and "| W6 " in printed
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "plot skipped" in printed
    else:
        assert out_png.stat().st_size > 0


def test_only_and_doc_update(tmp_path, capsys):
    page = tmp_path / "page.md"
    page.write_text(f"before\n{run.BEGIN}\nold\n{run.END}\nafter\n")
    assert run.main(["--quick", "--sizes", "tiny", "--only", "W1,W5", "--sections",
                     "workloads", "--peers", "none", "--doc", str(page)]) == 0
    text = page.read_text()
    assert text.startswith("before\n") and text.endswith("after\n") and "old" not in text
    assert "| W1 " in text and "| W5 " in text and "| W3 " not in text
    with pytest.raises(SystemExit):
        run.parse_args(["--only", "W9"])
    capsys.readouterr()


def test_the_other_sections_run_quick():
    tape = extras.tape_overhead(steps=20, quick=True)
    assert tape["entries"]["pullback tape"]["status"] == "ok"
    memory = extras.memory(quick=True, steps=1000, calls=2000, functions=8)
    assert not any(p["mismatch"] for p in memory["peaks"].values())
    assert all(g["linecache_entries"] == 0 for g in memory["growth"].values())
    rows = run.targets({"tape_overhead": tape, "memory": memory})
    assert [r["target"] for r in rows] == ["tape < 2 µs per recorded op"]


def test_codegen_section_and_its_thirty_line_function():
    args, wrt = extras.thirty_lines_inputs()
    source = pb.grad(extras.thirty_lines, wrt=wrt, mode="source")(*args)
    tape = pb.grad(extras.thirty_lines, wrt=wrt, mode="tape")(*args)
    for s, t in zip(source, tape):
        np.testing.assert_allclose(s, t, rtol=1e-9, atol=1e-12)
    names, kinds, layout = extras.generation_arguments(extras.thirty_lines, args, {}, wrt)
    assert names == ["W1", "b1", "W2", "b2", "gamma"] and layout["X"][0] == ("n3", "n0")
    assert kinds["gamma"] == "scalar" and kinds["X"] == "array"
    result = extras.codegen(quick=True)
    assert result["functions"] > 0 and result["thirty_lines"]["lines"] == 30
    assert set(result["cached_call"]) == {"W1", "W3"}


def test_python_benchmarks_run_py_is_runnable():
    done = subprocess.run([sys.executable, os.path.join("benchmarks", "run.py"), "--help"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "--quick" in done.stdout and "--only" in done.stdout
