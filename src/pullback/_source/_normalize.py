"""Normalize: one operation per statement for everything that touches a differentiated value.

Each assignment gets a fresh name when it overwrites a variable (``x``, then ``x_1``), so the
reverse pass can read every value it needs.  Expressions that do not depend on the
differentiated arguments stay whole, as the user wrote them.  Whether a value depends on them
(activity) is decided here, as each operation is normalized, with the predicates of
``_activity``.
"""


import inspect
import math
import types

import gast
import numpy as np

from ._aliases import numbers_only, paired_names
from ._clone import Transformer, clone, name_nodes, same_tree, walk
from ._conversions import conversion_refusal, tensor_name_refusal

from .._registry import lookup
from ._activity import Activity
from ._ir import Branch, Function, Op, Plain
from ._lists import ListsMixin
from ._normalize_control import ControlMixin, is_loop_exit
from ._resolve import BUILTINS, METHODS, FunctionArgument, Scope
from ._whole import WholeMixin, refuse_whole_uses

__all__ = ["normalize"]

_BINOPS = {gast.Add: "add", gast.Sub: "subtract", gast.Mult: "multiply", gast.Div: "divide",
           gast.Pow: "power", gast.MatMult: "matmul", gast.Mod: "remainder",
           gast.FloorDiv: "floor_divide"}
_UNARY = {gast.USub: "negative", gast.UAdd: "positive"}


def _name(id_, ctx=None):
    return gast.Name(id=id_, ctx=ctx or gast.Load(), annotation=None, type_comment=None)


def _const(value):
    return gast.Constant(value=value, kind=None)


# Functions whose result is a list or tuple of arrays (of several arguments, for the second set)
_SEQUENCE_RESULTS = frozenset(getattr(f, "_pullback_fun", f) for f in (
    np.split, np.array_split, np.hsplit, np.vsplit, np.dsplit, np.unstack,
    np.broadcast_arrays))
_SEQUENCE_RESULTS_OF_SEVERAL = frozenset((np.atleast_1d, np.atleast_2d, np.atleast_3d))
# np.linalg functions whose result is a (named) tuple, and its fields, read as items: w, V =
# np.linalg.eigh(A), np.linalg.svd(A)[1] and np.linalg.svd(A).S alike
_TUPLE_RESULTS = {np.linalg.slogdet: ("sign", "logabsdet"),
                  np.linalg.eigh: ("eigenvalues", "eigenvectors"),
                  np.linalg.eig: ("eigenvalues", "eigenvectors"),
                  np.linalg.svd: ("U", "S", "Vh"), np.linalg.qr: ("Q", "R"),
                  np.linalg.lstsq: (None,) * 4}   # a plain tuple: items, no fields
# ... unless an argument says one array: (its position, its keyword, the values that do)
_ONE_ARRAY_WHEN = {np.linalg.svd: (2, "compute_uv", (False,)), np.linalg.qr: (1, "mode", ("r",))}


def _array_of_items(call):
    """``np.array([a, b])``: one flat list or tuple display, no other argument."""
    if len(call.args) != 1 or call.keywords:
        return False
    items = call.args[0]
    return isinstance(items, (gast.List, gast.Tuple)) and bool(items.elts) and not any(
        isinstance(e, (gast.List, gast.Tuple, gast.Starred)) for e in items.elts)


_DISPLAYS = {"List": "a list [...]", "Tuple": "a tuple (...)", "Dict": "a dict {...}",
             "Set": "a set {...}", "Starred": "a starred *value"}


def _int_constant(index):
    if isinstance(index, gast.Constant) and type(index.value) is int:
        return index.value
    if isinstance(index, gast.UnaryOp) and isinstance(index.op, gast.USub) and \
            isinstance(index.operand, gast.Constant) and type(index.operand.value) is int:
        return -index.operand.value
    return None


def _reads_any(atom, names):
    return any(n.id in names for n in name_nodes(atom))


class _Renamer(Transformer):
    """Replace loads of local names with their current SSA names."""

    def __init__(self, env):
        self.env = env

    def visit_Name(self, node):
        if isinstance(node.ctx, gast.Load) and node.id in self.env:
            return clone(self.env[node.id])
        return node

    def visit_Lambda(self, node):
        return node  # a lambda's own parameters are not the function's locals


def normalize(src, namer, kinds, wrt, program, extra_params=(), helper=False):
    """The normalized Function for ``src`` with ``wrt`` (parameter names) differentiated.

    ``kinds`` maps each parameter to "scalar", "array", "other" or a pytree structure;
    ``extra_params`` are closure variables of a nested function, passed in as parameters;
    ``helper``: ``src`` is a function the differentiated one calls, whose arguments are the
    caller's arrays (a write into one would change the caller's: refused).
    """
    return _Normalizer(src, namer, kinds, wrt, program, extra_params, helper).run()


