"""The shift of a stable logsumexp carries no gradient.

Users write logsumexp the stable way::

    m = np.max(x, axis=1, keepdims=True)
    lse = m + np.log(np.sum(np.exp(x - m), axis=1, keepdims=True))

``lse`` does not depend on ``m`` at all: for every row, d lse / d m = 1 - sum(softmax) = 0,
exactly.  Differentiated as written, the gradient still flows through ``m`` -- a sum over the
softmax, a subtraction that gives 0 up to rounding, and ``np.max``'s VJP (a mask of the maxima
and a count of ties) to spread that zero back to ``x`` -- about 4 % of an MLP's whole gradient.
An expert's hand-written gradient never computes it, and neither does pullback: when the
pattern is exactly that, the ``max`` is marked inactive, so no adjoint reaches it.

"Exactly that" means, in the normalized code (one operation per name, all in one block):

- ``m = np.max(x, ...)`` (or ``np.amax``) with at most ``axis`` and ``keepdims=True`` -- or no
  axis and no ``keepdims`` (a scalar shift), and nothing else (no ``out``, ``initial``,
  ``where``);
- ``m`` is read by exactly two statements: ``d = x - m`` (the same ``x``) and ``lse = m + l``
  (or ``l + m``);
- ``e = np.exp(d)``, ``s = np.sum(e, ...)`` with the same ``axis`` and ``keepdims`` as the
  ``max``, ``l = np.log(s)``, and each of ``d``, ``e``, ``s`` and ``l`` is read by nothing but
  the next step.

Then every path from ``m`` to the output goes through ``lse``, whose derivative with respect to
``m`` is identically zero, so the gradient is the same with ``m`` held constant (and, with no
rounding residue, slightly more exact).  Anything else is differentiated as written.
"""

import gast
import numpy as np

from ._clone import name_nodes, same_tree
from ._ir import Branch, Loop, LoopExit, Op, Plain

__all__ = ["detach_logsumexp_shifts"]

_MAX = (np.max, np.amax)


def detach_logsumexp_shifts(fn):
    """Mark inactive the ``max`` of each stable logsumexp in the normalized function ``fn``;
    returns the names of the shifts detached."""
    if not _has_max(fn.body):
        return []  # no shift to detach (the usual case): no need to index the readers
    readers = {}
    blocks = []
    if not _index(fn.body, readers, blocks):
        return []  # a statement this pass does not know: differentiate everything as written
    for name in _result_names(fn.result):
        readers.setdefault(name, []).append(None)
    detached = []
    for block in blocks:
        made = {op.target: op for op in block if isinstance(op, Op) and op.kind == "prim"}
        for op in made.values():
            if op.active and _is_shift(op, made, readers):
                op.active = False
                detached.append(op.target)
    return detached


def _has_max(body):
    """Whether a statement in ``body`` (or in a block inside it) is an active ``np.max``."""
    for node in body:
        if isinstance(node, Op) and node.active and _fun(node) in _MAX:
            return True
        if isinstance(node, (Branch, Loop)) and _has_max(node.body) or isinstance(
                node, Branch) and _has_max(node.orelse):
            return True
    return False


def _is_shift(op, made, readers):
    """Whether ``op`` is the ``m = max(x)`` of ``m + log(sum(exp(x - m)))``, as described in
    the module."""
    if _fun(op) not in _MAX or len(op.args) != 1 or not _is_name(op.args[0]):
        return False
    if set(op.kwargs) - {"axis", "keepdims"}:
        return False
    keep = op.kwargs.get("keepdims")
    if keep is not None and not _is_true(keep):
        return False
    if keep is None and op.kwargs.get("axis") is not None:
        return False  # a reduced axis without keepdims: x - m would not broadcast per row
    x, m = op.args[0].id, op.target
    uses = readers.get(m, [])
    if len(uses) != 2 or any(u is None or u not in made.values() for u in uses):
        return False
    sub = next((u for u in uses if _fun(u) is np.subtract), None)
    add = next((u for u in uses if _fun(u) is np.add), None)
    if sub is None or add is None or sub is add or _arg_names(sub) != [x, m]:
        return False
    exp = _only_reader(sub.target, readers, np.exp, made)
    total = exp and _only_reader(exp.target, readers, np.sum, made)
    if not total or not _same_reduction(op, total):
        return False
    log = _only_reader(total.target, readers, np.log, made)
    if not log or _only_reader(log.target, readers, np.add, made) is not add:
        return False
    return sorted(_arg_names(add)) == sorted([m, log.target])


def _only_reader(name, readers, fun, made):
    """The one statement reading ``name``, when it is ``fun(name)`` in the same block."""
    uses = readers.get(name, [])
    if len(uses) != 1 or uses[0] is None or uses[0] not in made.values():
        return None
    op = uses[0]
    if _fun(op) is not fun or not op.active:
        return None
    if fun in (np.exp, np.log) and (op.kwargs or _arg_names(op) != [name]):
        return None
    if fun is np.sum and (set(op.kwargs) - {"axis", "keepdims"} or _arg_names(op) != [name]):
        return None
    return op


def _same_reduction(a, b):
    for key in ("axis", "keepdims"):
        x, y = a.kwargs.get(key), b.kwargs.get(key)
        if (x is None) != (y is None) or (x is not None and not same_tree(x, y)):
            return False
    return True


def _index(body, readers, blocks):
    """Who reads each name (one entry per reading statement), and the blocks of statements;
    False when a statement is of a kind it does not know (so its reads are unknown)."""
    blocks.append(body)
    for node in body:
        if isinstance(node, Op):
            names = set()
            for part in [node.expr, *node.args, *node.kwargs.values()]:
                if part is not None:
                    names.update(n.id for n in name_nodes(part) if not _stored(n))
            if node.kind == "setitem":
                names.add(node.target)  # x[i] = v reads (and writes) x
        elif isinstance(node, Plain):
            names = {n.id for n in name_nodes(node.stmt) if not _stored(n)}
        else:
            names = set()
            for part in (getattr(node, "test", None), getattr(node, "iter", None)):
                if isinstance(part, str):
                    names.add(part)
                elif part is not None:
                    names.update(n.id for n in name_nodes(part) if not _stored(n))
        for name in names:
            readers.setdefault(name, []).append(node)
        if isinstance(node, (Branch, Loop)):
            if not _index(node.body, readers, blocks):
                return False
            if isinstance(node, Branch) and not _index(node.orelse, readers, blocks):
                return False
        elif not isinstance(node, (Op, Plain, LoopExit)):
            return False
    return True


def _result_names(result):
    if result is None:
        return []
    if isinstance(result, str):
        return [result]
    return [n.id for n in name_nodes(result)]


def _stored(node):
    return isinstance(node.ctx, (gast.Store, gast.Del))


def _fun(op):
    prim = op.prim if op.kind == "prim" else None
    return getattr(prim, "fun", None)


def _arg_names(op):
    return [a.id if _is_name(a) else None for a in op.args]


def _is_name(node):
    return isinstance(node, gast.Name)


def _is_true(node):
    return isinstance(node, gast.Constant) and node.value is True
