"""Benchmarks that print numbers; run with ``make benchmark``."""
