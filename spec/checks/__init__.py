"""The checks: predicates that drive an engine against the mirror, one per Lean name.

Each module holds the checks of one banner of MlpMse.lean, registered under the Lean names they
check (`spec.registry`); `base` holds the run configuration and the helpers they share.
"""

from . import conversion, gradients, linear, mlp, relu

BANNERS = (conversion, relu, linear, mlp, gradients)
"""The check modules, in the Lean file's banner order."""

__all__ = ["BANNERS"]
