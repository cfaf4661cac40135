"""Command line: ``python -m pullback demo``."""

import argparse
import sys


def main(argv=None):
    """Parse the command line and run the chosen command; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m pullback",
                                     description="pullback: differentiate plain NumPy code")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="run the built-in examples and print what they compute")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from ._demo import run
        run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
