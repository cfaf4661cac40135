"""GradientTape: TensorFlow's tape semantics over the records that Tensors append.

A record is a plain tuple ``(primitive, args, kwargs, inputs, out_id, ans)`` where ``inputs``
lists ``(position, sub_index, tensor_id)`` for each Tensor argument.  The backward pass walks the
records in reverse and asks the registry for each VJP.  When another tape is recording at that
moment (nested tapes, or a persistent tape asked inside its own context) the backward pass runs
the same rules on Tensors, so it is itself recorded: that is how higher derivatives work.
"""

import contextlib
import enum
import sys
import warnings

import numpy as np

from ._errors import NoGradientRuleError
from ._registry import unbroadcast
from ._state import stack
from ._structure import flatten, flatten_up_to, unflatten
from ._tensor import Tensor, Variable, _wrap, _wrap_id

__all__ = ["GradientTape", "UnconnectedGradients"]


class UnconnectedGradients(str, enum.Enum):
    """What ``gradient`` returns for a source the target does not depend on.

    Example:
        >>> import pullback as pb
        >>> x, y = pb.Variable(1.0), pb.Variable(2.0)
        >>> with pb.GradientTape(persistent=True) as tape:
        ...     z = x * 3.0
        >>> tape.gradient(z, y) is None
        True
        >>> float(tape.gradient(z, y, unconnected_gradients=pb.UnconnectedGradients.ZERO))
        0.0
    """

    NONE = "none"
    ZERO = "zero"


def _unconnected(value):
    if value is UnconnectedGradients.NONE or (type(value) is str and value == "none"):
        return UnconnectedGradients.NONE   # the default, without the Enum lookup
    try:
        return UnconnectedGradients(getattr(value, "value", value))
    except ValueError:
        raise ValueError(
            f"unconnected_gradients must be 'none' or 'zero' (or pb.UnconnectedGradients.NONE / "
            f".ZERO), not {value!r}") from None


