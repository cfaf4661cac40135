"""The source-to-source engine: a user function in, a readable gradient module out.

``generate`` is the whole pipeline, top to bottom: get the source, fence, normalize (with
activity), reverse from the shared registry, emit, compile.  Calls into other user functions
are generated as functions of their own that return the value and a ``pullback``.
"""

import os

import numpy as np

import gast

from ._activity import useful_names
from ._clone import name_nodes, statements
from ._compile import compile_module
from ._emit import Comments, emit
from ._fence import fence
from ._getsource import FunctionSource, get_source
from ._imports import Imports
from ._logsumexp import detach_logsumexp_shifts
from ._lists import rewrite_comprehensions
from ._lower import lower
from ._naming import Namer
from ._resolve import FunctionArgument
from ._normalize import _params_of, normalize
from ._optimize import (fold_constants, fold_into_copies, inline_conditions, merge_restarts,
                        propagate_copies, pure_statement, remove_dead_code,
                        use_math_for_scalars)
from ._rerun import recompute_loop_conditions, rematerialize
from ._reverse import Reverse
from ._rulecode import RuleCode
from ._specialize import specialize
from .._structure import frozen

__all__ = ["generate", "Generated"]


class Generated:
    """A generated gradient module: its text, and the compiled entry function."""

    def __init__(self, source, function, filename):
        self.source = source
        self.function = function
        self.filename = filename
        self.scalar_math = False   # whether it computes scalars with the math module
        self.written_params = frozenset()   # the parameters it writes into (copies of)


def generate(fn, wrt, kinds, value=True, layout=None, scalar_math=True):
    """Generate, compile and return the gradient of ``fn`` w.r.t. the parameters ``wrt``.

    ``kinds`` maps each parameter to "scalar", "array", "other" or a pytree structure; the
    generated code is specialized to them.  The entry function takes ``fn``'s parameters and
    returns ``(value, gradients)`` with one gradient per name in ``wrt`` -- or only the
    gradients when ``value`` is false (then what only the value needs is not computed).
    ``layout`` (from ``_shapes.layout_of``) specializes the array code further to the
    arguments' symbolic shapes and dtypes (see ``_specialize``).  ``scalar_math`` computes
    scalars with the math module (fast, but it raises where NumPy returns inf or nan: pb.grad
    then generates again without it).

    Raises:
        TransformError: a construct the engine cannot transform, at the user's file and line.
    """
    src = get_source(fn)
    rewrite_comprehensions(src)
    fence(src, layout)
    program = _Program(src)
    program.scalar_math = scalar_math
    program.lower(src.node)
    entry = program.main(src, wrt, kinds, value, layout)
    module = gast.Module(body=program.header() + program.functions, type_ignores=[])
    text = program.title() + emit(module, program.comments)
    filename = source_name(fn, src, text)
    made = compile_module(text, filename, program.owners)
    generated = Generated(text, made[entry], filename)
    generated.with_value = value
    generated.written_params = frozenset(program.written_params)
    generated.scalar_math = program.imports.peek("math", None) is not None and \
        program.imports.peek("math", None) in {n.id for f in program.functions
                                               for n in name_nodes(f)}
    return generated


def source_name(fn, src, text):
    """The file name tracebacks show for generated code: the function, where it is defined,
    and a digest of the text (two functions named ``f``, or one function's code for two
    layouts, never share an entry in linecache)."""
    import hashlib
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]
    where = f"{os.path.basename(src.filename)}, line {src.node.lineno}"
    return f"<pullback: gradient of {fn.__qualname__} ({where}) {digest}>"


def _names_in(node):
    return {n.id for n in name_nodes(node)} | {
        n.name for n in statements(node) if isinstance(n, gast.FunctionDef)}


class _Helper:
    """A user function called from differentiated code, generated as ``d_<name>``."""

    def __init__(self, name, short, params, closure_names, defaults):
        self.name = name
        self.short = short
        self.params = params
        self.closure_names = closure_names
        self.defaults = defaults
        self.returns_tuple = False   # return a, b: its result is read by item

    def bind_call(self, args, kwargs, node, src):
        """The call's arguments in parameter order (defaults filled in)."""
        bound = list(args)
        if len(bound) > len(self.params):
            raise src.error(node, f"{self.short}() takes {len(self.params)} arguments but "
                                  f"{len(bound)} were given")
        for param in self.params[len(bound):]:
            if param in kwargs:
                bound.append(kwargs.pop(param))
            elif param in self.defaults:
                bound.append(self.defaults[param])
            else:
                raise src.error(node, f"{self.short}() is missing the argument {param!r}")
        if kwargs:
            raise src.error(node, f"{self.short}() got an unexpected argument "
                                  f"{sorted(kwargs)[0]!r}")
        return bound


