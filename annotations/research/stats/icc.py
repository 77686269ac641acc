"""The six intraclass correlations of Shrout and Fleiss (1979) for fully crossed designs.

From the two-way ANOVA of a units (targets) x raters (judges) matrix:
ICC(1,·) one-way random (each unit rated by its own raters), ICC(2,·) two-way random (raters are
a sample, absolute agreement), ICC(3,·) two-way mixed (these raters only, consistency); ``1`` is the
reliability of one rater, ``k`` of the mean of k raters. McGraw and Wong (1996) call ICC(2,1)
ICC(A,1) and ICC(3,1) ICC(C,1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from annotations.research.stats.crossed import crossed_matrix, resampled_rows
from annotations.research.stats.errors import StatisticError
from annotations.research.stats.resampling import percentile_interval, weight_blocks

MEAN_SQUARES = ("between_units", "within_units", "between_raters", "residual")
FORMS = ("ICC(1,1)", "ICC(2,1)", "ICC(3,1)", "ICC(1,k)", "ICC(2,k)", "ICC(3,k)")


@dataclass(frozen=True)
class IntraclassCorrelations:
    """All six forms by name, with the design they came from and optional bootstrap intervals."""

    forms: dict[str, float]
    n_units: int
    n_raters: int
    mean_squares: dict[str, float] = field(default_factory=dict)  # the two-way ANOVA behind the forms
    ci95: dict[str, tuple[float, float] | None] = field(default_factory=dict)
    n_resamples: int = 0


def intraclass_correlations(
    units: Sequence[object] | np.ndarray,
    raters: Sequence[object] | np.ndarray,
    values: Sequence[object] | np.ndarray,
    *,
    bootstrap: int = 0,
    seed: int = 0,
) -> IntraclassCorrelations:
    """The six Shrout-Fleiss ICCs from long-format ratings of a fully crossed design."""
    return icc_from_matrix(crossed_matrix(units, raters, values, "ICC").matrix, bootstrap=bootstrap, seed=seed)


def icc_from_matrix(matrix: np.ndarray, *, bootstrap: int = 0, seed: int = 0) -> IntraclassCorrelations:
    """The six ICCs of a complete units x raters matrix; bootstrap intervals resample units."""
    matrix = np.asarray(matrix, dtype=np.float64)
    n, k = matrix.shape
    if n < 2 or k < 2:
        raise StatisticError(f"ICC needs at least two units and two raters, got {n} units and {k} raters")
    point = _forms(matrix[None])
    lacking = [name for name, value in zip(FORMS, point[0], strict=True) if not np.isfinite(value)]
    if lacking:
        raise StatisticError(
            f"{', '.join(lacking)} undefined: the units do not differ from each other (or every rating is the "
            "same), so there is no between-unit variance to compare with"
        )
    squares = dict(zip(MEAN_SQUARES, (float(value[0]) for value in _mean_squares(matrix[None])), strict=True))
    result = IntraclassCorrelations(
        forms=dict(zip(FORMS, map(float, point[0]), strict=True)), n_units=n, n_raters=k, mean_squares=squares
    )
    if bootstrap <= 0:
        return result
    rng = np.random.default_rng(seed)
    samples = np.concatenate(
        [_forms(resampled_rows(matrix, rng, part.stop - part.start)) for part in weight_blocks(n * k, bootstrap)]
    )
    return IntraclassCorrelations(
        forms=result.forms,
        n_units=n,
        n_raters=k,
        mean_squares=squares,
        ci95={name: percentile_interval(samples[:, index]) for index, name in enumerate(FORMS)},
        n_resamples=bootstrap,
    )


def _mean_squares(matrices: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """BMS, WMS, JMS and EMS of each (units, raters) matrix in a stack."""
    _, n, k = matrices.shape
    grand = matrices.mean(axis=(1, 2), keepdims=True)
    unit_means = matrices.mean(axis=2, keepdims=True)
    rater_means = matrices.mean(axis=1, keepdims=True)
    between_units = k * ((unit_means - grand) ** 2).sum(axis=(1, 2)) / (n - 1)  # BMS
    within_units = ((matrices - unit_means) ** 2).sum(axis=(1, 2)) / (n * (k - 1))  # WMS
    between_raters = n * ((rater_means - grand) ** 2).sum(axis=(1, 2)) / (k - 1)  # JMS
    residual = ((matrices - unit_means - rater_means + grand) ** 2).sum(axis=(1, 2)) / ((n - 1) * (k - 1))  # EMS
    return between_units, within_units, between_raters, residual


def _forms(matrices: np.ndarray) -> np.ndarray:
    """(resamples, 6) ICCs of a stack of (units, raters) matrices, NaN where undefined.

    A form is undefined where its denominator, an estimate of a sum of variances, is not positive: on a
    bootstrap resample that repeats a few units that happens, and the ratio would be a number far
    outside any ICC's range (4.0 was seen on a four-unit file) rather than an estimate.
    """
    _, n, k = matrices.shape
    between_units, within_units, between_raters, residual = _mean_squares(matrices)
    numerators = np.stack(
        [
            between_units - within_units,
            between_units - residual,
            between_units - residual,
            between_units - within_units,
            between_units - residual,
            between_units - residual,
        ],
        axis=1,
    )
    denominators = np.stack(
        [
            between_units + (k - 1) * within_units,
            between_units + (k - 1) * residual + k * (between_raters - residual) / n,
            between_units + (k - 1) * residual,
            between_units,
            between_units + (between_raters - residual) / n,
            between_units,
        ],
        axis=1,
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        forms = numerators / denominators
    # Relative to the scale of the data, so that rounding noise in a zero variance counts as zero.
    scale = np.abs(matrices).max(axis=(1, 2))[:, None] ** 2 + 1e-300
    defined = (denominators > 1e-12 * scale) & np.isfinite(forms)
    return np.where(defined, forms, np.nan)
