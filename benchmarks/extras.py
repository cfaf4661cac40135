"""The benchmark's other sections: tape per-op overhead, code generation time, memory.

- ``tape_overhead``: a chain of cheap ops on a 1-element array, under ``pb.GradientTape`` with the
  gradient taken, minus the same chain on NumPy alone, per recorded op (forward and backward
  together); PyTorch's, autograd's and TensorFlow's tapes beside it when installed.
- ``codegen``: ``pullback._source.generate`` timed on every function of the test corpora
  (tests/corpus.py and tests/corpus_control.py), with the argument kinds ``pb.grad`` would pass;
  and what a cached ``pb.grad`` call costs over calling the generated function directly.
- ``memory``: the peak (tracemalloc) of one gradient of a 10,000-step scalar loop against what its
  backward pass needs, and the growth of memory, linecache and the code cache over many calls.
"""

import gc
import inspect
import linecache
import math
import os
import statistics
import sys
import time
import tracemalloc

import numpy as np

import pullback as pb
import pullback._grad as _pbgrad

from . import peers as _peers
from .harness import Column, relative_error, time_columns

__all__ = ["tape_overhead", "codegen", "memory"]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# === tape per-op overhead =====================================================================

OPS_PER_STEP = 3   # np.sin, * 1.01, + y


def chain(y, n):
    for _ in range(n):
        y = np.sin(y) * 1.01 + y
    return y


def chain_derivative(x, n):
    """d chain(x, n) / dx by hand, for the check."""
    d = np.ones_like(x)
    y = x
    for _ in range(n):
        d = d * (np.cos(y) * 1.01 + 1.0)
        y = np.sin(y) * 1.01 + y
    return d


def _torch_chain(torch, n):
    x = torch.tensor([0.5], dtype=torch.float64, requires_grad=True)
    x_plain = torch.tensor([0.5], dtype=torch.float64)

    def forward(y):
        for _ in range(n):
            y = torch.sin(y) * 1.01 + y
        return y

    def with_grad():
        y = forward(x)
        return torch.autograd.grad(y, x, torch.ones_like(y))

    def plain():
        with torch.no_grad():
            return forward(x_plain)

    return with_grad, plain


def _tf_chain(tf, n):
    x = tf.Variable([0.5], dtype=tf.float64)
    x_plain = tf.constant([0.5], dtype=tf.float64)

    def forward(y):
        for _ in range(n):
            y = tf.sin(y) * 1.01 + y
        return y

    def with_grad():
        with tf.GradientTape() as tape:
            y = forward(x)
        return tape.gradient(y, x)

    return with_grad, lambda: forward(x_plain)


def _autograd_chain(autograd, n):
    import autograd.numpy as anp

    def forward(y):
        for _ in range(n):
            y = anp.sin(y) * 1.01 + y
        return anp.sum(y)   # autograd.grad needs a scalar: one more op

    g = autograd.grad(forward)
    x = np.array([0.5])
    return (lambda: g(x)), (lambda: chain(x, n))


