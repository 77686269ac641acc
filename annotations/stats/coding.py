"""Integer codes for unit, rater, method and label names.

Statistics work on dense integer codes so that counting is a ``bincount``; the names are kept
alongside, sorted, so that outputs list them in a stable order whatever the input order was.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def encode(items: Sequence[object] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(codes, names)``: ``names[codes[i]] == items[i]`` and ``names`` sorted and distinct.

    Non-negative integer ids that are already dense (as a caller that numbered its units will pass)
    are used as they are, which skips a sort of a million ids; anything else goes through
    ``np.unique``.
    """
    array = np.asarray(items)
    if array.ndim != 1:
        raise ValueError(f"expected a one-dimensional sequence of ids, got shape {array.shape}")
    if array.size and np.issubdtype(array.dtype, np.integer):
        low, high = int(array.min()), int(array.max())
        if low >= 0 and high < 2 * array.size + 16:
            present = np.bincount(array, minlength=high + 1) > 0
            if present.all():
                return array.astype(np.int64, copy=False), np.arange(high + 1)
    names, codes = np.unique(array, return_inverse=True)
    return codes.astype(np.int64, copy=False), names
