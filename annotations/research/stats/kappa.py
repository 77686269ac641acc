"""Fleiss' kappa, its generalisation to missing ratings, and Cohen's kappa.

Fleiss' kappa (Fleiss 1971) assumes every unit has the same number of ratings. With missing ratings
it is not defined; what this module offers then is Gwet's generalisation (Gwet 2014, Handbook of
Inter-Rater Reliability, ch. 2), reported under its own name: observed agreement averaged over the
units with two or more ratings, category shares averaged over units. On complete data the two agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from annotations.research.stats.coding import encode
from annotations.research.stats.errors import StatisticError
from annotations.research.stats.resampling import merge_identical_rows, resample_weights, weight_blocks
from annotations.research.stats.result import Agreement
from annotations.research.stats.table import RatingTable, agreement_weights, category_codes

FLEISS = "Fleiss' kappa"
FLEISS_MISSING = "Fleiss' kappa generalised to missing ratings (Gwet 2014)"


@dataclass(frozen=True)
class _Prepared:
    """A rating table reduced to what chance-corrected coefficients need, identical units merged."""

    counts: np.ndarray  # (rows, categories)
    frequency: np.ndarray  # units behind each row
    weights: np.ndarray  # (categories, categories) agreement weights


def fleiss_kappa(table: RatingTable, *, bootstrap: int = 0, seed: int = 0) -> Agreement:
    """Fleiss' kappa: every unit must carry the same number (two or more) of ratings."""
    per_unit = table.raters_per_unit
    if per_unit.size == 0:
        raise StatisticError("there are no ratings")
    if per_unit.min() != per_unit.max():
        raise StatisticError(
            f"Fleiss' kappa needs the same number of ratings for every unit, these units have between "
            f"{int(per_unit.min())} and {int(per_unit.max())}: use the generalisation to missing ratings "
            "(fleiss_kappa_missing) or Krippendorff's alpha"
        )
    if per_unit[0] < 2:
        raise StatisticError("every unit has one rating: Fleiss' kappa needs at least two raters per unit")
    return _chance_corrected(table, "none", "fleiss", FLEISS, bootstrap, seed)


def fleiss_kappa_missing(table: RatingTable, *, weights: str = "none", bootstrap: int = 0, seed: int = 0) -> Agreement:
    """Fleiss' kappa generalised to units with different numbers of ratings (Gwet 2014)."""
    name = FLEISS_MISSING if weights == "none" else f"{FLEISS_MISSING}, {weights} weights"
    return _chance_corrected(table, weights, "fleiss", name, bootstrap, seed)


def gwet_ac(table: RatingTable, *, weights: str = "none", bootstrap: int = 0, seed: int = 0) -> Agreement:
    """Gwet's AC1 (no weights) or AC2 (linear or quadratic weights on the table's categories).

    Chance agreement is T_w / (q (q - 1)) * sum_k pi_k (1 - pi_k) with q the number of categories
    of the table, so build the table from the declared scale: AC1 depends on categories nobody used.
    """
    if table.categories.size < 2:
        raise StatisticError("Gwet's AC needs a scale of at least two categories: pass the declared scale")
    name = "Gwet's AC1" if weights == "none" else f"Gwet's AC2 ({weights} weights)"
    return _chance_corrected(table, weights, "gwet", name, bootstrap, seed)


def percent_agreement(table: RatingTable) -> Agreement:
    """Raw agreement: the share of agreeing rater pairs within a unit, averaged over units with two or more ratings."""
    prepared = _prepare(table, "none")
    observed, _, _ = _agreement_parts(prepared, prepared.frequency[None, :].astype(np.float64))
    pairable = prepared.counts.sum(axis=1) >= 2
    return Agreement(
        name="percent agreement",
        value=float(observed[0]),
        n_units=int(prepared.frequency[pairable].sum()),
        n_ratings=int((prepared.counts.sum(axis=1) * prepared.frequency)[pairable].sum()),
    )


