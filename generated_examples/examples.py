"""Example functions whose generated gradients are checked in beside this file.

Each entry of EXAMPLES is (function, example arguments, wrt).  ``python
generated_examples/regenerate.py`` writes ``<name>_grad.py`` for each; the test suite
regenerates them and fails on any difference.
"""

import numpy as np


def seed_polynomial(w1, w2):
    """The tutorials' first example: 36 and 10 at (5, 3)."""
    return 3 * w1 ** 2 + 2 * w1 * w2


def softplus(z):
    """The tutorials' naive softplus."""
    return np.log(np.exp(z) + 1.0)


def sigmoid_sum(x):
    """The tutorials' sigmoid, summed over a vector of inputs."""
    return np.sum(1 / (1 + np.exp(-x)))


def abs_loss(x, a, y):
    """The tutorials' loss |a * x - y|."""
    return np.abs(a * x - y)


def logistic_regression(w, b, X, y):
    """Mean logistic loss of a linear model, computed stably."""
    z = X @ w + b
    return np.mean(np.logaddexp(0.0, z) - y * z)


def mlp_loss(params, x, y):
    """A 2-layer tanh MLP over a parameter dict, with softmax cross-entropy."""
    h = np.tanh(x @ params["W1"] + params["b1"])
    logits = h @ params["W2"] + params["b2"]
    return softmax_cross_entropy(logits, y)


def softmax_cross_entropy(logits, y):
    """Mean cross-entropy of one-hot labels ``y``, through a stable logsumexp."""
    m = np.max(logits, axis=1, keepdims=True)
    z = logits - m
    lse = np.log(np.sum(np.exp(z), axis=1, keepdims=True))
    return -np.mean(np.sum((z - lse) * y, axis=1))


def seed_loop(x, y):
    """The tutorials' loop: x multiplied in for 1 < i < 5; gradients 12, 12, 4 at x = 2."""
    output = 1.0
    for i in range(y):
        if 1 < i < 5:
            output = output * x
    return output


def rnn_loss(Wx, Wh, b, xs):
    """A vanilla RNN over a Python loop, loss sum(h ** 2) at every step."""
    h = np.zeros(Wh.shape[0])
    loss = 0.0
    for x in xs:
        h = np.tanh(x @ Wx + h @ Wh + b)
        loss = loss + np.sum(h ** 2)
    return loss


def euler_decay(k, y0):
    """Explicit Euler for dy/dt = -k y + sin(t) over 20 steps of 0.1."""
    y = y0
    t = 0.0
    for step in range(20):
        y = y + 0.1 * (-k * y + np.sin(t))
        t = t + 0.1
    return y


def newton_sqrt(a):
    """Newton's iteration for sqrt(a), in a while loop with a tolerance."""
    x = a
    while abs(x * x - a) > 1e-12 * a:
        x = 0.5 * (x + a / x)
    return x


def filled_buffer(x, w):
    """A buffer allocated with np.zeros and filled in a loop."""
    out = np.zeros(len(x))
    for i in range(len(x)):
        out[i] = np.sin(x[i] * w)
    return np.sum(out ** 2)


def scalar_recurrence(w, x0):
    """The benchmark's W2: a recurrence on Python floats with a branch on the step."""
    x = x0
    for i in range(200):
        if i % 3 == 0:
            x = np.sin(x) * w
        else:
            x = x * w + 0.1
    return x


def dense(layer, x):
    return np.tanh(x @ layer["W"] + layer["b"])


def layered_loss(params, x, y):
    # a dict of layers, each a dict passed whole to a helper
    h = x
    for name, layer in params.items():
        h = dense(layer, h)
    return np.mean((h - y) ** 2)


def rnn_states(Wx, Wh, b, xs):
    """A vanilla RNN that collects its hidden states in a list, then stacks them."""
    h = np.zeros(Wh.shape[0])
    hs = []
    for x in xs:
        h = np.tanh(x @ Wx + h @ Wh + b)
        hs.append(h)
    return np.mean(np.stack(hs) ** 2)


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(8, 3))
    labels = rng.integers(0, 3, size=8)
    params = {"W1": rng.normal(size=(3, 4)) / 2, "b1": np.zeros(4),
              "W2": rng.normal(size=(4, 3)) / 2, "b2": np.zeros(3)}
    return rng, X, np.eye(3)[labels], params


_rng, _X, _Y, _PARAMS = _data()

EXAMPLES = [
    (seed_polynomial, (5.0, 3.0), (0, 1)),
    (softplus, (100.0,), 0),
    (sigmoid_sum, (np.linspace(-10.0, 10.0, 201),), 0),
    (abs_loss, (10.0, 2.0, 8.0), 0),
    (logistic_regression, (_rng.normal(size=3), 0.1, _X, (_Y[:, 0] > 0).astype(float)), (0, 1)),
    (mlp_loss, (_PARAMS, _X, _Y), 0),
    (softmax_cross_entropy, (_rng.normal(size=(8, 3)), _Y), 0),
    (seed_loop, (2.0, 6), 0),
    (rnn_loss, (_rng.normal(size=(3, 4)) / 2, _rng.normal(size=(4, 4)) / 2, np.zeros(4),
                _rng.normal(size=(5, 3))), (0, 1, 2)),
    (euler_decay, (0.7, 1.3), (0, 1)),
    (newton_sqrt, (2.0,), 0),
    (filled_buffer, (_rng.normal(size=4), 0.8), (0, 1)),
    (scalar_recurrence, (0.9, 0.3), (0, 1)),
    (layered_loss, ({"hidden": {"W": _rng.normal(size=(3, 4)) / 2, "b": np.zeros(4)},
                     "out": {"W": _rng.normal(size=(4, 3)) / 2, "b": np.zeros(3)}}, _X, _Y), 0),
    (rnn_states, (_rng.normal(size=(3, 4)) / 2, _rng.normal(size=(4, 4)) / 2, np.zeros(4),
                  _rng.normal(size=(5, 3))), (0, 1, 2)),
]
