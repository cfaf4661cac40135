"""Every name the generated code introduces, from one place, with deterministic suffixes.

``bx`` is the adjoint of ``x``; temporaries are ``t1, t2, ...``; a second value of ``x`` is
``x_1``.  A name is never reused and never collides with a name of the user's function.
"""

__all__ = ["Namer"]


class Namer:
    """Hands out fresh names that avoid ``taken`` (the user's names) and each other."""

    def __init__(self, taken=(), user_names=()):
        self._taken = set(taken) | set(user_names)
        self._user = set(user_names)   # names the user's own variables may still claim
        self._counters = {}

    def reserve(self, name):
        """Mark ``name`` as used (e.g. an import in the generated module)."""
        self._taken.add(name)

    def fresh(self, base):
        """``base`` itself if free, else ``base_1``, ``base_2``, ..."""
        if base not in self._taken:
            self._taken.add(base)
            return base
        return self._suffixed(base)

    def _suffixed(self, base):
        n = self._counters.get(base, 0)
        while True:
            n += 1
            name = f"{base}_{n}"
            if name not in self._taken:
                self._counters[base] = n
                self._taken.add(name)
                return name

    def temp(self):
        """A temporary for an intermediate value: t1, t2, ..."""
        n = self._counters.get("#temp", 0)
        while True:
            n += 1
            name = f"t{n}"
            if name not in self._taken:
                self._counters["#temp"] = n
                self._taken.add(name)
                return name

    def version(self, name):
        """A new name for a new value of variable ``name``: ``x`` itself the first time (it is
        the user's), then ``x_1``, ``x_2``, ..."""
        if name in self._user:
            self._user.discard(name)
            return name
        return self._suffixed(name)

    def adjoint(self, name):
        """The adjoint of ``name``: ``bx`` for ``x``."""
        return self.fresh(f"b{name}")