def tape_overhead(steps=1000, quick=False, peers=_peers.PEERS, log=print):
    """Per recorded op: (time with the tape and the gradient - time of the plain chain) / ops."""
    ops = OPS_PER_STEP * steps
    x0 = np.array([0.5])
    xv = pb.Variable(x0)

    def pb_tape():
        with pb.GradientTape() as tape:
            y = chain(xv, steps)
        return tape.gradient(y, xv)

    want = chain_derivative(x0, steps)
    err, why = relative_error([pb_tape()], [want])
    results = {"steps": steps, "ops": ops, "entries": {}}
    pairs = [("pullback tape", pb_tape, lambda: chain(x0, steps), "NumPy chain")]
    builders = {"torch": ("PyTorch autograd", _torch_chain, "torch.no_grad chain"),
                "autograd": ("autograd", _autograd_chain, "NumPy chain"),
                "tensorflow": ("TensorFlow tape", _tf_chain, "TF eager chain, no tape")}
    for peer, (label, build, base_label) in builders.items():
        module, reason = _peers.load(peer) if peer in peers else (None, "not requested")
        if module is None:
            results["entries"][label] = {"status": "n/a", "note": reason}
            continue
        try:
            with_grad, plain = build(module, steps)
            got = with_grad()
            perr, pwhy = relative_error([got[0] if isinstance(got, tuple) else got], [want])
            if not perr <= 1e-9:
                results["entries"][label] = {"status": "MISMATCH", "note": pwhy or f"{perr:.3g}"}
                log(f"!! MISMATCH tape chain {label}: relative error {perr:.3g}")
                continue
            pairs.append((label, with_grad, plain, base_label))
        except Exception as err_:
            results["entries"][label] = {"status": "error", "note": f"{type(err_).__name__}: "
                                                                   f"{err_}"}
            log(f"!! ERROR tape chain {label}: {err_}")
    if not err <= 1e-9:
        log(f"!! MISMATCH tape chain pullback: {why or err}")
        results["entries"]["pullback tape"] = {"status": "MISMATCH", "note": why or str(err)}
        pairs = pairs[1:]
    columns = []
    for label, with_grad, plain, base_label in pairs:
        columns.append(Column(label, with_grad))
        columns.append(Column(label + " | base", plain))
    time_columns(columns, target=0.005 if quick else 0.03, rounds=3 if quick else 11,
                 budget=3.0 if quick else 20.0)
    by_name = {c.name: c for c in columns}
    order = ["pullback tape"] + [label for label, _, _ in builders.values()]
    for label, _, _, base_label in pairs:
        taped, base = by_name[label], by_name[label + " | base"]
        results["entries"][label] = {
            "status": "ok",
            "us_per_call": taped.seconds * 1e6,
            "base": base_label,
            "base_us_per_call": base.seconds * 1e6,
            "base_us_per_op": base.seconds * 1e6 / ops,
            "us_per_op": (taped.seconds - base.seconds) * 1e6 / ops,
        }
    results["entries"] = {k: results["entries"][k] for k in order if k in results["entries"]}
    return results


# === code generation time =====================================================================

def _kind_function():
    kind = getattr(_pbgrad, "_kind", None)
    if kind is not None:
        return kind

    def kind(value, structured):  # the rule pb.grad uses (src/pullback/_grad.py)
        if structured and isinstance(value, (dict, list, tuple)):
            if isinstance(value, dict):
                return {k: kind(v, True) for k, v in value.items()}
            return type(value)(kind(v, True) for v in value)
        if isinstance(value, (float, int, np.floating, np.integer)) or (
                isinstance(value, np.ndarray) and value.ndim == 0):
            return "scalar"
        return "array" if isinstance(value, np.ndarray) else "other"

    return kind


def generation_arguments(fn, args, kwargs, wrt):
    """(wrt names, kinds, layout) as pb.grad computes them for ``fn(*args, **kwargs)``: what
    its first call passes to ``generate`` (with ``value=False``: pb.grad returns no value)."""
    signature = inspect.signature(fn)
    params = list(signature.parameters)
    wrt = wrt if isinstance(wrt, (tuple, list)) else (wrt,)
    names = [params[w] if isinstance(w, int) else w for w in wrt]
    bound = signature.bind(*args, **kwargs)
    bound.apply_defaults()
    values = dict(bound.arguments)
    as_float = getattr(_pbgrad, "_as_float", None)
    if as_float is not None:
        for name in names:
            values[name] = as_float(values[name], name)
    kind = _kind_function()
    from pullback._source._shapes import layout_of
    return names, {p: kind(values[p], p in names) for p in params}, layout_of(values, params)


# A 30-line function, for the target "generating code for a 30-line function: under 10 ms".

def thirty_lines(W1, b1, W2, b2, gamma, X, Y, lam, steps):
    # layer 1: affine, layer normalization, scale, tanh
    h = X @ W1 + b1
    mu = np.mean(h, axis=1, keepdims=True)
    d = h - mu
    var = np.mean(d ** 2, axis=1, keepdims=True)
    h = gamma * d / np.sqrt(var + 1e-5)
    h = np.tanh(h)
    # a few residual smoothing steps
    for k in range(steps):
        if k % 2 == 0:
            h = h + 0.1 * np.sin(h)
        else:
            h = 0.9 * h
    # layer 2 and a stable softmax cross-entropy
    logits = h @ W2 + b2
    m = np.max(logits, axis=1, keepdims=True)
    z = logits - m
    lse = np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    nll = np.mean(lse - np.sum(Y * z, axis=1, keepdims=True))
    # L2 penalty on the weights, skipped when lam is 0
    penalty = np.sum(W1 * W1) + np.sum(W2 * W2)
    if lam > 0:
        loss = nll + lam * penalty
    else:
        loss = nll
    # keep the loss away from 0 with a soft floor, so that its square root is smooth
    loss = loss + 1e-6
    loss = np.sqrt(loss * loss + 1e-12)
    return loss