class _Program:
    """The functions of one generated module, and what they share."""

    def __init__(self, src):
        self.root = src
        self._cells = None       # the user function's closure cells by name, once read
        self.module_namer = Namer(_names_in(src.node))
        self.imports = Imports(self.module_namer, self._user_value)
        self.rules = RuleCode(self.imports)
        self.comments = Comments()
        self.functions = []      # gast FunctionDefs, helpers before their callers
        self.owners = {}         # generated function name -> the user function it belongs to
        self.helpers = {}        # key -> _Helper
        self.in_progress = set()
        self.notes = []          # header lines: what each function argument is
        self.scalar_math = True  # scalars with the math module (see generate)
        self.written_params = set()

    def _user_value(self, name):
        fn = self.root.fn
        cells = self._cells
        if cells is None:  # the function's cells (their contents are read each time)
            cells = self._cells = dict(zip(fn.__code__.co_freevars, fn.__closure__ or ()))
        if name in cells:
            try:
                return cells[name].cell_contents
            except ValueError:
                return None
        return fn.__globals__.get(name)

    def lower(self, node):
        """Turn early returns, break and continue into flags (once per node)."""
        if not getattr(node, "_pullback_lowered", False):
            lower(node, Namer(_names_in(node) | self.module_namer._taken))
            node._pullback_lowered = True

    def title(self):
        src = self.root
        where = f"{os.path.basename(src.filename)}, line {src.node.lineno}"
        return (f"# Generated by pullback: the gradient of {src.fn.__qualname__} ({where}).\n"
                f"# Regenerate it rather than edit it.\n" + "".join(self.notes))

    def header(self):
        """Imports of everything the functions use that can be imported: the rules and
        helpers, and the user's own NumPy names, so the module text runs on its own."""
        used = set()
        for fn in self.functions:
            used |= {n.id for n in name_nodes(fn)}
        for name in sorted(used):
            self.imports.user_import(name)
        return self.imports.statements(used)

    # --- the differentiated function ---------------------------------------------------------

    def main(self, src, wrt, kinds, with_value=True, layout=None):
        namer = self._namer(src.node)
        fn_ir = normalize(src, namer, kinds, wrt, self)
        self.written_params = fn_ir.mutated & set(fn_ir.params)
        reverse = self._reverse(fn_ir, namer, kinds)
        name = self.module_namer.fresh(f"grad_{_identifier(src.fn.__name__)}")
        body, last = reverse.forward(fn_ir.body)
        result = fn_ir.result
        adj = {}
        seeded = isinstance(result, gast.Name) and result.id in reverse.useful_active
        if isinstance(result, gast.Name) and result.id in reverse.saved:
            # the backward pass restores saved values: keep the output's value apart
            value = namer.fresh("value")
            body.append(_assign(value, _name(result.id)))
            result = _name(value)
        if seeded:
            bresult = namer.adjoint(fn_ir.result.id)
            if reverse.kind(fn_ir.result) == "scalar":  # a scalar by construction
                body.append(self.comments.marker("the output's cotangent"))
                body.append(_assign(bresult, gast.Constant(value=1.0, kind=None)))
            else:
                seed = self.imports.name("pullback._runtime", "seed", None)
                body.append(self.comments.marker(
                    "the output's cotangent: 1.0 for a scalar output"))
                body.append(_assign(bresult, _call(seed, [_name(result.id), gast.Constant(
                    value=src.fn.__qualname__, kind=None)])))
            adj[fn_ir.result.id] = _name(bresult)
            body.extend(reverse.backward(fn_ir.body, adj))
        else:
            check = self.imports.name("pullback._runtime", "seed", None)
            body.append(gast.Expr(value=_call(check, [result, gast.Constant(
                value=src.fn.__qualname__, kind=None)])))
        grads = gast.Tuple(elts=[self._gradient(p, fn_ir, adj, reverse) for p in wrt],
                           ctx=gast.Load())
        body.append(gast.Return(value=gast.Tuple(elts=[result, grads], ctx=gast.Load())
                                if with_value else grads))
        body[:0] = reverse.prologue()
        self.notes = [f"# {p} is {_describe_function(kind.fn)}: this code is for that "
                      f"function (another one generates it anew).\n"
                      for p, kind in kinds.items() if isinstance(kind, FunctionArgument)]
        self._add_function(name, fn_ir.params, body, src.fn, reverse, layout)
        return name

    def _gradient(self, param, fn_ir, adj, reverse):
        if param in fn_ir.containers:
            tree_grad = self.imports.name("pullback._runtime", "tree_grad", None)
            leaves = sorted((path, leaf) for leaf, (root, path) in fn_ir.leaves.items()
                            if root == param and leaf in adj and leaf not in fn_ir.containers)
            paths = gast.Dict(keys=[_literal(path) for path, _ in leaves],
                              values=[adj[leaf] for _, leaf in leaves])
            return _call(tree_grad, [_name(param), paths])
        if param in adj:
            return adj[param]
        return reverse.zeros(_name(param))

    # --- called user functions ---------------------------------------------------------------

    def signature(self, callee, caller, call=None):
        """(parameters, defaults as gast constants, closure names) of a called function."""
        definition = callee.node if callee.kind == "local" else get_source(callee.fn).node
        starred = [f"{prefix}{a.arg if hasattr(a, 'arg') else a.id}" for prefix, a in (
            ("*", getattr(definition.args, "vararg", None)),
            ("**", getattr(definition.args, "kwarg", None))) if a is not None]
        if starred and call is not None:
            raise caller.src.error(call, f"pb.grad cannot transform a call of {callee.name}(): "
                                         f"it takes {' and '.join(starred)}, which the source "
                                         f"engine does not follow yet; give it named "
                                         f"parameters, or use mode='tape'")
        if callee.kind == "local":
            node = callee.node
            params = [a.id for a in _params_of(node)]
            closure = sorted(_free_locals(node, caller.scope.locals))
            defaults = _defaults(node)
            return params, defaults, closure
        fn = callee.fn
        src = get_source(fn)
        params = [a.id for a in _params_of(src.node)]
        return params, _defaults(src.node), []

    def helper_for(self, callee, active, caller, node, trees=None, functions=None):
        """The generated helper for ``callee`` with the given parameters differentiated
        (``trees``: the structure of each dict, list or tuple argument, else None;
        ``functions``: {parameter: FunctionArgument} for those that receive a function)."""
        trees = list(trees) if trees is not None else [None] * len(active)
        frozen_trees = tuple(frozen(t) for t in trees)
        functions = dict(functions or {})
        frozen_trees += tuple(sorted(functions.items(), key=lambda item: item[0]))
        if callee.kind == "local":
            key = ("local", id(callee.node), tuple(active), frozen_trees)
            src = FunctionSource(caller.src.fn, callee.node, caller.src.filename, caller.src.lines)
            short = _identifier(callee.name)
        else:
            key = ("user", callee.fn.__code__, tuple(active), frozen_trees)
            src = get_source(callee.fn)
            rewrite_comprehensions(src)
            fence(src)
            self.lower(src.node)
            short = _identifier(callee.fn.__name__)
        if key in self.helpers:
            return self.helpers[key]
        if callee.kind == "local":
            self.lower(callee.node)
        if key in self.in_progress:
            raise caller.src.error(node, f"pb.grad cannot transform the recursive call of "
                                         f"{callee.name}() yet; use mode='tape'")
        self.in_progress.add(key)
        params, defaults, closure = self.signature(callee, caller)
        helper = _Helper(self.module_namer.fresh(f"d_{_identifier(short)}"), short, params,
                         closure, defaults)
        all_params = params + closure
        wrt = [p for p, a in zip(all_params, active) if a]
        kinds = {p: t for p, t in zip(all_params, trees) if t is not None}
        kinds.update(functions)
        self._generate_helper(src, helper, all_params, wrt, kinds)
        self.helpers[key] = helper
        self.in_progress.discard(key)
        return helper

    def _generate_helper(self, src, helper, all_params, wrt, trees=None):
        namer = self._namer(src.node)
        kinds = {p: "array" for p in all_params}
        kinds.update(trees or {})
        fn_ir = normalize(src, namer, kinds, wrt, self, extra_params=helper.closure_names,
                          helper=True)
        reverse = self._reverse(fn_ir, namer, kinds)
        body, _ = reverse.forward(fn_ir.body)
        result = fn_ir.result
        adj = {}
        pull_body = []
        bresult = namer.adjoint(result.id if isinstance(result, gast.Name) else "out")
        if isinstance(result, gast.Name) and result.id in reverse.useful_active:
            adj[result.id] = _name(bresult)
            pull_body = reverse.backward(fn_ir.body, adj)
        elif isinstance(result, gast.Tuple):
            helper.returns_tuple = True
            pull_body = self._unpack_cotangents(result, bresult, namer, reverse, adj)
            pull_body += reverse.backward(fn_ir.body, adj)
        grads = [self._gradient(p, fn_ir, adj, reverse) if p in wrt else gast.Constant(
            value=None, kind=None) for p in all_params]
        pull_body.append(gast.Return(value=grads[0] if len(grads) == 1 else gast.Tuple(
            elts=grads, ctx=gast.Load())))
        pullback_name = namer.fresh("pullback")
        body.append(gast.FunctionDef(
            name=pullback_name, args=_arguments([bresult]), body=pull_body, decorator_list=[],
            returns=None, type_comment=None, type_params=[]))
        body.append(gast.Return(value=gast.Tuple(elts=[result, _name(pullback_name)],
                                                 ctx=gast.Load())))
        body[:0] = reverse.prologue()
        self._add_function(helper.name, all_params, body, src.fn, reverse)

    def _unpack_cotangents(self, result, bresult, namer, reverse, adj):
        """``ba, bb = bout`` for a helper returning ``a, b``: each item's cotangent."""
        targets, stmts, pending = [], [], []
        for elt in result.elts:
            if isinstance(elt, gast.Name) and elt.id in reverse.useful_active:
                part = namer.fresh(f"b{elt.id}_out")
                targets.append(_name(part, gast.Store()))
                pending.append((elt, part))
            else:
                targets.append(_name("_", gast.Store()))
        stmts.append(gast.Assign(targets=[gast.Tuple(elts=targets, ctx=gast.Store())],
                                 value=_name(bresult), type_comment=None))
        for elt, part in pending:
            reverse.accumulate(elt, _name(part), adj, stmts)
        return stmts

    # --- shared ------------------------------------------------------------------------------

    def _namer(self, node):
        """Names for one function: its parameters keep theirs, each assigned variable keeps
        its own name for its first value, everything new avoids all of them."""
        params = {a.id for a in _params_of(node)}
        assigned = {n.id for n in name_nodes(node)
                    if isinstance(n.ctx, gast.Store)} - params
        return Namer(_names_in(node) | self.module_namer._taken, user_names=assigned)

    def _reverse(self, fn_ir, namer, kinds):
        reverse = Reverse(fn_ir, namer, self.rules, self.imports, kinds,
                          lambda line: self.comments.marker(
                              f"line {line}: {fn_ir.src.line_text(line).strip()}"))
        detach_logsumexp_shifts(fn_ir)
        varied = set(fn_ir.active_params) | _varied(fn_ir)
        reverse.useful_active = useful_names(fn_ir.body, _result_name(fn_ir)) & varied
        reverse.prepare(fn_ir.body)
        return reverse

    def _add_function(self, name, params, body, owner, reverse, layout=None):
        function = gast.FunctionDef(
            name=name, args=_arguments(params), body=body, decorator_list=[], returns=None,
            type_comment=None, type_params=[])
        function = fold_constants(function)
        names = _names_in(function)
        numpy_names = {n for n in names if self._is_numpy(n)}
        if numpy_names and self.scalar_math:  # an unused math import goes with the header
            use_math_for_scalars(function, lambda a: reverse.kind(a) == "scalar", numpy_names,
                                 self.imports.module("math"))
        # after the math module came in: an unused math.log(t) is dead code too (kept, it
        # raised where the user's np.log gave nan, for a value the gradient does not need)
        pure = numpy_names | {self.imports.peek("math", None)} - {None}
        library = {n for n in names if self.imports.is_library(n)}
        function = remove_dead_code(merge_restarts(function), pure, library)
        if layout:
            pure_np = pure | {self.imports.numpy()}
            specialize(function, layout, numpy_names, self.imports.numpy(), self.imports,
                       lambda f: remove_dead_code(fold_constants(f), pure_np, library),
                       pure_statement(pure_np, library),
                       lambda name: reverse.kinds.get(name) == "array")
            function = remove_dead_code(function, pure_np, library)
        function = propagate_copies(recompute_loop_conditions(function))
        function = rematerialize(function, self.imports.peek("math", None))
        function = inline_conditions(fold_into_copies(function))
        function = remove_dead_code(function, pure, library)
        _declare_nonlocals(function)
        self.functions.append(function)
        self.owners[name] = owner

    def _is_numpy(self, name):
        import numpy
        return self._user_value(name) is numpy or name == self.imports.peek("numpy", None)



