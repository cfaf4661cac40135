"""Optional peer columns: autograd, JAX, PyTorch and TensorFlow, whichever is installed.

None of them is a dependency of pullback or of its tests: each is imported inside ``try`` and a
missing one shows ``n/a``.  Every peer computes the same workload, in float64, on the same inputs,
written the way that tool's users write it:

- autograd and JAX run the workload's own function with ``np`` bound to ``autograd.numpy`` /
  ``jax.numpy`` (the code is NumPy-compatible as written);
- PyTorch: leaf tensors with ``requires_grad=True`` for the parameters, ``torch.autograd.grad``;
- TensorFlow: ``tf.Variable`` for the parameters, ``tf.constant`` for the data,
  ``tf.GradientTape`` and ``tape.gradient`` (eager, as in the tape tutorials).

Each peer's gradient is checked against the hand-written one before it is timed, like every
other column.
"""

import os
import types

import numpy as np

__all__ = ["PEERS", "load", "peer_columns", "rebind"]

PEERS = ("autograd", "jax", "torch", "tensorflow")
_LOADED = {}


def load(name):
    """The peer's module (``jax`` with float64 enabled), or None and why not, cached."""
    if name not in _LOADED:
        try:
            if name == "autograd":
                import autograd
                import autograd.numpy  # noqa: F401
                module = autograd
            elif name == "jax":
                import jax
                jax.config.update("jax_enable_x64", True)  # the workloads are float64
                import jax.numpy  # noqa: F401
                module = jax
            elif name == "torch":
                import torch
                module = torch
            elif name == "tensorflow":
                os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
                import tensorflow
                module = tensorflow
            else:
                raise ValueError(f"unknown peer {name!r}")
            _LOADED[name] = (module, None)
        except Exception as err:  # ImportError, or a broken installation
            _LOADED[name] = (None, f"{type(err).__name__}: {err}")
    return _LOADED[name]


def version(name):
    """The installed version of a peer that loads, else None."""
    module, _ = load(name)
    if module is None:
        return None
    version = getattr(module, "__version__", None)
    if version is None:
        from importlib import metadata
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = "?"
    return version


def rebind(fn, np_module):
    """``fn`` with its global ``np`` replaced by ``np_module`` (same code, same defaults)."""
    namespace = dict(fn.__globals__)
    namespace["np"] = np_module
    return types.FunctionType(fn.__code__, namespace, fn.__name__, fn.__defaults__,
                              fn.__closure__)


def _argnums(workload):
    return tuple(workload.params.index(p) for p in workload.wrt)


# === autograd and JAX: the workload's own code on their NumPy =================================

def _autograd(workload, inputs):
    autograd, _ = load("autograd")
    import autograd.numpy as anp
    g = autograd.grad(rebind(workload.fn, anp), _argnums(workload))
    args = workload.args(inputs)
    return {"autograd": lambda: g(*args)}


def _jax(workload, inputs):
    jax, _ = load("jax")
    import jax.numpy as jnp
    g = jax.grad(rebind(workload.fn, jnp), argnums=_argnums(workload))
    g_jit = jax.jit(g)
    # Data lives on the device already, as in a JAX program; floats stay Python floats.
    args = tuple(jnp.asarray(a) if isinstance(a, np.ndarray) else a
                 for a in workload.args(inputs))
    ready = getattr(jax, "block_until_ready", None) or (
        lambda out: jax.tree_util.tree_map(lambda a: a.block_until_ready(), out))
    return {"jax.grad": lambda: ready(g(*args)),
            "jax.jit": lambda: ready(g_jit(*args))}


# === PyTorch ==================================================================================

def _torch_functions(torch):
    def poly(w1, w2):
        return 3 * w1 ** 2 + 2 * w1 * w2

    def scalar_loop(w, x0):
        x = x0
        for i in range(200):
            if i % 3 == 0:
                x = torch.sin(x) * w
            else:
                x = x * w + 0.1
        return x

    def mlp_loss(W1, b1, W2, b2, X, Y):
        h = torch.tanh(X @ W1 + b1)
        logits = h @ W2 + b2
        m = torch.amax(logits, dim=1, keepdim=True)
        lse = m + torch.log(torch.sum(torch.exp(logits - m), dim=1, keepdim=True))
        return torch.mean(lse - torch.sum(Y * logits, dim=1, keepdim=True))

    def rnn_loss(Wx, Wh, b, xs, h0):
        h = h0
        for t in range(xs.shape[0]):
            h = torch.tanh(xs[t] @ Wx + h @ Wh + b)
        return torch.sum(h ** 2)

    def softplus_sin(x):
        return torch.sum(torch.log(1 + torch.exp(-x)) * torch.sin(x))

    def logreg_loss(w, b, X, y):
        z = X @ w + b
        return torch.mean(torch.log(1 + torch.exp(z)) - y * z)

    return {"W1": poly, "W2": scalar_loop, "W3": mlp_loss, "W4": rnn_loss, "W5": softplus_sin,
            "W6": logreg_loss}


