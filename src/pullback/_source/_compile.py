"""Compile: run the generated text as a module, registered with ``linecache`` so tracebacks,
``inspect`` and pdb show the generated code."""

import ast
import builtins
import linecache
import weakref

__all__ = ["compile_module"]


class _Namespace(dict):
    """Globals of one generated function: its own names, then the user function's closure
    cells and module globals, read live at each access."""

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


def compile_module(text, filename, functions):
    """Compile ``text`` and return {function name: function object}.

    ``functions`` maps each generated function's name to the user function whose globals and
    closure it reads.  The text is the header (imports, bound rules), then the functions: each
    function runs with the header in a namespace of its own -- with a single function, that is
    the whole text as it is.
    """
    lines = text.splitlines(keepends=True)
    linecache.cache[filename] = (len(text), None, lines, filename)
    if len(functions) == 1:
        (name, owner), = functions.items()
        codes = [(name, owner, compile(text, filename, "exec"))]
    else:
        tree = ast.parse(text, filename)
        header = [n for n in tree.body if not isinstance(n, ast.FunctionDef)]
        codes = [(node.name, functions[node.name],
                  compile(ast.Module(body=header + [node], type_ignores=[]), filename, "exec"))
                 for node in tree.body if isinstance(node, ast.FunctionDef)]
    made = {}
    namespaces = []
    for name, owner, code in codes:
        namespace = _Namespace(owner)
        namespace["__name__"] = "pullback.generated"
        exec(code, namespace)  # noqa: S102 - the code pullback generated, shown in df.source
        made[name] = namespace[name]
        namespaces.append(namespace)
    for namespace in namespaces:
        namespace.update(made)
    if made:  # the text leaves linecache with the code (caches stay bounded)
        weakref.finalize(next(iter(made.values())), _forget, filename, lines)
    return made


def _forget(filename, lines):
    entry = linecache.cache.get(filename)
    if entry is not None and entry[2] is lines:
        del linecache.cache[filename]
