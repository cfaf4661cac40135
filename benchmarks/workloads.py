"""The six benchmark workloads of issue 7: functions, inputs and hand-written gradients.

Every workload function is plain NumPy (``import numpy as np``, nothing from pullback), so
``pb.grad`` can read its source.  Each has a hand-written gradient, the one an expert would write
with NumPy; W2 also has one on Python floats with the ``math`` module.  The hand gradients return
the gradient only (no loss value), with the same structure ``pb.grad(f, wrt=(...))`` returns:
a tuple with one entry per differentiated parameter.

A workload's inputs are made by ``make_inputs(size, seed)``, all float64, from
``np.random.default_rng(seed)``; ``size`` is "full" (the sizes the issue states) or "tiny" (for
the test that keeps the benchmark from rotting).
"""

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Workload", "WORKLOADS", "by_name", "SIZES"]

SIZES = ("full", "tiny")


# === W1: the seeds' example on two Python floats ===============================================

def poly(w1, w2):
    return 3 * w1 ** 2 + 2 * w1 * w2


def poly_hand(w1, w2):
    return (6 * w1 + 2 * w2, 2 * w1)


def poly_inputs(size, seed):
    rng = np.random.default_rng(seed)
    w1, w2 = rng.uniform(-2.0, 2.0, 2)
    return {"w1": float(w1), "w2": float(w2)}


# === W2: a 200-step scalar recurrence on two Python floats =====================================

def scalar_loop(w, x0):
    x = x0
    for i in range(200):
        if i % 3 == 0:
            x = np.sin(x) * w
        else:
            x = x * w + 0.1
    return x


def scalar_loop_hand(w, x0):
    """NumPy functions on Python floats, the forward states kept in a list."""
    xs = []
    x = x0
    for i in range(200):
        xs.append(x)
        if i % 3 == 0:
            x = np.sin(x) * w
        else:
            x = x * w + 0.1
    bw = 0.0
    bx = 1.0
    for i in range(199, -1, -1):
        x = xs[i]
        if i % 3 == 0:
            bw += bx * np.sin(x)
            bx = bx * w * np.cos(x)
        else:
            bw += bx * x
            bx = bx * w
    return (float(bw), float(bx))


def scalar_loop_hand_math(w, x0):
    """The same on Python floats with the math module: no NumPy dispatch at all."""
    sin, cos = math.sin, math.cos
    xs = []
    x = x0
    for i in range(200):
        xs.append(x)
        if i % 3 == 0:
            x = sin(x) * w
        else:
            x = x * w + 0.1
    bw = 0.0
    bx = 1.0
    for i in range(199, -1, -1):
        x = xs[i]
        if i % 3 == 0:
            bw += bx * sin(x)
            bx = bx * w * cos(x)
        else:
            bw += bx * x
            bx = bx * w
    return (bw, bx)


def scalar_loop_inputs(size, seed):
    rng = np.random.default_rng(seed)
    return {"w": float(rng.uniform(0.6, 0.9)), "x0": float(rng.uniform(-1.0, 1.0))}


# === W3: an MLP 784-128 (tanh)-10, softmax cross-entropy through a stable logsumexp ============

def mlp_loss(W1, b1, W2, b2, X, Y):
    h = np.tanh(X @ W1 + b1)
    logits = h @ W2 + b2
    m = np.max(logits, axis=1, keepdims=True)
    lse = m + np.log(np.sum(np.exp(logits - m), axis=1, keepdims=True))
    return np.mean(lse - np.sum(Y * logits, axis=1, keepdims=True))


def mlp_loss_hand(W1, b1, W2, b2, X, Y):
    h = np.tanh(X @ W1 + b1)
    logits = h @ W2 + b2
    e = np.exp(logits - np.max(logits, axis=1, keepdims=True))
    e /= np.sum(e, axis=1, keepdims=True)          # softmax
    e -= Y
    e /= X.shape[0]                                # d loss / d logits
    dW2 = h.T @ e
    db2 = np.sum(e, axis=0)
    da = e @ W2.T
    da *= 1.0 - h * h                              # through tanh
    dW1 = X.T @ da
    db1 = np.sum(da, axis=0)
    return (dW1, db1, dW2, db2)


def mlp_inputs(size, seed):
    n_in, n_hidden, n_out, batch = (784, 128, 10, 64) if size == "full" else (12, 8, 5, 4)
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_out, batch)
    return {
        "W1": rng.standard_normal((n_in, n_hidden)) / np.sqrt(n_in),
        "b1": 0.1 * rng.standard_normal(n_hidden),
        "W2": rng.standard_normal((n_hidden, n_out)) / np.sqrt(n_hidden),
        "b2": 0.1 * rng.standard_normal(n_out),
        "X": rng.standard_normal((batch, n_in)),
        "Y": np.eye(n_out)[labels],                # one-hot labels
    }


# === W4: a vanilla RNN, 50 steps in a Python loop ==============================================

def rnn_loss(Wx, Wh, b, xs, h0):
    h = h0
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ Wx + h @ Wh + b)
    return np.sum(h ** 2)


