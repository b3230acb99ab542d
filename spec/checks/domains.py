"""The domains the checks draw their examples from, one per kind of statement: vectors (the ReLU
lemmas), linear layers (the conversions and the linear-layer lemma), MSE points, MLP points."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis.strategies import SearchStrategy

from ..verdict import Explanation, Verdict
from .base import Config

__all__ = ["Domain", "vectors", "linear_layers", "mse_points", "mlp_points"]


@dataclass(frozen=True)
class Domain:
    """Where a check's examples come from: a strategy built from the run's configuration.

    `shared`: every check on this domain can run at the same drawn point, so a point is drawn
    and built once and each statement checked there (`spec.checks.point.check_point`).
    """

    name: str
    draw: Callable[[Config], SearchStrategy[Any]]
    shared: bool = False
    explain: Callable[[Any, Verdict, tuple[str, ...]], Explanation] | None = None
    """What this domain says of a failing or erring example (`spec.checks.explanations`), given
    the verdict and the statement's hypotheses; the runner attaches it to the verdict."""

    def __call__(self, cfg: Config) -> SearchStrategy[Any]:
        return self.draw(cfg)


def _vectors(cfg: Config) -> SearchStrategy[Any]:
    from ..strategies import either_kind, vec_examples

    return either_kind(
        lambda rational: vec_examples(min_dim=cfg.min_dim, max_dim=cfg.max_dim, rational=rational),
        cfg.dtype == "exact",
    )


def _linear_layers(cfg: Config) -> SearchStrategy[Any]:
    from ..strategies import either_kind, linear_examples

    return either_kind(
        lambda rational: linear_examples(
            min_dim=cfg.min_dim, max_dim=cfg.max_dim, rational=rational
        ),
        cfg.dtype == "exact",
    )


def _mse_points(cfg: Config) -> SearchStrategy[Any]:
    from ..strategies import either_kind, mse_examples

    return either_kind(
        lambda rational: mse_examples(min_dim=cfg.min_dim, max_dim=cfg.max_dim, rational=rational),
        cfg.dtype == "exact",
    )


def _mlp_points(cfg: Config) -> SearchStrategy[Any]:
    from ..strategies import mlp_examples_for

    return mlp_examples_for(
        exact=cfg.dtype == "exact",
        min_dim=cfg.min_dim,
        max_dim=cfg.max_dim,
        margin=cfg.margin,
        probes=cfg.probes,
        fixed_dims=cfg.dims,
        dtype="float64" if cfg.dtype == "exact" else cfg.dtype,
    )


def _explain(which: str) -> Callable[[Any, Verdict, tuple[str, ...]], Explanation]:
    def explain(ex: Any, v: Verdict, hypotheses: tuple[str, ...]) -> Explanation:
        from . import explanations

        needs_hx = any(h.startswith("hx") for h in hypotheses)
        out: Explanation = getattr(explanations, f"explain_{which}")(ex, v, needs_hx)
        return out

    return explain


vectors = Domain("vectors", _vectors, explain=_explain("vectors"))
linear_layers = Domain("linear layers", _linear_layers, explain=_explain("linear"))
mse_points = Domain("mse points", _mse_points, explain=_explain("mse"))
mlp_points = Domain("mlp points", _mlp_points, shared=True, explain=_explain("mlp"))
