"""Compile: run the generated text as a module, registered with ``linecache`` so tracebacks,
``inspect`` and pdb show the generated code.

A generated function reads three kinds of names: the module's own (the imports and bound
rules of its header, the other generated functions), the user function's closure cells, and
the user function's module globals (and builtins).  The last two are read live, as the user's
function reads them.  Each function is compiled nested in a maker function whose locals are
the header's names, so every name is an ordinary closure cell or global: the function gets the
user's own cells and the user's own globals dict, and CPython's specialized global and cell
loads apply (a dict subclass with ``__missing__`` as globals would disable them and cost a
fifth of a scalar loop's time).
"""

import ast
import builtins
import linecache
import types
import weakref

__all__ = ["compile_module"]

_MAKER = "_pullback_maker"


def compile_module(text, filename, functions):
    """Compile ``text`` and return {function name: function object}.

    ``functions`` maps each generated function's name to the user function whose globals and
    closure it reads.  The text is the header (imports, bound rules), then the functions.
    """
    lines = text.splitlines(keepends=True)
    linecache.cache[filename] = (len(text), None, lines, filename)
    tree = ast.parse(text, filename)
    header = [n for n in tree.body if not isinstance(n, ast.FunctionDef)]
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    own = _bound_names(header) | {d.name for d in defs}
    made, links = {}, []
    for node in defs:
        owner = functions[node.name]
        cells = dict(zip(owner.__code__.co_freevars, owner.__closure__ or ()))
        users = [n for n in cells if n not in own]          # the user's cells, read live
        others = sorted(d.name for d in defs if d is not node)
        function = _make(node, header, users, others, filename, owner)
        closure = tuple(cells[n] if n in users else c
                        for n, c in zip(function.__code__.co_freevars,
                                        function.__closure__ or ()))
        made[node.name] = function = _rebind(function, owner.__globals__, closure)
        links.extend((c, n) for n, c in zip(function.__code__.co_freevars,
                                            function.__closure__ or ()) if n in others)
    for cell, name in links:  # generated functions calling one another
        cell.cell_contents = made[name]
    if made:  # the text leaves linecache with the code (caches stay bounded)
        weakref.finalize(next(iter(made.values())), _forget, filename, lines)
    return made


def _make(node, header, users, others, filename, owner):
    """Compile ``node`` nested in a maker whose locals are the header's names, the user's
    cell names (parameters) and the other generated functions (None until all are made).
    The header runs once, here, reading what it does not import from the user's function."""
    at = {"lineno": 1, "col_offset": 0, "end_lineno": 1, "end_col_offset": 0}  # no real line
    body = list(header) + [ast.Assign(targets=[ast.Name(id=n, ctx=ast.Store(), **at)],
                                      value=ast.Constant(value=None, **at), **at)
                           for n in others]
    body += [node, ast.Return(value=ast.Name(id=node.name, ctx=ast.Load(), **at), **at)]
    maker = ast.FunctionDef(name=_MAKER, args=ast.arguments(
        posonlyargs=[], args=[ast.arg(arg=n, **at) for n in users], vararg=None, kwonlyargs=[],
        kw_defaults=[], kwarg=None, defaults=[]), body=body, decorator_list=[], returns=None,
        type_params=[], **at)
    module = ast.Module(body=[maker], type_ignores=[])
    namespace = _Namespace(owner)
    namespace["__name__"] = "pullback.generated"
    exec(compile(module, filename, "exec"), namespace)  # noqa: S102 - the code pullback generated
    return namespace[_MAKER](*[None] * len(users))


class _Namespace(dict):
    """Globals of the maker: its own names, then the user function's closure cells and module
    globals, then the builtins."""

    def __init__(self, fn):
        super().__init__()
        self._cells = dict(zip(fn.__code__.co_freevars, fn.__closure__ or ()))
        self._globals = fn.__globals__

    def __missing__(self, key):
        cell = self._cells.get(key)
        if cell is not None:
            return cell.cell_contents
        if key in self._globals:
            return self._globals[key]
        try:
            return getattr(builtins, key)
        except AttributeError:
            raise KeyError(key) from None  # Python turns it into the usual NameError


def _rebind(function, globals_, closure):
    """``function`` with the user's globals and these cells."""
    made = types.FunctionType(function.__code__, globals_, function.__name__,
                              function.__defaults__, closure)
    made.__kwdefaults__ = function.__kwdefaults__
    made.__qualname__ = function.__name__
    made.__module__ = "pullback.generated"
    made.__doc__ = function.__doc__
    return made


def _bound_names(statements):
    """Names the header's statements bind (imports and assignments)."""
    names = set()
    for stmt in statements:
        for node in ast.walk(stmt):
            if isinstance(node, ast.alias):
                names.add(node.asname or node.name.split(".")[0])
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    return names


def _forget(filename, lines):
    entry = linecache.cache.get(filename)
    if entry is not None and entry[2] is lines:
        del linecache.cache[filename]
