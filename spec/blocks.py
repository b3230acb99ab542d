"""Products with absolute values of parameter-sized arrays, a block of rows at a time.

The rounding bounds need `|W| v`, `|W|ᵀ v` and `Σ |a| |b|` for matrices of up to millions of
entries. Forming `|W|` first costs a fresh array of the matrix's size each time, and at that size a
fresh array costs more than the arithmetic (its pages are faulted in anew). Here `|·|` is taken a
block of rows at a time into one small buffer that stays in cache, so nothing parameter-sized is
allocated. Results are the same sums in another grouping, which the bounds allow (`SLACK` covers
the rounding of every bound computation).
"""

from __future__ import annotations

import numpy as np

from .types import F64

__all__ = ["abs_matvec", "abs_rmatvec", "abs_dot"]

BLOCK = 1 << 15
"""Entries per block (256 KiB of float64)."""


def _rows(W: F64) -> int:
    return max(1, BLOCK // max(1, int(W.shape[1])))


def abs_matvec(W: F64, v: F64) -> F64:
    """Return `|W| v` for a matrix `W (m, n)` and a vector `v (n,)`."""
    return _abs_product(W, v, transpose=False)


def abs_rmatvec(W: F64, v: F64) -> F64:
    """Return `|W|ᵀ v` for a matrix `W (m, n)` and a vector `v (m,)`."""
    return _abs_product(W, v, transpose=True)


def _abs_product(W: F64, v: F64, transpose: bool) -> F64:
    m, n = W.shape
    out: F64 = np.zeros(n if transpose else m)
    if n == 0 or m == 0:
        return out
    step = _rows(W)
    buf = np.empty((min(step, m), n))
    for i in range(0, m, step):
        block = W[i : i + step]
        b = buf[: block.shape[0]]
        np.abs(block, out=b)
        if transpose:
            out += v[i : i + step] @ b
        else:
            np.matmul(b, v, out=out[i : i + step])
    return out


def abs_dot(a: F64, b: F64) -> float:
    """Return `Σ |a| |b|` over two arrays of the same shape."""
    fa, fb = a.reshape(-1), b.reshape(-1)
    total = 0.0
    if fa.size == 0:
        return total
    buf_a, buf_b = np.empty(min(BLOCK, fa.size)), np.empty(min(BLOCK, fa.size))
    for i in range(0, fa.size, BLOCK):
        n = min(BLOCK, fa.size - i)
        np.abs(fa[i : i + n], out=buf_a[:n])
        np.abs(fb[i : i + n], out=buf_b[:n])
        total += float(buf_a[:n] @ buf_b[:n])
    return total
