"""TensorFlow-style ``pb.math`` names, for people porting ``tf.math`` code; each returns a Tensor."""

import numpy as np

from ._tensor import convert_to_tensor

__all__ = ["abs", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh",
           "acosh", "atanh", "exp", "expm1", "log", "log1p", "sqrt", "rsqrt", "square", "pow",
           "sigmoid", "softplus", "sign", "floor", "ceil", "round", "maximum", "minimum", "add",
           "subtract", "multiply", "divide", "negative", "reciprocal", "reduce_sum",
           "reduce_mean", "reduce_max", "reduce_min", "reduce_prod", "reduce_std",
           "reduce_variance", "atan2", "log_sigmoid", "reduce_logsumexp"]


_SLOPE_EXAMPLE = """

    Example (the value and its derivative at {x}):
        >>> import pullback as pb
        >>> x = pb.constant({x})
        >>> with pb.GradientTape() as tape:
        ...     tape.watch(x)
        ...     y = pb.math.{name}(x)
        >>> {shown}
        {expected}
    """


def _unary(fun, name, x, value, slope, what=None):
    """``name(x)``: ``fun`` of ``x`` as a Tensor; the docstring's example shows the value and
    the derivative at ``x`` (``slope`` None: no gradient, as in TensorFlow)."""
    def op(x):
        return fun(convert_to_tensor(x))
    op.__name__ = op.__qualname__ = name
    op._numpy_equivalent = f"np.{fun.__name__}(x)" if what is None else "1.0 / np.sqrt(x)"
    what = what or f"``numpy.{fun.__name__}``"
    op.__doc__ = f"{what} of ``x`` as a Tensor (``tf.math.{name}``)."
    return _with_slope_example(op, x, value, slope)


def _with_slope_example(fn, x, value, slope):
    """``fn`` with its docstring's example: the value and the derivative at ``x`` (``slope``
    None: no gradient, as in TensorFlow), numbers computed independently with Python's math."""
    if slope is None:
        shown = 'print(f"{float(y):.6f}", tape.gradient(y, x))'
        expected = f"{value:.6f} None"
    else:
        shown = 'print(f"{float(y):.6f} {float(tape.gradient(y, x)):.6f}")'
        expected = f"{value:.6f} {slope:.6f}"
    fn.__doc__ = fn.__doc__.rstrip() + _SLOPE_EXAMPLE.format(
        x=x, name=fn.__name__, shown=shown, expected=expected)
    return fn


def _binary(fun, name, x, y, value, slopes):
    """``name(x, y)``: ``fun`` of ``x`` and ``y`` as a Tensor; the example shows the value and
    the two partial derivatives at ``(x, y)``."""
    def op(x, y):
        return fun(convert_to_tensor(x), convert_to_tensor(y))
    op.__name__ = op.__qualname__ = name
    op._numpy_equivalent = f"np.{fun.__name__}(x, y)"
    op.__doc__ = f"""``numpy.{fun.__name__}`` of ``x`` and ``y`` as a Tensor (``tf.math.{name}``).

    Example (the value and both partial derivatives at ({x}, {y})):
        >>> import pullback as pb
        >>> x, y = pb.constant({x}), pb.constant({y})
        >>> with pb.GradientTape() as tape:
        ...     tape.watch([x, y])
        ...     z = pb.math.{name}(x, y)
        >>> dx, dy = tape.gradient(z, [x, y])
        >>> print(f"{{float(z):.6f}} {{float(dx):.6f}} {{float(dy):.6f}}")
        {value:.6f} {slopes[0]:.6f} {slopes[1]:.6f}
    """
    return op


def _reduce(fun, name, rows):
    """``name(input_tensor, axis=None, keepdims=False)``: ``fun`` over ``axis``; the example
    reduces ``[[1, 2], [3, 5]]`` over its rows (``rows``: the result's values)."""
    def op(input_tensor, axis=None, keepdims=False):
        axis = tuple(axis) if isinstance(axis, list) else axis
        return fun(convert_to_tensor(input_tensor), axis=axis, keepdims=keepdims)
    op.__name__ = op.__qualname__ = name
    op._numpy_equivalent = f"np.{fun.__name__}(x, axis=axis, keepdims=keepdims)"
    op.__doc__ = f"""``numpy.{fun.__name__}`` over ``axis`` (None: all axes), as a Tensor
    (``tf.math.{name}``).

    Example:
        >>> import pullback as pb
        >>> pb.math.{name}([[1.0, 2.0], [3.0, 5.0]], axis=1).numpy().tolist()
        {rows}
    """
    return op


