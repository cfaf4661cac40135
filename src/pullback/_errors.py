"""pullback's exceptions: a small hierarchy, each subclassing the built-in a user would expect."""

__all__ = ["TransformError", "NoGradientRuleError", "RuleRegistrationError"]


class TransformError(SyntaxError):
    """A construct the source engine cannot transform.

    Carries the user's real file name, line, column and source text, so Python draws a caret
    under the offending code.

    Example (what ``pb.grad`` raises carries the place, as a SyntaxError does):
        >>> import pullback as pb
        >>> err = pb.TransformError("pb.grad cannot follow this", ("model.py", 12, 5, "    y = x"))
        >>> isinstance(err, SyntaxError), err.filename, err.lineno, err.offset
        (True, 'model.py', 12, 5)
    """


class NoGradientRuleError(NotImplementedError):
    """A differentiated value went through a function that has no derivative rule.

    Example:
        >>> import numpy as np, pullback as pb
        >>> def f(x):
        ...     return np.sum(np.i0(x))          # no rule for the Bessel function i0
        >>> try:
        ...     pb.grad(f, mode="tape")(np.ones(2))
        ... except pb.NoGradientRuleError as err:
        ...     print(str(err)[:49])
        pullback has no derivative rule for numpy.i0, and
    """


class RuleRegistrationError(ValueError):
    """A derivative rule was declared wrongly, e.g. twice for the same function.

    Example:
        >>> import numpy as np, pullback as pb
        >>> @pb.primitive
        ... def twice(x):
        ...     return 2.0 * x
        >>> pb.defvjp(twice, lambda ans, x: lambda g: 2.0 * g)
        >>> try:
        ...     pb.defvjp(twice, lambda ans, x: lambda g: 3.0 * g)
        ... except pb.RuleRegistrationError as err:
        ...     print(type(err).__name__)
        RuleRegistrationError
    """
