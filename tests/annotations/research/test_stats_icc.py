"""The six Shrout-Fleiss intraclass correlations and Kendall's W on fully crossed designs."""

from __future__ import annotations

import numpy as np
import pytest

from annotations.research.stats import (
    StatisticError,
    icc_from_matrix,
    intraclass_correlations,
    kendall_w,
    kendall_w_from_matrix,
)
from tests.annotations.reference_data import SHROUT_FLEISS_1979

PUBLISHED = {"ICC(1,1)": 0.17, "ICC(2,1)": 0.29, "ICC(3,1)": 0.71, "ICC(1,k)": 0.44, "ICC(2,k)": 0.62, "ICC(3,k)": 0.91}


def _long(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    units, raters = np.indices(matrix.shape)
    return units.ravel(), np.array([f"judge{r}" for r in raters.ravel()]), matrix.ravel()


@pytest.mark.parametrize(("form", "published"), PUBLISHED.items())
def test_it_matches_shrout_and_fleiss_1979(form, published):
    # Shrout and Fleiss print two decimals, so the check is at the precision they published.
    assert round(intraclass_correlations(*_long(SHROUT_FLEISS_1979)).forms[form], 2) == published


def test_mean_squares_behind_it_match_the_published_anova():
    # The paper's analysis of variance of the same data: BMS 11.24, WMS 6.26, JMS 32.49, EMS 1.02.
    squares = icc_from_matrix(SHROUT_FLEISS_1979).mean_squares
    published = {"between_units": 11.24, "within_units": 6.26, "between_raters": 32.49, "residual": 1.02}
    assert {name: round(value, 2) for name, value in squares.items()} == published


def test_icc_is_one_when_every_judge_agrees():
    matrix = np.repeat(np.arange(1.0, 7.0)[:, None], 3, axis=1)
    assert all(value == pytest.approx(1.0) for value in icc_from_matrix(matrix).forms.values())


def test_icc_does_not_depend_on_the_order_of_units():
    shuffled = SHROUT_FLEISS_1979[np.random.default_rng(0).permutation(6)]
    assert icc_from_matrix(shuffled).forms == pytest.approx(icc_from_matrix(SHROUT_FLEISS_1979).forms)


def test_icc_refuses_a_design_that_is_not_fully_crossed():
    units, raters, values = _long(SHROUT_FLEISS_1979)
    with pytest.raises(StatisticError, match=r"fully crossed .* 1 of 24 .* cells are empty"):
        intraclass_correlations(units[1:], raters[1:], values[1:])


def test_icc_refuses_one_rater():
    with pytest.raises(StatisticError, match="at least two raters"):
        intraclass_correlations([1, 2, 3], ["a", "a", "a"], [1.0, 2.0, 3.0])


def test_icc_refuses_units_that_do_not_differ():
    with pytest.raises(StatisticError, match="do not differ"):
        icc_from_matrix(np.array([[1.0, 2.0], [1.0, 2.0]]))


def test_icc_bootstrap_gives_an_interval_for_every_form():
    result = icc_from_matrix(SHROUT_FLEISS_1979, bootstrap=200, seed=2)
    assert set(result.ci95) == set(PUBLISHED)
    assert result.ci95["ICC(3,k)"][0] <= result.forms["ICC(3,k)"] <= result.ci95["ICC(3,k)"][1]


def test_a_resample_whose_variance_estimate_is_not_positive_gives_no_icc_rather_than_a_wild_one():
    from annotations.research.stats.icc import _forms

    # Units do not differ (BMS = 0) and the raters disagree (EMS = 1 > JMS = 0): ICC(2,k)'s denominator
    # BMS + (JMS - EMS) / n is -0.5, and the plain ratio would be 2.0, outside any ICC's range.
    names = ["1,1", "2,1", "3,1", "1,k", "2,k", "3,k"]
    forms = dict(zip(names, _forms(np.array([[[1.0, 2.0], [2.0, 1.0]]]))[0], strict=True))
    assert np.isnan(forms["2,k"])
    # Forms whose denominators stay positive keep their (lowest possible) value for two raters.
    assert forms["1,1"] == forms["3,1"] == -1.0
    # On a small file, every bootstrap interval stays within the range an ICC can take.
    matrix = np.array([[1, 2], [2, 2], [4, 3], [5, 5], [3, 1]], dtype=float)
    result = icc_from_matrix(matrix, bootstrap=2000, seed=5)
    for low, high in result.ci95.values():
        assert -1.0 - 1e-9 <= high <= 1.0 + 1e-9
        assert low <= high


def test_kendall_w_applies_the_tie_correction():
    # Three raters, four units; rater 2 ties the first two units (one tie group of 2: T = 2^3 - 2 = 6).
    # Rank sums 4.5, 4.5, 10, 11 around 7.5 give S = 36.5; W = 12 S / (m^2 (n^3 - n) - m T) = 438 / 522.
    matrix = np.array([[1, 1, 2], [2, 1, 1], [3, 3, 4], [4, 4, 3]], dtype=float)
    assert kendall_w_from_matrix(matrix).value == pytest.approx(438 / 522)


def test_kendall_w_relates_to_the_mean_spearman_correlation_without_ties():
    from scipy.stats import spearmanr

    matrix = np.random.default_rng(3).random((10, 5))
    rho = spearmanr(matrix).statistic[np.triu_indices(5, 1)].mean()
    assert kendall_w_from_matrix(matrix).value == pytest.approx((4 * rho + 1) / 5)


def test_kendall_w_is_one_for_identical_rankings_and_reads_long_format():
    matrix = np.repeat(np.arange(5.0)[:, None], 4, axis=1)
    assert kendall_w(*_long(matrix)).value == pytest.approx(1.0)


def test_kendall_w_refuses_raters_who_tie_everything():
    with pytest.raises(StatisticError, match="same rating"):
        kendall_w_from_matrix(np.ones((4, 3)))
