"""Benchmarks: measured speed and quality figures, printed as a table and written as JSON."""
