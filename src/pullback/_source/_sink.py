"""Sink: compute each array value just before the statement that first reads it.

The reverse pass keeps the order of the user's lines: a forward value that only the backward
pass reads (``t5 = np.sin(x)`` in ``np.sum(f(x) * np.sin(x))``, when the product itself is dead
for ``pb.grad``) is computed in the forward part and held through the backward part's first
steps.  On large arrays that is one more array alive at the peak, and the memory traffic shows
(4 % of W5's time).  This pass moves such a pure assignment down to just before its first
reader in the same block, as an expert orders a hand-written gradient, when that is safe and
lengthens no other array's life:

- the statement is ``name = <pure call or arithmetic>`` (NumPy, ``math``, the rules) making an
  array, or a copy of an array ``bt4 = t5`` (which the later copy propagation removes), and
  nothing that writes (``out=``);
- it passes at least one statement that computes something (else it would only reorder);
- every statement it passes is pure and rebinds neither its name nor anything it reads;
- every local it reads (not a parameter, not a global) is read again at or after its new
  place, so moving it makes no operand live longer.

It runs on the function's top-level block, in code that writes into no array (the caller,
``_specialize``, runs it before choosing buffers to write into), so no statement between can
change an operand in place.

Example:
    >>> import gast
    >>> fn = gast.parse(
    ...     "def g(x):\\n    a = np.sin(x)\\n    b = np.cos(x)\\n    c = b * 2\\n    return a + c\\n"
    ... ).body[0]
    >>> sink_to_first_use(fn, pure=lambda stmt: True)
    >>> print(gast.unparse(fn).strip())
    def g(x):
        b = np.cos(x)
        c = b * 2
        a = np.sin(x)
        return a + c
"""

import gast

from ._clone import name_nodes
from ._optimize import _is_comment

__all__ = ["sink_to_first_use"]


def sink_to_first_use(function, pure, array=lambda name: True):
    """Move the pure assignments of ``function``'s top-level block down to their first reader.

    ``pure(stmt)`` tells whether a statement has no effect but binding its names;
    ``array(name)`` whether a value is an array (only arrays are worth moving).
    """
    body = function.body
    params = {a.id for a in function.args.args + function.args.posonlyargs +
              function.args.kwonlyargs if isinstance(a, gast.Name)}
    uses = [_loads_and_stores(stmt) for stmt in body]
    local = set().union(*(stores for _, stores in uses)) - params  # globals never die
    last = _last_loads(uses)
    for i in range(len(body) - 2, -1, -1):
        stmt = body[i]
        if not _candidate(stmt, pure, array):
            continue
        target = stmt.targets[0].id
        reads = uses[i][0]
        j = _first_reader(body, uses, i, target, reads, pure)
        if j is None or not any(_computes(s) for s in body[i + 1:j]):
            continue  # nothing computed in between: the move would only reorder
        copy = isinstance(stmt.value, gast.Name)  # one array under two names: nothing to hold
        if not copy and not all(r not in local or last.get(r, -1) >= j for r in reads):
            continue  # an operand would live longer than it does now
        body.insert(j - 1, body.pop(i))  # just before the reader, under its line's comment
        uses.insert(j - 1, uses.pop(i))
        last = _last_loads(uses)


def _candidate(stmt, pure, array):
    if not (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], gast.Name)):
        return False
    value = stmt.value
    if isinstance(value, gast.Name):
        return array(value.id)
    return _computes(stmt) and array(stmt.targets[0].id) and pure(stmt)


def _computes(stmt):
    """Whether a statement computes a new value (a call or arithmetic, not a copy or a
    lookup)."""
    return isinstance(stmt, gast.Assign) and isinstance(stmt.value, (gast.Call, gast.BinOp,
                                                                     gast.UnaryOp))


def _first_reader(body, uses, i, target, reads, pure):
    """The index of the first statement after ``i`` that reads ``target``; None when one before
    it rebinds what statement ``i`` binds or reads, or may have an effect."""
    blocked = reads | {target}
    for j in range(i + 1, len(body)):
        loads, stores = uses[j]
        if target in loads:
            return j
        if stores & blocked or not (_is_comment(body[j]) or pure(body[j])):
            return None
    return None


def _loads_and_stores(stmt):
    loads, stores = set(), set()
    for n in name_nodes(stmt):
        (stores if isinstance(n.ctx, (gast.Store, gast.Del)) else loads).add(n.id)
    if isinstance(stmt, gast.AugAssign) and isinstance(stmt.target, gast.Name):
        loads.add(stmt.target.id)  # ``a += b`` reads a
    return loads, stores


def _last_loads(uses):
    """name -> the index of the last statement that reads it."""
    return {name: j for j, (loads, _) in enumerate(uses) for name in loads}
