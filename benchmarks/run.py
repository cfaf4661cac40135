"""The benchmark's command line: run the sections, print a Markdown report, write JSON / a plot.

    python -m benchmarks                       # everything, full sizes (a few minutes)
    python -m benchmarks --quick --sizes tiny  # seconds: what the test runs
    python -m benchmarks --only W3,W5 --sections workloads
    python -m benchmarks --plot docs/performance.png --json benchmarks/results.json \\
        --doc docs/performance.md              # regenerate the published figures

The exit status is 1 when any column's gradient disagrees with the hand-written one (or a
column raised), else 0.
"""

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import textwrap
import time

if __package__ in (None, ""):          # python benchmarks/run.py
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    __package__ = "benchmarks"        # noqa: A001

import numpy as np

import pullback as pb

from . import extras
from . import peers as _peers
from .harness import COLUMNS, REFERENCE, build_columns, check_columns, time_columns
from .workloads import SIZES, by_name

SECTIONS = ("workloads", "tape", "codegen", "memory")
BEGIN, END = "<!-- benchmark results: begin -->", "<!-- benchmark results: end -->"


def _log(*parts):
    print(*parts, file=sys.stderr, flush=True)


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="few, short batches (for CI and the test); figures are rough")
    p.add_argument("--sizes", choices=SIZES, default="full",
                   help="workload sizes: 'full' as issue 7 states them, 'tiny' for the test")
    p.add_argument("--only", default="", metavar="W3,W5", help="run only these workloads")
    p.add_argument("--sections", default=",".join(SECTIONS), metavar=",".join(SECTIONS),
                   help="which sections to run (default: all)")
    p.add_argument("--peers", default=",".join(_peers.PEERS), metavar="autograd,jax,...",
                   help="peers to try when installed ('none' for none; default: all)")
    p.add_argument("--seed", type=int, default=0, help="seed of np.random.default_rng")
    p.add_argument("--plot", metavar="PATH", help="write a PNG bar chart of the ratios to hand "
                                                  "(needs matplotlib)")
    p.add_argument("--json", metavar="PATH", help="write the results as JSON")
    p.add_argument("--doc", metavar="PATH", help="replace the results between the markers "
                                                 f"{BEGIN!r} and {END!r} in this Markdown file")
    args = p.parse_args(argv)
    args.only = [w.strip() for w in args.only.split(",") if w.strip()]
    args.sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = [s for s in args.sections if s not in SECTIONS]
    if unknown:
        p.error(f"unknown section(s) {', '.join(unknown)}; known: {', '.join(SECTIONS)}")
    args.peers = () if args.peers.strip() == "none" else tuple(
        x.strip() for x in args.peers.split(",") if x.strip())
    unknown = [x for x in args.peers if x not in _peers.PEERS]
    if unknown:
        p.error(f"unknown peer(s) {', '.join(unknown)}; known: {', '.join(_peers.PEERS)}")
    try:
        by_name(args.only)
    except ValueError as err:
        p.error(str(err))
    return args


# === running ==================================================================================

def run_workloads(names, sizes, quick, seed, peers, log=_log):
    """Check and time every column of every workload; returns their JSON-ready results."""
    out = []
    for workload in by_name(names):
        log(f"{workload.name}: {workload.title} ({sizes} sizes)")
        inputs = workload.make_inputs(sizes, seed)
        columns = build_columns(workload, inputs, peers)
        failed = check_columns(workload, columns, log=lambda m: print(m, flush=True))
        time_columns(columns, target=0.004 if quick else 0.03, rounds=3 if quick else 15,
                     budget=1.0 if quick else 30.0, warmup=0.005 if quick else 0.05,
                     log=log if not quick else None)
        entry = {"name": workload.name, "title": workload.title, "failed": failed,
                 "columns": {}}
        for c in columns:
            entry["columns"][c.name] = {
                "status": c.status, "note": c.note, "mode": c.mode, "rel_error": c.error,
                "us": c.seconds * 1e6 if c.samples else None,
                "best_us": min(c.samples) * 1e6 if c.samples else None,
                "ratio_to_hand": c.ratio(REFERENCE),
                "ratio_to_hand_math": c.ratio("hand math"),
                "ratio_to_pb_source": c.ratio("pb source"),
                "calls_per_batch": c.repeat, "batches": len(c.samples),
            }
        out.append(entry)
    return out


def _git_commit():
    try:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root,
                                capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return commit + (" (src/ modified)" if dirty else "") if commit else None
    except (OSError, subprocess.SubprocessError):
        return None


def meta(args):
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(["python -m benchmarks", *getattr(args, "argv", [])]),
        "quick": args.quick, "sizes": args.sizes, "seed": args.seed,
        "python": platform.python_version(), "numpy": np.__version__,
        "pullback": getattr(pb, "__version__", "?"), "commit": _git_commit(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores",
        "processor": platform.processor() or None,
        "peers": {p: _peers.version(p) for p in args.peers},
    }


