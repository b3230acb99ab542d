"""Time one exact verification of the five gradient lemmas at a given size, with python-flint's
`fmpq` and with the `fractions.Fraction` fallback.

    python benchmarks/exact_bench.py [--dims 256] [--repeats 3]

"Exact verification" is `spec.runner.check_point` restricted to the `grad_*_mse` lemmas with the
exact reference: the engine's five gradients are compared with the statements' right sides in exact
rationals (errors measured exactly, within the engine's own rounding bound), the spec's adjoint
property is checked exactly along each probe, and each probe's difference of the engine's loss
(less its quadratic term) is compared exactly. Prints the median time for each arithmetic and
their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from impl import ReferenceBackend  # noqa: E402
from spec import rational  # noqa: E402
from spec.checks.base import Config  # noqa: E402
from spec.runner import check_point  # noqa: E402
from spec.strategies import mlp_examples  # noqa: E402
from spec.verdict import Status  # noqa: E402

GRADS = ["grad_W1_mse", "grad_b1_mse", "grad_W2_mse", "grad_b2_mse", "grad_x_mse"]


def time_once(d: int, flint: bool, repeats: int) -> float:
    rational.use_flint(flint)
    cfg = Config(dims=(d, d, d), exact_reference=True, probes=1)
    with warnings.catch_warnings():  # `.example()` is fine for drawing one benchmark point
        warnings.simplefilter("ignore")
        ex = mlp_examples(fixed_dims=(d, d, d), probes=1, pattern="mixed").example()
    engine = ReferenceBackend()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        verdicts = check_point(engine, ex, cfg, only=GRADS)
        times.append(time.perf_counter() - start)
        assert len(verdicts) == 5 and all(v.status is Status.HOLDS for v in verdicts), verdicts
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dims", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    rows = []
    if rational.HAVE_FLINT:
        rows.append(("python-flint fmpq", time_once(args.dims, True, args.repeats)))
    else:
        print("python-flint is not installed (pip install '.[exact]'); timing the fallback only")
    rows.append(("fractions.Fraction", time_once(args.dims, False, args.repeats)))
    print(
        f"exact verification of the five grad_*_mse lemmas at in = hid = out = {args.dims}, "
        f"median of {args.repeats}:"
    )
    for label, t in rows:
        print(f"  {label:20s} {t:8.3f} s")
    if len(rows) == 2:
        print(f"  Fraction / flint     {rows[1][1] / rows[0][1]:8.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
