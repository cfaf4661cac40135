"""Random programs with loops and branches (issue 5): source mode against the tape and finite
differences.

Hypothesis builds small functions ``f(x, w)`` (``x`` a 3-vector, ``w`` a scalar) as Python source
from a little grammar:

- assignments ``vK = np.tanh(a * b)``, ``vK = np.sin(a) - b`` ... of existing variables (locals,
  the arguments, and loop counters);
- augmented assignments ``vK += 0.5 * np.tanh(a)``, ``-=``, ``*= np.cos(a)`` (in place on arrays);
- ``for i in range(k):`` blocks (k = 0..4, so zero-trip loops too) of 1-3 statements, nested at
  most twice, some with an ``if <cond>: break`` / ``continue`` after their first statement;
- ``if <cond>:`` / ``else:`` blocks whose condition is on data (``np.sum(a * b) > 0.3``).

Every value passes through ``tanh`` / ``sin`` / ``cos`` or is scaled by 0.5, so nothing overflows.
Each program is written to its own module file and imported, so ``inspect.getsource`` works.  A
condition within 1e-3 of its threshold (at any of its evaluations) is rejected with
``hypothesis.assume``: a perturbation of 1e-6 then flips no decision and finite differences stay
valid.  The margins are measured by running an instrumented copy of the program, never the
module ``pb.grad`` sees.
"""

import hashlib
import importlib.util
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

import pullback as pb
from corpus import Case
from test_source_corpus import assert_matches_fd, assert_same_gradient

LOCALS = ("v0", "v1", "v2", "v3")
PRELUDE = ("v0 = np.sin(x)", "v1 = np.cos(x) * w", "v2 = np.tanh(w)", "v3 = 0.5 * x")
MARGIN = 1e-3
SETTINGS = settings(
    max_examples=100, deadline=None, derandomize=True, report_multiple_bugs=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                           HealthCheck.data_too_large])

# --- the grammar ---------------------------------------------------------------------------------
# A program is a list of statements; a statement is a tuple:
#   ("assign", target, form, a, b)      ("aug", target, op, a)
#   ("for", k, body, exit)              exit: None or ("break" | "continue", cond), checked
#                                       after the body's first statement
#   ("if", cond, then_body, else_body)  cond: (a, b, threshold) meaning np.sum(a * b) > threshold
# Operands a, b are variable names; loop counters appear as "i0" / "i1" (scaled when used).

ASSIGN_FORMS = ("np.tanh({a} * {b})", "np.sin({a}) - {b}", "np.tanh({a} + {b})",
                "np.cos({a}) * {b}", "0.5 * ({a} + {b})", "np.tanh({a}) * np.sin({b})")
AUG_FORMS = {"+=": "0.5 * np.tanh({a})", "-=": "0.5 * np.sin({a})", "*=": "np.cos({a})"}
THRESHOLDS = (-0.5, 0.0, 0.3)
RESULT = "np.sum(v0 * v1) + np.sum(np.sin(v2)) + np.sum(v3 ** 2)"


def _operand(name):
    return f"(0.1 * {name})" if name.startswith("i") else name


def _condition(cond):
    a, b, _ = cond
    return f"np.sum({_operand(a)} * {_operand(b)})"


@st.composite
def _cond(draw, names):
    return (draw(st.sampled_from(names)), draw(st.sampled_from(names)),
            draw(st.sampled_from(THRESHOLDS)))


def _block(names, depth, loop_vars, aliases=False, views=False, control=False):
    """A strategy for a list of 1-3 statements (the body of a block)."""
    return st.lists(_statement(names, depth, loop_vars, aliases, views, control), min_size=1,
                    max_size=3)


VIEW_FORMS = ("m[0]", "m[1]", "m[1, ::-1]", "m[0][::-1]", "x[::-1]", "m.T[:, 0]",
              "np.sin(m[0]) * m[1]", "np.sum(np.tanh(m), axis=0)")  # the last two: reads
WRITE_FORMS = ("m[0] = np.tanh({a})", "m[1, 1] = 0.5 * np.sum({a})", "m += 0.5 * np.sin({a})",
               "m[0] *= np.cos({a})", "x[1] = 0.5 * np.sum(np.tanh({a}))")
