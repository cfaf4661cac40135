"""Get a function's source: its text (dedented, decorators stripped), file and first line."""

import inspect
import textwrap

import gast

from .._errors import TransformError
from ._clone import clone, walk
from ._translate import increment_lineno, parse

__all__ = ["FunctionSource", "get_source"]


class FunctionSource:
    """A parsed user function: its gast FunctionDef (or Lambda), file name and source lines.

    Line numbers in ``node`` are the real lines of ``filename``.
    """

    def __init__(self, fn, node, filename, lines):
        self.fn = fn
        self.node = node
        self.filename = filename
        self.lines = lines  # the file's lines, for error messages and comments

    def line_text(self, lineno):
        """The user's source line ``lineno`` (1-based), without its newline."""
        if 1 <= lineno <= len(self.lines):
            return self.lines[lineno - 1].rstrip("\n")
        return ""

    def error(self, node, message):
        """A TransformError pointing at ``node`` in the user's file."""
        lineno = getattr(node, "lineno", None) or getattr(self.node, "lineno", 1)
        col = getattr(node, "col_offset", 0) or 0
        text = self.line_text(lineno)
        return TransformError(message, (self.filename, lineno, col + 1, text + "\n"))


def get_source(fn):
    """Parse ``fn``'s source with gast, with line numbers of the real file.

    The text is read from the file each time (an edited file is seen); the parse of a text
    already seen for the same code is a copy of the one made then (see ``_parsed``).

    Raises:
        TransformError: the source is not available (a builtin, or code typed at a prompt).
    """
    code = getattr(fn, "__code__", None)
    filename = code.co_filename if code is not None else "<unknown>"
    try:
        lines, start = _source_lines(fn)
    except (OSError, TypeError) as err:
        raise TransformError(
            f"cannot read the source of {getattr(fn, '__qualname__', fn)!r} ({err}); pb.grad "
            f"needs functions defined in a file. Use mode='tape' for this function",
            (filename, getattr(code, "co_firstlineno", 1), 1, "")) from None
    all_lines = _file_lines(filename, lines, start)
    node = _parsed(fn, code, lines, start, filename)
    return FunctionSource(fn, clone(node), filename, all_lines)


# The parse of a function's text, as get_source makes it before copying it, by (code, names,
# file, first line, text): everything it is made from.  Bounded, oldest out first.
_PARSED = {}
_PARSED_LIMIT = 64


def _parsed(fn, code, lines, start, filename):
    """The FunctionDef (or Lambda) of ``fn``'s ``lines``, lines numbered as in the file; not
    to be changed (get_source hands out copies)."""
    key = (code, fn.__name__, fn.__qualname__, filename, start, "".join(lines))
    node = _PARSED.pop(key, None)
    if node is None:
        node = _parse(fn, lines, start, filename)
        if len(_PARSED) >= _PARSED_LIMIT:
            del _PARSED[next(iter(_PARSED))]
    _PARSED[key] = node  # (again) the newest
    return node


def _parse(fn, lines, start, filename):
    text = textwrap.dedent("".join(lines))
    if fn.__name__ == "<lambda>":
        node = _find_lambda(text, fn, filename, start)
    else:
        try:
            module = parse(text)
        except SyntaxError:
            module = None
        if module is None or not module.body or not isinstance(
                module.body[0], (gast.FunctionDef, gast.AsyncFunctionDef)):
            raise TransformError(f"cannot parse the source of {fn.__qualname__}",
                                 (filename, start, 1, lines[0]))
        node = module.body[0]
    _check_not_edited(fn, text, filename, start, lines)
    increment_lineno(node, start - 1)
    _shift_columns(node, lines[0])
    node.decorator_list = [] if hasattr(node, "decorator_list") else None
    return node


# inspect.getblock's result (the lines of a definition) by (id of the file's lines in
# linecache, first line), with those lines: linecache makes a new list when the file changes.
_BLOCKS = {}
_BLOCKS_LIMIT = 64


def _source_lines(fn):
    """``inspect.getsourcelines(fn)``, with the tokenizing that finds where a function's
    definition ends done once per version of its file."""
    target = inspect.unwrap(fn)
    if not inspect.isfunction(target):
        return inspect.getsourcelines(fn)
    lines, lnum = inspect.findsource(target)
    key = (id(lines), lnum)
    found = _BLOCKS.get(key)
    if found is None or found[0] is not lines:
        found = (lines, inspect.getblock(lines[lnum:]))
        if len(_BLOCKS) >= _BLOCKS_LIMIT:
            del _BLOCKS[next(iter(_BLOCKS))]
        _BLOCKS[key] = found
    return list(found[1]), lnum + 1


def _check_not_edited(fn, text, filename, start, lines):
    """Raise when the file no longer holds the code ``fn`` runs (edited since it was loaded):
    the engine would differentiate the new text while your program runs the old code.
    Checked for module-level functions, whose text compiled again must name the same
    variables, names and constants (the bytecode itself may differ with how it was
    compiled, so an edit of an operator alone goes unseen)."""
    import types
    code = getattr(fn, "__code__", None)
    if code is None or code.co_freevars or "<" in fn.__qualname__ or "." in fn.__qualname__:
        return   # nested functions and methods compile differently on their own
    try:
        compiled = compile(text, filename, "exec", dont_inherit=True)
    except SyntaxError:
        return
    found = [c for c in compiled.co_consts
             if isinstance(c, types.CodeType) and c.co_name == code.co_name]
    # no function of that name there: the lines now hold another one (code moved down)
    if not found or _signature(found[0]) != _signature(code):
        raise TransformError(
            f"the source of {fn.__qualname__} in {filename} is not the code it runs: the "
            f"file was edited after the function was defined. Reload the module "
            f"(importlib.reload) or run the definition again; mode='tape' runs the function "
            f"as it is", (filename, start, 1, lines[0]))


def _signature(code):
    import types
    consts = tuple(repr(c) for c in code.co_consts if not isinstance(c, types.CodeType))
    return code.co_varnames, tuple(sorted(set(code.co_names))), consts


def _file_lines(filename, lines, start):
    import linecache
    file_lines = linecache.getlines(filename)
    if file_lines:
        return file_lines
    return [""] * (start - 1) + list(lines)


def _shift_columns(node, first_line):
    """Restore the columns lost by dedent, so carets point at the right place."""
    indent = len(first_line) - len(first_line.lstrip())
    if not indent:
        return
    for child in walk(node):
        if hasattr(child, "col_offset") and child.col_offset is not None:
            child.col_offset += indent
        if hasattr(child, "end_col_offset") and child.end_col_offset is not None:
            child.end_col_offset += indent


def _find_lambda(text, fn, filename, start):
    """The one lambda on these lines whose parameters match ``fn``'s."""
    module = None
    inner = text.strip().rstrip(",")
    # the line as it is; an item of a call or list display; a key's value in a dict display
    for candidate in (text, "(" + inner + ")", "{" + inner + "}"):
        try:
            module = parse(candidate)
            break
        except SyntaxError:
            continue
    params = fn.__code__.co_varnames[:fn.__code__.co_argcount]
    found = [] if module is None else [
        n for n in gast.walk(module) if isinstance(n, gast.Lambda)
        and tuple(a.id for a in n.args.args) == params]
    if len(found) != 1:
        held = (f"line {start} holds {len(found) or 'no'} matching lambdas" if module is not None
                else f"line {start} cannot be read on its own")
        raise TransformError(
            f"cannot single out the source of this lambda ({held}); define it with def, or "
            f"use mode='tape'", (filename, start, 1, text.splitlines()[0] if text else ""))
    return found[0]