def thirty_lines_inputs():
    rng = np.random.default_rng(0)
    args = (rng.standard_normal((6, 5)), rng.standard_normal(5), rng.standard_normal((5, 3)),
            rng.standard_normal(3), 1.3, rng.standard_normal((4, 6)), np.eye(3)[[0, 1, 2, 1]],
            0.01, 3)
    return args, (0, 1, 2, 3, 4)


def _corpus_cases(log):
    tests = os.path.join(ROOT, "tests")
    if not os.path.isdir(tests):
        log(f"   codegen: no tests/ folder beside benchmarks/ ({tests}); skipped")
        return []
    if tests not in sys.path:
        sys.path.insert(0, tests)
    import corpus
    import corpus_control
    return list(corpus.CASES) + list(corpus_control.CASES)


def codegen(quick=False, log=print):
    """Time generate() as pb.grad calls it for every distinct (function, wrt, kinds, layout)
    of the corpora (``quick``: every 10th one, timed once)."""
    from pullback._errors import TransformError
    from pullback._source import generate

    repeats = 0 if quick else 5
    rows, seen, refused = [], set(), []
    cases = _corpus_cases(log)
    for case in cases[::10] if quick else cases:
        names, kinds, layout = generation_arguments(case.fn, case.args, case.kwargs, case.wrt)
        key = (case.fn, tuple(names), repr(kinds), repr(layout))
        if key in seen:
            continue
        seen.add(key)
        times = []
        try:
            for _ in range(repeats + 1):    # the first one may import or warm caches
                start = time.perf_counter()
                generate(case.fn, names, kinds, False, layout)
                times.append(time.perf_counter() - start)
        except TransformError as err:
            refused.append((case.id, str(err).splitlines()[0]))
            continue
        try:
            lines = len(inspect.getsourcelines(case.fn)[0])
        except (OSError, TypeError):
            lines = None
        rows.append({"name": case.fn.__qualname__, "lines": lines, "first_ms": times[0] * 1e3,
                     "ms": statistics.median(times[1:]) * 1e3 if repeats else times[0] * 1e3})
    result = {"functions": len(rows), "sampled": quick, "repeats": repeats, "refused": refused,
              "rows": rows}
    if rows:
        ms = sorted(r["ms"] for r in rows)
        worst = max(rows, key=lambda r: r["ms"])
        largest = max(rows, key=lambda r: (r["lines"] or 0, r["ms"]))
        thirty = [r for r in rows if (r["lines"] or 0) >= 30]
        result.update({
            "median_ms": statistics.median(ms),
            "p90_ms": ms[int(0.9 * (len(ms) - 1))],
            "worst": worst,
            "largest": largest,
            "thirty_lines_or_more": len(thirty),
            "thirty_lines_worst_ms": max((r["ms"] for r in thirty), default=None),
        })
    args, wrt = thirty_lines_inputs()
    names, kinds, layout = generation_arguments(thirty_lines, args, {}, wrt)
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        generate(thirty_lines, names, kinds, False, layout)
        times.append(time.perf_counter() - start)
    result["thirty_lines"] = {"name": "benchmarks/extras.py: thirty_lines",
                              "lines": len(inspect.getsourcelines(thirty_lines)[0]),
                              "first_ms": times[0] * 1e3,
                              "ms": statistics.median(times[1:] or times) * 1e3}
    result["cached_call"] = _cached_call_overhead(quick)
    return result


