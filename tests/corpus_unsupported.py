"""Functions the source engine cannot transform (issue 4, item 4), with arguments.

In ``mode="source"`` each must raise ``pb.TransformError`` at the line marked ``# <-- unsupported``
(in the function itself or in the user helper it calls); in ``mode="auto"`` each must fall back
to the tape and say why.  Every one runs as plain Python and on the runtime tape, so the
fallback's gradient can be checked.  ``if`` / ``for`` / ``while`` statements are deliberately
absent: a later issue adds them to the engine.
"""

import contextlib
from dataclasses import dataclass

import numpy as np

import pullback as pb

MARKER = "# <-- unsupported"


@dataclass
class Unsupported:
    """``fn(*args)`` differentiated w.r.t. its first argument hits ``construct``.

    ``anchors``: the text the error's column may point at (the construct's first token).
    ``site``: the function whose source holds the marker line, when it is not ``fn`` itself.
    """

    fn: object
    args: tuple
    construct: str
    anchors: tuple
    site: object = None

    @property
    def id(self):
        return self.fn.__name__


UNSUPPORTED = []


def _x(n=3):
    return np.random.default_rng(7).uniform(0.5, 2.0, n)


def try_except(x):
    try:  # <-- unsupported
        y = np.log(x)
    except FloatingPointError:
        y = x
    return np.sum(y)


UNSUPPORTED.append(Unsupported(try_except, (_x(),), "try statement", ("try",)))


def with_block(x):
    with contextlib.nullcontext():  # <-- unsupported
        y = np.sin(x)
    return np.sum(y * x)


UNSUPPORTED.append(Unsupported(with_block, (_x(),), "with statement", ("with",)))


def del_statement(x):
    tmp = x * 2.0
    y = np.exp(tmp)
    del tmp  # <-- unsupported
    return np.sum(y)


UNSUPPORTED.append(Unsupported(del_statement, (_x(),), "del statement", ("del",)))


_CALLS = 0


def global_counter(x):
    global _CALLS  # <-- unsupported
    _CALLS += 1
    return np.sum(x ** 2)


UNSUPPORTED.append(Unsupported(global_counter, (_x(),), "global statement", ("global",)))


def class_inside(x):
    class Config:  # <-- unsupported
        scale = 2.0
    return np.sum(Config.scale * x ** 2)


UNSUPPORTED.append(Unsupported(class_inside, (_x(),), "class definition", ("class",)))


def star_args_call(x):
    parts = (x, x ** 2)
    return np.sum(np.add(*parts))  # <-- unsupported


UNSUPPORTED.append(Unsupported(star_args_call, (_x(),), "starred call argument",
                               ("np.add(", "*parts")))


def nested_comprehension(x):
    return sum([sum([v * w for w in x]) for v in x])  # <-- unsupported


UNSUPPORTED.append(Unsupported(nested_comprehension, (_x(),), "nested list comprehension",
                               ("[v * w",)))


def generator_expression(x):
    return max(v * np.sin(v) for v in x)  # <-- unsupported


UNSUPPORTED.append(Unsupported(generator_expression, (_x(),), "generator expression",
                               ("(v", "v * np")))


def _guarded_log(v):
    try:  # <-- unsupported
        out = np.log(v)
    except FloatingPointError:
        out = v
    return out


def calls_unsupported_helper(x):
    return np.sum(_guarded_log(x) * 2.0)


UNSUPPORTED.append(Unsupported(calls_unsupported_helper, (_x(),), "try statement in a helper",
                               ("try",), site=_guarded_log))


# --- writes the generated code cannot follow (src/pullback/_source/_writes.py) -----------------
# Each would have given a wrong gradient without a word: the backward pass reads np.sin(v) from
# v after the write.  The mutated arrays are the function's own, so the arguments stay as given.

def _c(n=3):
    return np.random.default_rng(8).uniform(-1.0, 1.0, n)


def write_through_out(x, c):
    v = c.copy()
    a = np.sin(v) * x
    np.exp(c, out=v)  # <-- unsupported
    return np.sum(a * np.cos(x))


UNSUPPORTED.append(Unsupported(write_through_out, (_x(), _c()), "write through out=",
                               ("np.exp(",)))


