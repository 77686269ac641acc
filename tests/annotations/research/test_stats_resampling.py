"""Bootstrap weights: drawing units with replacement, whether identical units were merged or not."""

from __future__ import annotations

import numpy as np
import pytest

from annotations.research.stats.resampling import merge_identical_rows, percentile_interval, resample_weights


@pytest.mark.parametrize("frequency", [np.array([500, 300, 200]), np.ones(50, dtype=np.int64)])
def test_each_resample_draws_as_many_units_as_there_are(frequency):
    weights = resample_weights(np.random.default_rng(0), frequency, 400)
    assert weights.shape == (400, frequency.size)
    assert (weights.sum(axis=1) == frequency.sum()).all()
    # On average a group is drawn as often as it has units.
    assert weights.mean(axis=0) == pytest.approx(frequency, rel=0.15)


def test_identical_rows_are_merged_with_their_counts():
    rows, frequency = merge_identical_rows(np.array([[2, 0], [1, 1], [2, 0], [2, 0]]))
    assert {tuple(row): int(f) for row, f in zip(rows.astype(int), frequency, strict=True)} == {(2, 0): 3, (1, 1): 1}


def test_percentile_interval_ignores_undefined_resamples():
    assert percentile_interval(np.array([np.nan, *range(101)])) == pytest.approx((2.5, 97.5))
    assert percentile_interval(np.array([np.nan])) is None
