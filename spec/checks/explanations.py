"""What each domain says of a failing or erring example, for the counterexample a report prints:
the sizes in Lean's names, the spec's values at the point, whether the hypothesis holds there, and
the worst entry of a gradient's right side with the numbers substituted (`Explanation`).

Computed here, where the example is at hand, and carried by the verdict; reports print it as it
stands.
"""

from typing import Any

import numpy as np

from ..examples import LinearExample, MlpExample, MseExample, VecExample
from ..registry import manifest
from ..text import array, number
from ..verdict import Comparison, Explanation, Verdict
from .network import point_values

__all__ = ["explain_mlp", "explain_vectors", "explain_linear", "explain_mse"]


def explain_mlp(ex: MlpExample, v: Verdict, needs_hx: bool) -> Explanation:
    """Explain an MLP point: `inDim hidDim outDim`; `z1`, the mask, `a1`, `y`, `g`, the loss; the
    smallest `|z1 i|` where the statement takes `hx`; and, for a gradient compared with its right
    side, that right side at the worst entry and in full."""
    p = ex.point
    n_i, n_h, n_o = p.dims
    mv = point_values(p)
    z = mv["z1"]
    hypothesis = None
    if needs_hx and z.size:
        i = int(np.argmin(np.abs(z)))
        hypothesis = f"hx holds here: the smallest |z1 i| is |z1 {i}| = {number(abs(z[i]))}"
    values = (
        f"z1 = W1 x + b1 = {array(mv['z1'])}",
        f"relu'(z1) = {array(mv['mask'])}   (1 where z1 > 0: the units that pass gradient)",
        f"a1 = relu z1 = {array(mv['a1'])}",
        f"y = mlpVecMat W1 b1 W2 b2 x = W2 a1 + b2 = {array(mv['y'])}",
        f"g = mseGrad y t = (2/{n_o})(y − t) = {array(mv['g'])}",
        f"loss = mse t y = {number(mv['loss'])}",
    )
    in_terms = expansion = right_side = None
    worst = v.worst
    if worst is not None and worst.what.argument is not None and worst.index is not None:
        k = worst.what.argument
        in_terms = _in_terms(v.lean_name, k, worst)
        if in_terms is not None:
            expansion = _expansion(k, worst.index, ex, mv)
            right_side = array(mv["rhs"][k])
    return Explanation(
        dimensions=f"inDim = {n_i}, hidDim = {n_h}, outDim = {n_o}",
        hypothesis=hypothesis,
        values=values,
        in_terms=in_terms,
        expansion=expansion,
        right_side=right_side,
    )


def _in_terms(name: str, k: str, c: Comparison) -> str | None:
    """Return the statement of `name` with the two sides of `c` put in: the engine's gradient in
    `k` on the left, the right side of `grad_k_mse` (as the manifest states it) on the right."""
    decl = manifest().declarations.get(name)
    sides = _statement_sides(decl.statement) if decl is not None else None
    grad = manifest().declarations.get(f"Proofs.Autograd.grad_{k}_mse")
    grad_sides = _statement_sides(grad.statement) if grad is not None else None
    if sides is None or c.index is None:
        return None
    lhs, rhs = sides[0], grad_sides[1] if grad_sides is not None else sides[1]
    terms = "in the statement's terms"
    if name.endswith(".adjoint_fderiv_comp_apply_one"):
        terms += f" (f = the network as a function of {k}, g = mse t)"
        rhs = f"{sides[1]} = {rhs}"
    idx = f"[{', '.join(map(str, c.index))}]" if c.index else ""
    return (
        f"{terms}: {lhs} = {rhs}, at {idx}: the engine gives {c.actual!r}, the right "
        f"side is {c.expected!r}"
    )


def _statement_sides(statement: str) -> tuple[str, str] | None:
    """Return the left and right side of a manifest statement `L = R` (an `, i.e. …` gloss is
    dropped)."""
    body = statement.split(", i.e.")[0]
    depth = 0
    for i, ch in enumerate(body):
        depth += ch in "([⟪"
        depth -= ch in ")]⟫"
        if depth == 0 and body.startswith(" = ", i):
            return body[:i], body[i + 3 :]
    return None


def _expansion(k: str, idx: tuple[int, ...], ex: MlpExample, mv: dict[str, Any]) -> str | None:
    """Return the worst entry of the right side of `grad_k_mse` with the numbers substituted."""
    p = ex.point
    g, a1, d, v = mv["g"], mv["a1"], mv["delta"], mv["v"]
    if k == "W2" and len(idx) == 2:
        i, j = idx
        return f"g[{i}] · a1[{j}] = {number(g[i])} · {number(a1[j])}"
    if k == "b2" and len(idx) == 1:
        (i,) = idx
        n = p.dims[2]
        return f"(2/{n})(y[{i}] − t[{i}]) = (2/{n})({number(mv['y'][i])} − {number(p.t[i])})"
    if k == "b1" and len(idx) == 1:
        (i,) = idx
        return f"relu'(z1[{i}]) · (W2ᵀ g)[{i}] = {mv['mask'][i]:g} · {number(v[i])}"
    if k == "x" and len(idx) == 1:
        (j,) = idx
        return (
            f"Σ_i W1[i, {j}] · δ[i], δ = R_z1 (W2ᵀ g) = {array(d)}, "
            f"W1[:, {j}] = {array(p.W1[:, j])}"
        )
    if k == "W1" and len(idx) == 2:
        i, j = idx
        return f"δ[{i}] · x[{j}] = {number(d[i])} · {number(p.x[j])}, δ = R_z1 (W2ᵀ g)"
    return None


def explain_vectors(ex: VecExample, v: Verdict, needs_hx: bool) -> Explanation:
    """Explain the vectors of a ReLU lemma: `n` and `relu'(x)`."""
    x = np.asarray(ex.x, np.float64)
    return Explanation(
        dimensions=f"n = {x.shape[0]}",
        values=(f"relu'(x) = {array((x > 0).astype(np.float64))}   (relu'(0) = 0)",),
    )


def explain_linear(ex: LinearExample, v: Verdict, needs_hx: bool) -> Explanation:
    """Explain a linear layer's example: its sizes."""
    out_dim, in_dim = np.shape(ex.W)
    return Explanation(dimensions=f"inDim = {in_dim}, outDim = {out_dim} (W is outDim × inDim)")


def explain_mse(ex: MseExample, v: Verdict, needs_hx: bool) -> Explanation:
    """Explain an MSE example: `n`, `y − t`, `mseGrad y t` and the loss."""
    y, t = np.asarray(ex.y, np.float64), np.asarray(ex.t, np.float64)
    n = t.shape[0]
    g = (2.0 / n) * (y - t) if n else np.zeros(0)
    loss = float((y - t) @ (y - t)) / n if n else 0.0
    return Explanation(
        dimensions=f"n = {n}",
        values=(
            f"y − t = {array(y - t)}",
            f"mseGrad y t = (2/{n})(y − t) = {array(g)}",
            f"loss = mse t y = {loss!r}",
        ),
    )
