"""The one registry of derivative rules, shared by the runtime tape and the source engine.

A rule is an ordinary, runnable Python function written against NumPy.  Each differentiable
function (a *primitive*) gets, per argument position:

* a VJP maker ``maker(ans, *args, **kwargs) -> (g -> gradient for that argument)`` and
* a JVP maker ``maker(ans, *args, **kwargs) -> (t -> tangent of ans from that argument)``,

forward values first, cotangent (or tangent) last.  ``None`` means "no derivative through this
argument" (an index, a condition, a shape).  For an argument that is a sequence of arrays
(``np.concatenate(arrays)``) the VJP returns a list with one gradient per element, and the JVP
receives a list with one tangent per element.

Rules are written with NumPy functions and operators only, so the tape can run them on
Tensors to differentiate them again (higher-order derivatives), and the source engine can
emit them as readable code.
"""

import functools

import numpy as np

from ._errors import NoGradientRuleError, RuleRegistrationError

__all__ = [
    "Primitive", "primitive", "defvjp", "defjvp", "defvjp_argnum", "defjvp_argnum",
    "defelementwise", "deflinear", "deflinear_argnum", "nondifferentiable", "unbroadcast",
    "defliteral", "lookup", "rule_for", "all_primitives",
]


class Primitive:
    """Everything pullback knows about differentiating one function."""

    __slots__ = ("fun", "name", "vjps", "jvps", "vjp_argnum", "jvp_argnum", "partials",
                 "linear", "differentiable", "literal_partials", "shape_only", "tape_vjps",
                 "tape_keep")

    def __init__(self, fun, name, differentiable=True):
        self.fun = fun
        self.name = name
        self.vjps = ()           # tuple indexed by argument position: maker or None
        self.jvps = ()
        self.vjp_argnum = None   # maker(argnum, ans, *args, **kwargs) for variadic functions
        self.jvp_argnum = None
        self.partials = None     # for elementwise functions: partial derivatives d ans / d arg_i
        self.linear = False      # JVP is the function itself applied to the tangent
        self.differentiable = differentiable
        self.literal_partials = {}  # (argnum, literal argnum) -> partial, see defliteral
        self.shape_only = frozenset()  # arguments every VJP reads only the shape of
        # The tape's caches, built from the rules above on first use and emptied whenever a rule
        # is declared: argnum -> g, ans, args, kwargs -> gradient (pullback._tape), and what a
        # record keeps of the arguments and the result (pullback._retain).
        self.tape_vjps = {}
        self.tape_keep = None

    def vjp_maker(self, argnum):
        """The VJP maker for argument ``argnum``, or None when it has no gradient."""
        if self.vjp_argnum is not None:
            return functools.partial(self.vjp_argnum, argnum)
        return self.vjps[argnum] if argnum < len(self.vjps) else None

    def undeclared(self, argnum):
        """Whether no rule says anything about argument ``argnum`` -- not even that it carries
        no gradient (a None in defvjp).  A differentiated value there is refused: zeros would
        be a guess (np.cov's weights, np.interp's period, np.linalg.norm's ord)."""
        if self.vjp_argnum is not None or not self.differentiable:
            return False
        declared = self.partials if self.partials is not None else self.vjps
        return argnum >= len(declared)

    def undeclared_message(self, argnum):
        """What a differentiated value at an undeclared argument is told."""
        return (f"pullback has no derivative rule for argument {argnum} of {self.name}, and a "
                f"differentiated value was passed there; pass a constant (or "
                f"pb.stop_gradient(value)) in that place, or declare the rule with pb.defvjp")

    def jvp_maker(self, argnum):
        """The JVP maker for argument ``argnum``, or None when it carries no tangent."""
        if self.jvp_argnum is not None:
            return functools.partial(self.jvp_argnum, argnum)
        return self.jvps[argnum] if argnum < len(self.jvps) else None

    def __repr__(self):
        return f"<pullback primitive {self.name}>"


_registry = {}


def _name_of(fun):
    if isinstance(fun, np.ufunc):
        return f"numpy.{fun.__name__}"
    module = getattr(fun, "__module__", None) or "?"
    name = getattr(fun, "__qualname__", None) or getattr(fun, "__name__", repr(fun))
    return f"{module}.{name}"


