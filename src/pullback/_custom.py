"""stop_gradient and custom_gradient: the two ways to override what the tape differentiates."""

import functools

from ._registry import Primitive, nondifferentiable
from ._state import stack
from ._tensor import Tensor, _wrap, call

__all__ = ["stop_gradient", "custom_gradient"]


def stop_gradient(x):
    """``x`` itself going forward; no gradient flows back through it.

    Example:
        >>> import pullback as pb
        >>> w = pb.Variable(5.0)
        >>> with pb.GradientTape() as tape:
        ...     z = 3 * w ** 2 + pb.stop_gradient(2 * w)
        >>> float(tape.gradient(z, w))
        30.0
    """
    if isinstance(x, Tensor):
        return _wrap(x._value)
    return x


nondifferentiable(stop_gradient)


class _CustomRule(Primitive):
    """The rule of one call of a custom_gradient function: its grad_fn, asked once per cotangent."""

    __slots__ = ("grad_fn", "nargs", "last")

    def __init__(self, fun, grad_fn, nargs):
        super().__init__(fun, f"custom_gradient {getattr(fun, '__qualname__', fun)}")
        self.grad_fn = grad_fn
        self.nargs = nargs
        self.last = (None, None)

    def vjp_maker(self, argnum):
        return lambda ans, *args, **kwargs: lambda g: self._grads(g)[argnum]

    def _grads(self, g):
        if self.last[0] is not g:
            upstream = g if isinstance(g, Tensor) else _wrap(g)
            grads = self.grad_fn(upstream)
            if not isinstance(grads, (tuple, list)):
                grads = (grads,)
            if len(grads) != self.nargs:
                raise ValueError(
                    f"the grad_fn of custom_gradient function {self.name.split()[-1]} returned "
                    f"{len(grads)} gradients for {self.nargs} inputs; return one per input")
            if not isinstance(g, Tensor):  # a plain backward pass works on arrays
                grads = tuple(d._value if isinstance(d, Tensor) else d for d in grads)
            self.last = (g, grads)
        return self.last[1]


def custom_gradient(f):
    """Decorate ``f(*inputs) -> (value, grad_fn)`` so the tape uses ``grad_fn(upstream)`` as
    its gradient: one gradient per input, or a tuple of them.

    The forward computation inside ``f`` is not recorded.

    Example:
        >>> import numpy as np, pullback as pb
        >>> @pb.custom_gradient
        ... def softplus(z):
        ...     e = np.exp(z)
        ...     return np.log(e + 1), lambda g: g / (1 + 1 / e)
        >>> x = pb.Variable(100.0)
        >>> with pb.GradientTape() as tape:
        ...     y = softplus(x)
        >>> float(tape.gradient(y, x))
        1.0
    """
    @functools.wraps(f)
    def wrapped(*args):
        recording = stack.recording
        paused = list(recording)
        recording.clear()
        try:
            value, grad_fn = f(*args)
        finally:
            recording.extend(paused)
        rule = _CustomRule(f, grad_fn, len(args))
        return call(rule, lambda *_: value._value if isinstance(value, Tensor) else value,
                    args, {})
    wrapped._pullback_custom_gradient = f   # the source engine refuses it by this mark
    return wrapped