def run(args, log=_log):
    results = {"meta": meta(args)}
    started = time.perf_counter()
    if "workloads" in args.sections:
        results["workloads"] = run_workloads(args.only, args.sizes, args.quick, args.seed,
                                             args.peers, log)
    if "tape" in args.sections:
        log("tape per-op overhead")
        results["tape_overhead"] = extras.tape_overhead(steps=100 if args.quick else 1000,
                                                        quick=args.quick, peers=args.peers)
    if "codegen" in args.sections:
        log("code generation time")
        results["codegen"] = extras.codegen(quick=args.quick)
    if "memory" in args.sections:
        log("memory")
        results["memory"] = extras.memory(quick=args.quick)
    results["targets"] = targets(results)
    results["meta"]["seconds"] = round(time.perf_counter() - started, 1)
    return results


# === the targets of issue 7 ===================================================================

def _col(results, workload, column):
    for w in results.get("workloads", []):
        if w["name"] == workload:
            return w["columns"].get(column)
    return None


def targets(results):
    """Each target of issue 7 that this run measured: what, the figure, met or not."""
    rows = []

    def add(what, measured, met):
        rows.append({"target": what, "measured": measured, "met": met})

    def ratio_target(workload, column, limit, reference="hand"):
        c = _col(results, workload, column)
        if c is None:
            return
        key = "ratio_to_hand" if reference == "hand" else "ratio_to_hand_math"
        what = f"{workload} {column} ≤ {limit:g}× {reference}"
        if c["status"] != "ok" or c[key] is None:
            add(what, c["status"], False)
        else:
            add(what, f"{c[key]:.2f}×", c[key] <= limit)

    c = _col(results, "W1", "pb source")
    if c is not None:
        ok = c["status"] == "ok"
        add("W1 pb source < 1 µs per call", f"{c['us']:.2f} µs" if ok else c["status"],
            ok and c["us"] < 1.0)
    ratio_target("W2", "pb source", 1.05, "hand math")
    for w in ("W3", "W4", "W6"):
        ratio_target(w, "pb source", 1.05)
    ratio_target("W5", "pb source", 1.0)
    served = []
    for w in results.get("workloads", []):
        auto, source = w["columns"]["pb auto"], w["columns"]["pb source"]
        served.append(f"{w['name']}:{auto['mode'] or auto['status']}")
        if auto["status"] == "ok" and source["status"] == "ok":
            rel = auto["ratio_to_pb_source"]
            add(f"{w['name']} pb auto at pb source's speed (≤ 1.05×)", f"{rel:.2f}×",
                rel <= 1.05)
    if served:
        add("pb auto served by generated code (df.mode == 'source')", ", ".join(served),
            all(s.endswith(":source") for s in served))
    t = results.get("tape_overhead", {}).get("entries", {}).get("pullback tape")
    if t and t["status"] == "ok":
        add("tape < 2 µs per recorded op", f"{t['us_per_op']:.2f} µs", t["us_per_op"] < 2.0)
    for w in ("W3", "W4", "W6"):
        ratio_target(w, "pb tape", 1.3)
    ratio_target("W5", "pb tape", 1.1)
    cg = results.get("codegen")
    if cg and cg.get("thirty_lines"):
        t = cg["thirty_lines"]
        add("code generation for a 30-line function < 10 ms",
            f"{t['ms']:.0f} ms ({t['lines']} lines)", t["ms"] < 10.0)
    return rows


# === the report ===============================================================================

def _us(us):
    if us is None:
        return "?"
    if us < 10:
        return f"{us:.2f}"
    if us < 100:
        return f"{us:.1f}"
    return f"{us:,.0f}"


def _cell(c, name):
    if c["status"] == "-":
        return "—"
    if c["status"] != "ok":
        return c["status"]
    text = f"{_us(c['us'])} µs"
    if name != REFERENCE and c["ratio_to_hand"] is not None:
        text += f" ×{c['ratio_to_hand']:.2f}"
    if c.get("mode") and c["mode"] != "source":
        text += f" [{c['mode']}]"
    return text