def _entry(fun, differentiable=True):
    """The registry entry for ``fun``, created on first use."""
    fun = getattr(fun, "_pullback_fun", fun)
    prim = _registry.get(fun)
    if prim is None:
        prim = _registry[fun] = Primitive(fun, _name_of(fun), differentiable)
    elif prim.differentiable != differentiable:
        raise RuleRegistrationError(
            f"{prim.name} is declared both differentiable and non-differentiable; "
            f"remove one of the declarations")
    return prim


def _set_once(prim, field, value):
    if getattr(prim, field):
        raise RuleRegistrationError(
            f"{prim.name} already has a {field.rstrip('s').replace('_', ' ')} rule; a primitive is "
            f"declared once (remove the second declaration, or use a new function)")
    setattr(prim, field, value)
    prim.tape_vjps.clear()
    prim.tape_keep = None


def reads_only_shapes(fun, *argnums):
    """Declare that every VJP of ``fun`` reads only the shape, dtype and ndim of arguments
    ``argnums`` (``unbroadcast(g, x)``), so the tape may keep a stand-in instead of the array.
    A stand-in refuses any read of values, so a wrong declaration fails loudly; the tests
    compare every declared VJP on stand-ins with the same VJP on the arrays."""
    prim = _entry(fun)
    prim.shape_only = prim.shape_only | frozenset(argnums)
    prim.tape_keep = None


def defvjp(fun, *makers):
    """Declare the VJP of ``fun``: one maker per positional argument (None for no gradient).

    Each maker is ``maker(ans, *args, **kwargs)`` returning ``g -> gradient``.

    Example:
        >>> import numpy as np, pullback as pb
        >>> @pb.primitive
        ... def cube(x):
        ...     return x ** 3
        >>> pb.defvjp(cube, lambda ans, x: lambda g: g * 3 * x ** 2)
        >>> x = pb.constant(2.0)
        >>> with pb.GradientTape() as tape:
        ...     tape.watch(x)
        ...     y = cube(x)
        >>> float(tape.gradient(y, x))
        12.0
    """
    _set_once(_entry(fun), "vjps", tuple(makers))


def defjvp(fun, *makers):
    """Declare the JVP of ``fun``: one maker per positional argument (None for no tangent).

    Each maker is ``maker(ans, *args, **kwargs)`` returning ``t -> tangent of ans``.

    Example:
        >>> import numpy as np, pullback as pb
        >>> @pb.primitive
        ... def cube(x):
        ...     return x ** 3
        >>> pb.defvjp(cube, lambda ans, x: lambda g: g * 3 * x ** 2)
        >>> pb.defjvp(cube, lambda ans, x: lambda t: t * 3 * x ** 2)
        >>> y, ty = pb.jvp(cube, (2.0,), (0.5,))
        >>> float(y), float(ty)
        (8.0, 6.0)
    """
    _set_once(_entry(fun), "jvps", tuple(makers))


def defvjp_argnum(fun, maker):
    """Declare the VJP of a variadic ``fun``: ``maker(argnum, ans, *args, **kwargs)``.

    Example:
        >>> import numpy as np, pullback as pb
        >>> @pb.primitive
        ... def product(*xs):
        ...     return np.prod(xs)
        >>> pb.defvjp_argnum(product, lambda i, ans, *xs: lambda g: g * ans / xs[i])
        >>> a, b = pb.constant(2.0), pb.constant(5.0)
        >>> with pb.GradientTape() as tape:
        ...     tape.watch([a, b])
        ...     y = product(a, b, 3.0)
        >>> [float(g) for g in tape.gradient(y, [a, b])]
        [15.0, 6.0]
    """
    _set_once(_entry(fun), "vjp_argnum", maker)


def defjvp_argnum(fun, maker):
    """Declare the JVP of a variadic ``fun``: ``maker(argnum, ans, *args, **kwargs)``.

    Example:
        >>> import numpy as np, pullback as pb
        >>> @pb.primitive
        ... def total(*xs):
        ...     return sum(xs)
        >>> pb.defvjp_argnum(total, lambda i, ans, *xs: lambda g: g)
        >>> pb.defjvp_argnum(total, lambda i, ans, *xs: lambda t: t)
        >>> y, ty = pb.jvp(lambda a, b: total(a, b, 1.0), (2.0, 3.0), (1.0, 10.0))
        >>> float(y), float(ty)
        (6.0, 11.0)
    """
    _set_once(_entry(fun), "jvp_argnum", maker)