def _declare_nonlocals(function):
    """A helper's pullback restores forward values it also reads (``t1 = saved_t1.pop()`` in a
    loop): those names are the helper's, declared ``nonlocal`` in the pullback (assigning them
    would otherwise make them the pullback's own, unbound at their first read)."""
    if not any(isinstance(inner, gast.FunctionDef) for inner in function.body):
        return  # no pullback: nothing to declare
    outer = {n.id for stmt in function.body if not isinstance(stmt, gast.FunctionDef)
             for n in _stored_names(stmt)} | {a.id for a in function.args.args}
    for inner in function.body:
        if isinstance(inner, gast.FunctionDef):
            params = {a.id for a in inner.args.args}
            shared = sorted({n.id for stmt in inner.body for n in _stored_names(stmt)}
                            & outer - params)
            if shared:
                inner.body.insert(0, gast.Nonlocal(names=shared))


def _stored_names(node):
    return [n for n in name_nodes(node) if isinstance(n.ctx, gast.Store)]


def _varied(fn_ir):
    from ._ir import Op
    names = set()

    def walk(body):
        for node in body:
            if isinstance(node, Op) and node.active:
                names.add(node.target)
            elif hasattr(node, "body"):
                walk(node.body)
                walk(getattr(node, "orelse", []) or [])
    walk(fn_ir.body)
    return names


