"""Integer codes for unit, rater, method and label names.

Statistics work on dense integer codes so that counting is a ``bincount``; the names are kept
alongside, sorted, so that outputs list them in a stable order whatever the input order was.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Below this many values a plain ``np.unique`` is as fast as anything else.
_SMALL = 4096


def encode(items: Sequence[object] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(codes, names)``: ``names[codes[i]] == items[i]`` and ``names`` sorted and distinct.

    Non-negative integer ids that are already dense (as a caller that numbered its units will pass)
    are used as they are, which skips a sort of a million ids; anything else goes through
    ``np.unique`` (text through ``unique_inverse``, which sorts integers instead of strings).
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
    names, codes = unique_inverse(array)
    return codes.astype(np.int64, copy=False), names


def unique_inverse(array: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(array, return_inverse=True)`` for a one-dimensional array, the same result faster for text.

    A string of ``w`` characters whose code points fit in ``b`` bits, with ``w * b`` at most 63, is
    one integer (its characters as digits in base ``2**b``, the first the most significant); those
    integers sort as the strings do (numpy pads shorter strings with NUL, code point 0), so sorting
    them gives the same distinct names in the same order. Labels such as ``tie`` or ``method-3``
    qualify; longer text falls back to sorting the strings.
    """
    if array.dtype.kind == "U" and array.size > _SMALL and array.dtype.itemsize:
        width = array.dtype.itemsize // 4
        characters = np.ascontiguousarray(array).view(np.uint32).reshape(array.size, width)
        bits = max(1, int(characters.max()).bit_length())
        if bits * width <= 63:
            keys = np.zeros(array.size, dtype=np.int64)
            for column in range(width):
                keys <<= bits
                keys |= characters[:, column]
            distinct, inverse = np.unique(keys, return_inverse=True)
            shifts = np.arange(width - 1, -1, -1, dtype=np.int64) * bits
            digits = (distinct[:, None] >> shifts) & ((1 << bits) - 1)
            names = np.ascontiguousarray(digits.astype(np.uint32)).view(array.dtype).reshape(-1)
            return names, inverse.reshape(-1)
    names, inverse = np.unique(array, return_inverse=True)
    return names, inverse.reshape(-1)


def encode_together(*arrays: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """``encode`` of the arrays joined end to end, returned as one code array per input: without joining them."""
    parts = [encode(array) for array in arrays]
    names = np.unique(np.concatenate([part_names for _, part_names in parts]))
    return [np.searchsorted(names, part_names)[codes] for codes, part_names in parts], names


def as_text(items: Sequence[object] | np.ndarray) -> np.ndarray:
    """``items`` as an array of strings (``str`` of each); an array of strings is returned as it is."""
    if isinstance(items, np.ndarray) and items.dtype.kind == "U":
        return items
    return np.asarray(items, dtype=object).astype(str)


def encode_text(items: Sequence[object] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``encode`` of ``str`` of each item: the names are text, sorted as text (so "10" before "9").

    Integer arrays are coded as numbers and only their distinct values are turned into text and
    sorted, which gives the same codes and names without writing out a million strings.
    """
    if isinstance(items, np.ndarray) and items.ndim == 1 and items.size and np.issubdtype(items.dtype, np.integer):
        values, inverse = np.unique(items, return_inverse=True)
        text = values.astype(str)
        order = np.argsort(text, kind="stable")
        rank = np.empty(order.size, dtype=np.int64)
        rank[order] = np.arange(order.size)
        return rank[inverse.reshape(-1)], text[order]
    return encode(as_text(items))


def group_codes(items: Sequence[object] | np.ndarray) -> np.ndarray:
    """Codes that are equal exactly where ``str`` of the items is: for grouping, where names and order don't matter."""
    if isinstance(items, np.ndarray) and items.ndim == 1 and np.issubdtype(items.dtype, np.integer):
        return encode(items)[0]
    return encode(as_text(items))[0]
