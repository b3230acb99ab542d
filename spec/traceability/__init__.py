"""Traceability to the Lean source: the Lean reader, the dependency closure, drift, trace,
explain."""
