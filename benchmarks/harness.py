"""Columns, the correctness check, and the interleaved timer.

A workload is measured in columns: the hand-written gradient (the reference), pullback's
``pb.grad(mode="source")``, ``pb.grad(mode="auto")``, pullback's tape written as a TensorFlow
user writes it, and the peers that are installed.  Each column is a callable and its arguments;
one call computes the whole gradient.

Before a column is timed, its gradient is compared with the hand-written one (relative error of
each gradient part, in the 2-norm, at most ``RTOL``).  A column that disagrees is marked
``MISMATCH``, the error is printed, and it is not timed.  A column that raises is marked
``error``.

Timing: every column is warmed up, then calibrated (a repeat count so that one batch of calls
takes ``target`` seconds, 30 ms by default), then the batches of all columns run round-robin in
one process -- round 1 times every column once, round 2 again (starting at the next column), and
so on -- so a column's ratio to the hand gradient is a median of ratios of batches timed side by
side, in the same run and under the same machine load.  Garbage collection stays on: its cost is
part of what a user pays.
"""

import statistics
import time
import traceback
from dataclasses import dataclass, field

import numpy as np

import pullback as pb

from . import peers as _peers

__all__ = ["RTOL", "COLUMNS", "REFERENCE", "Column", "build_columns", "check_columns",
           "time_columns", "relative_error"]

RTOL = 1e-9
REFERENCE = "hand"
COLUMNS = ("hand", "hand math", "pb source", "pb auto", "pb tape") + _peers.COLUMNS
PULLBACK_COLUMNS = ("pb source", "pb auto", "pb tape")


@dataclass
class Column:
    """One way to compute a workload's gradient, and what was measured of it."""

    name: str
    call: object = None            # call(*args) computes the gradient
    args: tuple = ()
    status: str = "ok"             # ok | MISMATCH | error | n/a | - (not applicable)
    note: str = ""                 # why it is not ok; for "pb auto", the reason of a fallback
    mode: str = None               # "pb source" / "pb auto": df.mode after the last call
    error: float = None            # relative error against the hand gradient
    repeat: int = 0                # calls per timed batch
    rounds: int = 0                # batches timed
    samples: list = field(default_factory=list)   # seconds per call, one per batch
    ratios: dict = field(default_factory=dict)    # reference -> per-batch ratios
    grad_function: object = None   # the pb.grad function, for df.mode

    @property
    def seconds(self):
        return statistics.median(self.samples) if self.samples else None

    def ratio(self, reference=REFERENCE):
        r = self.ratios.get(reference)
        return statistics.median(r) if r else None


def _np_leaf(value):
    return _peers.to_numpy(value)


def relative_error(got, want):
    """The largest relative 2-norm error over the gradient parts (inf on a shape mismatch)."""
    got = list(got) if isinstance(got, (tuple, list)) else [got]
    if len(got) != len(want):
        return float("inf"), f"{len(got)} gradient parts, expected {len(want)}"
    worst = 0.0
    for i, (g, w) in enumerate(zip(got, want)):
        g = _np_leaf(g)
        if g.shape != w.shape:
            return float("inf"), f"gradient part {i} has shape {g.shape}, expected {w.shape}"
        if not np.all(np.isfinite(g)):
            return float("inf"), f"gradient part {i} is not finite"
        scale = np.linalg.norm(w)
        diff = np.linalg.norm(g - w)
        worst = max(worst, diff / scale if scale > 0 else diff)
    return worst, ""


def build_columns(workload, inputs, peers=_peers.PEERS):
    """The columns of one workload, in ``COLUMNS`` order (not yet checked or timed)."""
    args = workload.args(inputs)
    columns = [Column("hand", workload.hand, args)]
    if workload.hand_math is not None:
        columns.append(Column("hand math", workload.hand_math, args))
    else:
        columns.append(Column("hand math", status="-", note="only W2 has a math-module gradient"))
    for name, mode in (("pb source", "source"), ("pb auto", "auto")):
        df = pb.grad(workload.fn, wrt=workload.wrt, mode=mode)
        columns.append(Column(name, df, args, grad_function=df))
    columns.append(Column("pb tape", _tape_call(workload, inputs)))
    for name, (fn, status, note) in _peers.peer_columns(workload, inputs, peers).items():
        columns.append(Column(name, fn, (), status=status, note=note))
    return columns


