"""Benchmarks of the library's moving parts, callable from code and from ``strands-memory bench``.

``run_engine_bench`` measures the embedded engine alone (durable inserts, exact
queries with and without a user filter) on pre-embedded synthetic memories, next to a
plain numpy baseline on the same data, so its numbers read as "overhead over the
fastest hand-written exact search" rather than as absolute figures that depend on the
machine.
"""

from ._engine import EngineBenchResult, ProgressCallback, run_engine_bench

__all__ = ["EngineBenchResult", "ProgressCallback", "run_engine_bench"]