# Inside loops, indexed by the loop counter {i}: each iteration writes or reads another part.
LOOP_VIEW_FORMS = ("m[{i} % 2]", "np.sin(m[0, {i} % 3]) * m[1]", "m[:, {i} % 3].sum() * x")
LOOP_WRITE_FORMS = ("m[{i} % 2] = np.tanh({a})", "m[1, {i} % 3] += 0.5 * np.sum({a})",
                    "m[0, {i} % 3] *= np.cos(np.sum({a}))", "x[{i} % 3] = np.sin(np.sum({a}))")


def _statement(names, depth, loop_vars, aliases=False, views=False, control=False):
    operands = names + loop_vars
    forms = [
        st.tuples(st.just("assign"), st.sampled_from(LOCALS), st.sampled_from(ASSIGN_FORMS),
                  st.sampled_from(operands), st.sampled_from(operands)),
        st.tuples(st.just("aug"), st.sampled_from(LOCALS), st.sampled_from(sorted(AUG_FORMS)),
                  st.sampled_from(operands))]
    if aliases:  # vK = vJ: two names for one array, which a later vJ += ... changes for both
        forms.append(st.tuples(st.just("alias"), st.sampled_from(LOCALS),
                               st.sampled_from(names)))
        forms.append(st.tuples(st.just("alias"), st.sampled_from(LOCALS),
                               st.sampled_from(LOCALS)).flatmap(
            lambda a: st.tuples(st.just("pair"), st.just(a), st.tuples(
                st.just("aug"), st.just(a[2]), st.sampled_from(sorted(AUG_FORMS)),
                st.sampled_from(operands)))))
    if views:  # vK = m[0]: a view of a row of m, which a later write into m changes too
        forms.append(st.tuples(st.just("view"), st.sampled_from(LOCALS),
                               st.sampled_from(VIEW_FORMS)))
        forms.append(st.tuples(st.just("write"), st.sampled_from(WRITE_FORMS),
                               st.sampled_from(operands)))
        if loop_vars:
            forms.append(st.tuples(st.just("view"), st.sampled_from(LOCALS), st.sampled_from(
                LOOP_VIEW_FORMS).map(lambda form: form.format(i=loop_vars[-1]))))
            forms.append(st.tuples(st.just("write"), st.sampled_from(LOOP_WRITE_FORMS).map(
                lambda form: form.replace("{i}", loop_vars[-1])), st.sampled_from(operands)))
    if control and depth > 0:  # if <cond>: return ... from inside a block
        forms.append(st.tuples(st.just("return"), _cond(operands)))
    simple = st.one_of(*forms)
    if depth >= 2:
        return simple
    counter = f"i{len(loop_vars)}"
    exits = st.one_of(st.none(), st.tuples(st.sampled_from(("break", "continue")),
                                           _cond(operands + [counter])))
    loop = st.tuples(st.just("for"), st.integers(0, 4),
                     st.deferred(lambda: _block(names, depth + 1, loop_vars + [counter],
                                                aliases, views, control)), exits)
    branch = st.tuples(st.just("if"), _cond(operands),
                       st.deferred(lambda: _block(names, depth + 1, loop_vars, aliases, views,
                                                  control)),
                       st.one_of(st.just([]),
                                 st.deferred(lambda: _block(names, depth + 1, loop_vars,
                                                            aliases, views, control))))
    if not control:
        return st.one_of(simple, simple, loop, branch)
    breaks = st.one_of(st.none(), st.tuples(st.just("break"), _cond(operands + [counter])))
    while_loop = st.tuples(st.just("while"), st.integers(0, 4),
                           st.deferred(lambda: _block(names, depth + 1, loop_vars + [counter],
                                                      aliases, views, control)), breaks)
    return st.one_of(simple, simple, loop, branch, while_loop)


programs = st.lists(_statement(list(LOCALS) + ["x", "w"], 0, []), min_size=1, max_size=5)
aliasing_programs = st.lists(_statement(list(LOCALS) + ["x", "w"], 0, [], aliases=True),
                             min_size=2, max_size=6)
