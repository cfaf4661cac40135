"""pullback: automatic differentiation of plain NumPy code.

Two engines share one registry of derivative rules: ``pb.GradientTape`` records operations on
Tensors and Variables at run time (TensorFlow's semantics on NumPy), and (next) ``pb.grad``
generates a readable backward function from the source.

Example:
    >>> import pullback as pb
    >>> w1, w2 = pb.Variable(5.0), pb.Variable(3.0)
    >>> with pb.GradientTape() as tape:
    ...     z = 3 * w1 ** 2 + 2 * w1 * w2
    >>> [float(g) for g in tape.gradient(z, [w1, w2])]
    [36.0, 10.0]
"""

from ._errors import NoGradientRuleError, RuleRegistrationError, TransformError
from ._registry import (defelementwise, defjvp, defjvp_argnum, deflinear, deflinear_argnum,
                        defvjp, defvjp_argnum, nondifferentiable, primitive, unbroadcast)
from . import _rules  # noqa: F401  (registers every NumPy rule)
from ._tensor import Tensor, Variable, constant, convert_to_tensor, is_tensor
from ._tape import GradientTape, UnconnectedGradients
from ._custom import custom_gradient, stop_gradient
from ._check import check_grads
from ._grad import grad, value_and_grad
from ._transforms import hessian, hvp, jacobian, jvp, vjp
from . import math, nn, random
from ._tfnames import *  # noqa: F401,F403
from ._tfnames import __all__ as _tf_all

__version__ = "0.1.0"

__all__ = [
    "GradientTape", "UnconnectedGradients", "Tensor", "Variable", "constant", "convert_to_tensor",
    "is_tensor", "stop_gradient", "custom_gradient", "check_grads", "grad", "value_and_grad",
    "vjp", "jvp", "jacobian", "hessian", "hvp",
    "primitive", "defvjp", "defjvp", "defvjp_argnum", "defjvp_argnum", "defelementwise",
    "deflinear", "deflinear_argnum", "nondifferentiable", "unbroadcast",
    "TransformError", "NoGradientRuleError", "RuleRegistrationError",
    "math", "nn", "random",
] + list(_tf_all)
