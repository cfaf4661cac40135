"""Command line: ``python -m pullback demo`` and ``python -m pullback show FILE.py:FUNCTION``."""

import argparse
import importlib.util
import inspect
import pathlib
import sys
import traceback


def main(argv=None):
    """Parse the command line and run the chosen command; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m pullback",
                                     description="pullback: differentiate plain NumPy code")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="run the built-in examples and print what they compute")
    show = commands.add_parser("show", help="print the gradient code pb.grad generates for a "
                                            "function")
    show.add_argument("target", metavar="FILE.py:FUNCTION")
    show.add_argument("--wrt", default=None,
                      help="parameters to differentiate, by name or position, comma-separated "
                           "(default: the first)")
    show.add_argument("--scalar", default="",
                      help="parameters that are Python floats, comma-separated (the code is "
                           "specialized to scalars); the others are taken to be arrays")
    show.add_argument("--shape", action="append", default=[], metavar="NAME=3x4",
                      help="the shape of a float64 array parameter (repeatable); with every "
                           "array's shape given, the code is the one pb.grad runs for them, "
                           "specialized to their layout")
    show.add_argument("--value", action="store_true",
                      help="the code of pb.value_and_grad (which also returns the value)")
    show.add_argument("--call", default=None, metavar="ARGS",
                      help="the arguments of a call, as Python (np is NumPy): the code is the "
                           "one pb.grad runs for them, dicts, lists and tuples of arrays "
                           "included, e.g. --call \"{'W': np.ones((3, 2))}, np.zeros(3)\"")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from ._demo import run
        run()
        return 0
    return _show(args.target, args.wrt, args.scalar, args.shape, args.value, args.call)


def _show(target, wrt, scalars, shapes=(), with_value=False, call=None):
    path, _, name = target.rpartition(":")
    if not path or not name:
        print(f"error: expected FILE.py:FUNCTION, got {target!r}", file=sys.stderr)
        return 2
    fn = _load(pathlib.Path(path), name)
    if fn is None:
        return 2
    params = list(inspect.signature(fn).parameters)
    try:
        wrt_names = _wrt_names(wrt, params)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    scalar = {s.strip() for s in scalars.split(",") if s.strip()}
    kinds = {p: "scalar" if p in scalar else "array" for p in params}
    if call is not None:
        if scalars or shapes:
            print("error: --call gives the arguments themselves: leave out --scalar and --shape",
                  file=sys.stderr)
            return 2
        try:
            kinds, layout = _kinds_of_call(fn, call, wrt_names)
        except Exception as err:   # the user's expression: say what went wrong in it
            print(f"error: --call {call!r}: {type(err).__name__}: {err}", file=sys.stderr)
            return 2
        return _print_generated(fn, wrt_names, kinds, with_value, layout)
    try:
        unknown = sorted(scalar - set(params))
        if unknown:
            raise ValueError(f"--scalar {unknown[0]!r} names no parameter; the parameters are "
                             f"{', '.join(params)}")
        layout = _layout(shapes, scalar, params)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return _print_generated(fn, wrt_names, kinds, with_value, layout)


def _kinds_of_call(fn, call, wrt_names):
    """The kinds and layout pb.grad computes for the call ``fn(<call>)`` (see _grad)."""
    import numpy as np
    from ._grad import _as_float, _kind
    from ._source._shapes import layout_of
    args, kwargs = eval(f"(lambda *a, **k: (a, k))({call})", {"np": np, "numpy": np})
    bound = inspect.signature(fn).bind(*args, **kwargs)
    bound.apply_defaults()
    values = dict(bound.arguments)
    for name in wrt_names:
        values[name] = _as_float(values[name], name)
    params = list(values)
    kinds = {p: _kind(values[p], p in wrt_names) for p in params}
    return kinds, layout_of(values, params)


def _print_generated(fn, wrt_names, kinds, with_value, layout):
    from ._errors import TransformError
    from ._source import generate
    try:
        generated = generate(fn, wrt_names, kinds, with_value, layout)
    except TransformError as err:
        print("".join(traceback.format_exception_only(type(err), err)), end="", file=sys.stderr)
        return 1
    print(generated.source, end="")
    return 0


def _layout(shapes, scalars, params):
    """The layout of float64 arrays of the given shapes and Python floats (see _shapes)."""
    import numpy as np
    from ._source._shapes import layout_of
    values = {p: 0.0 for p in scalars}
    for spec in shapes:
        name, _, dims = spec.partition("=")
        name = name.strip()
        if name not in params:
            raise ValueError(f"--shape {spec!r}: {name!r} names no parameter; the parameters "
                             f"are {', '.join(params)}")
        if name in values:
            raise ValueError(f"--shape {spec!r}: {name!r} is given twice (as --scalar, or by "
                             f"another --shape); give each parameter once")
        try:
            shape = tuple(int(d) for d in dims.lower().split("x"))
            if any(n < 0 for n in shape):
                raise ValueError
        except ValueError:
            raise ValueError(f"--shape {spec!r}: write a shape as NAME=3x4 (NAME=1 for one "
                             f"element)") from None
        # an array of that shape without its memory: only the shape and dtype are read
        values[name] = np.lib.stride_tricks.as_strided(np.zeros(1), shape, (0,) * len(shape))
    return layout_of(values, [p for p in params if p in values])


def _load(path, name):
    if not path.exists():
        print(f"error: no file {path}", file=sys.stderr)
        return None
    sys.path.insert(0, str(path.resolve().parent))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    fn = getattr(module, name, None)
    if fn is None or not callable(fn):
        print(f"error: {path} defines no function {name!r}", file=sys.stderr)
        return None
    return fn


def _wrt_names(wrt, params):
    if wrt is None:
        return [params[0]]
    names = []
    for part in wrt.split(","):
        part = part.strip()
        if part.lstrip("-").isdigit():
            if not -len(params) <= int(part) < len(params):
                raise ValueError(f"--wrt {part}: there are {len(params)} parameters "
                                 f"({', '.join(params)})")
            names.append(params[int(part)])
        elif part in params:
            names.append(part)
        else:
            raise ValueError(f"--wrt {part!r} names no parameter; the parameters are {params}")
    return names


if __name__ == "__main__":
    sys.exit(main())
