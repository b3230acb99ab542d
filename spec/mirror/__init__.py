"""The mirror of `NN/Proofs/Autograd/FDeriv/MlpMse.lean`: Lean-named definitions and statements.

One module per banner of the Lean file, in its order, each holding only Lean-named definitions
and statements; the building blocks they use (from other Lean files) are mirrored alongside.
Nothing here checks, bounds or reports: see `spec.checks`, `spec.numerics`, `spec.reporting`.
"""