def _elementwise_vjp(partial, argnum):
    def maker(ans, *args, **kwargs):
        return lambda g: unbroadcast(g * partial(ans, *args, **kwargs), args[argnum])
    return maker


def _elementwise_jvp(partial):
    def maker(ans, *args, **kwargs):
        return lambda t: t * partial(ans, *args, **kwargs)
    return maker


def defelementwise(fun, *partials):
    """Declare a broadcasting elementwise ``fun`` by its partial derivatives.

    ``partials[i](ans, *args)`` is d ans / d args[i] elementwise; the VJP is
    ``unbroadcast(g * partial, args[i])`` and the JVP ``t * partial``.

    Example:
        >>> import numpy as np, pullback as pb
        >>> @pb.primitive
        ... def smooth_relu(x):
        ...     return np.logaddexp(0.0, x)
        >>> pb.defelementwise(smooth_relu, lambda ans, x: np.exp(x - ans))
        >>> x = pb.constant(0.0)
        >>> with pb.GradientTape() as tape:
        ...     tape.watch(x)
        ...     y = smooth_relu(x)
        >>> float(tape.gradient(y, x))
        0.5
    """
    prim = _entry(fun)
    _set_once(prim, "partials", tuple(partials))
    _set_once(prim, "vjps", tuple(None if p is None else _elementwise_vjp(p, i)
                                  for i, p in enumerate(partials)))
    _set_once(prim, "jvps", tuple(None if p is None else _elementwise_jvp(p) for p in partials))


def defliteral(fun, argnum, literal_argnum, partial):
    """A simpler form of an elementwise partial for when argument ``literal_argnum`` is a
    nonzero number written in the source (``x ** 2``): the source engine emits it instead of
    the general partial, which must guard cases a literal rules out; the tape uses it when that
    argument is a nonzero Python int or float (a constant, never a Tensor).  Tests check that
    both forms agree.
    """
    prim = _entry(fun)
    key = (argnum, literal_argnum)
    if key in prim.literal_partials:
        raise RuleRegistrationError(f"{prim.name} already has a literal form for {key}")
    prim.literal_partials[key] = partial


def _linear_jvp(fun, argnum):
    def maker(ans, *args, **kwargs):
        def jvp(t):
            args_t = list(args)
            args_t[argnum] = t
            return fun(*args_t, **kwargs)
        return jvp
    return maker


def deflinear(fun, *argnums):
    """Declare that ``fun`` is linear in each of ``argnums`` (default: the first argument).

    Its JVP through such an argument is ``fun`` itself with the tangent in that argument's place.
    Multilinear functions (``np.multiply``, ``np.dot``, ``np.einsum`` operands) qualify too.

    Example:
        >>> import numpy as np, pullback as pb
        >>> @pb.primitive
        ... def double(x):
        ...     return 2.0 * x
        >>> pb.defvjp(double, lambda ans, x: lambda g: 2.0 * g)
        >>> pb.deflinear(double)   # its JVP: double(t)
        >>> y, ty = pb.jvp(double, (3.0,), (0.25,))
        >>> float(y), float(ty)
        (6.0, 0.5)
    """
    prim = _entry(fun)
    argnums = argnums or (0,)
    jvps = [None] * (max(argnums) + 1)
    for i in argnums:
        jvps[i] = _linear_jvp(prim.fun, i)
    _set_once(prim, "jvps", tuple(jvps))
    prim.linear = True


def deflinear_argnum(fun):
    """Declare that variadic ``fun`` is linear in each of its array arguments (``np.einsum``).

    Example:
        >>> import numpy as np, pullback as pb
        >>> @pb.primitive
        ... def total(*xs):
        ...     return sum(xs)
        >>> pb.defvjp_argnum(total, lambda i, ans, *xs: lambda g: g)
        >>> pb.deflinear_argnum(total)   # the JVP through argument i: total with t there
        >>> y, ty = pb.jvp(lambda a: total(a, 1.0), (2.0,), (0.5,))
        >>> float(y), float(ty)
        (3.0, 0.5)
    """
    prim = _entry(fun)
    _set_once(prim, "jvp_argnum", lambda argnum, ans, *args, **kwargs: _linear_jvp(prim.fun, argnum)(ans, *args, **kwargs))
    prim.linear = True


