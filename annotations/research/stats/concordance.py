"""Kendall's coefficient of concordance W, with the correction for tied ranks.

Each rater's ratings are turned into ranks over the units (ties get their mean rank).
W = 12 S / (m^2 (n^3 - n) - m sum_j T_j), T_j = sum over tie groups of t^3 - t. Since with mid-ranks
sum_i (r_ij - (n + 1)/2)^2 = (n^3 - n - T_j) / 12, this is S / (m sum_j sum_i (r_ij - (n + 1)/2)^2),
which is how it is computed (no tie groups to enumerate).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import rankdata

from annotations.research.stats.crossed import crossed_matrix, resampled_rows
from annotations.research.stats.errors import StatisticError
from annotations.research.stats.resampling import weight_blocks
from annotations.research.stats.result import Agreement


def kendall_w(
    units: Sequence[object] | np.ndarray,
    raters: Sequence[object] | np.ndarray,
    values: Sequence[object] | np.ndarray,
    *,
    bootstrap: int = 0,
    seed: int = 0,
) -> Agreement:
    """Kendall's W from long-format ratings of a fully crossed design."""
    return kendall_w_from_matrix(
        crossed_matrix(units, raters, values, "Kendall's W").matrix, bootstrap=bootstrap, seed=seed
    )


def kendall_w_from_matrix(matrix: np.ndarray, *, bootstrap: int = 0, seed: int = 0) -> Agreement:
    """Kendall's W of a complete units x raters matrix; bootstrap intervals resample units."""
    matrix = np.asarray(matrix, dtype=np.float64)
    n, m = matrix.shape
    if n < 2 or m < 2:
        raise StatisticError(f"Kendall's W needs at least two units and two raters, got {n} units and {m} raters")
    value = _w(matrix[None])[0]
    if not np.isfinite(value):
        raise StatisticError("every rater gave every unit the same rating: Kendall's W is undefined without ranks")
    result = Agreement(name="Kendall's W (tie-corrected)", value=float(value), n_units=n, n_ratings=n * m)
    if bootstrap <= 0:
        return result
    rng = np.random.default_rng(seed)
    samples = np.concatenate(
        [_w(resampled_rows(matrix, rng, part.stop - part.start)) for part in weight_blocks(n * m, bootstrap)]
    )
    return result.with_bootstrap(samples)


def _w(matrices: np.ndarray) -> np.ndarray:
    """W of each (units, raters) matrix in a stack, NaN where every rater tied all units."""
    _, n, m = matrices.shape
    ranks = rankdata(matrices, axis=1)
    centred = ranks - (n + 1) / 2.0
    rank_sums = centred.sum(axis=2)
    spread = (rank_sums**2).sum(axis=1)
    ties_corrected = m * (centred**2).sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ties_corrected > 0, spread / ties_corrected, np.nan)