def workloads_table(workloads):
    present = [n for n in COLUMNS if any(w["columns"][n]["status"] != "-" for w in workloads)]
    lines = ["| workload | " + " | ".join(present) + " |",
             "|---|" + "---:|" * len(present)]
    for w in workloads:
        cells = [_cell(w["columns"][n], n) for n in present]
        lines.append(f"| {w['name']} {w['title']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def report(results):
    m = results["meta"]
    out = [f"Run of {m['date']}: {m['machine']}, Python {m['python']}, NumPy {m['numpy']}, "
           f"pullback {m['pullback']}" + (f" at {m['commit']}" if m["commit"] else "") +
           (", --quick" if m["quick"] else "") + f", {m['sizes']} sizes, seed {m['seed']}.",
           ""]
    if m["quick"] or m["sizes"] != "full":
        out += ["Rough figures (--quick or tiny sizes): the targets are for a full run.", ""]
    if m["peers"]:
        peers = ", ".join(f"{p} {v}" if v else f"{p} n/a" for p, v in m["peers"].items())
        out += [f"Peers: {peers}.", ""]
    workloads = results.get("workloads")
    if workloads:
        out += ["### Gradient time per call (median) and ratio to the hand-written NumPy "
                "gradient", "", workloads_table(workloads), ""]
        for w in workloads:
            if w["name"] == "W2":
                vs = [f"{n} ×{c['ratio_to_hand_math']:.2f}" for n, c in w["columns"].items()
                      if c["status"] == "ok" and c["ratio_to_hand_math"] is not None
                      and n != "hand math"]
                out += ["W2 against the `math`-module hand gradient: " + ", ".join(vs) + ".",
                        ""]
        bad = [(w["name"], n, c["note"]) for w in workloads for n, c in w["columns"].items()
               if c["status"] in ("MISMATCH", "error")]
        for wname, n, note in bad:
            out.append(f"**{wname} {n}: {note}**")
        if bad:
            out.append("")
        falls = [(w["name"], c["note"]) for w in workloads
                 for n, c in w["columns"].items() if n == "pb auto" and c.get("mode") == "tape"]
        for wname, note in falls:
            out.append(f"{wname} pb auto: {note}")
        if falls:
            out.append("")
    t = results.get("tape_overhead")
    if t:
        out += [f"### Tape overhead per recorded op ({t['ops']} ops: {t['steps']} × "
                "`y = np.sin(y) * 1.01 + y` on a 1-element array, gradient taken)", "",
                "| tape | per call | baseline per call | overhead per op |", "|---|---:|---:|---:|"]
        for label, e in t["entries"].items():
            if e["status"] == "ok":
                out.append(f"| {label} | {_us(e['us_per_call'])} µs | {_us(e['base_us_per_call'])}"
                           f" µs ({e['base']}) | **{e['us_per_op']:.2f} µs** |")
            else:
                out.append(f"| {label} | {e['status']} | | |")
        out.append("")
    cg = results.get("codegen")
    if cg and cg.get("functions"):
        worst, big = cg["worst"], cg["largest"]
        how = ("--quick: every 10th, timed once" if cg["sampled"] else
               f"each the median of {cg['repeats']} runs after a first one")
        out += ["### Code generation", "",
                f"- {cg['functions']} corpus functions (tests/corpus.py, "
                f"tests/corpus_control.py; {how}): median **{cg['median_ms']:.1f} ms**, 90th "
                f"percentile {cg['p90_ms']:.1f} ms, worst **{worst['ms']:.1f} ms** "
                f"(`{worst['name']}`, {worst['lines']} lines).",
                f"- Largest function: `{big['name']}`, {big['lines']} lines, {big['ms']:.1f} ms."
                + (f" Functions of 30 lines or more: {cg['thirty_lines_or_more']}, worst "
                   f"{cg['thirty_lines_worst_ms']:.1f} ms." if cg["thirty_lines_or_more"]
                   else "")]
        if cg["refused"]:
            out.append(f"- Refused by the source engine (not timed): {len(cg['refused'])} "
                       f"({', '.join(name for name, _ in cg['refused'])}).")
        t = cg["thirty_lines"]
        out.append(f"- A 30-line function (`{t['name']}`, {t['lines']} lines, loop and "
                   f"branches): **{t['ms']:.0f} ms** (first call {t['first_ms']:.0f} ms).")
        for wname, c in cg["cached_call"].items():
            out.append(f"- {wname} ({c['sizes']} sizes): first `pb.grad` call (generates) "
                       f"{c['first_call_ms']:.1f} ms; cached call {_us(c['cached_us'])} µs "
                       "against "
                       f"{_us(c['direct_us'])} µs for the generated function called directly: "
                       f"{c['overhead_us']:+.2f} µs of dispatch per call.")
        out.append("")
    mem = results.get("memory")
    if mem:
        out += [f"### Memory: one gradient of a {mem['steps']:,}-step scalar loop "
                "(`x = np.sin(x) * w + 0.1`)", "",
                f"Needed by the backward pass: {mem['needed_bytes']:,} B — "
                f"{mem['needed_note']}.", "",
                "| gradient | peak | per step | × needed |", "|---|---:|---:|---:|"]
        for label, p in mem["peaks"].items():
            out.append(f"| {label}{' (MISMATCH)' if p['mismatch'] else ''} | "
                       f"{p['peak_bytes']:,} B | {p['bytes_per_step']:.0f} B | "
                       f"{p['times_needed']:.1f} |")
        out += ["", "Growth over many calls (tracemalloc, after warm-up; linecache and the "
                "code cache counted in entries):", "",
                "| calls | of | memory growth | per call | linecache | code cache |",
                "|---:|---|---:|---:|---:|---:|"]
        for label, g in mem["growth"].items():
            out.append(f"| {g['calls']:,} | {label} | {g['bytes']:+,} B | "
                       f"{g['bytes_per_call']:+.3f} B | {g['linecache_entries']:+d} | "
                       f"{g['code_cache_entries']:+d} |"
                       if g["code_cache_entries"] is not None else
                       f"| {g['calls']:,} | {label} | {g['bytes']:+,} B | "
                       f"{g['bytes_per_call']:+.3f} B | {g['linecache_entries']:+d} | ? |")
        d = mem["distinct_functions"]
        out += ["", f"pb.grad of {d['functions']} distinct functions (closures), the code cache "
                f"filled first: code cache {d['code_cache_entries']} entries (limit "
                f"{d['cache_limit']}"
                + (f", lowered from {d['cache_limit_lowered_from']} by --quick"
                   if d.get("cache_limit_lowered_from") else "")
                + f"), linecache {d['linecache_growth']:+d} entries, "
                f"{d['bytes_per_function']:+,.0f} B per function over the last {d['last']} "
                "(each evicts one: ~0 when bounded)."
                + (f" Largest growth: {'; '.join(d['top'])}." if d["top"] and
                   d["bytes_per_function"] > 500 else ""), ""]
    rows = results.get("targets")
    if rows:
        out += ["### Targets of issue 7", "", "| target | measured | met |", "|---|---|---|"]
        for r in rows:
            met = "yes" if r["met"] else ("**no**" if r["met"] is False else "—")
            out.append(f"| {r['target']} | {r['measured']} | {met} |")
        out.append("")
    return "\n".join(out)


def plot(results, path):
    """A bar chart of each column's ratio to the hand gradient, per workload (log scale)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed: plot skipped (pip install -e '.[bench]')"
    workloads = results.get("workloads") or []
    names = [n for n in COLUMNS if n != REFERENCE and any(
        w["columns"][n]["status"] == "ok" for w in workloads)]
    if not names:
        return "nothing to plot"
    fig, ax = plt.subplots(figsize=(max(8, 1.6 * len(workloads) + 0.4 * len(names)), 4.8))
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        xs, ys = [], []
        for j, w in enumerate(workloads):
            c = w["columns"][name]
            if c["status"] == "ok" and c["ratio_to_hand"] is not None:
                xs.append(j - 0.4 + width * (i + 0.5))
                ys.append(c["ratio_to_hand"])
        bars = ax.bar(xs, ys, width, label=name)
        for bar, y in zip(bars, ys):
            ax.annotate(f"{y:.2f}×" if y < 10 else f"{y:.0f}×", (bar.get_x() + bar.get_width() / 2, y), ha="center",
                        va="bottom", fontsize=6, xytext=(0, 1), textcoords="offset points")
    ax.axhline(1.0, color="black", linewidth=0.8, linestyle="--")
    ax.set_yscale("log")
    ax.set_xticks(range(len(workloads)))
    ax.set_xticklabels([w["name"] + "\n" + textwrap.fill(w["title"], 20) for w in workloads],
                       fontsize=7)
    ax.set_ylabel("time / hand-written NumPy gradient (log)")
    m = results["meta"]
    ax.set_title(f"pullback benchmarks, {m['date']}, {m['machine']}", fontsize=9)
    ax.legend(fontsize=7, ncol=2)
    ax.grid(axis="y", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return f"plot written to {path}"


def update_doc(path, text):
    with open(path, encoding="utf-8") as f:
        page = f.read()
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    if not pattern.search(page):
        return f"{path} has no {BEGIN} ... {END} markers: not updated"
    page = pattern.sub(lambda _: f"{BEGIN}\n\n{text.strip()}\n\n{END}", page)
    with open(path, "w", encoding="utf-8") as f:
        f.write(page)
    return f"results written into {path}"


def main(argv=None):
    args = parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    results = run(args)
    text = report(results)
    print()
    print(text)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1, default=str)
        print(f"results written to {args.json}")
    if args.plot:
        print(plot(results, args.plot))
    if args.doc:
        print(update_doc(args.doc, text))
    failed = sum(w["failed"] for w in results.get("workloads", []))
    failed += sum(e["status"] in ("MISMATCH", "error") for e in
                  results.get("tape_overhead", {}).get("entries", {}).values())
    failed += sum(p["mismatch"] for p in results.get("memory", {}).get("peaks", {}).values())
    if failed:
        print(f"!! {failed} column(s) disagree with the hand-written gradient or raised")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
