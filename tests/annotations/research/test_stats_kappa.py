"""Fleiss' kappa, its generalisation to missing ratings, Gwet's AC1/AC2, Cohen's kappa, percent agreement."""

from __future__ import annotations

import numpy as np
import pytest

from annotations.research.stats import (
    RatingTable,
    StatisticError,
    cohen_kappa,
    fleiss_kappa,
    fleiss_kappa_missing,
    gwet_ac,
    percent_agreement,
    rating_table,
)
from tests.annotations.reference_data import FLEISS_1971, KRIPPENDORFF_2011, WIKIPEDIA_FLEISS, long_format


def test_it_matches_fleiss_1971():
    assert fleiss_kappa(RatingTable(FLEISS_1971.astype(float), np.arange(5))).value == pytest.approx(0.430, abs=0.001)


def test_it_matches_the_wikipedia_worked_example():
    result = fleiss_kappa(RatingTable(WIKIPEDIA_FLEISS.astype(float), np.arange(1, 6)))
    assert result.value == pytest.approx(0.210, abs=0.001)
    # The page's intermediate figures: P-bar = 0.378, P-bar_e = 0.213.
    assert result.observed == pytest.approx(0.378, abs=0.001)
    assert result.expected == pytest.approx(0.213, abs=0.001)


def test_it_matches_gwet_on_krippendorffs_data_with_missing_ratings():
    """Gwet's irrCAC documents these for Krippendorff's 4 x 12 data: pa .8181818, AC1 .77544, kappa .76117."""
    units, _, values = long_format(KRIPPENDORFF_2011)
    table = rating_table(units, values)
    ac1 = gwet_ac(table)
    assert ac1.value == pytest.approx(0.77544, abs=0.001)
    assert ac1.expected == pytest.approx(0.1903212, abs=1e-6)
    assert fleiss_kappa_missing(table).value == pytest.approx(0.76117, abs=0.001)
    assert percent_agreement(table).value == pytest.approx(0.8181818, abs=1e-6)


def test_the_generalisation_equals_fleiss_kappa_on_complete_data():
    table = RatingTable(FLEISS_1971.astype(float), np.arange(5))
    assert fleiss_kappa_missing(table).value == pytest.approx(fleiss_kappa(table).value, abs=1e-12)
    assert fleiss_kappa_missing(table).name != fleiss_kappa(table).name


def test_fleiss_kappa_refuses_units_with_different_numbers_of_ratings():
    units, _, values = long_format(KRIPPENDORFF_2011)
    with pytest.raises(StatisticError, match="same number of ratings"):
        fleiss_kappa(rating_table(units, values))


def test_fleiss_kappa_agrees_with_statsmodels():
    inter_rater = pytest.importorskip("statsmodels.stats.inter_rater")
    assert fleiss_kappa(RatingTable(FLEISS_1971.astype(float), np.arange(5))).value == pytest.approx(
        inter_rater.fleiss_kappa(FLEISS_1971), abs=1e-12
    )


def test_ac1_counts_every_category_of_the_declared_scale():
    units, _, values = long_format(KRIPPENDORFF_2011)
    observed_only = gwet_ac(rating_table(units, values))
    declared = gwet_ac(rating_table(units, values, scale=[1, 2, 3, 4, 5, 6, 7]))
    assert declared.value != pytest.approx(observed_only.value)


def test_ac2_with_identity_like_weights_is_ac1_and_weights_raise_agreement():
    units, _, values = long_format(KRIPPENDORFF_2011)
    table = rating_table(units, values, scale=[1, 2, 3, 4, 5])
    assert gwet_ac(table, weights="quadratic").value > gwet_ac(table).value
    assert gwet_ac(table, weights="quadratic").name == "Gwet's AC2 (quadratic weights)"


@pytest.mark.parametrize("measure", [fleiss_kappa, fleiss_kappa_missing, gwet_ac, percent_agreement])
def test_perfect_agreement_gives_one(measure):
    table = rating_table(np.repeat(np.arange(12), 4), np.repeat(np.arange(12) % 3, 4))
    assert measure(table).value == pytest.approx(1.0)


