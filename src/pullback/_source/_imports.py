"""The names a generated module imports: NumPy, rule functions and runtime helpers.

Each gets a readable alias (``_power_dbase`` becomes ``power_dbase``) that collides with no
name of the user's code; a rule that cannot be imported by name (a lambda) is looked up in the
registry by a statement of the module, so the module text runs on its own.
"""

import gast

__all__ = ["Imports"]


class Imports:
    """Import statements of one generated module, and the namespace they produce."""

    def __init__(self, namer, user_value=lambda name: None):
        self.namer = namer
        self.user_value = user_value  # what a name means in the user's code (or None)
        self._by_source = {}    # (module, name) -> alias
        self._order = []        # (alias, module, name, kind)

    def numpy(self):
        """The alias of the numpy module."""
        key = ("numpy", None)
        if key not in self._by_source:
            import numpy
            alias = self._alias("np", numpy)
            self._by_source[key] = alias
            self._order.append((alias, "numpy", None, "module"))
        return self._by_source[key]

    def name(self, module, name, obj):
        """The alias of ``module.name`` (imported with ``from module import name``)."""
        key = (module, name)
        if key not in self._by_source:
            if obj is None:
                import importlib
                obj = getattr(importlib.import_module(module), name, None)
            alias = self._alias(name.lstrip("_") or name, obj)
            self._by_source[key] = alias
            self._order.append((alias, module, name, "from"))
        return self._by_source[key]

    def module(self, module):
        """The alias of an imported module (``import math``)."""
        import importlib
        key = (module, None)
        if key not in self._by_source:
            alias = self._alias(module, importlib.import_module(module))
            self._by_source[key] = alias
            self._order.append((alias, module, None, "module"))
        return self._by_source[key]

    def user_import(self, name):
        """Import ``name`` the way the user's code sees it, if it is a module or a function
        importable by name (``np``, ``numpy``, ``from numpy import sin``)."""
        import sys
        import types
        obj = self.user_value(name)
        if obj is None or any(e[0] == name for e in self._order):
            return
        if isinstance(obj, types.ModuleType):
            key = (obj.__name__, None) if obj.__name__ != "numpy" else ("numpy", None)
            if key not in self._by_source:
                self._by_source[key] = name
                self._order.append((name, obj.__name__, None, "module"))
            return
        module = getattr(obj, "__module__", None)
        qual = getattr(obj, "__name__", None)
        if module and qual and getattr(sys.modules.get(module), qual, None) is obj and (
                module == "numpy" or module.startswith("numpy.")):
            self._by_source.setdefault((module, qual), name)
            self._order.append((name, module, qual, "from"))
        elif isinstance(obj, __import__("numpy").ufunc) and getattr(
                __import__("numpy"), obj.__name__, None) is obj:
            self._by_source.setdefault(("numpy", obj.__name__), name)
            self._order.append((name, "numpy", obj.__name__, "from"))

    def _alias(self, base, obj):
        # The user's own name for the same object is the most readable alias of all.
        if obj is not None and self.user_value(base) is obj:
            self.namer.reserve(base)
            return base
        return self.namer.fresh(base)

    def is_library(self, alias):
        """Whether ``alias`` names a pullback rule or runtime helper: a pure function that
        keeps no reference to its arguments (its result may be one of them)."""
        return any(a == alias and (key[0] == "#rule" or str(key[0]).startswith("pullback"))
                   and key[0] != "pullback._items"   # they keep and take back list items
                   for key, a in self._by_source.items())

    def peek(self, module, name):
        """The alias of ``module.name`` if it was imported, else None."""
        return self._by_source.get((module, name))

    def bind(self, base, prim, which, argnum):
        """An alias for a rule that cannot be imported by name (a lambda), bound by a statement
        ``alias = rule(fun, which, argnum)`` that looks it up in the registry."""
        key = ("#rule", prim.name, which, argnum)
        if key not in self._by_source:
            alias = self.namer.fresh(base)
            self._by_source[key] = alias
            self._order.append((alias, None, (prim, which, argnum), "rule"))
        return self._by_source[key]

    def bound_rule(self, alias):
        """(primitive, "vjp" / "partial" / ..., argnum) of an alias made by ``bind``, or None."""
        for entry in self._order:
            if entry[0] == alias and entry[3] == "rule":
                return entry[2]
        return None

    def function(self, prim):
        """An expression for the function a primitive differentiates (``np.clip``)."""
        module, _, name = prim.name.rpartition(".")
        if module == "numpy" or module.startswith("numpy."):
            node = gast.Name(id=self.numpy(), ctx=gast.Load(), annotation=None, type_comment=None)
            for part in prim.name.split(".")[1:]:
                node = gast.Attribute(value=node, attr=part, ctx=gast.Load())
            return node
        import sys
        fun = getattr(prim.fun, "__wrapped__", prim.fun)
        home = sys.modules.get(getattr(fun, "__module__", None) or "")
        if home is not None and getattr(home, fun.__name__, None) in (fun, prim.fun) and (
                getattr(home, "__file__", None)):
            alias = self.name(fun.__module__, fun.__name__, getattr(home, fun.__name__))
        else:  # defined where it cannot be imported from: the user's own name for it
            alias = fun.__name__
        return gast.Name(id=alias, ctx=gast.Load(), annotation=None, type_comment=None)

    def statements(self, used=None):
        """The import statements (and registry look-ups), in the order first used; with
        ``used`` (the names the functions read), only those that are used."""
        if used is not None:
            self._order = [e for e in self._order if e[0] in used]
        rules = [entry for entry in self._order if entry[3] == "rule"]
        if rules:
            self.name("pullback._runtime", "rule", None)
            for _, _, (prim, _, _), _ in rules:
                self.function(prim)
            self._order = [e for e in self._order if e[3] != "rule"] + rules
        stmts = []
        rank = {"module": 0, "from": 1, "rule": 2}
        ordered = sorted(self._order, key=lambda e: (rank[e[3]], e[1] or "", str(e[2]) if
                                                     e[3] != "rule" else e[0], e[0]))
        for alias, module, name, kind in ordered:
            if kind == "module":
                stmts.append(gast.Import(names=[gast.alias(name=module, asname=alias
                                                           if alias != module else None)]))
            elif kind == "from":
                stmts.append(gast.ImportFrom(module=module, names=[gast.alias(
                    name=name, asname=alias if alias != name else None)], level=0))
            else:
                prim, which, argnum = name
                rule = self.name("pullback._runtime", "rule", None)
                fun = self.function(prim) if prim.name.startswith("numpy.") else gast.Constant(
                    value=prim.name, kind=None)  # a user's primitive: found by its name
                value = gast.Call(func=gast.Name(id=rule, ctx=gast.Load(), annotation=None,
                                                 type_comment=None),
                                  args=[fun, gast.Constant(value=which, kind=None),
                                        gast.Constant(value=argnum, kind=None)], keywords=[])
                stmts.append(gast.Assign(targets=[gast.Name(id=alias, ctx=gast.Store(),
                                                            annotation=None, type_comment=None)],
                                         value=value, type_comment=None))
        return stmts