def cohen_kappa(
    units: Sequence[object] | np.ndarray,
    raters: Sequence[object] | np.ndarray,
    values: Sequence[object] | np.ndarray,
    *,
    weights: str = "none",
    scale: Sequence[object] | None = None,
    bootstrap: int = 0,
    seed: int = 0,
) -> Agreement:
    """Cohen's kappa between exactly two raters, over the units both rated.

    Weighted kappa (linear or quadratic) needs the declared ``scale``: disagreement between two
    categories is their distance on that scale, not the distance between indices of the levels seen.
    """
    if weights != "none" and scale is None:
        raise StatisticError(f"{weights} weighted kappa needs the declared scale (for example 1,2,3,4,5)")
    rater_codes, rater_names = encode(raters)
    if rater_names.size != 2:
        raise StatisticError(
            f"Cohen's kappa compares exactly two raters, these ratings come from {rater_names.size}: "
            "use Fleiss' kappa, Gwet's AC1 or Krippendorff's alpha for more"
        )
    value_codes, categories = category_codes(values, scale)
    unit_codes, _ = encode(units)
    n_units = int(unit_codes.max()) + 1
    by_rater = np.full((2, n_units), -1, dtype=np.int64)
    seen = np.zeros((2, n_units), dtype=np.int64)
    np.add.at(seen, (rater_codes, unit_codes), 1)
    if seen.max() > 1:
        raise StatisticError("a rater rated the same unit twice: Cohen's kappa needs one rating per rater and unit")
    by_rater[rater_codes, unit_codes] = value_codes
    both = (by_rater >= 0).all(axis=0)
    if not both.any():
        raise StatisticError(f"no unit was rated by both {rater_names[0]} and {rater_names[1]}: nothing to pair")
    q = categories.size
    cells = np.bincount(by_rater[0, both] * q + by_rater[1, both], minlength=q * q)
    disagreement = 1.0 - agreement_weights(categories, weights)
    occupied = np.flatnonzero(cells)
    frequency = cells[occupied]
    one_hot = np.zeros((occupied.size, q * q))
    one_hot[np.arange(occupied.size), occupied] = 1.0

    def kappa_for(weights_rows: np.ndarray) -> np.ndarray:
        tables = (weights_rows @ one_hot).reshape(-1, q, q)
        tables /= tables.sum(axis=(1, 2))[:, None, None]
        chance = tables.sum(axis=2)[:, :, None] * tables.sum(axis=1)[:, None, :]
        expected = (chance * disagreement).sum(axis=(1, 2))
        observed = (tables * disagreement).sum(axis=(1, 2))
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(expected > 0, 1.0 - observed / expected, np.nan)

    value = kappa_for(frequency[None, :].astype(np.float64))[0]
    if not np.isfinite(value):
        raise StatisticError(
            "both raters put every paired unit in one and the same category: kappa is undefined without variation"
        )
    name = "Cohen's kappa" if weights == "none" else f"Cohen's kappa ({weights} weights)"
    result = Agreement(name=name, value=float(value), n_units=int(both.sum()), n_ratings=2 * int(both.sum()))
    if bootstrap <= 0:
        return result
    rng = np.random.default_rng(seed)
    samples = np.concatenate(
        [
            kappa_for(resample_weights(rng, frequency, block.stop - block.start))
            for block in weight_blocks(q * q, bootstrap)
        ]
    )
    return result.with_bootstrap(samples)


def _prepare(table: RatingTable, weights: str) -> _Prepared:
    counts, frequency = merge_identical_rows(table.counts)
    if counts.shape[0] == 0:
        raise StatisticError("there are no ratings")
    if counts.sum(axis=1).max() < 2:
        raise StatisticError(
            "no unit has two or more ratings, so no pair of ratings can be compared: agreement needs units "
            "rated by at least two raters"
        )
    return _Prepared(counts=counts, frequency=frequency, weights=agreement_weights(table.categories, weights))


def _agreement_parts(prepared: _Prepared, unit_weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Observed agreement p_a, category shares pi, and the weight of units with ratings, per resample."""
    counts = prepared.counts
    per_unit = counts.sum(axis=1)
    pairable = per_unit >= 2
    weighted = counts @ prepared.weights.T
    unit_agreement = np.zeros(counts.shape[0])
    unit_agreement[pairable] = (counts[pairable] * (weighted[pairable] - 1.0)).sum(axis=1) / (
        per_unit[pairable] * (per_unit[pairable] - 1.0)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        observed = (unit_weights @ unit_agreement) / (unit_weights @ pairable.astype(np.float64))
        shares = (unit_weights @ (counts / per_unit[:, None])) / unit_weights.sum(axis=1)[:, None]
    return observed, shares, unit_weights.sum(axis=1)


def _chance_corrected(table: RatingTable, weights: str, chance: str, name: str, bootstrap: int, seed: int) -> Agreement:
    prepared = _prepare(table, weights)

    def coefficient(unit_weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        observed, shares, _ = _agreement_parts(prepared, unit_weights)
        if chance == "fleiss":
            expected = ((shares @ prepared.weights) * shares).sum(axis=1)
        else:
            q = prepared.weights.shape[0]
            expected = prepared.weights.sum() / (q * (q - 1)) * (shares * (1.0 - shares)).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = np.where(expected < 1.0, (observed - expected) / (1.0 - expected), np.nan)
        return value, observed, expected

    value, observed, expected = coefficient(prepared.frequency[None, :].astype(np.float64))
    if not np.isfinite(value[0]):
        raise StatisticError(
            f"every rating is in the same category: {name} is undefined when chance agreement is 1 "
            "(use percent agreement, or Gwet's AC1, which stays defined)"
        )
    per_unit = prepared.counts.sum(axis=1)
    pairable = per_unit >= 2
    result = Agreement(
        name=name,
        value=float(value[0]),
        n_units=int(prepared.frequency[pairable].sum()),
        n_ratings=int((per_unit * prepared.frequency)[pairable].sum()),
        observed=float(observed[0]),
        expected=float(expected[0]),
    )
    if bootstrap <= 0:
        return result
    rng = np.random.default_rng(seed)
    samples = np.concatenate(
        [
            coefficient(resample_weights(rng, prepared.frequency, block.stop - block.start))[0]
            for block in weight_blocks(prepared.frequency.size, bootstrap)
        ]
    )
    return result.with_bootstrap(samples)