def _tape_call(workload, inputs):
    """The gradient on pullback's tape, as a TensorFlow user writes it: Variables for the
    parameters, constants for the data, the forward pass under the tape, ``tape.gradient``."""
    values = {p: pb.Variable(v) if p in workload.wrt else pb.constant(v)
              for p, v in inputs.items()}
    variables = [values[p] for p in workload.wrt]
    fn = workload.fn

    def run():
        with pb.GradientTape() as tape:
            loss = fn(**values)
        return tape.gradient(loss, variables)

    return run


def check_columns(workload, columns, log=print):
    """Compare every live column's gradient with the hand gradient; mark and report failures.

    Returns the number of columns that failed (MISMATCH or error)."""
    reference = next(c for c in columns if c.name == REFERENCE)
    want = [np.asarray(g, dtype=np.float64) for g in reference.call(*reference.args)]
    failed = 0
    for column in columns:
        if column.status != "ok":
            if column.status == "error":
                failed += 1
                log(f"!! ERROR    {workload.name} {column.name}: {column.note}")
            continue
        try:
            got = column.call(*column.args)
        except Exception as err:
            column.status = "error"
            column.note = f"{type(err).__name__}: {err}"
            failed += 1
            log(f"!! ERROR    {workload.name} {column.name}: {column.note}")
            log(traceback.format_exc())
            continue
        if column.grad_function is not None:
            column.mode = column.grad_function.mode
            if column.mode != "source":
                column.note = f"served by the tape: {column.grad_function.fallback_reason}"
        column.error, why = relative_error(got, want)
        if not column.error <= RTOL:
            column.status = "MISMATCH"
            column.note = why or f"relative error {column.error:.3g} > {RTOL:g}"
            failed += 1
            log(f"!! MISMATCH {workload.name} {column.name}: {column.note}; not timed")
            log(f"   got  {_brief(got)}")
            log(f"   want {_brief(want)}")
    return failed


def _brief(parts):
    parts = parts if isinstance(parts, (tuple, list)) else [parts]
    shown = []
    for p in parts:
        a = _np_leaf(p)
        shown.append(repr(a.item()) if a.size == 1 else
                     f"array{a.shape}[{', '.join(f'{x:.6g}' for x in a.ravel()[:3])}, ...]")
    return "(" + ", ".join(shown) + ")"


def _batch(call, args, n):
    start = time.perf_counter()
    for _ in range(n):
        call(*args)
    return time.perf_counter() - start


def time_columns(columns, *, target=0.03, rounds=15, budget=30.0, warmup=0.05, log=None):
    """Warm up, calibrate and time the live columns, interleaved; fill samples and ratios.

    ``target``: seconds per batch; ``rounds``: batches per column; ``budget``: at most about
    this many seconds per column (a slow column runs fewer rounds, at least 3); ``warmup``:
    seconds of calls before calibrating."""
    live = [c for c in columns if c.status == "ok"]
    if not live:
        return live
    for column in live:
        calls, start = 0, time.perf_counter()
        while calls < 3 or (time.perf_counter() - start < warmup and calls < 10_000):
            column.call(*column.args)
            calls += 1
    for column in live:
        n = 1
        while True:
            t = _batch(column.call, column.args, n)
            if t >= 0.5 * target or n >= 10_000_000:
                break
            n = min(n * 100, max(n + 1, int(n * target / max(t, 1e-9))))
        column.repeat = n
        batch = t
        column.rounds = max(min(rounds, 3), min(rounds, int(budget / max(batch, 1e-9))))
        if log:
            log(f"   {column.name:10s} {n:>8d} calls per batch, {column.rounds} rounds")
    for r in range(rounds):
        shift = r % len(live)
        for column in live[shift:] + live[:shift]:
            if r < column.rounds:
                column.samples.append(_batch(column.call, column.args, column.repeat)
                                      / column.repeat)
    references = [c for c in live if c.name in (REFERENCE, "hand math", "pb source")]
    for column in live:
        for ref in references:
            column.ratios[ref.name] = [a / b for a, b in zip(column.samples, ref.samples)]
        if column.grad_function is not None:
            column.mode = column.grad_function.mode
    return live