control_programs = st.lists(_statement(list(LOCALS) + ["x", "w"], 0, [], control=True),
                            min_size=2, max_size=5)
viewing_programs = st.lists(_statement(list(LOCALS) + ["x", "w"], 0, [], views=True),
                            min_size=2, max_size=6).map(lambda stmts: [("views",)] + stmts)

# --- rendering -----------------------------------------------------------------------------------

def _test(cond, instrumented):
    value, threshold = _condition(cond), cond[2]
    if instrumented:   # the same comparison, with the distance to the threshold recorded
        return f"_record({value}, {threshold}) > {threshold}"
    return f"{value} > {threshold}"


def _render(stmts, indent, loops, instrumented, out):
    pad = "    " * indent
    for s in stmts:
        if s[0] == "assign":
            _, target, form, a, b = s
            out.append(f"{pad}{target} = " + form.format(a=_operand(a), b=_operand(b)))
        elif s[0] == "alias":
            out.append(f"{pad}{s[1]} = {s[2]}")
        elif s[0] == "views":  # the array the view statements index
            out.append(f"{pad}m = np.zeros((2, 3))")
            out.append(f"{pad}m[0] = x")
            out.append(f"{pad}m[1] = np.cos(x) * w")
        elif s[0] == "view":
            out.append(f"{pad}{s[1]} = {s[2]}")
        elif s[0] == "write":
            out.append(f"{pad}" + s[1].format(a=_operand(s[2])))
        elif s[0] == "pair":  # an alias, then a write through the other name
            _render([s[1], s[2]], indent, loops, instrumented, out)
        elif s[0] == "aug":
            _, target, op, a = s
            out.append(f"{pad}{target} {op} " + AUG_FORMS[op].format(a=_operand(a)))
        elif s[0] == "return":
            out.append(f"{pad}if {_test(s[1], instrumented)}:")
            out.append(f"{pad}    return {RESULT}")
        elif s[0] == "while":   # i{n} counts the steps, as a for loop's variable does
            _, k, body, exit_ = s
            out.append(f"{pad}i{loops} = 0")
            out.append(f"{pad}while i{loops} < {k}:")
            _render(body[:1], indent + 1, loops + 1, instrumented, out)
            if exit_ is not None:
                out.append(f"{pad}    if {_test(exit_[1], instrumented)}:")
                out.append(f"{pad}        break")
            _render(body[1:], indent + 1, loops + 1, instrumented, out)
            out.append(f"{pad}    i{loops} += 1")
        elif s[0] == "for":
            _, k, body, exit_ = s
            out.append(f"{pad}for i{loops} in range({k}):")
            _render(body[:1], indent + 1, loops + 1, instrumented, out)
            if exit_ is not None:   # after the first statement: continue skips the rest
                out.append(f"{pad}    if {_test(exit_[1], instrumented)}:")
                out.append(f"{pad}        {exit_[0]}")
            _render(body[1:], indent + 1, loops + 1, instrumented, out)
        else:
            _, cond, then, orelse = s
            out.append(f"{pad}if {_test(cond, instrumented)}:")
            _render(then, indent + 1, loops, instrumented, out)
            if orelse:
                out.append(f"{pad}else:")
                _render(orelse, indent + 1, loops, instrumented, out)


def program_source(stmts, instrumented=False):
    lines = ["def f(x, w):"] + [f"    {p}" for p in PRELUDE]
    _render(stmts, 1, 0, instrumented, lines)
    result = RESULT
    if stmts and stmts[0] == ("views",):
        result += " + np.sum(m * m)"
    lines.append(f"    return {result}")
    return "\n".join(lines) + "\n"


def margins(stmts, x, w):
    """Distances of every evaluated condition to its threshold, from an instrumented copy."""
    recorded = []

    def _record(value, threshold):
        recorded.append(abs(float(value) - threshold))
        return value

    namespace = {"np": np, "_record": _record}
    exec(program_source(stmts, instrumented=True), namespace)
    namespace["f"](x.copy(), w)
    return recorded


@pytest.fixture(scope="module")
def program_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("random_programs")


