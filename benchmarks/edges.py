"""How sharp the default run is at the edges of the domain, and that it stays sound there.

For each wrong engine of `tests.backends.EDGE` (wrong only next to the kink, at kinks, or at empty
layers) and each seed, runs the row that catches it with the CLI's defaults (`Config()`, 100
examples): the same examples as that row of `python -m spec check --seed S`, since every row draws
its examples from the seed alone. Then runs every predicate on correct engines (the numpy
variants of `tests.backends.CORRECT`, the reference engine, and with `--float32` the reference,
torch and JAX engines computing in float32) and counts false alarms.

    python benchmarks/edges.py [--seeds 20] [--examples 100] [--correct float64|float32|all]

Prints one line per wrong engine (seeds caught of seeds tried) and, with `--correct`, the runs of
correct engines and every fault found (there should be none).
"""

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spec.checks.base import Config  # noqa: E402
from spec.runner import module_checks, run_all, run_check  # noqa: E402
from spec.verdict import Status  # noqa: E402
from tests import backends as B  # noqa: E402

CATCHING_ROW = {
    "MaskEpsilon": "grad_b1_mse",
    "MaskEpsilon6": "grad_b1_mse",
    "MaskEpsilon9": "grad_b1_mse",
    "MaskEpsilon12": "grad_b1_mse",
    "MaskRelative": "grad_b1_mse",
    "MaskFloat16": "grad_b1_mse",
    "ReluOneAtZero": "y",
    "ReluDerivOneAtZero": "reluDerivCLM_apply",
    "NaNAtEmptyOutput": "grad_b2_mse",
}
"""The row of the default run that catches each edge engine (`tests/test_edges.py` pins it)."""


def caught(engine: str, seeds: range, examples: int) -> tuple[int, float]:
    """Return how many seeds the row of `engine` fails under, and the seconds taken."""
    row = CATCHING_ROW[engine]
    name, kind, check = next(c for c in module_checks() if c[0].endswith("." + row))
    start = time.perf_counter()
    hits = sum(
        run_check(name, kind, check, getattr(B, engine)(), Config(), examples, s).status
        is Status.FAILS
        for s in seeds
    )
    return hits, time.perf_counter() - start


def correct_engines(which: str) -> dict[str, tuple[Callable[[], Any], str]]:
    """Return the correct engines to sweep (`which`: float64, float32 or all): name -> (factory,
    dtype)."""
    from impl import ReferenceBackend

    out: dict[str, tuple[Callable[[], Any], str]] = {}
    if which in ("float64", "all"):
        out.update({cls.name: (cls, "float64") for cls in B.CORRECT})
        out["reference"] = (ReferenceBackend, "float64")
    if which in ("float32", "all"):
        import numpy as np

        from impl.torch_backend import TorchBackend

        out["reference-float32"] = (lambda: ReferenceBackend(dtype=np.float32), "float32")
        out["torch-float32"] = (lambda: TorchBackend(dtype=np.dtype("float32")), "float32")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=20)
    p.add_argument("--examples", type=int, default=100)
    p.add_argument(
        "--correct",
        choices=("float64", "float32", "all"),
        default=None,
        help="also sweep the correct engines of that format for false alarms",
    )
    p.add_argument(
        "--engines",
        default=",".join(CATCHING_ROW),
        help="comma-separated wrong engines (default: all of tests.backends.EDGE)",
    )
    args = p.parse_args(argv)
    seeds = range(args.seeds)
    for engine in [e for e in args.engines.split(",") if e]:
        hits, secs = caught(engine, seeds, args.examples)
        print(
            f"{engine:<20} {CATCHING_ROW[engine]:<20} caught under {hits}/{len(seeds)} seeds "
            f"({secs:.1f} s)",
            flush=True,
        )
    if not args.correct:
        return 0
    faults = []
    for name, (factory, dtype) in correct_engines(args.correct).items():
        start, runs = time.perf_counter(), 0
        engine = factory()
        for s in seeds:
            for r in run_all(engine, Config(dtype=dtype), args.examples, s):
                runs += 1
                for part, v in r.parts.items():
                    if v.status not in (Status.FAILS, Status.ERROR) or v.first is None:
                        continue
                    # torch's NaN loss at outDim = 0 is its documented divergence from Lean
                    # (docs/engines.md), not a false alarm.
                    if name.startswith("torch") and part == "empty" and "nan" in v.first.message:
                        continue
                    faults.append(
                        f"{name} seed {s} {r.lean_name} [{part}]: "
                        f"{v.status.value} {v.first.message}"
                    )
        print(
            f"{name:<20} {dtype:<8} {runs} rows over {len(seeds)} seeds "
            f"({time.perf_counter() - start:.0f} s)",
            flush=True,
        )
    print(f"false alarms: {len(faults)}")
    for f in faults:
        print("  " + f)
    return 1 if faults else 0


if __name__ == "__main__":
    raise SystemExit(main())