def copyto_into_array(x, c):
    v = c.copy()
    a = np.sin(v) * x
    np.copyto(v, c * 2.0)  # <-- unsupported
    return np.sum(a * np.cos(x))


UNSUPPORTED.append(Unsupported(copyto_into_array, (_x(), _c()), "np.copyto",
                               ("np.copyto(",)))


def ufunc_at_write(x, c):
    v = c.copy()
    a = np.sin(v) * x
    np.add.at(v, [0, 1], 1.0)  # <-- unsupported
    return np.sum(a * np.cos(x))


UNSUPPORTED.append(Unsupported(ufunc_at_write, (_x(), _c()), "np.add.at", ("np.add.at(",)))


def fill_method(x, c):
    v = c.copy()
    a = np.sin(v) * x
    v.fill(2.0)  # <-- unsupported
    return np.sum(a * np.cos(x))


UNSUPPORTED.append(Unsupported(fill_method, (_x(), _c()), "ndarray.fill", ("v.fill(",)))


def sort_method(x, c):
    v = c.copy()
    a = np.sin(v) * x
    v.sort()  # <-- unsupported
    return np.sum(a * np.cos(x))


UNSUPPORTED.append(Unsupported(sort_method, (_x(), _c()), "ndarray.sort", ("v.sort(",)))


def write_into_a_view(x, c):
    v = c.copy()
    head = v[:2]
    a = np.sin(v) * x
    head[:] = 0.0  # <-- unsupported
    return np.sum(a * np.cos(x))


UNSUPPORTED.append(Unsupported(write_into_a_view, (_x(), _c()), "write into a view",
                               ("head[:]",)))


def augmented_view_of_a_buffer(x, c):
    v = c.copy()
    tail = v.reshape(-1)[1:]
    a = np.sin(v) * x
    tail *= 3.0  # <-- unsupported
    return np.sum(a * np.cos(x))


UNSUPPORTED.append(Unsupported(augmented_view_of_a_buffer, (_x(), _c()), "+= on a view",
                               ("tail *=",)))


def insert_differentiated(x):
    outs = []
    for i in range(3):
        outs.append(np.sin(x) * i)
        outs.insert(0, x * i)  # <-- unsupported
    return np.sum(np.stack(outs) ** 2)


UNSUPPORTED.append(Unsupported(insert_differentiated, (_x(),), "list.insert of a gradient",
                               ("outs.insert(",)))


def write_into_a_dict(x):
    d = {}
    d["a"] = np.sin(x)  # <-- unsupported
    return np.sum(d["a"] ** 2)


UNSUPPORTED.append(Unsupported(write_into_a_dict, (_x(),), "write into a dict", ('d["a"]',)))


def builtin_max_of_an_array(x):
    return max(x) * 2.0  # <-- unsupported


UNSUPPORTED.append(Unsupported(builtin_max_of_an_array, (_x(),), "max() of one iterable",
                               ("max(",)))


def _product_of_all(*factors):
    out = factors[0]
    for f in factors[1:]:
        out = out * f
    return out


def calls_a_function_of_starred_arguments(x):
    return np.sum(_product_of_all(x, x, 2.0))  # <-- unsupported


UNSUPPORTED.append(Unsupported(calls_a_function_of_starred_arguments, (_x(),),
                               "a helper taking *args", ("_product_of_all(",)))



def list_display_of_differentiated_values(x):
    rows = [x * 2.0, x]  # <-- unsupported
    return np.sum(np.stack(rows))


UNSUPPORTED.append(Unsupported(list_display_of_differentiated_values, (_x(),),
                               "a list display holding differentiated values", ("[x",)))


def calls_a_reassigned_argument(x, f=np.sin):
    f = f if x.shape[0] > 1 else np.cos
    return np.sum(f(x))  # <-- unsupported


UNSUPPORTED.append(Unsupported(calls_a_reassigned_argument, (_x(),),
                               "a call of an argument the function reassigns", ("f(x)",)))


@pb.custom_gradient
def _clipped_sine(x):
    return np.sin(x), lambda g: g * np.cos(x)


def calls_a_custom_gradient(x):
    return np.sum(_clipped_sine(x) ** 2)  # <-- unsupported


UNSUPPORTED.append(Unsupported(calls_a_custom_gradient, (_x(),), "a custom gradient",
                               ("_clipped_sine(",)))