class GradientTape:
    """Records operations on watched Tensors and Variables, then computes gradients.

    Args:
        persistent: allow more than one ``gradient`` / ``jacobian`` / ``batch_jacobian`` call.
        watch_accessed_variables: watch every trainable Variable read inside the context.

    Example:
        >>> import pullback as pb
        >>> x = pb.constant(3.0)
        >>> with pb.GradientTape(persistent=True) as tape:
        ...     tape.watch(x)
        ...     y = x * x
        ...     z = y * y
        >>> float(tape.gradient(z, x)), float(tape.gradient(y, x))
        (108.0, 6.0)
    """

    def __init__(self, persistent=False, watch_accessed_variables=True):
        self._persistent = bool(persistent)
        self._watch_accessed = bool(watch_accessed_variables)
        self._records = []
        self._tracked = set()  # ids of the watched Tensors and of every recorded result
        self._watched = set()  # ids of the watched Tensors alone
        self._variables = {}   # id -> Variable, in the order first watched
        self._used = False

    # --- context and recording ----------------------------------------------------------------

    def __enter__(self):
        if self in stack.recording:
            raise RuntimeError("this GradientTape is already recording; a tape cannot be entered "
                               "twice at the same time")
        stack.recording.append(self)
        return self

    def __exit__(self, *exc):
        if self in stack.recording:
            stack.recording.remove(self)
        return False

    @contextlib.contextmanager
    def stop_recording(self):
        """Pause this tape (only this one) inside the ``with`` block.

        Raises:
            RuntimeError: the tape is not recording.

        Example:
            >>> import pullback as pb
            >>> x = pb.Variable(2.0)
            >>> with pb.GradientTape() as tape:
            ...     y = x * x
            ...     with tape.stop_recording():
            ...         z = y * x          # not recorded: z is a constant to this tape
            ...     w = y + z
            >>> float(w), float(tape.gradient(w, x))
            (12.0, 4.0)
        """
        recording = stack.recording
        if self not in recording:
            raise RuntimeError("stop_recording() needs a tape that is recording: call it inside "
                               "the tape's `with` block")
        index = recording.index(self)
        recording.remove(self)
        try:
            yield
        finally:
            recording.insert(min(index, len(recording)), self)

    def reset(self):
        """Forget everything recorded and watched, as if the context had been entered anew.

        Example:
            >>> import pullback as pb
            >>> x = pb.Variable(3.0)
            >>> with pb.GradientTape() as tape:
            ...     y = x * x
            ...     tape.reset()       # forget y = x * x
            ...     y = 5.0 * x
            >>> float(tape.gradient(y, x))
            5.0
        """
        self._records = []
        self._tracked = set()
        self._watched = set()
        self._variables = {}
        self._used = False

    def watch(self, tensor):
        """Watch a Tensor or Variable (or a nested structure of them).

        Raises:
            ValueError: something that is not a Tensor or Variable.

        Example:
            >>> import pullback as pb
            >>> x = pb.constant(3.0)   # a constant is followed only when watched
            >>> with pb.GradientTape() as tape:
            ...     tape.watch(x)
            ...     y = x ** 2
            >>> float(tape.gradient(y, x))
            6.0
        """
        for t in flatten(tensor)[0]:
            if not isinstance(t, Tensor):
                raise ValueError(
                    f"GradientTape.watch() takes Tensors and Variables, not {type(t).__name__}; "
                    f"wrap the value first, e.g. x = pb.constant(value) (or pb.Variable(value)) "
                    f"and use x in the computation")
            if t.dtype.kind not in "fc":
                warnings.warn(
                    f"GradientTape.watch: a Tensor of dtype {t.dtype} is not differentiable; its "
                    f"gradient will be None. Use a float dtype, e.g. pb.constant(x, "
                    f"dtype='float64')", stacklevel=2)
                continue
            self._tracked.add(t._id)
            self._watched.add(t._id)
            if type(t) is Variable:
                self._variables.setdefault(t._id, t)

    def _read_variables(self, variables):
        """Called when ops read Variables while this tape records: auto-watch trainable ones."""
        if not self._watch_accessed:
            return
        for v in variables:
            if v._trainable and v._id not in self._tracked and v.dtype.kind in "fc":
                self._tracked.add(v._id)
                self._watched.add(v._id)
                self._variables[v._id] = v

    def watched_variables(self):
        """The Variables this tape watches, in the order they were first watched.

        Example:
            >>> import pullback as pb
            >>> a, b = pb.Variable(1.0, name="a"), pb.Variable(2.0, name="b")
            >>> with pb.GradientTape() as tape:
            ...     y = b * a
            >>> [v.name for v in tape.watched_variables()]
            ['b:0', 'a:0']
        """
        return tuple(self._variables.values())

    # --- gradients ----------------------------------------------------------------------------

    def gradient(self, target, sources, output_gradients=None, unconnected_gradients="none"):
        """Gradient of ``target`` (summed if non-scalar, or a list of targets) w.r.t. ``sources``.

        Args:
            target: a Tensor, or a list / nested structure of Tensors (their sum is differentiated).
            sources: a Tensor or Variable, or any nested structure of them; the result mirrors it.
            output_gradients: cotangents for the targets (same structure and shapes).
            unconnected_gradients: 'none' (None for unconnected sources) or 'zero'.

        Returns:
            Tensors (or None) with the structure of ``sources``.

        Raises:
            RuntimeError: a second call on a non-persistent tape.
            ValueError: output_gradients of the wrong shape, an unknown unconnected_gradients.

        Example (the seeds' first example: y = 3 w1**2 + 2 w1 w2 at w1 = 1, w2 = 2):
            >>> import pullback as pb
            >>> w1, w2 = pb.Variable(1.0), pb.Variable(2.0)
            >>> with pb.GradientTape() as tape:
            ...     y = 3 * w1 ** 2 + 2 * w1 * w2
            >>> [float(g) for g in tape.gradient(y, [w1, w2])]
            [10.0, 2.0]
        """
        unconnected = _unconnected(unconnected_gradients)
        self._check_usable("gradient")
        source_list, spec = flatten(sources)
        _check_sources(source_list)
        seeds = _seeds(target, output_gradients)
        try:
            with self._backward_context() as differentiable:
                grads = self._sweep(self._prune(source_list, seeds), seeds, differentiable)
        finally:
            self._release()
        results = [_result(grads.get(s._id), s, unconnected) for s in source_list]
        return unflatten(spec, results)

    def jacobian(self, target, sources, unconnected_gradients="none"):
        """Jacobian of ``target`` w.r.t. each source: shape ``target.shape + source.shape``.

        Example:
            >>> import pullback as pb
            >>> x = pb.constant([1.0, 2.0])
            >>> with pb.GradientTape() as g:
            ...     g.watch(x)
            ...     y = x * x
            >>> g.jacobian(y, x).numpy().tolist()
            [[2.0, 0.0], [0.0, 4.0]]
        """
        unconnected = _unconnected(unconnected_gradients)
        self._check_usable("jacobian")
        source_list, spec = flatten(sources)
        _check_sources(source_list)
        target = _as_target(target, "jacobian")
        try:
            with self._backward_context() as differentiable:
                pruned = self._prune(source_list, (target._id,))
                rows = [self._sweep(pruned, {target._id: seed}, differentiable)
                        for seed in _one_hots(target.shape, target.dtype)]
        finally:
            self._release()
        results = []
        for s in source_list:
            parts = [row.get(s._id) for row in rows]
            if not rows:   # an empty target: its Jacobian is empty, not unconnected
                full = np.zeros(target.shape + s.shape, s.dtype)
            elif any(p is None for p in parts):
                full = None
            else:
                full = np.reshape(np.stack([_as_shape(p, s) for p in parts]),
                                  target.shape + s.shape)
            results.append(_result(full, s, unconnected, prefix=target.shape))
        return unflatten(spec, results)

    def batch_jacobian(self, target, source, unconnected_gradients="none"):
        """Per-example Jacobians: ``result[i] = jacobian(target[i], source[i])``, shape
        ``(batch,) + target.shape[1:] + source.shape[1:]``; ``target[i]`` must depend only on
        ``source[i]``.

        Example:
            >>> import pullback as pb
            >>> x = pb.constant([[1.0, 2.0], [3.0, 4.0]])
            >>> with pb.GradientTape() as g:
            ...     g.watch(x)
            ...     y = x * x
            >>> g.batch_jacobian(y, x).numpy().tolist()
            [[[2.0, 0.0], [0.0, 4.0]], [[6.0, 0.0], [0.0, 8.0]]]
        """
        unconnected = _unconnected(unconnected_gradients)
        self._check_usable("batch_jacobian")
        target = _as_target(target, "batch_jacobian")
        if not isinstance(source, Tensor):
            raise ValueError(f"batch_jacobian needs one Tensor or Variable as source, not "
                             f"{type(source).__name__}")
        for name, t in (("target", target), ("source", source)):
            if t.ndim < 2:
                raise ValueError(
                    f"batch_jacobian needs a {name} of rank 2 or more (batch first); this {name} "
                    f"has shape {t.shape}. Use jacobian() for unbatched values")
        if target.shape[0] != source.shape[0]:
            raise ValueError(
                f"batch_jacobian: target and source batch sizes differ ({target.shape[0]} vs "
                f"{source.shape[0]}); the first axis of both must be the batch")
        batch = target.shape[0]
        inner = target.shape[1:]
        try:
            with self._backward_context() as differentiable:
                pruned = self._prune([source], (target._id,))
                rows = [self._sweep(pruned, {target._id: seed}, differentiable)
                        for seed in _batch_one_hots(batch, inner, target.dtype)]
        finally:
            self._release()
        parts = [row.get(source._id) for row in rows]
        if not rows:   # an empty target: its Jacobian is empty, not unconnected
            full = np.zeros((batch,) + inner + source.shape[1:], source.dtype)
        elif any(p is None for p in parts):
            full = None
        else:
            # parts[j][b, x...] = d target[b, j] / d source[b, x...]
            stacked = np.stack([_as_shape(p, source) for p in parts], axis=1)
            full = np.reshape(stacked, (batch,) + inner + source.shape[1:])
        return _result(full, source, unconnected, prefix=(batch,) + inner, batch=True)

    # --- machinery ----------------------------------------------------------------------------

    def _check_usable(self, what):
        if self._used:
            raise RuntimeError(
                f"GradientTape.{what}() was called on a non-persistent tape that has already "
                f"computed a gradient, and its records were released. Create the tape with "
                f"pb.GradientTape(persistent=True) to call gradient/jacobian more than once")

    def _release(self):
        """A non-persistent tape cannot be used again: drop what it holds at once."""
        if not self._persistent:
            self._used = True
            self._records = []
            self._tracked = set()
            self._watched = set()
            if self in stack.recording:
                stack.recording.remove(self)

    def _backward_context(self):
        """Decide whether the backward pass must itself be recorded, and pause this tape unless
        it is persistent (a persistent tape records its own gradient computation)."""
        return _BackwardContext(self)

    def _prune(self, sources, targets):
        """The records on a path from a source, and the ids that depend on a source.

        As in TensorFlow, a Variable this tape does not watch gets no gradient (TF reaches a
        Variable through its read, which is recorded only when the Variable is watched) unless
        it is a target itself, while any other source does when a recorded operation used it
        (TF's tape computes the gradient of every input of a recorded operation that is asked
        for as a source)."""
        live = {s._id for s in sources if s.dtype.kind in "fc" and (
            s._id in self._watched or s._id in targets or not isinstance(s, Variable))}
        wanted = frozenset(live)
        if wanted >= self._watched and wanted <= self._tracked:
            # every record descends from a watched Tensor, so all of them are on a path (copied
            # when this tape records its own backward pass, which appends to them)
            if self in stack.recording:
                return list(self._records), set(self._tracked), wanted
            return self._records, self._tracked, wanted
        path = []
        for rec in self._records:
            for _, _, tid in rec[3]:
                if tid in live:
                    path.append(rec)
                    out = rec[4]
                    if type(out) is tuple:
                        live.update(i for i in out if i is not None)
                    else:
                        live.add(out)
                    break
        return path, live, wanted

    @staticmethod
    def _sweep(pruned, seeds, differentiable):
        """Reverse pass over the pruned records; returns {id: gradient} for the wanted ids."""
        if differentiable:
            return _sweep_recorded(pruned, seeds)
        path, live, wanted = pruned
        grads = {tid: (g._value if isinstance(g, Tensor) else g)
                 for tid, g in seeds.items() if tid in live}
        get, pop = grads.get, grads.pop
        for prim, vals, kwargs, inputs, out_id, ans in reversed(path):
            if type(out_id) is int:
                g = get(out_id) if out_id in wanted else pop(out_id, None)
            else:
                g = _take_cotangent(grads, out_id, ans, wanted)
            if g is None:
                continue
            vjps = prim.tape_vjps
            shared = None
            last = inputs[-1]
            for inp in inputs:
                pos, sub, tid = inp
                if tid not in live:
                    continue
                vjp = vjps.get(pos) or _tape_vjp(prim, pos)
                if sub is None:
                    # g is the VJP's to overwrite when this is its last use and nothing else
                    # holds it (not the seeds, not an earlier contribution)
                    spare = g if (inp is last and type(g) is _ndarray
                                  and g.size >= _IN_PLACE_SIZE
                                  and _refcount(g) == _HELD_BY_THE_SWEEP and g.base is None
                                  and g.flags.writeable) else None
                    contribution = vjp(g, ans, vals, kwargs, spare)
                else:  # one element of a sequence argument: its VJP gives them all, once
                    if shared is None:
                        shared = {}
                    if pos not in shared:
                        shared[pos] = vjp(g, ans, vals, kwargs, None)
                    contribution = shared[pos]
                    if contribution is not None:
                        contribution = contribution[sub]
                if contribution is None:
                    continue
                previous = get(tid)
                if previous is None:
                    grads[tid] = contribution
                elif (type(previous) is _ndarray and previous.size >= _IN_PLACE_SIZE
                      and _refcount(previous) == _HELD_BY_GRADS and previous.base is None
                      and type(contribution) is _ndarray
                      and previous.shape == contribution.shape
                      and previous.dtype == contribution.dtype and previous.flags.writeable):
                    previous += contribution  # a sum only this pass holds: no new array
                else:
                    grads[tid] = previous + contribution
                contribution = previous = None  # hold nothing the next test would count
        return {tid: grads[tid] for tid in wanted if tid in grads}


