"""What an agreement statistic returns: its value, its name, and what it was computed from."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from annotations.research.stats.resampling import percentile_interval


@dataclass(frozen=True)
class Agreement:
    """One agreement coefficient, named as published (Fleiss' kappa is not Krippendorff's alpha)."""

    name: str
    value: float
    n_units: int  # units that entered the statistic (pairable ones, for most coefficients)
    n_ratings: int  # ratings that entered it
    ci95: tuple[float, float] | None = None
    n_resamples: int = 0  # bootstrap resamples on which the statistic was defined
    observed: float | None = None  # observed agreement, where the coefficient is (p_a - p_e) / (1 - p_e)
    expected: float | None = None  # chance agreement

    def with_bootstrap(self, samples: np.ndarray) -> Agreement:
        """This result with the percentile interval of bootstrap ``samples`` (NaN = undefined resample)."""
        return dataclasses.replace(self, ci95=percentile_interval(samples), n_resamples=int(np.isfinite(samples).sum()))