def _result_name(fn_ir):
    result = fn_ir.result
    if isinstance(result, gast.Tuple):
        return {e.id for e in result.elts if isinstance(e, gast.Name)}
    return result.id if isinstance(result, gast.Name) else None


def _free_locals(node, enclosing_locals):
    params = {a.id for a in _params_of(node)}
    assigned = {n.id for n in name_nodes(node) if isinstance(n.ctx, gast.Store)}
    loaded = {n.id for n in name_nodes(node) if isinstance(n.ctx, gast.Load)}
    return (loaded - params - assigned) & enclosing_locals


def _defaults(node):
    args = node.args.args
    defaults = node.args.defaults
    found = {a.id: d for a, d in zip(args[len(args) - len(defaults):], defaults)}
    for a, d in zip(node.args.kwonlyargs or [], node.args.kw_defaults or []):
        if d is not None:
            found[a.id] = d
    return found


def _describe_function(fn):
    """``rhs (model.py, line 12)``, ``numpy.tanh``, ``math.sin``: a function argument's name."""
    code = getattr(fn, "__code__", None)
    if code is not None and not isinstance(fn, np.ufunc):
        return f"{fn.__qualname__} ({os.path.basename(code.co_filename)}, line " \
               f"{code.co_firstlineno})"
    module = "numpy" if isinstance(fn, np.ufunc) else getattr(fn, "__module__", None)
    return f"{module}.{fn.__name__}" if module else fn.__name__


def _identifier(name):
    cleaned = "".join(c if c.isalnum() or c == "_" else "" for c in name).strip("_")
    return cleaned or "function"


def _literal(value):
    if isinstance(value, tuple):
        return gast.Tuple(elts=[_literal(v) for v in value], ctx=gast.Load())
    return gast.Constant(value=value, kind=None)


def _name(id_, ctx=None):
    return gast.Name(id=id_, ctx=ctx or gast.Load(), annotation=None, type_comment=None)


def _call(func, args):
    return gast.Call(func=_name(func), args=args, keywords=[])


def _assign(target, value):
    return gast.Assign(targets=[_name(target, gast.Store())], value=value, type_comment=None)


def _arguments(names):
    return gast.arguments(args=[gast.Name(id=n, ctx=gast.Param(), annotation=None,
                                          type_comment=None) for n in names],
                          posonlyargs=[], vararg=None, kwonlyargs=[], kw_defaults=[],
                          kwarg=None, defaults=[])