# --- arrays the backward pass may overwrite ----------------------------------------------------
# The backward pass makes many arrays that nothing else will ever see: a partial derivative just
# computed, a sum of contributions.  Writing into those instead of allocating (and page-faulting)
# a new array each time matters for large arrays.  An array is such a temporary when it owns its
# memory (no base: no view of another array's data) and nothing but the code at hand refers to it
# -- which its reference count tells, as NumPy's own elision of temporaries does.  The counts are
# measured here, by the same code shapes the backward pass uses, rather than assumed.

_ndarray = np.ndarray
_refcount = sys.getrefcount
_IN_PLACE_SIZE = 64   # below this, a new small array costs less than the checks


def _held_by_grads():
    grads = {0: np.empty(2)}
    get = grads.get
    previous = get(0)
    return _refcount(previous)


def _held_by_a_local():
    fresh = np.empty(2) * 1.0
    return _refcount(fresh)


def _held_by_the_sweep():
    grads = {0: np.empty(2) * 1.0}
    g = grads.pop(0, None)
    return _refcount(g)


_HELD_BY_GRADS = _held_by_grads()
_HELD_BY_A_LOCAL = _held_by_a_local()
_HELD_BY_THE_SWEEP = _held_by_the_sweep()


class _BackwardContext:
    """``with tape._backward_context() as differentiable:`` (a class: a generator-based
    context manager costs a microsecond more on every gradient call)."""

    __slots__ = ("tape", "inside")

    def __init__(self, tape):
        self.tape = tape
        self.inside = False

    def __enter__(self):
        tape, recording = self.tape, stack.recording
        self.inside = tape in recording
        if self.inside and not tape._persistent:
            recording.remove(tape)
        return bool(recording)

    def __exit__(self, *exc):
        tape = self.tape
        if self.inside and not tape._persistent and not tape._used:
            stack.recording.append(tape)
        return False


