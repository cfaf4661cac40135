"""``python -m pullback demo``: the seed tutorials' examples on the GradientTape, with results."""

import numpy as np

from . import _tfnames as tf_names
from ._custom import custom_gradient, stop_gradient
from ._tape import GradientTape
from ._tensor import Variable, constant
from . import math as pb_math, nn as pb_nn

__all__ = ["run"]


def _f(w1, w2):
    return 3 * w1 ** 2 + 2 * w1 * w2


def _show(title, code, result):
    print(f"\n== {title}")
    for line in code.strip().splitlines():
        print(f"   {line}")
    print(f"-> {result}")


def _fmt(grads):
    if isinstance(grads, (list, tuple)):
        return "[" + ", ".join(_fmt(g) for g in grads) + "]"
    if grads is None:
        return "None"
    value = grads.numpy()
    if np.ndim(value) == 0:
        return repr(float(value))
    return np.array2string(np.asarray(value), separator=", ").replace("\n", "")


def _variables():
    w1, w2 = Variable(5.0), Variable(3.0)
    with GradientTape() as tape:
        z = _f(w1, w2)
    return tape.gradient(z, [w1, w2])


def _stopped():
    w1, w2 = Variable(5.0), Variable(3.0)
    with GradientTape() as tape:
        z = 3 * w1 ** 2 + stop_gradient(2 * w1 * w2)
    return tape.gradient(z, [w1, w2])


@custom_gradient
def _better_softplus(z):
    exp = tf_names.exp(z)
    return pb_math.log(exp + 1), lambda grad: grad / (1 + 1 / exp)


def _softplus():
    x = Variable(100.0, dtype=np.float32)
    with GradientTape(persistent=True) as tape, np.errstate(over="ignore", invalid="ignore"):
        naive = pb_math.log(tf_names.exp(x) + 1.0)
        better = _better_softplus(x)
    with np.errstate(invalid="ignore"):
        return [tape.gradient(naive, x), tape.gradient(better, x)]


def _persistent():
    x = constant(3.0)
    with GradientTape(persistent=True) as t:
        t.watch(x)
        y = x * x
        z = y * y
    return [t.gradient(z, x), t.gradient(y, x)]


def _loop():
    def f(x, y):
        output = 1.0
        for i in range(y):
            if 1 < i < 5:
                output = tf_names.multiply(output, x)
        return output

    results = []
    for y in (6, 5, 4):
        x = constant(2.0)
        with GradientTape() as t:
            t.watch(x)
            out = f(x, y)
        results.append(t.gradient(out, x))
    return results


def _nested():
    x = Variable(1.0)
    with GradientTape() as t:
        with GradientTape() as t2:
            y = x * x * x
        dy_dx = t2.gradient(y, x)
    return [dy_dx, t.gradient(dy_dx, x)]


def _jacobians():
    with GradientTape() as g:
        x = constant([1.0, 2.0])
        g.watch(x)
        y = x * x
    jacobian = g.jacobian(y, x)
    with GradientTape() as g:
        x = constant([[1.0, 2.0], [3.0, 4.0]])
        g.watch(x)
        y = x * x
    return [jacobian, g.batch_jacobian(y, x)]


def _training():
    a, y = constant(2.0), constant(8.0)
    x = Variable(10.0)
    lines = []
    for _ in range(4):
        with GradientTape() as tape:
            loss = pb_math.abs(a * x - y)
        dx = tape.gradient(loss, x)
        lines.append("x = {}, dx = {:.2f}".format(x.numpy(), dx))
        x.assign(x - dx)
    return "; ".join(lines)


def _watch_control():
    x0, x1 = Variable(0.0), Variable(10.0)
    with GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(x1)
        ys = tf_names.reduce_sum(pb_math.sin(x0) + pb_nn.softplus(x1))
    grad = tape.gradient(ys, {"x0": x0, "x1": x1})
    return f"dy/dx0 = {grad['x0']}, dy/dx1 = {float(grad['x1']):.7f}"


_EXAMPLES = [
    ("Variables are watched automatically", """
w1, w2 = pb.Variable(5.0), pb.Variable(3.0)
with pb.GradientTape() as tape:
    z = 3 * w1 ** 2 + 2 * w1 * w2
tape.gradient(z, [w1, w2])""", lambda: _fmt(_variables())),
    ("stop_gradient blocks one term", """
z = 3 * w1 ** 2 + pb.stop_gradient(2 * w1 * w2)""", lambda: _fmt(_stopped())),
    ("naive softplus at 100 (float32) vs @pb.custom_gradient", """
naive = pb.math.log(pb.exp(x) + 1.0)       # exp(100) overflows float32: nan
better = my_better_softplus(x)             # grad / (1 + 1 / exp): 1.0""", lambda: _fmt(_softplus())),
    ("persistent tape: dz/dx and dy/dx", """
y = x * x; z = y * y    # at x = 3""", lambda: _fmt(_persistent())),
    ("Python control flow: output *= x for 1 < i < 5", """
grad(x=2.0, y=6), grad(x=2.0, y=5), grad(x=2.0, y=4)""", lambda: _fmt(_loop())),
    ("nested tapes: first and second derivative of x**3 at 1", """
with pb.GradientTape() as t:
    with pb.GradientTape() as t2:
        y = x * x * x
    dy_dx = t2.gradient(y, x)
d2y_dx2 = t.gradient(dy_dx, x)""", lambda: _fmt(_nested())),
    ("jacobian of x * x at [1, 2]; batch_jacobian at [[1, 2], [3, 4]]", """
g.jacobian(x * x, x); g.batch_jacobian(x * x, x)""", lambda: _fmt(_jacobians())),
    ("training loop on loss = |a*x - y|", """
x.assign(x - tape.gradient(loss, x))   # four times""", _training),
    ("watch_accessed_variables=False", """
tape.watch(x1); ys = reduce_sum(sin(x0) + softplus(x1))""", _watch_control),
]


def logistic_loss(w, b, X, y):
    """Mean logistic loss of a linear model (the source engine's demo function)."""
    z = X @ w + b
    return np.mean(np.logaddexp(0.0, z) - y * z)


def _source_engine():
    from ._grad import grad
    print("pullback demo, part 1: pb.grad generates the gradient's code\n")
    print("The function:\n")
    import inspect
    print("    " + inspect.getsource(logistic_loss).replace("\n", "\n    ").rstrip())
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 3))
    y = (X @ np.array([1.0, -2.0, 0.5]) > 0).astype(float)
    w, b = np.zeros(3), 0.0
    df = grad(logistic_loss, wrt=(0, 1))
    gw, gb = df(w, b, X, y)
    print(f"\nIts generated gradient (df.mode = {df.mode!r}; df.source):\n")
    print("    " + df.source.replace("\n", "\n    ").rstrip())
    tw, tb = grad(logistic_loss, wrt=(0, 1), mode="tape")(w, b, X, y)
    print("\nAt w = 0, b = 0 on 100 random points:")
    print(f"    generated code: dw = {np.array2string(gw, precision=6)}, db = {gb:.6f}")
    print(f"    runtime tape:   dw = {np.array2string(tw, precision=6)}, db = {tb:.6f}")
    print(f"    largest difference: {max(np.max(np.abs(gw - tw)), abs(gb - tb)):.1e}")


def run():
    """Run every demo example and print its code and result."""
    _source_engine()
    print("\n\npullback demo, part 2: the tf.GradientTape tutorials' examples on "
          "pb.GradientTape (float64)")
    for title, code, result in _EXAMPLES:
        _show(title, code, result())
