"""Units x categories rating tables and the agreement weights between categories.

Kappa-type coefficients only need, for each unit, how many raters chose each category. Categories
come from the declared scale when there is one, so that weighted coefficients measure distances on
that scale and a category nobody used still counts (Gwet's AC1 depends on the number of categories).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from annotations.research.stats.coding import encode
from annotations.research.stats.errors import StatisticError

WEIGHTS = ("none", "linear", "quadratic")


@dataclass(frozen=True)
class RatingTable:
    """``counts[i, k]``: raters who put unit ``i`` in category ``categories[k]``."""

    counts: np.ndarray
    categories: np.ndarray

    @property
    def raters_per_unit(self) -> np.ndarray:
        return self.counts.sum(axis=1)


def category_codes(
    values: Sequence[object] | np.ndarray, scale: Sequence[object] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Codes of ``values`` into the categories: the declared ``scale`` in its order, else the sorted distinct values."""
    values = np.asarray(values)
    if scale is None:
        categories, codes = np.unique(values, return_inverse=True)
        return codes.astype(np.int64), categories
    categories = np.asarray(list(scale))
    position = {category: index for index, category in enumerate(categories.tolist())}
    if len(position) != len(categories):
        raise StatisticError(f"the scale lists a category twice: {', '.join(map(str, categories.tolist()))}")
    distinct, inverse = np.unique(values, return_inverse=True)
    off_scale = [value for value in distinct.tolist() if value not in position]
    if off_scale:
        shown = ", ".join(map(str, off_scale[:5]))
        raise StatisticError(f"values not on the declared scale ({', '.join(map(str, categories.tolist()))}): {shown}")
    lookup = np.array([position[value] for value in distinct.tolist()], dtype=np.int64)
    return lookup[inverse], categories


def rating_table(
    units: Sequence[object] | np.ndarray,
    values: Sequence[object] | np.ndarray,
    scale: Sequence[object] | None = None,
) -> RatingTable:
    """Count, per unit, the raters in each category (units with no rating do not appear)."""
    units = np.asarray(units)
    if units.shape != np.shape(values) or units.ndim != 1:
        raise StatisticError("units and values must be two arrays of one length")
    if units.size == 0:
        raise StatisticError("there are no ratings")
    value_codes, categories = category_codes(values, scale)
    unit_codes, _ = encode(units)
    n_units, n_categories = int(unit_codes.max()) + 1, categories.size
    counts = np.bincount(unit_codes * n_categories + value_codes, minlength=n_units * n_categories)
    counts = counts.reshape(n_units, n_categories)
    return RatingTable(counts=counts[counts.sum(axis=1) > 0].astype(np.float64), categories=categories)


def agreement_weights(categories: np.ndarray, weights: str) -> np.ndarray:
    """Agreement weights between categories: 1 on the diagonal, less with distance on the scale.

    ``linear``: 1 - |x_k - x_l| / (max - min); ``quadratic``: 1 - (x_k - x_l)^2 / (max - min)^2,
    with x the declared scale values, so unequally spaced or unused categories keep their distances.
    """
    if weights not in WEIGHTS:
        raise StatisticError(f"unknown weights {weights!r}: use one of {', '.join(WEIGHTS)}")
    if weights == "none":
        return np.eye(categories.size)
    try:
        positions = categories.astype(np.float64)
    except (TypeError, ValueError):
        raise StatisticError(
            f"{weights} weights need a numeric scale, got categories {', '.join(map(str, categories.tolist()))}"
        ) from None
    span = positions.max() - positions.min()
    if span == 0:
        raise StatisticError(f"{weights} weights need a scale with at least two different values")
    distance = np.abs(positions[:, None] - positions[None, :]) / span
    return 1.0 - (distance if weights == "linear" else distance**2)