def _tape_vjp(prim, pos):
    """The VJP of ``prim`` for argument ``pos`` as one call ``vjp(g, ans, args, kwargs, spare)``,
    built from the registered rule and kept on the primitive (the tape's backward pass calls it
    once per record; None-valued for an argument without a gradient).  ``spare`` is ``g`` when
    the VJP may write its result into it, else None."""
    partials = prim.partials
    if partials is not None and pos < len(partials) and partials[pos] is not None:
        general = partials[pos]
        literals = [(lit, special) for (which, lit), special in prim.literal_partials.items()
                    if which == pos]

        def vjp(g, ans, vals, kwargs, spare):
            # an elementwise rule: g times its partial, summed to the input's shape
            partial = general
            for lit, special in literals:  # x ** 2: a nonzero Python number needs no guard
                if lit < len(vals) and type(vals[lit]) in (int, float) and vals[lit] != 0:
                    partial = special
            factor = partial(ans, *vals, **kwargs)
            if type(factor) is not _ndarray or factor.size < _IN_PLACE_SIZE:
                contribution = g * factor  # small: a new array costs less than the tests
            elif spare is not None and factor.shape == spare.shape \
                    and factor.dtype == spare.dtype:
                np.multiply(spare, factor, out=spare)  # g, which nothing else will read
                contribution = spare
            elif (type(g) is _ndarray and factor.shape == g.shape and factor.dtype == g.dtype
                    and _refcount(factor) == _HELD_BY_A_LOCAL and factor.base is None
                    and factor.flags.writeable):
                factor *= g  # a partial just computed, seen by nothing else
                contribution = factor
            else:
                contribution = g * factor
            if len(vals) == 1:
                return contribution  # a function of one array keeps its shape
            target = vals[pos]
            if type(target) in (list, tuple):   # [a, b] * x: the array NumPy made of it
                target = np.shape(target)
            try:
                if contribution.shape == target.shape:
                    return contribution
            except AttributeError:
                pass
            return unbroadcast(contribution, target)
    else:
        maker = prim.vjp_maker(pos)
        if maker is None and prim.undeclared(pos):
            def vjp(g, ans, vals, kwargs, spare):
                raise NoGradientRuleError(prim.undeclared_message(pos))
        elif maker is None:
            def vjp(g, ans, vals, kwargs, spare):
                return None
        else:
            def vjp(g, ans, vals, kwargs, spare):
                return maker(ans, *vals, **kwargs)(g)
    prim.tape_vjps[pos] = vjp
    return vjp


