"""The normalized form the passes share: one operation per statement, every value named once.

``Op`` is one primal operation ``target = expr``; ``Branch`` is an ``if`` on a named condition;
``Plain`` is a statement kept as the user wrote it (it touches no differentiated value).
"""

__all__ = ["Op", "Branch", "Plain", "Function", "Loop", "LoopExit"]


class Op:
    """``target = expr``.

    kind:
      "prim"   a registered primitive: ``prim``, positional ``args`` and ``kwargs`` are gast
               expressions (names, constants, constant expressions, lists of names);
      "item"   element ``index`` of the tuple-valued name ``args[0]``;
      "leaf"   ``args[0][key]`` of a differentiated container (a pytree argument);
      "call"   a user function transformed into its own generated function (``helper``);
      "copy"   ``target = args[0]``;
      "const"  a value that does not depend on the differentiated arguments;
      "setitem" ``target[args[1]] = args[2]``, in place (``expr`` is the statement).
    """

    __slots__ = ("kind", "target", "expr", "prim", "args", "kwargs", "line", "active",
                 "helper", "index", "pullback", "in_loop")

    def __init__(self, kind, target, expr, line, prim=None, args=(), kwargs=None, active=True,
                 helper=None, index=None):
        self.kind = kind
        self.target = target
        self.expr = expr
        self.line = line
        self.prim = prim
        self.args = list(args)
        self.kwargs = dict(kwargs or {})
        self.active = active
        self.helper = helper
        self.index = index
        self.pullback = None  # the name of a helper call's pullback
        self.in_loop = False  # assigned once per iteration of an enclosing loop

    def __repr__(self):
        return f"Op({self.kind} {self.target} line {self.line})"


class Branch:
    """``if test: body else: orelse`` with ``test`` a name holding the branch taken."""

    __slots__ = ("test", "body", "orelse", "line")

    def __init__(self, test, body, orelse, line):
        self.test, self.body, self.orelse, self.line = test, body, orelse, line


class Plain:
    """A statement that touches no differentiated value, kept as written."""

    __slots__ = ("stmt", "line", "defines", "in_loop")

    def __init__(self, stmt, line, defines=()):
        self.stmt, self.line, self.defines = stmt, line, tuple(defines)
        self.in_loop = False


class Loop:
    """A ``for`` (over ``iter`` into ``target``) or ``while`` (on ``test``) loop; the forward
    pass counts its iterations in ``trips``."""

    __slots__ = ("kind", "target", "iter", "test", "body", "trips", "line")

    def __init__(self, kind, target, iter_, test, body, trips, line):
        self.kind, self.target, self.iter, self.test = kind, target, iter_, test
        self.body, self.trips, self.line = body, trips, line


class LoopExit:
    """``if test: break``, the last statement of a loop body after lowering."""

    __slots__ = ("test", "line")

    def __init__(self, test, line):
        self.test, self.line = test, line


class Function:
    """A normalized function: parameters, body and the name of the returned value."""

    __slots__ = ("name", "params", "body", "result", "src", "active_params", "containers",
                 "leaves", "closure_params", "mutated", "loop_names", "sequences", "lists")

    def __init__(self, name, params, body, result, src):
        self.name, self.params, self.body, self.result, self.src = name, params, body, result, src
        self.active_params = []
        self.containers = {}   # container name -> its argument's structure
        self.leaves = {}       # leaf name -> (argument name, path tuple)
        self.closure_params = []
        self.mutated = set()   # arrays written into with x[i] = v
        self.loop_names = set()  # user variables' one name inside loops
        self.sequences = set()   # names of lists of arrays (np.split's) read by index
        self.lists = set()       # names of lists built by appending (see _lists)