class _Normalizer(ControlMixin, WholeMixin, ListsMixin):
    def __init__(self, src, namer, kinds, wrt, program, extra_params=(), helper=False):
        self.src = src
        self.helper = helper
        self.namer = namer
        self.program = program
        node = src.node
        self.params = [a.id for a in _params_of(node)] + list(extra_params)
        local_names = set(self.params)
        assigned = set()
        body = node.body if isinstance(node.body, list) else [node.body]
        for n in walk(gast.Module(body=body, type_ignores=[])):
            if isinstance(n, gast.Name) and isinstance(n.ctx, (gast.Store, gast.Del)):
                assigned.add(n.id)
            if isinstance(n, gast.FunctionDef):
                assigned.add(n.name)
        local_names |= assigned
        # a parameter holding a function (f in rk4(f, y0), act=np.tanh) that the function
        # never assigns: its calls are resolved as calls of that function
        functions = {p: kind.fn for p, kind in kinds.items()
                     if isinstance(kind, FunctionArgument) and p not in assigned}
        self.scope = Scope(src.fn, local_names, functions)
        self.env = {p: _name(p) for p in self.params}
        self.kinds = dict(kinds)
        self.activity = Activity(self.scope)
        self.local_functions = self.activity.local_functions
        self.items = {}  # (container name, key) -> leaf name, so one leaf has one name
        self.leaf_reads = []  # "leaf" ops of reads in loops and branches, placed at the top
        self.leaf_ops = {}    # leaf name -> its "leaf" op
        self.sequence_values = set()   # names holding a list of arrays, as np.split returns
        self.tuple_values = set()      # names holding what a function of the user's returns
        self.result_fields = {}        # a name holding a named tuple -> its fields
        self.uneven_results = set()    # such names whose items differ in shape: no one array
        self.sequence_items = {}       # (such a name, index) -> the item's name
        self.made_in = {}              # such a name -> the block (statement list) made in
        self.whole_arrays = {}  # container name -> its array, made in the top-level code
        self.loop_fixed = {}  # user variable -> its one name inside the enclosing loops
        self.owner = {p: p for p in self.params}  # a name -> the user variable it belongs to
        self.mutated = set()
        self.out = []
        self.line = getattr(node, "lineno", 1)
        self.fn_ir = Function(src.fn.__name__, self.params, self.out, None, src)
        for p in wrt:
            kind = self.kinds.get(p)
            if isinstance(kind, (dict, list, tuple)):
                self.fn_ir.containers[p] = kind
            self.activity.active.add(p)
        self.fn_ir.active_params = list(wrt)
        self.find_lists()

    # --- statements -------------------------------------------------------------------------

    def run(self):
        node = self.src.node
        if isinstance(node, gast.Lambda):
            self.line = node.lineno
            self.fn_ir.result = self._items_if_tuple(self.expr_into(node.body, None), node)
            self.out[:0] = self.leaf_reads
            refuse_whole_uses(self.fn_ir, self.src, self.helper, self.line)
            return self.fn_ir
        body = node.body
        if body and isinstance(body[0], gast.Expr) and isinstance(body[0].value, gast.Constant):
            body = body[1:]  # the docstring
        for i, stmt in enumerate(body):
            self.line = stmt.lineno
            if isinstance(stmt, gast.Return):
                if i != len(body) - 1:
                    raise self.src.error(stmt, "pb.grad cannot transform a return before the end "
                                               "of the function yet; use mode='tape'")
                if stmt.value is None:
                    raise self.src.error(stmt, "the differentiated function returns nothing")
                self._refuse_local_function_values(stmt)
                if isinstance(stmt.value, gast.Tuple):  # a helper returning several values
                    self.fn_ir.result = gast.Tuple(elts=[self.expr(e) for e in stmt.value.elts],
                                                   ctx=gast.Load())
                else:
                    self.fn_ir.result = self._items_if_tuple(self.expr_into(stmt.value, None),
                                                             stmt)
            else:
                self.statement(stmt, self.out)
        if self.fn_ir.result is None:
            raise self.src.error(node, f"{self.src.fn.__qualname__} has no return statement "
                                       f"at its end, so there is no output to differentiate")
        self.out[:0] = self.leaf_reads
        self.copy_written_params(self.out)
        self.fn_ir.mutated = self.mutated
        refuse_whole_uses(self.fn_ir, self.src, self.helper, self.line)
        return self.fn_ir

    def _items_if_tuple(self, atom, stmt):
        """``return np.linalg.eigh(s)`` from a helper: ``return w, V``, read by item as any
        helper's several results."""
        fields = self.result_fields.get(getattr(atom, "id", None))
        if fields is None or not self.helper:   # the function itself: refused as no scalar
            return atom
        return gast.Tuple(elts=[self.sequence_item(atom, _const(i), stmt, None)
                                for i in range(len(fields))], ctx=gast.Load())

    def statement(self, stmt, out):
        saved, self.out = self.out, out
        try:
            self._statement(stmt)
        finally:
            self.out = saved

    def _statement(self, stmt):
        if isinstance(stmt, (gast.Assign, gast.AugAssign, gast.AnnAssign, gast.Return,
                             gast.Expr)) and not (isinstance(stmt, gast.Assign) and
                                                  isinstance(stmt.value, gast.Lambda)):
            self._refuse_local_function_values(stmt)
        elif isinstance(stmt, (gast.If, gast.While)):
            self._refuse_local_function_values(stmt.test)
        elif isinstance(stmt, gast.For):
            self._refuse_local_function_values(stmt.iter)
        if isinstance(stmt, gast.AnnAssign):
            if stmt.value is not None:  # x: T = value is an assignment; a bare x: T is nothing
                self.assign(gast.copy_location(gast.Assign(
                    targets=[stmt.target], value=stmt.value, type_comment=None), stmt))
        elif isinstance(stmt, gast.Assign):
            self.assign(stmt)
        elif isinstance(stmt, gast.AugAssign):
            target = stmt.target
            if isinstance(target, gast.Subscript):
                read = gast.Subscript(value=clone(target.value),
                                      slice=clone(target.slice), ctx=gast.Load())
                value = gast.copy_location(gast.BinOp(left=read, op=stmt.op, right=stmt.value),
                                           stmt)
                self.setitem(target, value, stmt)
                return
            self._refuse_aliased_in_place(target.id, stmt)
            value = gast.BinOp(left=_name(target.id), op=stmt.op, right=stmt.value)
            gast.copy_location(value, stmt)
            self.bind(target.id, value, stmt)
        elif isinstance(stmt, (gast.For, gast.While)):
            self.loop_statement(stmt)
        elif is_loop_exit(stmt):
            self.loop_exit(stmt)
        elif isinstance(stmt, gast.FunctionDef):
            self.local_functions[stmt.name] = stmt
        elif isinstance(stmt, gast.If):
            self.branch_statement(stmt)
        elif isinstance(stmt, gast.Pass):
            pass
        elif self.is_list_append(stmt):
            self.list_append(stmt)
        elif isinstance(stmt, (gast.Expr, gast.Assert)):
            # a bare expression (a print, a check) only reads values: kept as written
            self._refuse_hidden_keeping(stmt)
            self.out.append(Plain(self.rename(stmt), self.line))
        else:
            raise self.src.error(stmt, f"pb.grad cannot transform this {type(stmt).__name__}")

    def _refuse_local_function_values(self, stmt):
        """A nested def or lambda is followed where it is called by its name (``h(3.0)``);
        used as a value -- passed to a function, stored, aliased (``g = h``), returned -- the
        engine would not see what the call it reaches computes from the values it closes
        over.  Refused rather than differentiated as a constant."""
        called = {id(n.func) for n in gast.walk(stmt) if isinstance(n, gast.Call)}
        for call in gast.walk(stmt):
            if isinstance(call, gast.Call) and (
                    self.scope.static_value(call.func) in (eval, exec, locals) or (
                        self.scope.static_value(call.func) is vars and not call.args)):
                name = gast.unparse(call.func).strip()
                raise self.src.error(call, (
                    f"pb.grad cannot follow {name}() (in {self.src.fn.__qualname__}): it reads "
                    f"the function's variables by name when the code runs, where the engine "
                    f"does not see which values it uses; write the expression out, or use "
                    f"mode='tape'"))
        for node in gast.walk(stmt):
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load) and \
                    node.id in self.local_functions and node.id not in self.env and \
                    id(node) not in called:
                raise self.src.error(node, (
                    f"pb.grad cannot follow the nested function {node.id} used as a value (in "
                    f"{self.src.fn.__qualname__}): passed on, stored or renamed, what a call of "
                    f"it computes from the values it closes over is not tracked; call it "
                    f"directly ({node.id}(...)), or use mode='tape'"))

    def _refuse_hidden_keeping(self, stmt):
        """A differentiated value handed to a method of an object (``outs.append(h)``) may be
        kept there and read back later, where the engine would not see it come from: refused,
        rather than differentiated as if the value were a constant.  Module functions
        (``np.testing.assert_allclose(y, ...)``, ``logging.info(...)``) and plain calls
        (``print(loss)``) only read it."""
        for call in gast.walk(stmt):
            if not isinstance(call, gast.Call):
                continue
            if isinstance(call.func, gast.Attribute):
                if isinstance(self.scope.static_value(call.func.value), types.ModuleType):
                    continue
            elif isinstance(call.func, gast.Name):
                # a function called for its effect: print reads, a function of yours may write
                if call.func.id in self.local_functions:
                    raise self.src.error(call, (
                        f"pb.grad cannot follow {call.func.id}() called for its effect (in "
                        f"{self.src.fn.__qualname__}): a nested function may write into the "
                        f"arrays it closes over, which is not tracked; use what it returns "
                        f"(y = {call.func.id}(...)), or use mode='tape'"))
                if getattr(self.scope.static_value(call.func), "__module__", None) == "builtins":
                    continue
            else:
                continue
            values = list(call.args) + [kw.value for kw in call.keywords]
            if any(self.activity.expr(v, self.env) for v in values):
                raise self.src.error(call, (
                    f"pb.grad cannot follow a differentiated value into "
                    f"{gast.unparse(call.func).strip()}(...) (in {self.src.fn.__qualname__}): "
                    f"a call made for its effect may keep the value or write into it, which is "
                    f"not tracked; use what it returns (y = f(x)), build arrays directly "
                    f"(np.stack([a, b])), or use mode='tape'"))

    def _refuse_aliased_in_place(self, name, stmt):
        """``a += v`` writes into a's array, which NumPy changes for every name holding it
        (``b = a`` earlier); the engine follows names, so it refuses when another name holds
        the same value -- unless that value is a scalar argument (floats are immutable)."""
        atom = self.env.get(name)
        if not isinstance(atom, gast.Name) or self.kinds.get(atom.id) == "scalar":
            return
        others = sorted(k for k, v in self.env.items()
                        if k != name and isinstance(v, gast.Name) and v.id == atom.id)
        if self.helper and atom.id in self.params:
            others = [f"the caller's argument (the parameter {atom.id})"]
        if not others:
            # a loop gives each variable a name of its own, and b = a in it (in this iteration,
            # the last, or before the write) shares the array all the same: any such pairing
            # in the function counts, unless all the names ever hold are numbers (immutable)
            group = paired_names(self.src.node).get(name, {name})
            if not numbers_only(group, self.src.node, self.kinds):
                others = sorted(group - {name})
        if others:
            op = gast.unparse(gast.BinOp(left=_name("a"), op=stmt.op, right=_name("b")))
            op = op.strip().split()[1]
            raise self.src.error(stmt, (
                f"pb.grad cannot follow `{name} {op}= ...` (in {self.src.fn.__qualname__}): "
                f"{name} and {others[0]} hold the same array here, and NumPy changes it for "
                f"both; write {name} = {name} {op} ... (a new array), or use mode='tape'"))

    def assign(self, stmt):
        if len(stmt.targets) != 1:
            for target in stmt.targets:  # a = b = value
                self.assign(gast.copy_location(
                    gast.Assign(targets=[target], value=stmt.value, type_comment=None), stmt))
            return
        target = stmt.targets[0]
        if isinstance(target, gast.Name):
            if isinstance(stmt.value, gast.Lambda):
                self.local_functions[target.id] = stmt.value
                return
            self.bind(target.id, stmt.value, stmt)
        elif isinstance(target, gast.Subscript):
            self.setitem(target, stmt.value, stmt)
        else:
            self.unpack(target, stmt.value, stmt)

    def unpack(self, target, value, stmt):
        if isinstance(value, (gast.Tuple, gast.List)) and len(value.elts) == len(target.elts):
            atoms = [self.expr(e) for e in value.elts]  # all right-hand sides first: a, b = b, a
            if self.loop_fixed:  # names are reused in a loop: keep the old values apart first
                stored = {n.id for n in name_nodes(target)}
                atoms = [self._evaluated(a) if _reads_any(a, stored) else self._snapshot(a)
                         for a in atoms]
            for t, atom in zip(target.elts, atoms):
                if isinstance(t, gast.Name):
                    self.alias(t.id, atom)
                elif isinstance(t, gast.Subscript):   # y[1], y[2] = y[2], y[1]
                    self.setitem(t, atom, stmt)
                else:
                    self.unpack(t, atom, stmt)
            return
        if not isinstance(target, (gast.Tuple, gast.List)) or any(
                isinstance(t, gast.Starred) for t in target.elts):
            raise self.src.error(stmt, "pb.grad cannot assign to this target; assign to "
                                       "names, x[i], or a tuple of those")
        whole = self.expr(value)
        whole_active = isinstance(whole, gast.Name) and whole.id in self.activity.active
        if not whole_active and any(isinstance(n, gast.Subscript) for n in gast.walk(target)):
            for i, t in enumerate(target.elts):  # a, y[0] = pair: one target at a time
                item = gast.Subscript(value=clone(whole), slice=_const(i), ctx=gast.Load())
                if isinstance(t, gast.Name):
                    self.bind(t.id, item, stmt)
                elif isinstance(t, gast.Subscript):
                    self.setitem(t, item, stmt)
                else:
                    self.unpack(t, item, stmt)
            return
        if not whole_active:
            names = self.store_targets(target)
            self.out.append(Plain(gast.Assign(targets=[self.ssa_target(target)],
                                              value=whole, type_comment=None), self.line, names))
            return
        if self._is_container(whole.id):
            structure = self.fn_ir.containers[whole.id]
            if not isinstance(structure, (list, tuple)) or len(structure) != len(target.elts):
                raise self.src.error(stmt, f"cannot unpack {whole.id} into "
                                           f"{len(target.elts)} names")
            for i, t in enumerate(target.elts):
                if not isinstance(t, gast.Name):
                    raise self.src.error(stmt, "pb.grad unpacks a differentiated container into "
                                               "plain names only")
                self.container_item(whole, _const(i), stmt, t.id)
            return
        if whole.id not in self.tuple_values and whole.id not in self.sequence_values:
            return self.unpack_array(target, whole, stmt)
        self.check_read_where_made(whole, stmt)
        for i, t in enumerate(target.elts):
            item = gast.Subscript(value=clone(whole), slice=_const(i), ctx=gast.Load())
            if isinstance(t, gast.Name):
                new = self.new_version(t.id)
                self.out.append(Op("item", new, item, self.line, args=[whole], index=i))
                self.activity.active.add(new)
            elif isinstance(t, gast.Subscript):
                self.setitem(t, item, stmt)
            else:
                self.unpack(t, item, stmt)

    def unpack_array(self, target, whole, stmt):
        """``a, b = p`` of an array: ``p[0]`` and ``p[1]``, indexed as arrays are (each item's
        gradient goes back into ``p``'s), after the count is checked as Python checks it."""
        from .._rules.indexing import getitem
        check = self.program.imports.name("pullback._runtime", "check_unpack", None)
        self.out.append(Plain(gast.Expr(value=gast.Call(
            func=_name(check), args=[clone(whole), _const(len(target.elts))], keywords=[])),
            self.line))
        atoms = [self.emit("prim", gast.Subscript(value=clone(whole), slice=_const(i),
                                                  ctx=gast.Load()),
                           None, lookup(getitem), [whole, _const(i)])
                 for i in range(len(target.elts))]
        for t, atom in zip(target.elts, atoms):
            if isinstance(t, gast.Name):
                self.alias(t.id, atom)
            elif isinstance(t, gast.Subscript):
                self.setitem(t, atom, stmt)
            else:
                self.unpack(t, atom, stmt)

    def store_targets(self, target):
        return [n.id for n in name_nodes(target)]

    def ssa_target(self, target):
        if isinstance(target, gast.Name):
            return _name(self.new_version(target.id), gast.Store())
        return gast.Tuple(elts=[self.ssa_target(t) for t in target.elts], ctx=gast.Store())

    def bind(self, name, value, stmt):
        """``name = value``: normalize ``value`` straight into a new version of ``name``."""
        if name in self.followed:   # lst = [], the only value a followed list is given
            return self.create_list(name, value, stmt)
        if isinstance(value, gast.Name) or (isinstance(value, gast.Constant)):
            self.alias(name, self.expr(value))
            return
        if not self.activity.expr(value, self.env):
            renamed = self.rename(value)  # read with the names before this assignment
            new = self.new_version(name)
            self.out.append(Op("const", new, renamed, self.line, active=False))
            return
        if name in self.loop_fixed and any(isinstance(n, gast.Name) and n.id == name
                                           for n in walk(value)):
            # x = f(x) in a loop: the new value goes to a temporary first, so the backward
            # pass can read the old x and the new value side by side
            self.alias(name, self.expr_into(value, None))
            return
        self.expr_into(value, name)

    def alias(self, name, atom):
        """``name`` now refers to ``atom`` (no code: a copy needs none) -- except inside a
        loop, where the variable's one name must hold the value for the next iteration."""
        fixed = self.loop_fixed.get(name)
        if fixed is None:
            self.env[name] = atom
            return
        if isinstance(atom, gast.Name) and atom.id == fixed:
            return
        active = self.activity.atom(atom)
        self.out.append(Op("copy", fixed, clone(atom), self.line, args=[atom],
                           active=active))
        if active:
            self.activity.active.add(fixed)
        self.env[name] = _name(fixed)

    def _snapshot(self, atom):
        if isinstance(atom, gast.Name) and atom.id in self.loop_fixed.values():
            temp = self.namer.temp()
            active = self.activity.atom(atom)
            self.out.append(Op("copy", temp, clone(atom), self.line, args=[atom],
                               active=active))
            if active:
                self.activity.active.add(temp)
            return _name(temp)
        return atom

    def _evaluated(self, atom):
        """A constant expression (``i + 1``) computed into a temporary now, before a tuple
        assignment in a loop rebinds the names it reads (``i, j = 2, i + 1``)."""
        if isinstance(atom, (gast.Name, gast.Constant)):
            return self._snapshot(atom)
        temp = self.namer.temp()
        self.out.append(Op("const", temp, atom, self.line, active=False))
        return _name(temp)

    def new_version(self, name):
        fixed = self.loop_fixed.get(name)
        new = fixed if fixed is not None else self.namer.version(name)
        self.owner[new] = name
        self.env[name] = _name(new)
        return new

    # --- if statements and conditional expressions ------------------------------------------

    def branch_statement(self, stmt):
        test = self.condition(stmt.test)
        before = dict(self.env)
        body, env_body = self.block(stmt.body, before)
        orelse, env_else = self.block(stmt.orelse, before)
        self.merge(test, body, env_body, orelse, env_else, before, stmt.lineno)

    def block(self, stmts, env):
        self.env = dict(env)
        out = []
        for s in stmts:
            if isinstance(s, gast.Return):
                raise self.src.error(s, "pb.grad cannot transform a return inside an if yet; "
                                        "use mode='tape'")
            line, self.line = self.line, s.lineno
            self.statement(s, out)
            self.line = line
        return out, self.env

    def merge(self, test, body, env_body, orelse, env_else, before, line):
        """Join the two branches: a variable set differently in them gets one name after."""
        self.env = dict(before)
        for name in sorted(set(env_body) | set(env_else)):
            a, b = env_body.get(name), env_else.get(name)
            if a is None and b is None:
                continue
            if any(getattr(x, "id", None) in self.uneven_results for x in (a, b)) and \
                    not same_tree(a, b):
                raise self.src.error(types.SimpleNamespace(lineno=line), f"pb.grad cannot "
                                     f"follow {name}, the tuple an np.linalg function returned, "
                                     f"out of an if that assigns it: unpack it in the branch "
                                     f"(w, V = np.linalg.eigh(...)), or use mode='tape'")
            if a is None or b is None:
                # assigned in one branch only: after the if, the name holds that branch's
                # value, and None when the other branch ran (where the user's code has no
                # value to read; the backward pass may still make a zero cotangent for it)
                merged = self.new_version(name)
                (out, atom), other = ((body, a), orelse) if b is None else ((orelse, b), body)
                active = isinstance(atom, gast.Name) and atom.id in self.activity.active
                out.append(Op("copy", merged, clone(atom), line, args=[atom], active=active))
                other.append(Plain(gast.Assign(targets=[_name(merged, gast.Store())],
                                               value=gast.Constant(value=None, kind=None),
                                               type_comment=None), line, [merged]))
                if active:
                    self.activity.active.add(merged)
                continue
            if same_tree(a, b):
                self.env[name] = a
                continue
            merged = self.new_version(name)
            active = any(isinstance(x, gast.Name) and x.id in self.activity.active
                         for x in (a, b))
            for out, atom in ((body, a), (orelse, b)):
                out.append(Op("copy", merged, clone(atom), line, args=[atom],
                              active=active))
            if active:
                self.activity.active.add(merged)
        self.out.append(Branch(test, body, orelse, line))

    def condition(self, test):
        if isinstance(test, gast.Name) and test.id in self.env:
            return self.env[test.id].id if isinstance(self.env[test.id], gast.Name) else \
                self._const_condition(test)
        return self._const_condition(test)

    def _const_condition(self, test):
        name = self.namer.fresh("cond")
        self.out.append(Op("const", name, self.rename(test), self.line, active=False))
        return name

    def ifexp(self, node, into):
        test = self.condition(node.test)
        before = dict(self.env)   # p = a if c else p: the arms read p before its new value
        target = self.fresh_target(into)
        after = dict(self.env)
        results = []
        for branch in (node.body, node.orelse):
            self.env = dict(before)
            out = []
            saved, self.out = self.out, out
            atom = self.expr(branch)
            self.out = saved
            active = isinstance(atom, gast.Name) and atom.id in self.activity.active
            out.append(Op("copy", target, clone(atom), self.line, args=[atom],
                          active=active))
            results.append((out, active))
        self.env = after
        if results[0][1] or results[1][1]:
            self.activity.active.add(target)
            for out, active in results:
                out[-1].active = True
        self.out.append(Branch(test, results[0][0], results[1][0], self.line))
        return _name(target)

    # --- expressions --------------------------------------------------------------------------

    def fresh_target(self, into):
        return self.new_version(into) if into is not None else self.namer.temp()

    def rename(self, node):
        return _Renamer(self.env).visit(clone(node))

    def expr(self, node):
        """An atom (a name, or a constant expression) for ``node``'s value."""
        return self.expr_into(node, None)

    def expr_into(self, node, into):
        """Normalize ``node``; its last operation assigns ``into`` (or a temporary)."""
        if not self.activity.expr(node, self.env):
            if into is None or isinstance(node, (gast.Name, gast.Constant)):
                return self.rename(node)
            value = self.rename(node)  # read with the names before this assignment
            target = self.new_version(into)
            self.out.append(Op("const", target, value, self.line, active=False))
            return _name(target)
        if isinstance(node, gast.Name):
            atom = self.rename(node)
            if into is not None:
                self.alias(into, atom)
            return atom
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            shown = _DISPLAYS.get(type(node).__name__)
            if shown is not None:
                raise self.src.error(node, f"pb.grad cannot differentiate {shown} holding "
                                           f"differentiated values here: the source engine "
                                           f"follows arrays, numbers and your function's "
                                           f"arguments; make an array of them with "
                                           f"np.stack([...]) or np.concatenate([...]), or use "
                                           f"mode='tape'")
            raise self.src.error(node, f"pb.grad cannot differentiate through a "
                                       f"{type(node).__name__} expression")
        return method(node, into)

    def emit(self, kind, node, into, prim=None, args=(), kwargs=None, **extra):
        target = self.fresh_target(into)
        op = Op(kind, target, node, self.line, prim=prim, args=args, kwargs=kwargs, **extra)
        self.out.append(op)
        self.activity.active.add(target)
        if prim is not None and (prim.fun in _SEQUENCE_RESULTS or (
                prim.fun in _SEQUENCE_RESULTS_OF_SEVERAL and len(args) > 1)):
            self.sequence_values.add(target)
            self.made_in[target] = self.out
        return _name(target)

    def _BinOp(self, node, into):
        left, right = self.expr(node.left), self.expr(node.right)
        prim = lookup(getattr(__import__("numpy"), _BINOPS[type(node.op)]))
        value = gast.BinOp(left=left, op=node.op, right=right)
        return self.emit("prim", value, into, prim, self.whole_operands(node, left, right))

    def _UnaryOp(self, node, into):
        operand = self.expr(node.operand)
        self.refuse_whole(operand, node)
        prim = lookup(getattr(__import__("numpy"), _UNARY[type(node.op)]))
        return self.emit("prim", gast.UnaryOp(op=node.op, operand=operand), into, prim,
                         [operand])

    def _IfExp(self, node, into):
        return self.ifexp(node, into)

    def _Attribute(self, node, into):
        value = self.expr(node.value)
        self.refuse_whole(value, node)
        if node.attr == "T":
            prim = lookup(__import__("numpy").transpose)
        elif node.attr == "real":
            prim = lookup(__import__("numpy").real)
        elif node.attr in self.result_fields.get(getattr(value, "id", None), ()):
            index = self.result_fields[value.id].index(node.attr)  # np.linalg.svd(A).S
            return self.sequence_item(value, _const(index), node, into)
        else:
            raise self.src.error(node, f"pb.grad cannot differentiate the attribute "
                                       f".{node.attr} of a differentiated value")
        return self.emit("prim", gast.Attribute(value=value, attr=node.attr, ctx=gast.Load()),
                         into, prim, [value])

    def _Subscript(self, node, into):
        value = self.expr(node.value)
        index = node.slice
        if self.activity.expr(index, self.env):
            raise self.src.error(node, "pb.grad cannot differentiate an index that depends on "
                                       "the differentiated arguments")
        index = self.rename(index)
        if isinstance(value, gast.Name) and self._is_container(value.id):
            return self.container_item(value, index, node, into)
        if isinstance(value, gast.Name) and (value.id in self.sequence_values or
                                             value.id in self.tuple_values):
            return self.sequence_item(value, index, node, into)
        if isinstance(value, gast.Name) and value.id in self.fn_ir.lists:
            return self.list_item(value, index, node, into)
        from .._rules.indexing import getitem
        expr = gast.Subscript(value=value, slice=index, ctx=gast.Load())
        return self.emit("prim", expr, into, lookup(getitem), [value, _index_value(index)])

    def sequence_item(self, value, index, node, into):
        """``np.split(x, 3)[1]``: one array of a list of arrays, an "item" of it as in
        ``a, b, c = np.split(x, 3)`` (the pieces may differ in shape: not an array index)."""
        key = _int_constant(index)
        if key is None:
            raise self.src.error(node, "pb.grad can index a list of arrays (as np.split "
                                       "returns) with a constant number only")
        known = self.sequence_items.get((value.id, key))
        if known is not None:
            name = known
        else:
            self.check_read_where_made(value, node)
            name = self.namer.fresh(f"{value.id}_{'m' if key < 0 else ''}{abs(key)}")
            self.out.append(Op("item", name, gast.Subscript(value=value, slice=_const(key),
                                                            ctx=gast.Load()),
                               self.line, args=[value], index=key))
            self.activity.active.add(name)
            self.sequence_items[(value.id, key)] = name
            self.fn_ir.sequences.add(value.id)
        if into is not None:
            self.alias(into, _name(name))
        return _name(name)

    def check_read_where_made(self, value, node):
        """Items of a list or tuple of arrays are read in the block that made it: the
        cotangent of the whole is gathered there, so an item read inside an if, a loop or a
        conditional expression around it (or after the loop that made it) would lose its
        gradient."""
        if self.made_in.get(value.id, self.out) is not self.out:
            raise self.src.error(node, "pb.grad reads the items of a list or tuple of arrays "
                                       "(np.split's, np.linalg.eigh's, a helper's) only in "
                                       "the block that made it, not inside an if, a loop "
                                       "or a conditional expression around it, nor after "
                                       "the loop that made it: unpack it where it is made "
                                       "(a, b = ...), or use mode='tape'")

    def _is_container(self, name):
        return name in self.fn_ir.containers

    def _hoist(self, container):
        """Move the read of ``container`` (a leaf that is itself a dict or list) to the top,
        before the reads of its own leaves that are placed there."""
        op = self.leaf_ops.get(container)
        if op is None or op in self.leaf_reads:
            return
        self._hoist(op.args[0].id)
        self.fn_ir.body.remove(op)
        self.leaf_reads.append(op)

    def _all_leaves(self, container, node):
        """``[(path, leaf name)]`` for every leaf under ``container`` (a name), each read as
        ``container[key]...`` so that its adjoint has a name; paths are relative to it."""
        found = []
        structure = self.fn_ir.containers[container.id]
        keys = list(structure) if isinstance(structure, dict) else range(len(structure))
        for key in keys:
            leaf = self.container_item(container, _const(key), node, None)
            if self._is_container(leaf.id):
                found.extend(((key,) + path, name) for path, name in self._all_leaves(leaf, node))
            else:
                found.append(((key,), leaf.id))
        return found

    def container_item(self, value, index, node, into):
        structure = self.fn_ir.containers[value.id]
        negative = None
        if isinstance(index, gast.UnaryOp) and isinstance(index.op, gast.USub) and \
                isinstance(index.operand, gast.Constant) and type(index.operand.value) is int:
            negative = -index.operand.value
        elif isinstance(index, gast.Constant) and type(index.value) is int and index.value < 0:
            negative = index.value
        if negative is not None and isinstance(structure, (list, tuple)):
            if not -len(structure) <= negative < 0:
                raise self.src.error(node, f"index {negative} is out of range for an argument "
                                           f"of {len(structure)} items")
            index = _const(len(structure) + negative)   # ws[-1]: the last item
        if not isinstance(index, gast.Constant):
            raise self.src.error(node, "pb.grad can index a differentiated container (a dict, "
                                       "list or tuple argument) with constant keys only")
        structure = self.fn_ir.containers[value.id]
        try:
            sub = structure[index.value]
        except (KeyError, IndexError, TypeError):
            raise self.src.error(node, f"key {index.value!r} is not in the argument") from None
        if (value.id, index.value) in self.items:
            leaf = self.items[(value.id, index.value)]
            if into is not None:
                self.alias(into, _name(leaf))
            return _name(leaf)
        base, path = self.fn_ir.leaves.get(value.id, (value.id, ()))
        name = self.namer.fresh(f"{value.id}_{_key_name(index.value)}")
        op = Op("leaf", name, gast.Subscript(value=value, slice=index, ctx=gast.Load()),
                self.line, args=[value], index=index.value)
        self.leaf_ops[name] = op
        if self.out is self.fn_ir.body:
            self.out.append(op)
        else:
            # Read once, at the top of the function (the argument does not change): read in
            # a loop or a branch, the leaf's adjoint would restart with each iteration, and
            # a later read would find the name unbound when the branch did not run
            self._hoist(value.id)
            self.leaf_reads.append(op)
        self.activity.active.add(name)
        self.items[(value.id, index.value)] = name
        self.fn_ir.leaves[name] = (base, path + (index.value,))
        if isinstance(sub, (dict, list, tuple)):
            self.fn_ir.containers[name] = sub
        else:
            self.kinds[name] = sub
        if into is not None:
            self.alias(into, _name(name))
        return _name(name)

    def _Call(self, node, into):
        func = node.func
        refusal = conversion_refusal(node, self.scope, lambda e: self.activity.expr(e, self.env))
        if refusal is not None:   # np.asarray(x, dtype=complex), x.astype(dt)
            raise self.src.error(node, refusal)
        if isinstance(func, gast.Attribute) and self.activity.expr(func.value, self.env):
            return self.method_call(node, into)
        callee = self.scope.callee(func, self.local_functions)
        made = self.list_call(node, into, self.scope.static_value(func))
        if made is not None:   # sum(lst), np.array(lst) of a list built by appending
            return made
        if callee.kind == "prim" and self.scope.static_value(func) in (max, min):
            return self.builtin_extremum(node, into, self.scope.static_value(func))
        if self.scope.static_value(func) is math.log and len(node.args) + len(node.keywords) != 1:
            raise self.src.error(node, "pb.grad differentiates math.log of one argument; for "
                                       "a base, write math.log(x) / math.log(base)")
        if self.scope.static_value(func) in (np.array, np.asarray) and _array_of_items(node):
            # np.array([a * b, c]) of differentiated numbers or same-shape arrays: np.stack's
            return self.prim_call(node, into, lookup(np.stack))
        if self.scope.static_value(func) in (np.array, np.asarray) and len(node.args) == 1 \
                and not node.keywords and self.is_whole(self.expr(node.args[0])):
            # np.asarray(ws) of a list argument: its leaves joined by np.stack's rule
            atom = self.whole_array(self.expr(node.args[0]), node, fresh=True)
            if into is not None:
                self.alias(into, atom)
            return atom
        if callee.kind in ("prim",):
            return self.prim_call(node, into, callee.prim)
        if callee.kind == "identity":
            if len(node.args) != 1 or node.keywords:
                raise self.src.error(node, f"{callee.name}() takes one argument")
            atom = self.expr(node.args[0])
            self.refuse_whole(atom, node)   # float(ws) raises; it is no list of floats
            if into is not None:
                self.alias(into, atom)
            return atom
        if callee.kind in ("user", "local"):
            refusal = tensor_name_refusal(callee.fn, callee.name)
            if refusal is not None:   # pb.nn.sigmoid(x): Tensors, for the tape
                raise self.src.error(node, refusal)
            return self.user_call(node, into, callee)
        if self.scope.static_value(func) is None and (
                not isinstance(func, gast.Name) or func.id in self.env):
            raise self.src.error(node, f"pb.grad cannot differentiate through {callee.name}(): "
                                       f"which function it calls is known only when the code "
                                       f"runs (a name the function assigns, a method of an "
                                       f"argument, an item of a list); call a module-level "
                                       f"function, or a function argument the function does "
                                       f"not reassign, or use mode='tape'")
        raise self.src.error(node, f"pb.grad cannot differentiate through {callee.name}(): it "
                                   f"is not a NumPy function with a derivative rule, and its "
                                   f"source is not available to transform")

    def builtin_extremum(self, node, into, builtin):
        """``max(a, b, c)`` and ``max([a, b])`` as ``max(max(a, b), c)``: Python's max keeps
        the first of equal values, as np.maximum's rule gives a tie to its first argument."""
        name = builtin.__name__
        items = list(node.args)
        if len(items) == 1 and isinstance(items[0], (gast.List, gast.Tuple)) and \
                items[0].elts and not any(isinstance(e, gast.Starred) for e in items[0].elts):
            items = list(items[0].elts)
        elif len(items) == 1:
            raise self.src.error(node, f"pb.grad cannot differentiate {name}() of one "
                                       f"iterable: write np.{name}(x) for an array (tied "
                                       f"values share its gradient), or use mode='tape'")
        if node.keywords or any(isinstance(e, gast.Starred) for e in items):
            raise self.src.error(node, f"pb.grad differentiates {name}() of listed values only "
                                       f"(no key=, default= or *args); use mode='tape'")
        if len(items) == 1:
            return self.expr_into(items[0], into)
        folded = items[0]
        for item in items[1:]:
            folded = gast.copy_location(gast.Call(func=clone(node.func), args=[folded, item],
                                                  keywords=[]), node)
        if len(items) == 2 and folded.args == list(node.args):
            return self.prim_call(node, into, lookup(BUILTINS[builtin]))
        return self.expr_into(folded, into)

    def _function_arguments(self, callee, node, params):
        """{parameter: FunctionArgument} for the parameters of a called function of the user's
        that receive a function: a name this function resolves to one (its own function
        argument passed on, a module-level function, ``np.tanh``), or a default value."""
        given = dict(zip(params, node.args))
        given.update({kw.arg: kw.value for kw in node.keywords if kw.arg is not None})
        found = {}
        for param in params:
            if param in given:
                expr = given[param]
                value = self.scope.static_value(expr) if isinstance(
                    expr, (gast.Name, gast.Attribute)) else None
            else:
                value = _default_value(callee.fn, param) if callee.fn is not None else None
            kind = FunctionArgument.of(value) if value is not None else None
            if kind is not None:
                found[param] = kind
        return found

    def _keywords_by_position(self, prim, args, kwargs):
        """``np.full(3, fill_value=v)`` as ``np.full(3, v)``: a differentiated value passed by
        keyword goes to its position (the rules read arguments by position), with the
        parameters before it that the call leaves out given their defaults -- when those are
        plain constants; otherwise the call stays as written (and is refused)."""
        try:
            params = list(inspect.signature(prim.fun).parameters.values())
        except (TypeError, ValueError):   # a ufunc before Python 3.11
            return args, kwargs
        positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY,
                                                       p.POSITIONAL_OR_KEYWORD)]
        names = [p.name for p in positional]
        moving = [names.index(k) for k, v in kwargs.items()
                  if k in names and self.activity.atom(v)]
        if not moving:
            return args, kwargs
        new_args, rest = list(args), dict(kwargs)
        for param in positional[len(args):max(moving) + 1]:
            if param.name in rest:
                new_args.append(rest.pop(param.name))
            elif param.default is None or type(param.default) in (int, float, bool, str):
                new_args.append(_const(param.default))
            else:
                return args, kwargs
        return new_args, rest

    def call_args(self, node):
        args = [self.arg_atom(a) for a in node.args]
        kwargs = {}
        for kw in node.keywords:
            if kw.arg is None:
                raise self.src.error(node, "pb.grad cannot transform **kwargs in a call")
            kwargs[kw.arg] = self.arg_atom(kw.value)
        return args, kwargs

    def arg_atom(self, node):
        if isinstance(node, (gast.List, gast.Tuple)) and self.activity.expr(node, self.env):
            return type(node)(elts=[self.expr(e) for e in node.elts], ctx=gast.Load())
        return self.expr(node)

    def prim_call(self, node, into, prim):
        args, kwargs = self.call_args(node)
        if any(self.activity.atom(v) for v in kwargs.values()):
            args, kwargs = self._keywords_by_position(prim, args, kwargs)
        if kwargs and isinstance(prim.fun, np.ufunc) and any(self.activity.atom(a)
                                                              for a in args):
            raise self.src.error(node, f"pb.grad differentiates numpy.{prim.fun.__name__} "
                                       f"without keyword arguments ({', '.join(kwargs)}= here): "
                                       f"its rule takes none; cast or mask separately "
                                       f"(np.where for where=), or use mode='tape'")
        for i, a in enumerate(args):
            if prim.undeclared(i) and self.activity.atom(a):
                raise self.src.error(node, prim.undeclared_message(i))
        for k, v in kwargs.items():
            if self.activity.atom(v):
                raise self.src.error(node, f"pb.grad differentiates positional arguments only: "
                                           f"pass {k}= positionally")
        args = self.whole_args(prim, args, node, self.numpy_call(node.func))
        call = gast.Call(func=self.rename(node.func), args=clone(args),
                         keywords=[gast.keyword(arg=k, value=clone(v))
                                   for k, v in kwargs.items()])
        result = self.emit("prim", call, into, prim, args, kwargs)
        if prim.fun in _TUPLE_RESULTS and self._returns_tuple(prim.fun, args, kwargs, node):
            self.sequence_values.add(result.id)
            self.made_in[result.id] = self.out
            self.result_fields[result.id] = _TUPLE_RESULTS[prim.fun]
            if prim.fun is not np.linalg.slogdet:   # (sign, logabsdet) pass as one array
                self.uneven_results.add(result.id)
        return result

    def _returns_tuple(self, fun, args, kwargs, node):
        position, keyword, one_array = _ONE_ARRAY_WHEN.get(fun, (None, None, ()))
        flag = args[position] if position is not None and len(args) > position else \
            kwargs.get(keyword)
        if flag is None:
            return True
        if not isinstance(flag, gast.Constant):
            raise self.src.error(node, f"pb.grad needs {keyword}= of {fun.__name__}() written "
                                       f"as a literal (it decides whether a tuple or one "
                                       f"array comes back); or use mode='tape'")
        return flag.value not in one_array

    def method_call(self, node, into):
        func = node.func
        entry = METHODS.get(func.attr)
        if entry is None:
            raise self.src.error(node, f"pb.grad has no derivative for the array method "
                                       f".{func.attr}()")
        fun, adapt = entry
        value = self.expr(func.value)
        self.refuse_whole(value, node)
        args, kwargs = self.call_args(node)
        prim = lookup(fun)
        call = gast.Call(func=gast.Attribute(value=value, attr=func.attr, ctx=gast.Load()),
                         args=clone(args),
                         keywords=[gast.keyword(arg=k, value=clone(v))
                                   for k, v in kwargs.items()])
        if not prim.differentiable:
            target = self.fresh_target(into)
            self.out.append(Op("const", target, call, self.line, active=False))
            return _name(target)
        rule_args = self.whole_args(prim, [value] + (adapt(args) if adapt else args), node,
                                    numpy=True)
        return self.emit("prim", call, into, prim, rule_args, kwargs)

    def user_call(self, node, into, callee):
        if callee.fn is not None and hasattr(callee.fn, "_pullback_custom_gradient"):
            raise self.src.error(node, f"{callee.name}() has a custom gradient "
                                       f"(@pb.custom_gradient), which only the tape uses; use "
                                       f"mode='tape' (mode='auto' does)")
        args, kwargs = self.call_args(node)
        params, defaults, closure_names = self.program.signature(callee, self, node)
        from . import _Helper
        bound = _Helper("", callee.name, params, closure_names, defaults).bind_call(
            args, dict(kwargs), node, self.src)
        bound = [self.rename(b) if not isinstance(b, gast.Name) else b for b in bound]
        closure = [self.env[n] if n in self.env else _name(n) for n in closure_names]
        all_args = bound + closure
        if any(getattr(a, "id", None) in self.uneven_results for a in all_args):
            raise self.src.error(node, f"pb.grad cannot pass the tuple an np.linalg function "
                                       f"returned whole to {callee.name}() (or let it read "
                                       f"it); unpack it first (U, s, Vh = np.linalg.svd(...)) "
                                       f"and pass its arrays, or use mode='tape'")
        active = [self.activity.atom(a) for a in all_args]
        # A differentiated dict, list or tuple argument passed whole (or read whole by a
        # nested function): the helper is generated for its structure, and the gradient it
        # returns goes back into each of the caller's leaves.
        trees = [self.fn_ir.containers[a.id] if act and isinstance(a, gast.Name) and
                 self._is_container(a.id) else None for a, act in zip(all_args, active)]
        leaves = [self._all_leaves(a, node) if tree is not None else None
                  for a, tree in zip(all_args, trees)]
        functions = self._function_arguments(callee, node, params)
        helper = self.program.helper_for(callee, active, self, node, trees, functions)
        call_node = gast.Call(func=_name(helper.name), args=clone(all_args), keywords=[])
        op_target = self.fresh_target(into)
        op = Op("call", op_target, call_node, self.line, args=all_args,
                helper=(helper, active, leaves))
        op.pullback = self.namer.fresh(f"{op_target}_pullback")
        self.out.append(op)
        self.activity.active.add(op_target)
        if helper.returns_tuple:   # unpacked and indexed as items, as np.split's result
            self.tuple_values.add(op_target)
            self.made_in[op_target] = self.out
        return _name(op_target)


def _default_value(fn, param):
    """The default value of ``fn``'s parameter ``param`` (the object itself), or None."""
    code = fn.__code__
    positional = code.co_varnames[:code.co_argcount]
    defaults = fn.__defaults__ or ()
    if param in positional:
        i = positional.index(param) - (len(positional) - len(defaults))
        return defaults[i] if i >= 0 else None
    return (fn.__kwdefaults__ or {}).get(param)


def _params_of(node):
    args = node.args
    return list(args.args) + list(getattr(args, "kwonlyargs", []) or [])


def _index_value(index):
    """An index as an ordinary expression: ``1:3`` becomes ``slice(1, 3, None)``."""
    if isinstance(index, gast.Slice):
        parts = [clone(p) if p is not None else _const(None)
                 for p in (index.lower, index.upper, index.step)]
        return gast.Call(func=_name("slice"), args=parts, keywords=[])
    if isinstance(index, gast.Tuple):
        return gast.Tuple(elts=[_index_value(e) for e in index.elts], ctx=gast.Load())
    return clone(index)


def _key_name(key):
    text = str(key)
    cleaned = "".join(c if c.isalnum() else "_" for c in text)
    return cleaned if cleaned and not cleaned[0].isdigit() else f"k{cleaned}"