def _sweep_recorded(pruned, seeds):
    """The reverse pass when another tape records it: the rules run on Tensors (re-created with
    the recorded ids), so the gradient computation is itself differentiable."""
    path, live, wanted = pruned
    grads = {tid: (g if isinstance(g, Tensor) else _wrap(g))
             for tid, g in seeds.items() if tid in live}
    for rec in reversed(path):
        prim, vals, kwargs, inputs, out_id, ans = rec
        if type(out_id) is int:
            g = grads.get(out_id) if out_id in wanted else grads.pop(out_id, None)
        else:
            g = _take_cotangent(grads, out_id, ans, wanted)
        if g is None:
            continue
        vals, ans = _as_tensors(vals, inputs, ans, out_id)
        cache = {}
        partials = prim.partials
        for pos, sub, tid in inputs:
            if tid not in live:
                continue
            if pos not in cache:
                if partials is not None and partials[pos] is not None:
                    cache[pos] = unbroadcast(g * partials[pos](ans, *vals, **kwargs), vals[pos])
                else:
                    maker = prim.vjp_maker(pos)
                    cache[pos] = None if maker is None else maker(ans, *vals, **kwargs)(g)
            contribution = cache[pos]
            if contribution is None:
                continue
            if sub is not None:
                contribution = contribution[sub]
            previous = grads.get(tid)
            grads[tid] = contribution if previous is None else previous + contribution
    return {tid: grads[tid] for tid in wanted if tid in grads}


