"""pullback: automatic differentiation of plain NumPy code."""

from ._errors import NoGradientRuleError, RuleRegistrationError, TransformError
from ._registry import (defelementwise, defjvp, defjvp_argnum, deflinear, defvjp, defvjp_argnum,
                        nondifferentiable, primitive, unbroadcast)
from . import _rules  # noqa: F401  (registers every NumPy rule)
