"""Krippendorff's alpha at the nominal, ordinal, interval and ratio levels.

Computed from per-unit value counts built with ``bincount`` over (unit, value) pairs, never from a
dense raters x units matrix: a study with 1,000 coaches and 200,000 items would need 200 million
cells for five ratings an item. Units with fewer than two ratings are not pairable and drop out
(Krippendorff 2011). Units whose value counts are identical are merged into one weighted group,
which on a rating scale turns 200,000 units into a few hundred groups.

Everything is written as sums over groups with a weight per group, so the point estimate (weights
= how many units share the pattern) and every bootstrap resample (weights = how often the pattern
was drawn) go through the same code, a thousand resamples at a time.

Bootstrap: units are resampled with replacement (each drawn unit brings all its ratings), alpha is
recomputed in full on each resample, including the expected disagreement and, at the ordinal level,
the rank-based metric; the interval is the 2.5th to 97.5th percentile. This differs from the
bootstrap of Hayes and Krippendorff (2007), which resamples pairable values with the expected
disagreement held fixed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from annotations.research.stats.coding import encode
from annotations.research.stats.errors import StatisticError
from annotations.research.stats.resampling import merge_identical_rows, resample_weights, weight_blocks
from annotations.research.stats.result import Agreement

LEVELS = ("nominal", "ordinal", "interval", "ratio")

#: Units x values cells up to which counts are kept dense (and identical units merged).
_DENSE_CELLS = 1 << 24
#: The ratio metric has no closed form for the expected disagreement: it needs a values x values table.
_RATIO_MAX_VALUES = 4000


@dataclass(frozen=True)
class _Groups:
    """Pairable units merged by identical value counts."""

    counts: np.ndarray | sparse.csr_array  # (groups, values)
    m: np.ndarray  # ratings per unit of the group
    frequency: np.ndarray  # units in the group
    levels: np.ndarray  # the distinct values, sorted
    centre: float  # mean of the pairable values


def krippendorff_alpha(
    units: np.ndarray,
    values: np.ndarray,
    level: str = "nominal",
    *,
    bootstrap: int = 0,
    seed: int = 0,
) -> Agreement:
    """Krippendorff's alpha for ratings given as parallel arrays of unit ids and values.

    ``values`` may be labels at the nominal level; the other levels need numbers (NaN counts as a
    missing rating and is dropped). ``bootstrap`` > 0 adds a 95% interval from that many resamples
    of units, reproducible through ``seed``.
    """
    if level not in LEVELS:
        raise StatisticError(f"unknown level {level!r}: use one of {', '.join(LEVELS)}")
    groups = _pairable_groups(units, values, level)
    point = _alpha_for_weights(groups, level, groups.frequency[None, :].astype(np.float64))[0]
    if not np.isfinite(point):
        raise StatisticError(
            "every pairable rating has the same value: alpha is undefined when the values do not vary "
            "(report percent agreement instead)"
        )
    result = Agreement(
        name=f"Krippendorff's alpha ({level})",
        value=float(point),
        n_units=int(groups.frequency.sum()),
        n_ratings=int(groups.m @ groups.frequency),
    )
    if bootstrap <= 0:
        return result
    return result.with_bootstrap(_bootstrap_samples(groups, level, bootstrap, seed))


def _bootstrap_samples(groups: _Groups, level: str, n_resamples: int, seed: int) -> np.ndarray:
    """Alpha on ``n_resamples`` resamples of units, NaN where a resample has no variation."""
    rng = np.random.default_rng(seed)
    samples = np.empty(n_resamples)
    for block in weight_blocks(groups.frequency.size, n_resamples):
        weights = resample_weights(rng, groups.frequency, block.stop - block.start)
        samples[block] = _alpha_for_weights(groups, level, weights)
    return samples


def _pairable_groups(units: np.ndarray, values: np.ndarray, level: str) -> _Groups:
    units = np.asarray(units)
    values = np.asarray(values)
    if units.shape != values.shape or units.ndim != 1:
        raise StatisticError(f"units and values must be two arrays of one length, got {units.shape} and {values.shape}")
    if level != "nominal":
        try:
            values = values.astype(np.float64)
        except (TypeError, ValueError) as error:
            raise StatisticError(f"the {level} level needs numeric values: {error}") from None
        rated = ~np.isnan(values)
        units, values = units[rated], values[rated]
        if level == "ratio" and values.size and values.min() < 0:
            raise StatisticError("the ratio level needs values of zero or more (it measures distance from zero)")
    if values.size == 0:
        raise StatisticError("there are no ratings")
    unit_codes, _ = encode(units)
    value_codes, levels = encode(values)
    n_units, n_levels = int(unit_codes.max()) + 1, levels.size
    if level == "ratio" and n_levels > _RATIO_MAX_VALUES:
        raise StatisticError(
            f"the ratio level is computed over at most {_RATIO_MAX_VALUES} distinct values, these ratings "
            f"have {n_levels}: round them or use the interval level"
        )
    if n_units * n_levels <= _DENSE_CELLS:
        dense = np.bincount(unit_codes * n_levels + value_codes, minlength=n_units * n_levels)
        dense = dense.reshape(n_units, n_levels)
        dense = dense[dense.sum(axis=1) >= 2]
        counts, frequency = merge_identical_rows(dense)
    else:
        ones = np.ones(unit_codes.size)
        matrix = sparse.csr_array(sparse.coo_array((ones, (unit_codes, value_codes)), shape=(n_units, n_levels)))
        counts = matrix[np.flatnonzero(matrix.sum(axis=1) >= 2)]
        frequency = np.ones(counts.shape[0], dtype=np.int64)
    if counts.shape[0] == 0:
        raise StatisticError(
            "no unit has two or more ratings, so no pair of ratings can be compared: alpha needs units rated "
            "by at least two raters"
        )
    numeric_levels = levels.astype(np.float64) if level != "nominal" else np.arange(n_levels, dtype=np.float64)
    m = np.asarray(counts.sum(axis=1)).ravel()
    centre = float(frequency @ np.asarray(counts @ numeric_levels)) / float(frequency @ m)
    return _Groups(counts=counts, m=m, frequency=frequency, levels=numeric_levels, centre=centre)


def _alpha_for_weights(groups: _Groups, level: str, weights: np.ndarray) -> np.ndarray:
    """Alpha for each row of group weights: 1 - (n - 1) * sum(o * delta) / sum(n_c * n_k * delta)."""
    counts, m = groups.counts, groups.m
    n = weights @ m
    if level == "interval":
        # Per-group sums of values and squared values are all the interval level needs, so the
        # (resamples x distinct values) marginals are never built: continuous ratings stay cheap.
        # Values are centred because the metric depends only on differences and small sums keep precision.
        values = groups.levels - groups.centre
        first = np.asarray(counts @ values)
        second = np.asarray(counts @ (values * values))
        observed = weights @ (2.0 * (m * second - first * first) / (m - 1))
        total, total_squares = weights @ first, weights @ second
        expected = 2.0 * (n * total_squares - total * total)
    else:
        marginals = np.asarray((counts.T @ weights.T).T)  # (resamples, values)
        if level == "nominal":
            observed = weights @ ((m * m - _row_sum_squares(counts)) / (m - 1))
            expected = n * n - (marginals * marginals).sum(axis=1)
        elif level == "ratio":
            delta = _ratio_metric(groups.levels)
            observed = weights @ (_row_quadratic_forms(counts, delta) / (m - 1))
            expected = ((marginals @ delta) * marginals).sum(axis=1)
        else:
            # The ordinal metric (sum of n_g from c to k, less half of n_c and n_k) squared is the squared
            # difference of mid-rank positions cumsum(n) - n/2, which move with each resample's marginals.
            positions = np.cumsum(marginals, axis=1) - marginals / 2.0 - n[:, None] / 2.0
            first = np.asarray(counts @ positions.T).T  # (resamples, groups)
            second = np.asarray(counts @ (positions * positions).T).T
            observed = (weights * (2.0 * (m * second - first * first) / (m - 1))).sum(axis=1)
            total = (marginals * positions).sum(axis=1)
            expected = 2.0 * (n * (marginals * positions * positions).sum(axis=1) - total * total)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = 1.0 - (n - 1.0) * observed / expected
    return np.where(expected > 0, alpha, np.nan)


def _ratio_metric(levels: np.ndarray) -> np.ndarray:
    total = levels[:, None] + levels[None, :]
    difference = levels[:, None] - levels[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = (difference / total) ** 2
    return np.where(total > 0, delta, 0.0)


def _row_sum_squares(counts: np.ndarray | sparse.csr_array) -> np.ndarray:
    if sparse.issparse(counts):
        return np.asarray(counts.power(2).sum(axis=1)).ravel()
    return (counts * counts).sum(axis=1)


def _row_quadratic_forms(counts: np.ndarray | sparse.csr_array, delta: np.ndarray) -> np.ndarray:
    """n_u^T delta n_u for every row, in row blocks so a sparse matrix is never made dense at once."""
    out = np.empty(counts.shape[0])
    block = max(1, _DENSE_CELLS // max(delta.shape[0], 1))
    for start in range(0, counts.shape[0], block):
        rows = counts[start : start + block]
        rows = rows.toarray() if sparse.issparse(rows) else rows
        out[start : start + block] = ((rows @ delta) * rows).sum(axis=1)
    return out