def _take_cotangent(grads, out_id, ans, wanted):
    """The cotangent flowing into a record's output(s), or None when nothing flows."""
    if type(out_id) is not tuple:
        return grads.get(out_id) if out_id in wanted else grads.pop(out_id, None)
    parts = [grads.get(i) if i in wanted else grads.pop(i, None) for i in out_id]
    if all(p is None for p in parts):
        return None
    return tuple(np.zeros(np.shape(a), np.asarray(a).dtype) if p is None else p
                 for p, a in zip(parts, ans))


def _as_tensors(vals, inputs, ans, out_id):
    """Re-create a record's Tensors (same ids) so rules run on them are recorded by outer tapes."""
    vals = list(vals)
    for pos, sub, tid in inputs:
        if sub is None:
            vals[pos] = _wrap_id(vals[pos], tid)
        else:
            seq = list(vals[pos])
            seq[sub] = _wrap_id(seq[sub], tid)
            vals[pos] = type(vals[pos])(seq)
    if type(out_id) is tuple:
        ans = tuple(a if i is None else _wrap_id(a, i) for a, i in zip(ans, out_id))
    else:
        ans = _wrap_id(ans, out_id)
    return vals, ans


def _check_sources(sources):
    for s in sources:
        if not isinstance(s, Tensor):
            raise ValueError(
                f"gradient sources must be Tensors or Variables (or nested structures of them), "
                f"not {type(s).__name__}; differentiate with respect to the pb.Variable or the "
                f"watched pb.constant that the computation used")