def load(source, directory):
    """The function ``f`` of ``source``, imported from a module file of its own."""
    name = "random_program_" + hashlib.sha1(source.encode()).hexdigest()[:16]
    if name not in sys.modules:
        path = directory / f"{name}.py"
        path.write_text("import numpy as np\n\n\n" + source)
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name].f


vectors = st.lists(st.floats(-1.5, 1.5, allow_nan=False), min_size=3, max_size=3).map(np.array)
scalars = st.floats(-1.5, 1.5, allow_nan=False)


def _prepare(stmts, x, w, directory):
    source = program_source(stmts)
    note(source)
    note(f"x = {x!r}, w = {w!r}")
    assume(all(m > MARGIN for m in margins(stmts, x, w)))
    f = load(source, directory)
    return Case(f, (x, w), wrt=(0, 1), name="random_program")


# --- the tests -----------------------------------------------------------------------------------

def test_generated_programs_compile_and_loops_and_branches_occur():
    """The grammar really produces loops, branches, breaks and in-place updates."""
    seen = set()

    @given(programs)
    @settings(max_examples=200, deadline=None, derandomize=True)
    def collect(stmts):
        source = program_source(stmts)
        compile(source, "<random program>", "exec")
        seen.update(word for word in ("for ", "if ", "else:", "break", "continue", "+=", "-=",
                                      "*=") if word in source)

    collect()
    assert seen == {"for ", "if ", "else:", "break", "continue", "+=", "-=", "*="}


@SETTINGS
@given(stmts=programs, x=vectors, w=scalars)
def test_random_program_tape_matches_finite_differences(program_dir, stmts, x, w):
    """The references are sound: the tape agrees with finite differences on these programs."""
    case = _prepare(stmts, x, w, program_dir)
    df = pb.grad(case.fn, wrt=(0, 1), mode="tape")
    assert_matches_fd(case, df(x.copy(), w))


@SETTINGS
@given(stmts=programs, x=vectors, w=scalars)
def test_random_program_source_matches_tape_and_finite_differences(program_dir, stmts, x, w):
    case = _prepare(stmts, x, w, program_dir)
    df = pb.grad(case.fn, wrt=(0, 1), mode="source")
    x_before = x.copy()
    grads = df(x, w)
    assert df.mode == "source", df.fallback_reason
    np.testing.assert_array_equal(x, x_before, err_msg="the gradient function modified x")
    tape_grads = pb.grad(case.fn, wrt=(0, 1), mode="tape")(x.copy(), w)
    assert_same_gradient(case, grads, tape_grads, 1e-9, 1e-12, "source vs tape")
    assert_matches_fd(case, grads)


@settings(SETTINGS, max_examples=80)
@given(stmts=control_programs, x=vectors, w=scalars)
def test_random_program_with_while_loops_and_early_returns_matches_tape_and_fd(
        program_dir, stmts, x, w):
    """``while`` loops (with ``break``) and ``return`` from inside branches and loops."""
    case = _prepare(stmts, x, w, program_dir)
    df = pb.grad(case.fn, wrt=(0, 1), mode="source")
    grads = df(x.copy(), w)
    tape_grads = pb.grad(case.fn, wrt=(0, 1), mode="tape")(x.copy(), w)
    assert_same_gradient(case, grads, tape_grads, 1e-9, 1e-12, "source vs tape")
    assert_matches_fd(case, grads)


def test_control_programs_have_while_loops_breaks_and_early_returns():
    seen = set()

    @given(control_programs)
    @settings(max_examples=200, deadline=None, derandomize=True)
    def collect(stmts):
        source = program_source(stmts)
        compile(source, "<random program>", "exec")
        seen.update(w for w in ("while ", "break", "        return ") if w in source)

    collect()
    assert seen == {"while ", "break", "        return "}


# Large arrays take the tape's other paths: records keep stand-ins for values read only for
# their shape, and the backward pass writes into arrays nothing else holds (from 64 elements).
large_vectors = vectors.map(lambda v: np.tile(v, 100) * np.linspace(0.5, 1.0, 300))


