"""The no-kink radius of the `hasFDerivAt_mlp_wrt_*` predicates is tight, not merely safe: a step
just past the first kink breaks the affine identity (`spec.gradients._past_first_kink`)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from spec.checks import exact
from spec.examples import MlpExample
from spec.gradients import _past_first_kink, _zdot_exact, fderiv_mlp_wrt, z1
from spec.mlp import exact_args
from spec.mlp import mlpVecMat
from spec.strategies import mlp_examples


def _tightness(W2: float, h: float) -> tuple[bool, bool]:
    from spec.examples import MlpPoint

    p = MlpPoint(W1=np.array([[1.0]]), b1=np.array([1.0]), W2=np.array([[W2]]), b2=np.array([0.0]),
                 x=np.array([1.0]), t=np.array([0.0]))
    args = exact_args(p)
    zz = z1(args[0], args[1], args[4]).data
    hh = exact(np.array([h]))
    c = _past_first_kink("b1", args, fderiv_mlp_wrt("b1", *args), mlpVecMat(*args), zz,
                         _zdot_exact("b1", args, hh), hh)
    assert c is not None
    return bool(c.actual), c.ok


@pytest.mark.parametrize("h", [-1.0, 1.0, 0.25])
def test_hasFDerivAt_mlp_wrt_b1_breaks_just_past_the_kink(h: float) -> None:
    """z1 = 2: moving b1 by more than 2 against the sign of z1 turns the unit off, and the
    remainder is W2·(0 − z1) ≠ 0; with W2 = 0 the unit's change is invisible and it stays 0."""
    assert _tightness(2.0, h) == (True, True)
    assert _tightness(0.0, h) == (False, True)


@settings(max_examples=40, deadline=None)
@given(mlp_examples(max_dim=4, probes=1))
def test_the_tightness_comparison_holds_on_drawn_points(ex: MlpExample) -> None:
    """On drawn points, for every argument whose step moves z1, the comparison holds."""
    args = exact_args(ex.point)
    zz = z1(args[0], args[1], args[4]).data
    for k in ("b1", "x", "W1"):
        h = exact(ex.directions[0][k])
        zd = _zdot_exact(k, args, h)
        c = _past_first_kink(k, args, fderiv_mlp_wrt(k, *args), mlpVecMat(*args), zz, zd, h)
        if c is not None:
            assert c.ok, c.describe()
