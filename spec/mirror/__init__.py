"""The mirror of `NN/Proofs/Autograd/FDeriv/MlpMse.lean`: Lean-named definitions and statements.

One module per banner of the Lean file, in its order (`BANNERS`), each holding only Lean-named
definitions and statements; the building blocks they use, from other Lean files, are mirrored
alongside (`building_blocks`, `linear_maps`, and the carrier types in `spec.types`). Nothing here
checks, bounds or reports: see `spec.checks`, `spec.numerics`, `spec.reporting`.
"""

from . import building_blocks, conversion, gradients, linear, mlp, relu

BANNERS = (conversion, relu, linear, mlp, gradients)
"""The banner modules, in the Lean file's order."""

BLOCKS = (building_blocks,)
"""The building blocks from other Lean files that the statements use."""

__all__ = ["BANNERS", "BLOCKS"]
