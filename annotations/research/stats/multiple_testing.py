"""Holm's step-down correction for a family of tests (method pairs)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def holm(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm-adjusted p-values, in the input order.

    The i-th smallest p is multiplied by (m - i + 1), made non-decreasing along the order and capped
    at 1: comparing the adjusted values with alpha controls the family-wise error rate without
    assuming the tests independent (many method pairs share a method).
    """
    p = np.asarray(p_values, dtype=np.float64)
    if p.size == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    scaled = p[order] * (p.size - np.arange(p.size))
    adjusted = np.minimum(np.maximum.accumulate(scaled), 1.0)
    out = np.empty_like(adjusted)
    out[order] = adjusted
    return out
