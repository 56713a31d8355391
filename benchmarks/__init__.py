"""hepjepa's benchmarks: run each from the repository root as ``python -m benchmarks.<script>``;
results go to ``benchmarks/results/``, and ``python -m benchmarks.make_report`` writes
``docs/benchmarks.md`` from them."""
