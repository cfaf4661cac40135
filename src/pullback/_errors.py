"""pullback's exceptions: a small hierarchy, each subclassing the built-in a user would expect."""

__all__ = ["TransformError", "NoGradientRuleError", "RuleRegistrationError"]


class TransformError(SyntaxError):
    """A construct the source engine cannot transform.

    Carries the user's real file name, line, column and source text, so Python draws a caret
    under the offending code.
    """


class NoGradientRuleError(NotImplementedError):
    """A differentiated value went through a function that has no derivative rule."""


class RuleRegistrationError(ValueError):
    """A derivative rule was declared wrongly, e.g. twice for the same function."""