def _torch(workload, inputs):
    torch, _ = load("torch")
    fn = _torch_functions(torch)[workload.name]
    values = {p: torch.tensor(v, dtype=torch.float64, requires_grad=p in workload.wrt)
              for p, v in inputs.items()}
    args = workload.args(values)
    params = [values[p] for p in workload.wrt]

    def run():
        loss = fn(*args)
        return torch.autograd.grad(loss, params)

    return {"torch": run}


# === TensorFlow ===============================================================================

def _tf_functions(tf):
    def poly(w1, w2):
        return 3 * w1 ** 2 + 2 * w1 * w2

    def scalar_loop(w, x0):
        x = x0
        for i in range(200):
            if i % 3 == 0:
                x = tf.sin(x) * w
            else:
                x = x * w + 0.1
        return x

    def mlp_loss(W1, b1, W2, b2, X, Y):
        h = tf.tanh(X @ W1 + b1)
        logits = h @ W2 + b2
        m = tf.reduce_max(logits, axis=1, keepdims=True)
        lse = m + tf.math.log(tf.reduce_sum(tf.exp(logits - m), axis=1, keepdims=True))
        return tf.reduce_mean(lse - tf.reduce_sum(Y * logits, axis=1, keepdims=True))

    def rnn_loss(Wx, Wh, b, xs, h0):
        h = h0
        for t in range(xs.shape[0]):
            h = tf.tanh(xs[t] @ Wx + h @ Wh + b)
        return tf.reduce_sum(h ** 2)

    def softplus_sin(x):
        return tf.reduce_sum(tf.math.log(1 + tf.exp(-x)) * tf.sin(x))

    def logreg_loss(w, b, X, y):
        z = tf.linalg.matvec(X, w) + b       # X @ w needs a matrix w in TensorFlow
        return tf.reduce_mean(tf.math.log(1 + tf.exp(z)) - y * z)

    return {"W1": poly, "W2": scalar_loop, "W3": mlp_loss, "W4": rnn_loss, "W5": softplus_sin,
            "W6": logreg_loss}


def _tensorflow(workload, inputs):
    tf, _ = load("tensorflow")
    fn = _tf_functions(tf)[workload.name]
    values = {p: (tf.Variable(v, dtype=tf.float64) if p in workload.wrt
                  else tf.constant(v, dtype=tf.float64))
              for p, v in inputs.items()}
    args = workload.args(values)
    variables = [values[p] for p in workload.wrt]

    def run():
        with tf.GradientTape() as tape:
            loss = fn(*args)
        return tape.gradient(loss, variables)

    return {"tf tape": run}


# === the columns ==============================================================================

# peer -> (its column names, the builder)
_BUILDERS = {
    "autograd": (("autograd",), _autograd),
    "jax": (("jax.grad", "jax.jit"), _jax),
    "torch": (("torch",), _torch),
    "tensorflow": (("tf tape",), _tensorflow),
}

COLUMNS = tuple(name for names, _ in _BUILDERS.values() for name in names)


def to_numpy(value):
    """A peer's gradient leaf as a NumPy float64 array."""
    if hasattr(value, "detach"):          # torch
        value = value.detach().cpu().numpy()
    elif hasattr(value, "numpy"):         # tensorflow (and pb.Tensor)
        value = value.numpy()
    return np.asarray(value, dtype=np.float64)


def peer_columns(workload, inputs, peers=PEERS):
    """{column name: (callable or None, status, note)} for the peers' columns.

    The status is "ok" (the callable computes the gradient), "n/a" (the peer is not installed or
    not requested) or "error" (the peer is installed but building its column failed).
    """
    out = {}
    for peer in PEERS:
        names, builder = _BUILDERS[peer]
        if peer not in peers:
            out.update((name, (None, "n/a", "not requested")) for name in names)
            continue
        module, reason = load(peer)
        if module is None:
            out.update((name, (None, "n/a", reason)) for name in names)
            continue
        try:
            built = builder(workload, inputs)
        except Exception as err:
            out.update((name, (None, "error", f"{type(err).__name__}: {err}")) for name in names)
            continue
        out.update((name, (built[name], "ok", "")) for name in names)
    return out
