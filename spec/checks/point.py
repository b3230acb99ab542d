"""The single-point check: every statement drawn at points of the MLP, at one given point."""

from dataclasses import replace

from ..engine import Backend
from ..examples import MlpExample
from ..numerics.tolerance import PRECISIONS
from ..runner import (
    module_checks,
    outputs_changed,
    round_example,
    snapshot,
    unchanged,
    written_into,
)
from ..subject import Subject
from ..verdict import Verdict
from .base import Config

__all__ = ["check_point"]


def check_point(
    backend: Backend, ex: MlpExample, cfg: Config, only: list[str] | None = None
) -> list[Verdict]:
    """Return the verdicts of every predicate drawn at points of the MLP, at the one point `ex`.

    This is the single-point check: no Hypothesis, no shrinking; the engine's forward, loss and
    gradient at `ex.point` are computed once and shared by the predicates, which then only call
    it at the perturbed points their remainders and probes need. The lemmas about single maps
    (ReLU, the linear layer, mse) do not depend on the point and are not run here.
    """
    prec = PRECISIONS[cfg.dtype]
    subject = Subject(backend, prec, exact_reference=cfg.use_exact_reference())
    subject.memo = {}
    subject.outputs = []
    # One probe and one step per remainder: every statement once, at one point.
    subject.step_scales = (0,)
    ex = round_example(replace(ex, directions=ex.directions[:1]), prec)
    before = snapshot(ex)  # one copy of the point, against writes through shared memory
    out = []
    for name, _kind, check in module_checks():
        if only and name not in only and name.rsplit(".", 1)[-1] not in only:
            continue
        if not getattr(check.strategy, "shared", False):
            continue  # this check's examples are not points of the shared domain
        out.append(check.run(ex, subject))
    if not unchanged(ex, before):
        return [written_into(v.lean_name, subject.name) for v in out]
    if not subject.outputs_unchanged():
        return [outputs_changed(v.lean_name, subject.name) for v in out]
    return out
