"""Write ``<name>_grad.py`` beside this file for every example in examples.py.

Run from the repository root:  python generated_examples/regenerate.py
"""

import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent


def generated_sources():
    """{file name: generated source} for every example, as pb.grad emits it now."""
    sys.path.insert(0, str(HERE))
    try:
        import examples
        import pullback as pb
        sources = {}
        for fn, args, wrt in examples.EXAMPLES:
            df = pb.grad(fn, wrt=wrt, mode="source")
            df(*args)
            sources[f"{fn.__name__}_grad.py"] = df.source
        return sources
    finally:
        sys.path.remove(str(HERE))


def main():
    for name, source in generated_sources().items():
        (HERE / name).write_text(source, encoding="utf-8")
        print(f"wrote generated_examples/{name}")


if __name__ == "__main__":
    main()
