"""`spec.tolerance.moved_bounds`: the bounds at a moved point `p ± d`, derived from the bounds at
`p` and the products along the step without a pass over the parameters, are sound and stay close
to the bounds computed at `p ± d` itself.

Sound: the exact `z1`, `y` and loss at the moved point (in `Fraction`s) and a correct engine's
values there lie within `Δ` of the spec's values. Close: the checks add the bounds at `p` and at
`p ± d`, and that sum of `Δy` is at most 4 times the one with `forward_bounds` at the moved point
(derived at the assertion; typically 1.1 to 1.25 times), so the checks lose little detection
power to them.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
from hypothesis import given, settings

from impl.model import ReferenceBackend
from spec.backend import Subject
from spec.examples import PARAMS, MlpExample
from spec.gradients import _bounds_at, _moved, _shared_step, z1
from spec.mlp import exact_args, mlpVecMat, mse
from spec.rational import exact_array, to_fraction
from spec.strategies import mlp_examples
from spec.tolerance import FLOAT64, SLACK, _forward_bounds, forward_bounds
from spec.types import Vec


def _within(value: Any, exact: Any, bound: Any) -> bool:
    v, b = np.atleast_1d(value), np.atleast_1d(bound)
    e = np.atleast_1d(np.asarray(exact, dtype=object))
    return all(abs(Fraction(float(x)) - to_fraction(y)) <= Fraction(float(d))
               for x, y, d in zip(v, e, b, strict=True))


@settings(max_examples=60, deadline=None)
@given(mlp_examples(max_dim=6, probes=1))
def test_moved_bounds_hold_the_exact_and_the_engine_values(ex: MlpExample) -> None:
    p = ex.point
    engine = ReferenceBackend()
    subject = Subject(engine, FLOAT64)
    subject.memo = {}
    fb = forward_bounds(p)
    if fb.kink_doubt.any():
        return
    for k in PARAMS:
        h = ex.directions[0][k]
        s = _shared_step(subject, k, p, fb, h)
        if s == 0:
            continue
        for direction in (h, -h):  # p + d and p − d
            mv = _moved(subject, k, p, direction, s)
            q = mv.plus
            mb = _bounds_at(subject, k, p, fb, mv)
            if (mb.mask != fb.mask).any() or mb.kink_doubt.any():
                continue  # the check skips such steps
            W1, b1, W2, b2, x = exact_args(q)
            t = Vec(exact_array(q.t))
            z_exact = z1(W1, b1, x).data
            y_exact = mlpVecMat(W1, b1, W2, b2, x)
            assert _within(mb.z1, z_exact, mb.d_z1), k
            assert _within(mb.y, y_exact.data, mb.d_y), k
            assert _within(mb.loss, mse(t, y_exact), mb.d_loss), k
            assert _within(engine.forward(q.W1, q.b1, q.W2, q.b2, q.x), y_exact.data, mb.d_y), k
            assert _within(engine.loss(q.W1, q.b1, q.W2, q.b2, q.x, q.t), mse(t, y_exact), mb.d_loss), k
            # The checks add the bounds at p and at p ± d; with the derived Δy the sum is at most
            # 4 times the one with Δy computed at p ± d. For a step d in W2 (weights w):
            # |d| w ≤ |W2 + d| w + |W2| w, and Δf'(d) ≤ |d| w likewise, so the derived
            # Δy(p ± d) ≤ 3 Δy(p) + 2 Δy_direct(p ± d), and the sum ≤ 4 (Δy(p) + Δy_direct);
            # d = −W2 attains it. For b2 the same with γ|d|; for W1, b1 and x the step stays
            # within half the no-kink radius, so |ż| ≤ |ẑ1|/2 and each added term is at most
            # the matching term of Δy_direct. The derived value's one extra rounding adds
            # u|y| + η (`moved_bounds`), and SLACK the rounding of the bounds' own arithmetic.
            direct = _forward_bounds(q, FLOAT64)
            extra = FLOAT64.u * np.abs(mb.y) + FLOAT64.eta
            assert np.all(mb.d_y + fb.d_y <= SLACK * (4 * (direct.d_y + fb.d_y) + extra)), k


def test_derived_bounds_are_no_base_to_move_from() -> None:
    import pytest

    from spec.tolerance import Shift, moved_bounds
    from spec.examples import MlpPoint

    one = np.ones(1)
    p = MlpPoint(W1=np.ones((1, 1)), b1=one, W2=np.ones((1, 1)), b2=np.zeros(1), x=one, t=one)
    fb = forward_bounds(p)
    q = p.with_("b2", np.array([0.5]))
    shift = Shift(None, None, None, np.array([0.5]), np.zeros(1), np.zeros(1))
    derived = moved_bounds(q, fb, shift, FLOAT64)
    assert derived.derived and not fb.derived
    with pytest.raises(ValueError, match="derived from another point"):
        moved_bounds(p.with_("b2", np.array([1.0])), derived, shift, FLOAT64)
