"""Which parameters a rule function reads, from its bytecode.

A derivative rule is an ordinary function such as ``lambda ans, x: lambda g: g * (1 - ans * ans)``.
Knowing that it never reads ``x`` lets the tape drop ``x`` from its record and the source engine
pass ``None`` for an unread ``ans``, so neither keeps an array alive for nothing.  The answer
errs on the side of "read": every name any load instruction mentions, in the function or in a
function nested in it, counts as read, and a function that could reach its locals by name
(``locals()``, ``vars()``, ``eval``, ``exec``) or that has no bytecode reads everything.
"""

import dis
import types

__all__ = ["parameters_read", "unread_parameters"]

_OPAQUE = frozenset({"locals", "vars", "eval", "exec", "sys"})
_CACHE = {}   # code object -> frozenset of names read, or None for "anything"


def parameters_read(fn):
    """The names ``fn`` (or a function nested in it) loads, or None when that cannot be known.

    Example:
        >>> sorted(parameters_read(lambda ans, x, y: lambda g: g * y))
        ['g', 'y']
    """
    code = getattr(fn, "__code__", None)
    if not isinstance(code, types.CodeType):
        return None
    if code not in _CACHE:
        names = set()
        _CACHE[code] = frozenset(names) if _collect(code, names) else None
    return _CACHE[code]


def unread_parameters(fn):
    """The positional parameters of ``fn`` it never reads (empty when unknown).

    Example:
        >>> unread_parameters(lambda ans, x: lambda g: -g)
        ('ans', 'x')
    """
    read = parameters_read(fn)
    if read is None:
        return ()
    code = fn.__code__
    return tuple(name for name in code.co_varnames[:code.co_argcount] if name not in read)


def _collect(code, names):
    """Add the names ``code`` loads to ``names``; False when it might read its locals by name."""
    if _OPAQUE & set(code.co_names):
        return False
    names.update(code.co_cellvars)   # a parameter an inner function reads
    for ins in dis.get_instructions(code):
        if ins.opname.startswith(("LOAD_", "DELETE_", "MAKE_CELL", "COPY_FREE")) \
                and ins.opname != "LOAD_CONST":   # 3.10 loads a nested function's qualname
            value = ins.argval
            if isinstance(value, str):
                names.add(value)
            elif isinstance(value, tuple):   # LOAD_FAST_LOAD_FAST (Python 3.13) loads two
                names.update(v for v in value if isinstance(v, str))
    for const in code.co_consts:
        if isinstance(const, types.CodeType) and not _collect(const, names):
            return False
    return True
