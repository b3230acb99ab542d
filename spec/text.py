"""How numbers and arrays are written in reports and explanations: one home for the formats."""

from typing import Any

import numpy as np

from .rational import to_fraction

__all__ = ["number", "array"]


def number(x: Any) -> str:
    """Return a number as its shortest round-trip repr (`-8.000000008`), not `np.float64(…)`."""
    return repr(float(x))


def array(a: Any, exact: bool = False) -> str:
    """Return an array printed compactly: 8 significant digits, one line when it fits; with
    `exact`, floats as their shortest round-trip repr (a counterexample's inputs: a near-kink
    `b1 = 1.0000000002683038` must not print as `1.`)."""
    arr = np.asarray(a)
    if arr.dtype == object:
        # Exact values (a rational point's entries, exact results) print as fractions: -7/3.
        return np.array2string(
            arr,
            separator=", ",
            threshold=64,
            max_line_width=96,
            formatter={"all": lambda v: str(to_fraction(v))},
        )
    if exact:
        return np.array2string(
            arr, separator=", ", floatmode="unique", threshold=64, max_line_width=96
        )
    return np.array2string(
        arr, separator=", ", precision=8, floatmode="maxprec", threshold=64, max_line_width=96
    )
