"""Krippendorff's alpha: published values, the reference package, properties and the bootstrap."""

from __future__ import annotations

import numpy as np
import pytest

from annotations.research.stats import StatisticError, krippendorff_alpha
from annotations.research.stats import alpha as alpha_module
from tests.annotations.reference_data import KRIPPENDORFF_2011, long_format


@pytest.mark.parametrize(
    ("level", "published"),
    [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)],
)
def test_it_matches_krippendorff_2011_at_every_level(level, published):
    units, _, values = long_format(KRIPPENDORFF_2011)
    result = krippendorff_alpha(units, values, level)
    assert result.value == pytest.approx(published, abs=0.001)
    # Unit 12 has a single rating and drops out: 11 pairable units, 40 pairable values.
    assert (result.n_units, result.n_ratings) == (11, 40)


def _random_reliability_data(seed: int, n_values: int, raters: int = 6, units: int = 300) -> np.ndarray:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, n_values, units)
    data = (truth[None, :] + rng.integers(-1, 2, (raters, units))).clip(0, n_values - 1).astype(float) * 1.5 + 1
    data[rng.random(data.shape) < 0.3] = np.nan
    return data


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
@pytest.mark.parametrize("n_values", [3, 7, 40])
def test_it_agrees_with_the_krippendorff_package(level, n_values):
    krippendorff = pytest.importorskip("krippendorff")
    data = _random_reliability_data(n_values, n_values)
    units, _, values = long_format(data)
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
    assert krippendorff_alpha(units, values, level).value == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
def test_sparse_counts_give_the_same_alpha_as_dense_counts(level, monkeypatch):
    data = _random_reliability_data(5, 12)
    units, _, values = long_format(data)
    dense = krippendorff_alpha(units, values, level, bootstrap=50, seed=3)
    monkeypatch.setattr(alpha_module, "_DENSE_CELLS", 1)
    sparse = krippendorff_alpha(units, values, level, bootstrap=50, seed=3)
    assert sparse.value == pytest.approx(dense.value, abs=1e-12)
    assert sparse.ci95 is not None


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
def test_perfect_agreement_gives_one(level):
    units = np.repeat(np.arange(20), 3)
    values = np.repeat(np.arange(20) % 5 + 1, 3).astype(float)
    assert krippendorff_alpha(units, values, level).value == pytest.approx(1.0)


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
def test_order_of_ratings_and_names_of_units_do_not_matter(level):
    units, _, values = long_format(KRIPPENDORFF_2011)
    order = np.random.default_rng(0).permutation(units.size)
    renamed = np.array([f"clip-{unit * 7 % 13}" for unit in units])
    assert krippendorff_alpha(renamed[order], values[order], level).value == pytest.approx(
        krippendorff_alpha(units, values, level).value, abs=1e-12
    )


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
def test_random_ratings_give_alpha_near_zero(level):
    rng = np.random.default_rng(11)
    units = np.repeat(np.arange(4000), 3)
    values = rng.integers(1, 6, units.size).astype(float)
    assert abs(krippendorff_alpha(units, values, level).value) < 0.03


def test_labels_work_at_the_nominal_level():
    units = [1, 1, 2, 2, 3, 3, 4, 4]
    values = ["left", "left", "right", "right", "tie", "left", "tie", "tie"]
    result = krippendorff_alpha(units, values, "nominal")
    numeric = krippendorff_alpha(units, [0, 0, 1, 1, 2, 0, 2, 2], "nominal")
    assert result.value == pytest.approx(numeric.value)


def test_bootstrap_equals_recomputing_alpha_on_resampled_units():
    """The vectorised bootstrap gives what a plain loop over resampled units gives."""
    units, _, values = long_format(KRIPPENDORFF_2011)
    groups = alpha_module._pairable_groups(units, values, "ordinal")
    rng = np.random.default_rng(5)
    drawn = rng.integers(0, 11, size=(20, 11))
    pairable = [unit for unit in range(12) if (units == unit).sum() >= 2]
    for draw in drawn:
        new_units = np.concatenate([np.full((units == pairable[d]).sum(), i) for i, d in enumerate(draw)])
        new_values = np.concatenate([values[units == pairable[d]] for d in draw])
        try:
            expected = krippendorff_alpha(new_units, new_values, "ordinal").value
        except StatisticError:
            expected = np.nan
        # The same resample as weights on the merged groups: how often each group's pattern was drawn.
        patterns = [
            tuple(np.bincount(np.searchsorted([1, 2, 3, 4, 5], values[units == pairable[d]]), minlength=5))
            for d in draw
        ]
        rows = [tuple(row.astype(int)) for row in groups.counts]
        weights = np.array([[patterns.count(row) for row in rows]], dtype=float)
        got = alpha_module._alpha_for_weights(groups, "ordinal", weights)[0]
        assert got == pytest.approx(expected, abs=1e-12, nan_ok=True)


def test_bootstrap_interval_is_reproducible_and_brackets_the_estimate():
    units, _, values = long_format(_random_reliability_data(2, 5))
    first = krippendorff_alpha(units, values, "ordinal", bootstrap=300, seed=9)
    again = krippendorff_alpha(units, values, "ordinal", bootstrap=300, seed=9)
    assert first.ci95 == again.ci95
    assert first.ci95[0] < first.value < first.ci95[1]
    assert first.n_resamples == 300


def test_it_refuses_data_without_pairable_units():
    with pytest.raises(StatisticError, match="no unit has two or more ratings"):
        krippendorff_alpha([1, 2, 3], [1.0, 2.0, 3.0], "interval")


def test_it_refuses_data_without_variation():
    with pytest.raises(StatisticError, match="same value"):
        krippendorff_alpha([1, 1, 2, 2], [3, 3, 3, 3], "ordinal")


def test_it_refuses_labels_at_a_numeric_level():
    with pytest.raises(StatisticError, match="needs numeric values"):
        krippendorff_alpha([1, 1], ["left", "right"], "interval")


def test_it_refuses_negative_values_at_the_ratio_level():
    with pytest.raises(StatisticError, match="zero or more"):
        krippendorff_alpha([1, 1, 2, 2], [-1.0, 2.0, 3.0, 3.0], "ratio")
