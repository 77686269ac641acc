"""Units x raters matrices for designs where every rater rates every unit once.

ICC and Kendall's W are defined for fully crossed designs only. Rather than silently dropping
units (as some packages do, sometimes down to nothing), the matrix is refused with a message
naming a missing cell.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from annotations.research.stats.coding import encode
from annotations.research.stats.errors import StatisticError


@dataclass(frozen=True)
class CrossedRatings:
    """``matrix[i, j]``: the rating rater ``raters[j]`` gave unit ``units[i]``."""

    matrix: np.ndarray
    units: np.ndarray
    raters: np.ndarray


def crossed_matrix(
    units: Sequence[object] | np.ndarray,
    raters: Sequence[object] | np.ndarray,
    values: Sequence[object] | np.ndarray,
    statistic: str,
) -> CrossedRatings:
    """The complete units x raters matrix, or a StatisticError saying why the design is not fully crossed."""
    try:
        numbers = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise StatisticError(f"{statistic} needs numeric ratings") from None
    unit_codes, unit_names = encode(units)
    rater_codes, rater_names = encode(raters)
    if not (unit_codes.size == rater_codes.size == numbers.size):
        raise StatisticError("units, raters and values must be three arrays of one length")
    if numbers.size == 0 or np.isnan(numbers).any():
        raise StatisticError(f"{statistic} needs a rating in every cell; missing ratings (NaN or none) are present")
    if rater_names.size < 2:
        raise StatisticError(f"{statistic} needs at least two raters, these ratings come from one")
    if unit_names.size < 2:
        raise StatisticError(f"{statistic} needs at least two units, these ratings are all on one")
    cells = unit_codes * rater_names.size + rater_codes
    filled = np.bincount(cells, minlength=unit_names.size * rater_names.size)
    if filled.max() > 1:
        first = int(np.argmax(filled > 1))
        unit, rater = divmod(first, rater_names.size)
        raise StatisticError(f"rater {rater_names[rater]} rated unit {unit_names[unit]} more than once")
    if filled.min() == 0:
        first = int(np.argmin(filled))
        unit, rater = divmod(first, rater_names.size)
        raise StatisticError(
            f"{statistic} needs a fully crossed design (every rater rates every unit): "
            f"{int((filled == 0).sum())} of {filled.size} unit x rater cells are empty, "
            f"for example rater {rater_names[rater]} on unit {unit_names[unit]}"
        )
    matrix = np.empty(filled.size)
    matrix[cells] = numbers
    return CrossedRatings(matrix.reshape(unit_names.size, rater_names.size), unit_names, rater_names)


def resampled_rows(matrix: np.ndarray, rng: np.random.Generator, n_resamples: int) -> np.ndarray:
    """``(n_resamples, units, raters)``: the matrix with its units drawn with replacement."""
    rows = rng.integers(0, matrix.shape[0], size=(n_resamples, matrix.shape[0]))
    return matrix[rows]