def nondifferentiable(*funs):
    """Declare functions whose output carries no gradient (rounding, comparisons, argmax, shapes).

    The tape returns an unrecorded result; the source engine treats the result as a constant.

    Example:
        >>> import numpy as np, pullback as pb
        >>> @pb.primitive
        ... def bucket(x):
        ...     return np.floor(x * 4.0)
        >>> pb.nondifferentiable(bucket)
        >>> x = pb.constant(0.6)
        >>> with pb.GradientTape() as tape:
        ...     tape.watch(x)
        ...     y = bucket(x) * x
        >>> float(y), float(tape.gradient(y, x))   # bucket(x) is a constant: 2.0
        (1.2, 2.0)
    """
    for fun in funs:
        prim = _registry.get(getattr(fun, "_pullback_fun", fun))
        if prim is not None and prim.differentiable and not _has_rules(prim):
            prim.differentiable = False   # @pb.primitive, then declared non-differentiable
        _entry(fun, differentiable=False)


def _has_rules(prim):
    return bool(prim.vjps or prim.jvps or prim.partials or prim.vjp_argnum is not None
                or prim.jvp_argnum is not None)


def lookup(fun):
    """The Primitive registered for ``fun``, or None."""
    return _registry.get(getattr(fun, "_pullback_fun", fun))


def rule_for(fun):
    """The Primitive registered for ``fun``; raises NoGradientRuleError naming it when there is none."""
    prim = lookup(fun)
    if prim is None:
        raise NoGradientRuleError(
            f"pullback has no derivative rule for {_name_of(fun)}, and a differentiated value was "
            f"passed to it. Declare one with pb.defvjp (see docs/tape.md), or compute this part "
            f"outside the differentiated code with pb.stop_gradient.")
    return prim


def all_primitives():
    """Every registered Primitive, in registration order."""
    return list(_registry.values())


def primitive(fun):
    """Make a NumPy-level function ``fun`` a primitive: it receives plain arrays, and its
    derivative comes from the rules you declare with ``defvjp`` / ``defjvp`` / ``defelementwise``.

    Called with Tensors it unwraps them, runs ``fun`` on arrays and records one op on the tape.

    Example:
        >>> import numpy as np, pullback as pb
        >>> @pb.primitive
        ... def logsumexp(x):
        ...     m = np.max(x)
        ...     return m + np.log(np.sum(np.exp(x - m)))
        >>> pb.defvjp(logsumexp, lambda ans, x: lambda g: g * np.exp(x - ans))
        >>> x = pb.constant([0.0, 0.0])
        >>> with pb.GradientTape() as tape:
        ...     tape.watch(x)
        ...     y = logsumexp(x)
        >>> tape.gradient(y, x).numpy().tolist()
        [0.5, 0.5]
    """
    from ._tensor import call_primitive  # the tape layer sits above the registry

    @functools.wraps(fun)
    def wrapped(*args, **kwargs):
        return call_primitive(fun, args, kwargs)

    wrapped._pullback_fun = fun
    _entry(fun)
    return wrapped


# --- the one broadcasting helper -------------------------------------------------------------

def unbroadcast(g, target):
    """Sum ``g`` down to the shape of ``target`` (an array, Tensor or Python number, or the
    shape itself as a tuple).

    Every broadcasting rule reduces its gradient through this helper.

    Example:
        >>> import numpy as np
        >>> unbroadcast(np.ones((3, 2)), np.zeros((1, 2))).tolist()
        [[3.0, 3.0]]
    """
    if type(target) is tuple:
        shape = target
    else:
        try:
            shape = target.shape
        except AttributeError:  # a Python number, or a list of numbers NumPy made an array of
            shape = np.shape(target) if type(target) is list else ()
    try:
        gshape = g.shape
    except AttributeError:
        gshape = ()
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    if lead < 0:
        return np.broadcast_to(g, shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and gshape[lead + i] != 1)
    if axes:
        g = g.sum(axis=axes)   # the method: no dispatch (g is an array, scalar or Tensor here)
    return g.reshape(shape)
