"""`spec.gradients._loss_difference`: along a step `d` inside the no-kink region the network is
affine, so `L(p + d) − L(p) − (1/n)‖f'(d)‖²` is exactly `⟪∇L, d⟫`. Computed from a correct
engine's two losses and the spec's float64 stated derivative, it must lie within the returned
bound of that exact value (the right side of `grad_k_mse`, in `Fraction`s, contracted with the
step actually taken). Engines that sum and square in different orders are used, so the bound is
exercised against more than one rounding pattern.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings

from impl.model import ReferenceBackend
from spec.backend import Subject
from spec.examples import PARAMS, MlpExample
from spec.gradients import _inside, _loss_difference, _shared_step, lemma_rhs
from spec.linear_maps import inner
from spec.mlp import exact_args
from spec.rational import exact_array, to_fraction
from spec.strategies import mlp_examples
from spec.tolerance import FLOAT64, forward_bounds
from spec.types import Mat, Vec

from . import backends as B

ENGINES: dict[str, Any] = {
    "reference": ReferenceBackend,
    "norm-loss": B.NormLoss,
    "pairwise": B.PairwiseSums,
    "long-double": B.LongDouble,
}


@pytest.mark.parametrize("engine", list(ENGINES))
@settings(max_examples=30, deadline=None)
@given(ex=mlp_examples(max_dim=6, probes=1))
def test_loss_difference_is_within_its_bound_of_the_exact_directional_derivative(
    engine: str, ex: MlpExample
) -> None:
    p = ex.point
    backend = ENGINES[engine]()
    subject = Subject(backend, FLOAT64)
    subject.memo = {}
    fb = forward_bounds(p)
    if fb.kink_doubt.any():
        return  # the checks report such a point as unmet
    args = exact_args(p)
    t = Vec(exact_array(p.t))
    L0 = float(backend.loss(p.W1, p.b1, p.W2, p.b2, p.x, p.t))
    for k in PARAMS:
        h = ex.directions[0][k]
        inside = _inside(subject, k, p, fb, h, _shared_step(subject, k, p, fb, h))
        if inside is None:
            continue
        mv, fp, _ = inside
        q = mv.plus
        Lp = float(backend.loss(q.W1, q.b1, q.W2, q.b2, q.x, q.t))
        value, bound = _loss_difference(subject, k, p, fb, mv, Lp, L0, fp)
        d = exact_array(mv.d)
        step = Mat(d) if d.ndim == 2 else Vec(d)
        exact = inner(step, lemma_rhs(k, *args, t))
        assert abs(Fraction(value) - to_fraction(exact)) <= Fraction(bound), (engine, k, value, bound)
