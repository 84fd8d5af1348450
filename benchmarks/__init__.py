"""Side-by-side speed benchmarks (not part of the package or the test suite)."""