@settings(SETTINGS, max_examples=60)
@given(stmts=programs, x=large_vectors, w=scalars)
def test_random_program_on_large_arrays_tape_matches_source_and_finite_differences(
        program_dir, stmts, x, w):
    case = _prepare(stmts, x, w, program_dir)
    x_before = x.copy()
    tape_grads = pb.grad(case.fn, wrt=(0, 1), mode="tape")(x, w)
    np.testing.assert_array_equal(x, x_before, err_msg="the tape's gradient modified x")
    grads = pb.grad(case.fn, wrt=(0, 1), mode="source")(x.copy(), w)
    assert_same_gradient(case, tape_grads, grads, 1e-9, 1e-12, "tape vs source")
    assert_matches_fd(case, tape_grads)


# Two names for one array: NumPy's vK += ... changes it for both.  The source engine follows
# names, so it refuses such a write (auto falls back and says why); pb.grad's tape writes into
# the Tensor both names hold.  Both must agree with finite differences of the NumPy function.
@settings(SETTINGS, max_examples=80)
@given(stmts=aliasing_programs, x=vectors, w=scalars)
def test_random_program_with_aliases_matches_finite_differences_on_both_engines(
        program_dir, stmts, x, w):
    case = _prepare(stmts, x, w, program_dir)
    tape_grads = pb.grad(case.fn, wrt=(0, 1), mode="tape")(x.copy(), w)
    assert_matches_fd(case, tape_grads)
    df = pb.grad(case.fn, wrt=(0, 1))
    grads = df(x.copy(), w)
    if df.mode == "tape":
        assert "hold the same array" in df.fallback_reason, df.fallback_reason
    assert_same_gradient(case, grads, tape_grads, 1e-9, 1e-12, "auto vs tape")


def test_aliasing_programs_make_writes_through_two_names():
    """The aliasing grammar really writes in place into an array another name holds."""
    seen = []

    @given(aliasing_programs)
    @settings(max_examples=300, deadline=None, derandomize=True)
    def collect(stmts):
        seen.extend(s for s in stmts if s[0] == "pair" and s[1][1] != s[1][2])

    collect()
    assert len(seen) >= 30


# Views and writes: vK = m[0] (a row of m), then m[0] = ..., m += ...: NumPy shows the write
# through the view.  The source engine refuses a write while a view may still be read; the
# tape refuses to read a view whose array was written.  Whatever each engine returns must be
# the gradient, and a refusal must say it is about a view.
VIEW_REFUSALS = ("may be a view of it", "the loop runs over it", "may be a view of another array",
                 "that array was written after the view was taken")


@settings(SETTINGS, max_examples=80)
@given(stmts=viewing_programs, x=vectors, w=scalars)
def test_random_program_with_views_is_differentiated_right_or_refused(program_dir, stmts, x, w):
    case = _prepare(stmts, x, w, program_dir)
    results = {}
    for mode in ("source", "tape", "auto"):
        try:
            results[mode] = pb.grad(case.fn, wrt=(0, 1), mode=mode)(x.copy(), w)
        except (TypeError, pb.TransformError) as err:
            assert any(r in str(err) for r in VIEW_REFUSALS), (mode, str(err))
            continue
        assert_matches_fd(case, results[mode])
    if "source" in results:
        assert "auto" in results
        assert_same_gradient(case, results["auto"], results["source"], 1e-9, 1e-12,
                             "auto vs source")


def test_viewing_programs_are_often_accepted_and_sometimes_refused(program_dir):
    """The view grammar exercises both sides: writes the source engine follows with a view
    taken, and writes it refuses because a view may be read after them."""
    counts = {"accepted": 0, "refused": 0}

    @given(viewing_programs)
    @settings(max_examples=200, deadline=None, derandomize=True)
    def collect(stmts):
        source = program_source(stmts)
        if " = m[" not in source or "    m" not in source.split("np.cos(x) * w", 1)[1]:
            return   # a view of m, and a write into m after the prelude
        f = load(source, program_dir)
        try:
            pb.grad(f, wrt=(0, 1), mode="source")(np.array([0.3, -0.2, 0.5]), 0.7)
            counts["accepted"] += 1
        except pb.TransformError as err:
            assert any(r in str(err) for r in VIEW_REFUSALS), str(err)
            counts["refused"] += 1

    collect()
    assert counts["accepted"] >= 5 and counts["refused"] >= 20, counts