def _cached_call_overhead(quick):
    """pb.grad's cached call against calling the generated function directly (same kinds).

    W3 at tiny sizes, where the per-call cost of dispatch (argument kinds, the cache lookup,
    checking the gradients' shapes and dtypes) is not lost in the noise of the matmuls."""
    from pullback._source import generate

    from .workloads import by_name
    out = {}
    for wl in by_name(["W1", "W3"]):
        sizes = "tiny" if quick or wl.name == "W3" else "full"
        inputs = wl.make_inputs(sizes, 0)
        args = wl.args(inputs)
        df = pb.grad(wl.fn, wrt=wl.wrt, mode="source")
        clear = getattr(_pbgrad, "clear_cache", None)
        if clear is not None:
            clear()                                  # so that the first call generates
        start = time.perf_counter()
        df(*args)
        first = time.perf_counter() - start
        names, kinds, layout = generation_arguments(wl.fn, args, {}, wl.wrt)
        direct = generate(wl.fn, names, kinds, False, layout).function
        columns = [Column("direct", direct, args), Column("pb.grad", df, args)]
        time_columns(columns, target=0.005 if quick else 0.03, rounds=3 if quick else 11,
                     budget=2.0 if quick else 10.0)
        out[wl.name] = {"sizes": sizes, "first_call_ms": first * 1e3,
                        "direct_us": columns[0].seconds * 1e6,
                        "cached_us": columns[1].seconds * 1e6,
                        "overhead_us": (columns[1].seconds - columns[0].seconds) * 1e6}
    return out


# === memory ===================================================================================

def long_loop(w, x0, n):
    x = x0
    for i in range(n):
        x = np.sin(x) * w + 0.1
    return x


def long_loop_hand_math(w, x0, n):
    xs = []
    x = x0
    for i in range(n):
        xs.append(x)
        x = math.sin(x) * w + 0.1
    bw, bx = 0.0, 1.0
    for i in range(n - 1, -1, -1):
        x = xs[i]
        bw += bx * math.sin(x)
        bx = bx * w * math.cos(x)
    return bw, bx


def make_scaled(k):
    def scaled(x):
        return np.sin(x) * k
    return scaled


def _peak(call):
    """Peak bytes allocated during one call (beyond what was allocated before it)."""
    call()                        # generate / warm up first: generation is not the gradient
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        call()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


_IGNORE = (tracemalloc.Filter(False, tracemalloc.__file__),)


def _growth(call, calls, warm=1000):
    """Memory, linecache and code-cache growth over ``calls`` calls, after ``warm`` calls."""
    for _ in range(warm):
        call()
    gc.collect()
    cache = getattr(_pbgrad, "_CACHE", None)
    lc0, cache0 = len(linecache.cache), (len(cache) if cache is not None else None)
    tracemalloc.start()
    try:
        first = tracemalloc.take_snapshot().filter_traces(_IGNORE)
        for _ in range(calls):
            call()
        gc.collect()
        last = tracemalloc.take_snapshot().filter_traces(_IGNORE)
    finally:
        tracemalloc.stop()
    stats = last.compare_to(first, "lineno")
    grown = sum(s.size_diff for s in stats)
    top = [f"{s.traceback[0].filename}:{s.traceback[0].lineno} {s.size_diff:+d} B"
           for s in stats[:3] if s.size_diff > 0]
    return {"calls": calls, "bytes": grown, "bytes_per_call": grown / calls,
            "linecache_entries": len(linecache.cache) - lc0,
            "code_cache_entries": (len(cache) - cache0) if cache is not None else None,
            "top": top}


