"""Test doubles shipped with the package (used by tests, the benchmark and the evaluation harness)."""
