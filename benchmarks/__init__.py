"""pullback's benchmark suite (issue 7): ``python -m benchmarks`` from the repository root.

See benchmarks/README.md for what it measures and docs/performance.md for the published figures.
"""