# name = _unary(numpy function, name, x, value at x, derivative at x), values to 6 places
abs = _unary(np.absolute, "abs", -1.5, 1.5, -1.0)  # noqa: A001
sin = _unary(np.sin, "sin", 0.5, 0.479426, 0.877583)
cos = _unary(np.cos, "cos", 0.5, 0.877583, -0.479426)
tan = _unary(np.tan, "tan", 0.5, 0.546302, 1.298446)
asin = _unary(np.arcsin, "asin", 0.5, 0.523599, 1.154701)
acos = _unary(np.arccos, "acos", 0.5, 1.047198, -1.154701)
atan = _unary(np.arctan, "atan", 0.5, 0.463648, 0.8)
sinh = _unary(np.sinh, "sinh", 0.5, 0.521095, 1.127626)
cosh = _unary(np.cosh, "cosh", 0.5, 1.127626, 0.521095)
tanh = _unary(np.tanh, "tanh", 0.5, 0.462117, 0.786448)
asinh = _unary(np.arcsinh, "asinh", 0.5, 0.481212, 0.894427)
acosh = _unary(np.arccosh, "acosh", 1.5, 0.962424, 0.894427)
atanh = _unary(np.arctanh, "atanh", 0.5, 0.549306, 1.333333)
exp = _unary(np.exp, "exp", 0.5, 1.648721, 1.648721)
expm1 = _unary(np.expm1, "expm1", 0.5, 0.648721, 1.648721)
log = _unary(np.log, "log", 1.5, 0.405465, 0.666667)
log1p = _unary(np.log1p, "log1p", 0.5, 0.405465, 0.666667)
sqrt = _unary(np.sqrt, "sqrt", 2.0, 1.414214, 0.353553)
square = _unary(np.square, "square", 1.5, 2.25, 3.0)
rsqrt = _unary(lambda x: 1.0 / np.sqrt(x), "rsqrt", 4.0, 0.5, -0.0625, "1 / sqrt")
sign = _unary(np.sign, "sign", -2.0, -1.0, 0.0)
floor = _unary(np.floor, "floor", 1.5, 1.0, None)
ceil = _unary(np.ceil, "ceil", 1.5, 2.0, None)
round = _unary(np.round, "round", 1.5, 2.0, None)  # noqa: A001
negative = _unary(np.negative, "negative", 1.5, -1.5, -1.0)
reciprocal = _unary(np.reciprocal, "reciprocal", 2.0, 0.5, -0.25)
# name = _binary(numpy function, name, x, y, value, (d/dx, d/dy))
pow = _binary(np.power, "pow", 2.0, 3.0, 8.0, (12.0, 5.545177))  # noqa: A001
maximum = _binary(np.maximum, "maximum", 1.0, 2.0, 2.0, (0.0, 1.0))
minimum = _binary(np.minimum, "minimum", 1.0, 2.0, 1.0, (1.0, 0.0))
add = _binary(np.add, "add", 1.0, 2.0, 3.0, (1.0, 1.0))
subtract = _binary(np.subtract, "subtract", 1.0, 2.0, -1.0, (1.0, -1.0))
multiply = _binary(np.multiply, "multiply", 1.5, 2.0, 3.0, (2.0, 1.5))
divide = _binary(np.divide, "divide", 1.0, 2.0, 0.5, (0.5, -0.25))
atan2 = _binary(np.arctan2, "atan2", 1.0, 2.0, 0.463648, (0.4, -0.2))
# name = _reduce(numpy function, name, the rows of [[1, 2], [3, 5]] reduced)
reduce_sum = _reduce(np.sum, "reduce_sum", [3.0, 8.0])
reduce_mean = _reduce(np.mean, "reduce_mean", [1.5, 4.0])
reduce_max = _reduce(np.max, "reduce_max", [2.0, 5.0])
reduce_min = _reduce(np.min, "reduce_min", [1.0, 3.0])
reduce_prod = _reduce(np.prod, "reduce_prod", [2.0, 15.0])
reduce_std = _reduce(np.std, "reduce_std", [0.5, 1.0])
reduce_variance = _reduce(np.var, "reduce_variance", [0.25, 1.0])


def sigmoid(x):
    """The logistic function 1 / (1 + exp(-x)), computed without overflow."""
    from .nn import sigmoid as _sigmoid
    return _sigmoid(x)


def softplus(x):
    """log(1 + exp(x)), computed without overflow.

    Example:
        >>> import pullback as pb
        >>> float(pb.math.softplus(1000.0))   # no overflow
        1000.0
    """
    return np.logaddexp(0.0, convert_to_tensor(x))


def log_sigmoid(x):
    """log(sigmoid(x)) = -softplus(-x), computed without overflow."""
    return -np.logaddexp(0.0, -convert_to_tensor(x))


def reduce_logsumexp(input_tensor, axis=None, keepdims=False):
    """log(sum(exp(x))) over ``axis``, shifted by the maximum so it cannot overflow.

    Example (its gradient is the softmax):
        >>> import pullback as pb
        >>> x = pb.constant([1000.0, 1000.0])
        >>> with pb.GradientTape() as tape:
        ...     tape.watch(x)
        ...     y = pb.math.reduce_logsumexp(x)
        >>> print(f"{float(y):.6f}", tape.gradient(y, x).numpy().tolist())
        1000.693147 [0.5, 0.5]
    """
    x = convert_to_tensor(input_tensor)
    axis = tuple(axis) if isinstance(axis, list) else axis
    m = np.max(x, axis=axis, keepdims=True)
    from ._custom import stop_gradient
    m = stop_gradient(m)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


# What pb.grad's source engine suggests instead of each (it runs NumPy, not Tensors).
sigmoid._numpy_equivalent = "1.0 / (1.0 + np.exp(-x))"
softplus._numpy_equivalent = "np.logaddexp(0.0, x)"
log_sigmoid._numpy_equivalent = "-np.logaddexp(0.0, -x)"
reduce_logsumexp._numpy_equivalent = "m = np.max(x); m + np.log(np.sum(np.exp(x - m)))"


_with_slope_example(sigmoid, 0.5, 0.622459, 0.235004)
_with_slope_example(softplus, 0.5, 0.974077, 0.622459)
_with_slope_example(log_sigmoid, 0.5, -0.474077, 0.377541)
