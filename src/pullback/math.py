"""TensorFlow-style ``pb.math`` names, for people porting ``tf.math`` code; each returns a Tensor."""

import numpy as np

from ._tensor import convert_to_tensor

__all__ = ["abs", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh",
           "acosh", "atanh", "exp", "expm1", "log", "log1p", "sqrt", "rsqrt", "square", "pow",
           "sigmoid", "softplus", "sign", "floor", "ceil", "round", "maximum", "minimum", "add",
           "subtract", "multiply", "divide", "negative", "reciprocal", "reduce_sum",
           "reduce_mean", "reduce_max", "reduce_min", "reduce_prod", "reduce_std",
           "reduce_variance", "atan2", "log_sigmoid", "reduce_logsumexp"]


def _unary(fun, name):
    def op(x):
        return fun(convert_to_tensor(x))
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"``numpy.{getattr(fun, '__name__', name)}`` of ``x`` as a Tensor."
    return op


def _binary(fun, name):
    def op(x, y):
        return fun(convert_to_tensor(x), convert_to_tensor(y))
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"``numpy.{fun.__name__}`` of ``x`` and ``y`` as a Tensor."
    return op


def _reduce(fun, name):
    def op(input_tensor, axis=None, keepdims=False):
        axis = tuple(axis) if isinstance(axis, list) else axis
        return fun(convert_to_tensor(input_tensor), axis=axis, keepdims=keepdims)
    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"``numpy.{fun.__name__}`` over ``axis`` (None: all axes), as a Tensor."
    return op


abs = _unary(np.absolute, "abs")  # noqa: A001
sin, cos, tan = _unary(np.sin, "sin"), _unary(np.cos, "cos"), _unary(np.tan, "tan")
asin, acos, atan = _unary(np.arcsin, "asin"), _unary(np.arccos, "acos"), _unary(np.arctan, "atan")
sinh, cosh, tanh = _unary(np.sinh, "sinh"), _unary(np.cosh, "cosh"), _unary(np.tanh, "tanh")
asinh, acosh = _unary(np.arcsinh, "asinh"), _unary(np.arccosh, "acosh")
atanh = _unary(np.arctanh, "atanh")
exp, expm1 = _unary(np.exp, "exp"), _unary(np.expm1, "expm1")
log, log1p = _unary(np.log, "log"), _unary(np.log1p, "log1p")
sqrt, square = _unary(np.sqrt, "sqrt"), _unary(np.square, "square")
rsqrt = _unary(lambda x: 1.0 / np.sqrt(x), "rsqrt")
sign, floor, ceil = _unary(np.sign, "sign"), _unary(np.floor, "floor"), _unary(np.ceil, "ceil")
round = _unary(np.round, "round")  # noqa: A001
negative, reciprocal = _unary(np.negative, "negative"), _unary(np.reciprocal, "reciprocal")
pow = _binary(np.power, "pow")  # noqa: A001
maximum, minimum = _binary(np.maximum, "maximum"), _binary(np.minimum, "minimum")
add, subtract = _binary(np.add, "add"), _binary(np.subtract, "subtract")
multiply, divide = _binary(np.multiply, "multiply"), _binary(np.divide, "divide")
atan2 = _binary(np.arctan2, "atan2")
reduce_sum, reduce_mean = _reduce(np.sum, "reduce_sum"), _reduce(np.mean, "reduce_mean")
reduce_max, reduce_min = _reduce(np.max, "reduce_max"), _reduce(np.min, "reduce_min")
reduce_prod = _reduce(np.prod, "reduce_prod")
reduce_std, reduce_variance = _reduce(np.std, "reduce_std"), _reduce(np.var, "reduce_variance")


def sigmoid(x):
    """The logistic function 1 / (1 + exp(-x)), computed without overflow."""
    from .nn import sigmoid as _sigmoid
    return _sigmoid(x)


def softplus(x):
    """log(1 + exp(x)), computed without overflow."""
    return np.logaddexp(0.0, convert_to_tensor(x))


def log_sigmoid(x):
    """log(sigmoid(x)) = -softplus(-x), computed without overflow."""
    return -np.logaddexp(0.0, -convert_to_tensor(x))


def reduce_logsumexp(input_tensor, axis=None, keepdims=False):
    """log(sum(exp(x))) over ``axis``, shifted by the maximum so it cannot overflow."""
    x = convert_to_tensor(input_tensor)
    axis = tuple(axis) if isinstance(axis, list) else axis
    m = np.max(x, axis=axis, keepdims=True)
    from ._custom import stop_gradient
    m = stop_gradient(m)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)