def rnn_loss_hand(Wx, Wh, b, xs, h0):
    hs = [h0]
    h = h0
    for t in range(xs.shape[0]):
        h = np.tanh(xs[t] @ Wx + h @ Wh + b)
        hs.append(h)
    dWx = np.zeros_like(Wx)
    dWh = np.zeros_like(Wh)
    db = np.zeros_like(b)
    dh = 2.0 * h
    for t in range(xs.shape[0] - 1, -1, -1):
        h = hs[t + 1]
        da = dh * (1.0 - h * h)                    # through tanh
        dWx += xs[t].T @ da
        dWh += hs[t].T @ da
        db += np.sum(da, axis=0)
        dh = da @ Wh.T
    return (dWx, dWh, db)


def rnn_inputs(size, seed):
    steps, batch, n_in, n_hidden = (50, 32, 32, 128) if size == "full" else (4, 3, 5, 6)
    rng = np.random.default_rng(seed)
    return {
        "Wx": rng.standard_normal((n_in, n_hidden)) / np.sqrt(n_in),
        "Wh": 0.9 * rng.standard_normal((n_hidden, n_hidden)) / np.sqrt(n_hidden),
        "b": 0.1 * rng.standard_normal(n_hidden),
        "xs": rng.standard_normal((steps, batch, n_in)),
        "h0": np.zeros((batch, n_hidden)),
    }


# === W5: an elementwise reduction over 1e6 elements ============================================

def softplus_sin(x):
    return np.sum(np.log(1 + np.exp(-x)) * np.sin(x))


def softplus_sin_hand(x):
    e = np.exp(-x)
    t = 1.0 + e
    g = np.log(t)
    g *= np.cos(x)
    e /= t
    e *= np.sin(x)
    g -= e
    return (g,)


def softplus_sin_inputs(size, seed):
    n = 1_000_000 if size == "full" else 7
    return {"x": np.random.default_rng(seed).standard_normal(n)}


# === W6: logistic regression ===================================================================

def logreg_loss(w, b, X, y):
    z = X @ w + b
    return np.mean(np.log(1 + np.exp(z)) - y * z)


def logreg_loss_hand(w, b, X, y):
    e = np.exp(X @ w + b)
    e /= 1.0 + e                                   # sigmoid(z)
    e -= y
    e /= X.shape[0]                                # d loss / d z
    return (X.T @ e, float(np.sum(e)))


def logreg_inputs(size, seed):
    n, d = (10_000, 100) if size == "full" else (9, 4)
    rng = np.random.default_rng(seed)
    return {
        "w": 0.1 * rng.standard_normal(d),
        "b": float(0.1 * rng.standard_normal()),
        "X": rng.standard_normal((n, d)),
        "y": (rng.random(n) < 0.5).astype(np.float64),
    }


# === the registry ==============================================================================

@dataclass(frozen=True)
class Workload:
    """One workload: ``fn(**inputs)`` differentiated with respect to the parameters ``wrt``."""

    name: str                  # "W1" ... "W6"
    title: str                 # a short description for the table
    fn: object                 # the plain NumPy function (what pb.grad differentiates)
    wrt: tuple                 # parameter names, in order
    make_inputs: object        # (size, seed) -> {parameter: value}
    hand: object               # the hand-written NumPy gradient, fn's signature -> tuple
    hand_math: object = None   # W2 only: the math-module gradient on Python floats

    @property
    def params(self):
        return tuple(self.fn.__code__.co_varnames[:self.fn.__code__.co_argcount])

    def args(self, inputs):
        return tuple(inputs[p] for p in self.params)


WORKLOADS = (
    Workload("W1", "3*w1**2 + 2*w1*w2, two floats", poly, ("w1", "w2"), poly_inputs, poly_hand),
    Workload("W2", "200-step scalar loop, two floats", scalar_loop, ("w", "x0"),
             scalar_loop_inputs, scalar_loop_hand, scalar_loop_hand_math),
    Workload("W3", "MLP 784-128-10, batch 64, softmax-CE", mlp_loss, ("W1", "b1", "W2", "b2"),
             mlp_inputs, mlp_loss_hand),
    Workload("W4", "RNN h=128, batch 32, 50 steps", rnn_loss, ("Wx", "Wh", "b"), rnn_inputs,
             rnn_loss_hand),
    Workload("W5", "sum(log(1+exp(-x))*sin(x)), 1e6", softplus_sin, ("x",), softplus_sin_inputs,
             softplus_sin_hand),
    Workload("W6", "logistic regression 10000x100", logreg_loss, ("w", "b"), logreg_inputs,
             logreg_loss_hand),
)


def by_name(names=None):
    """The workloads named in ``names`` (e.g. ["W3", "W5"]), all of them for None."""
    if not names:
        return list(WORKLOADS)
    known = {w.name: w for w in WORKLOADS}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown workload(s) {', '.join(unknown)}; known: "
                         f"{', '.join(known)}")
    return [known[n] for n in names]