def test_kappa_is_invariant_to_the_order_of_units():
    table = RatingTable(FLEISS_1971[::-1].astype(float), np.arange(5))
    assert fleiss_kappa(table).value == pytest.approx(0.430, abs=0.001)


def test_kappa_bootstrap_interval_brackets_the_estimate():
    result = fleiss_kappa(RatingTable(FLEISS_1971.astype(float), np.arange(5)), bootstrap=500, seed=1)
    assert result.ci95[0] < result.value < result.ci95[1]


def test_fleiss_kappa_refuses_a_single_category():
    with pytest.raises(StatisticError, match="same category"):
        fleiss_kappa(rating_table([1, 1, 2, 2], ["left", "left", "left", "left"]))


def _two_raters(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    units = np.concatenate([np.arange(first.size), np.arange(second.size)])
    raters = np.array(["ana"] * first.size + ["ben"] * second.size)
    return units, raters, np.concatenate([first, second])


@pytest.mark.parametrize(("weights", "wt"), [("none", None), ("linear", "linear"), ("quadratic", "quadratic")])
def test_cohen_kappa_agrees_with_statsmodels_when_the_scale_is_equally_spaced(weights, wt):
    inter_rater = pytest.importorskip("statsmodels.stats.inter_rater")
    rng = np.random.default_rng(4)
    first = rng.integers(1, 6, 80)
    second = np.clip(first + rng.integers(-1, 2, 80), 1, 5)
    table = np.zeros((5, 5))
    np.add.at(table, (first - 1, second - 1), 1)
    result = cohen_kappa(*_two_raters(first, second), weights=weights, scale=[1, 2, 3, 4, 5])
    assert result.value == pytest.approx(inter_rater.cohens_kappa(table, wt=wt).kappa, abs=1e-12)


def test_weighted_kappa_uses_distances_on_the_declared_scale_not_the_levels_seen():
    # Only 1, 2 and 5 are used on a 1-5 scale: 2 and 5 are three steps apart, not one.
    first = np.array([1, 2, 5, 1, 2, 5, 2, 1])
    second = np.array([1, 5, 5, 2, 2, 2, 2, 1])
    units, raters, values = _two_raters(first, second)
    on_scale = cohen_kappa(units, raters, values, weights="linear", scale=[1, 2, 3, 4, 5])
    observed = np.array([1.0, 2.0, 5.0])
    disagreement = np.abs(observed[:, None] - observed[None, :]) / 4.0
    table = np.zeros((3, 3))
    np.add.at(table, (np.searchsorted(observed, first), np.searchsorted(observed, second)), 1)
    table /= table.sum()
    chance = np.outer(table.sum(1), table.sum(0))
    assert on_scale.value == pytest.approx(1 - (table * disagreement).sum() / (chance * disagreement).sum())
    by_level_index = cohen_kappa(
        units, raters, np.searchsorted(observed, values) + 1, weights="linear", scale=[1, 2, 3]
    )
    assert on_scale.value != pytest.approx(by_level_index.value)


def test_cohen_kappa_uses_only_units_both_raters_rated():
    units, raters, values = _two_raters(np.array([1, 2, 3, 1]), np.array([1, 2, 3, 2]))
    keep = ~((raters == "ben") & (units == 3))
    result = cohen_kappa(units[keep], raters[keep], values[keep])
    assert result.n_units == 3
    assert result.value == pytest.approx(1.0)


def test_cohen_kappa_refuses_more_than_two_raters():
    with pytest.raises(StatisticError, match="exactly two raters"):
        cohen_kappa([1, 1, 1], ["a", "b", "c"], [1, 2, 3])


def test_cohen_kappa_refuses_raters_with_no_unit_in_common():
    with pytest.raises(StatisticError, match="no unit was rated by both"):
        cohen_kappa([1, 2], ["a", "b"], [1, 2])


def test_weighted_kappa_needs_the_declared_scale():
    with pytest.raises(StatisticError, match="declared scale"):
        cohen_kappa(*_two_raters(np.array([1, 2]), np.array([1, 2])), weights="linear")


def test_values_off_the_declared_scale_are_refused():
    with pytest.raises(StatisticError, match="not on the declared scale"):
        rating_table([1, 1], [1, 7], scale=[1, 2, 3, 4, 5])