def _as_target(target, what):
    if not isinstance(target, Tensor):
        raise ValueError(f"{what} needs a single Tensor as target, not {type(target).__name__}")
    return target


def _seeds(target, output_gradients):
    """{id: cotangent} for each target Tensor; targets that are not Tensors contribute nothing."""
    if output_gradients is None and type(target) in (Tensor, Variable):  # the common call
        value = target._value
        return {target._id: np.ones(value.shape, value.dtype)}
    targets, spec = flatten(target)
    if output_gradients is None:
        given = [None] * len(targets)
    else:
        try:
            given = flatten_up_to(spec, output_gradients)
        except ValueError as err:
            raise ValueError(f"output_gradients must have the structure of the target, one "
                             f"cotangent per target Tensor: {err}") from None
    seeds = {}
    for t, g in zip(targets, given):
        if not isinstance(t, Tensor):
            continue
        if g is None:
            g = np.ones(t.shape, t.dtype)
        else:
            g_value = g._value if isinstance(g, Tensor) else np.asarray(g, dtype=t.dtype)
            if np.shape(g_value) != t.shape:
                raise ValueError(
                    f"output_gradients entry has shape {np.shape(g_value)} but its target has "
                    f"shape {t.shape}; each output gradient must have its target's shape")
            if not isinstance(g, Tensor):
                g = g_value
        previous = seeds.get(t._id)
        seeds[t._id] = g if previous is None else previous + g
    return seeds


def _one_hots(shape, dtype):
    size = int(np.prod(shape))
    for i in range(size):
        seed = np.zeros(size, dtype)
        seed[i] = 1
        yield seed.reshape(shape)


def _batch_one_hots(batch, inner, dtype):
    size = int(np.prod(inner))
    for j in range(size):
        seed = np.zeros((batch, size), dtype)
        seed[:, j] = 1
        yield seed.reshape((batch,) + inner)


def _as_shape(g, source):
    """A gradient as an array of the source's shape (a stray broadcast would be a rule bug)."""
    if np.shape(g) != source.shape:
        raise AssertionError(
            f"pullback internal error: a gradient of shape {np.shape(g)} reached a source of "
            f"shape {source.shape}; please report this with the code that produced it")
    return g


def _result(g, source, unconnected, prefix=(), batch=False):
    """A gradient as returned to the user: a Tensor of the source's dtype, or None / zeros."""
    if type(g) is _ndarray and not prefix:   # the common case: an array of the source's kind
        value = source._value
        if g.dtype == value.dtype and g.shape == value.shape and value.dtype.kind in "fc":
            return _wrap(g)
    shape = prefix + (source.shape[1:] if batch else source.shape)
    if g is None or source.dtype.kind not in "fc":
        if unconnected is UnconnectedGradients.ZERO:
            return _wrap(np.zeros(shape, source.dtype))
        return None
    if not prefix:
        _as_shape(g, source)
    if isinstance(g, Tensor):
        return g if g.dtype == source.dtype else g.astype(source.dtype)
    g = np.asarray(g)
    if g.dtype != source.dtype:
        g = g.astype(source.dtype)
    return _wrap(g)
