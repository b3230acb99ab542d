"""Executable mirror of TorchLean's `NN/Proofs/Autograd/FDeriv/MlpMse.lean`.

Each Lean declaration of the module, and each building block its statements use, has a mirror
here under its Lean name, registered in `spec.registry.REGISTRY` by its fully qualified name.
"""

from .engine import Backend as Backend
from .engine import BackendError as BackendError
from .examples import MlpExample as MlpExample
from .examples import MlpPoint as MlpPoint
from .registry import REGISTRY as REGISTRY
from .registry import lookup as lookup
from .subject import Subject as Subject
from .types import Mat as Mat
from .types import Matrix as Matrix
from .types import Tensor as Tensor
from .types import Vec as Vec
from .verdict import Status as Status
from .verdict import Verdict as Verdict

__all__ = [
    "Backend",
    "BackendError",
    "Subject",
    "MlpExample",
    "MlpPoint",
    "REGISTRY",
    "lookup",
    "Mat",
    "Matrix",
    "Tensor",
    "Vec",
    "Status",
    "Verdict",
]


def _load_mirrors() -> None:
    """Register every mirror (the carrier types, the building blocks, the banner modules in the
    Lean file's order), then import the checks, which attach to them."""
    from . import types
    from .mirror import BANNERS, BLOCKS
    from .registry import REGISTRY, bind

    if REGISTRY:  # loaded already (the CLI and the API call this again)
        return
    bind(types, every=False)
    for module in (*BLOCKS, *BANNERS):
        bind(module)
    from . import checks  # noqa: F401


_load_mirrors()
