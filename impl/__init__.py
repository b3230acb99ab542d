"""The built-in reference reverse-mode engine: a tape in numpy for the MLP of `MlpMse.lean`.

`ReferenceBackend` implements the backend protocol of `spec.engine`; `impl.tape` holds the ops,
each forward rule next to its VJP, and the `Tape` that chains them.
"""

from .model import MlpTape as MlpTape
from .model import ReferenceBackend as ReferenceBackend
from .model import record_mlp as record_mlp
from .tape import Node as Node
from .tape import Tape as Tape

__all__ = ["ReferenceBackend", "Tape", "Node", "MlpTape", "record_mlp"]