def memory(quick=False, log=print, steps=10_000, calls=None, functions=None):
    """Peak of one long-loop gradient; growth over ``calls`` calls (1e5; --quick 1e4) and over
    pb.grad of ``functions`` distinct functions (200; --quick 10) once the code cache is full."""
    w, x0 = 0.7, 0.3
    want = long_loop_hand_math(w, x0, steps)
    df = pb.grad(long_loop, wrt=("w", "x0"), mode="source")
    df_arrays = pb.grad(long_loop, wrt=("w", "x0"), mode="source")
    wa, xa = np.array([w]), np.array([x0])
    v_w, v_x0 = pb.Variable(w), pb.Variable(x0)

    def tape():
        with pb.GradientTape() as t:
            y = long_loop(v_w, v_x0, steps)
        return t.gradient(y, [v_w, v_x0])

    variants = [("pb source, Python floats", lambda: df(w, x0, steps)),
                ("pb source, shape-(1,) arrays", lambda: df_arrays(wa, xa, steps)),
                ("pb tape (Variables)", tape),
                ("hand, math module (list of floats)", lambda: long_loop_hand_math(w, x0, steps))]
    peaks = {}
    for label, call in variants:
        err, why = relative_error([np.ravel(np.asarray(_peers.to_numpy(g))) for g in call()],
                                  [np.ravel(np.asarray(g, dtype=float)) for g in want])
        if not err <= 1e-9:
            log(f"!! MISMATCH memory loop {label}: {why or err}")
        peak = _peak(call)
        peaks[label] = {"peak_bytes": peak, "bytes_per_step": peak / steps,
                        "times_needed": peak / (8 * steps), "mismatch": not err <= 1e-9}
    result = {"steps": steps, "needed_bytes": 8 * steps,
              "needed_note": "one float64 per step (the loop state x_i; sin and cos of it can "
                             "be recomputed): 8 B/step; a list of Python floats, the least "
                             "plain Python can keep, takes 32 B/step",
              "peaks": peaks}

    calls = calls or (10_000 if quick else 100_000)
    poly = _w1()
    df_w1 = pb.grad(poly, wrt=("w1", "w2"), mode="source")
    a1, a2 = np.array([5.0]), np.array([3.0])
    v1, v2 = pb.Variable(5.0), pb.Variable(3.0)

    def tape_w1():
        with pb.GradientTape() as t:
            z = poly(v1, v2)
        return t.gradient(z, [v1, v2])

    growth = {
        "pb.grad source, W1 on floats": _growth(lambda: df_w1(5.0, 3.0), calls),
        "pb.grad source, W1 on shape-(1,) arrays": _growth(lambda: df_w1(a1, a2), calls // 10),
        "pb tape, W1 on Variables": _growth(tape_w1, calls // 10, warm=min(100, calls // 10)),
    }
    result["growth"] = growth
    result["distinct_functions"] = _distinct_functions(functions or (10 if quick else 200),
                                                       small_cache=16 if quick else None)
    return result


def _w1():
    from .workloads import poly
    return poly


def _distinct_functions(tail, small_cache=None):
    """pb.grad on many distinct functions (closures): the code cache must stay bounded.

    tracemalloc runs from the start, through as many functions as the cache holds (so that
    everything it holds afterwards was allocated under tracing), then memory is compared before
    and after ``tail`` more: the entries they evict must free what the new ones take.
    ``small_cache``: lower pullback's cache limit to this for the duration (--quick)."""
    cache = getattr(_pbgrad, "_CACHE", None)
    limit = getattr(_pbgrad, "_CACHE_SIZE", None)
    if small_cache is not None and limit is not None:
        _pbgrad._CACHE_SIZE = small_cache
        try:
            result = _distinct_functions(tail)
        finally:
            _pbgrad._CACHE_SIZE = limit
        result["cache_limit_lowered_from"] = limit
        return result
    fill = limit if limit is not None else 0
    lc0 = len(linecache.cache)
    gc.collect()
    tracemalloc.start()
    try:
        for k in range(fill):
            pb.grad(make_scaled(float(k)))(0.5)
        gc.collect()
        first = tracemalloc.take_snapshot().filter_traces(_IGNORE)
        for k in range(fill, fill + tail):
            pb.grad(make_scaled(float(k)))(0.5)
        gc.collect()
        last = tracemalloc.take_snapshot().filter_traces(_IGNORE)
    finally:
        tracemalloc.stop()
    stats = last.compare_to(first, "lineno")
    grown = sum(s.size_diff for s in stats)
    return {"functions": fill + tail, "cache_limit": limit,
            "code_cache_entries": len(cache) if cache is not None else None,
            "linecache_growth": len(linecache.cache) - lc0,
            "bytes_over_last": grown, "last": tail, "bytes_per_function": grown / tail,
            "cache_full": limit is not None,
            "top": [f"{s.traceback[0].filename}:{s.traceback[0].lineno} {s.size_diff:+d} B"
                    for s in stats[:3] if s.size_diff > 0]}
