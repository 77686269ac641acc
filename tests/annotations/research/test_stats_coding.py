"""The codes behind the statistics: the fast paths for big arrays give exactly what the plain ones give.

The results service hands the statistics a million judgements as numpy arrays (item and coach ids
as integers, answers as fixed-width strings); the same figures must come out as from lists of
Python strings, down to the order of names, which decides which resample draws which unit.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from annotations.research.stats import bradley_terry, coach_quality, compare_pairs, leave_one_out_majority_agrees
from annotations.research.stats.coding import encode, encode_text, encode_together, unique_inverse

VOCABULARIES = [
    ["a", "b", "tie", "neither", ""],
    ["method-0", "method-1", "method-10", "method-2", "zz"],
    ["é", "ß", "left", "Ω"],  # code points above 127: fewer characters fit one integer
    ["a fairly long label that cannot be one integer", "another long label of many characters", "x"],
]


@pytest.mark.parametrize("vocabulary", VOCABULARIES)
@pytest.mark.parametrize("size", [10, 50_000])
def test_text_codes_are_numpys_unique(vocabulary, size):
    values = np.array(vocabulary)[np.random.default_rng(3).integers(0, len(vocabulary), size)]
    names, inverse = unique_inverse(values)
    expected_names, expected_inverse = np.unique(values, return_inverse=True)
    assert names.dtype == expected_names.dtype
    assert names.tolist() == expected_names.tolist()
    assert inverse.tolist() == expected_inverse.tolist()


def test_integer_ids_are_named_and_sorted_as_text():
    ids = np.random.default_rng(4).integers(0, 3000, 20_000)
    codes, names = encode_text(ids)
    expected_codes, expected_names = encode(np.asarray(ids, dtype=object).astype(str))
    assert names.tolist() == expected_names.tolist()  # "10" before "9"
    assert codes.tolist() == expected_codes.tolist()


def test_two_arrays_coded_together_as_if_joined():
    rng = np.random.default_rng(5)
    first = np.array(["m-3", "m-1", "m-2"])[rng.integers(0, 3, 9000)]
    second = np.array(["m-1", "m-4", "m-0"])[rng.integers(0, 3, 7000)]
    (codes_first, codes_second), names = encode_together(first, second)
    joined_codes, joined_names = encode(np.concatenate([first, second]))
    assert names.tolist() == joined_names.tolist()
    assert np.concatenate([codes_first, codes_second]).tolist() == joined_codes.tolist()


def _majority_by_hand(items, answers):
    """Per judgement, the other answers on its item counted one judgement at a time."""
    out = []
    for index, (item, answer) in enumerate(zip(items, answers, strict=True)):
        others = Counter(a for j, (i, a) in enumerate(zip(items, answers, strict=True)) if i == item and j != index)
        ranked = others.most_common()
        if not ranked or (len(ranked) > 1 and ranked[0][1] == ranked[1][1]):
            out.append(None)
        else:
            out.append(float(ranked[0][0] == answer))
    return out


def test_leave_one_out_majority_matches_counting_by_hand():
    rng = np.random.default_rng(6)
    items = rng.integers(0, 40, 400).tolist()
    answers = [["a", "b", "tie", "3"][k] for k in rng.integers(0, 4, 400)]
    agrees = leave_one_out_majority_agrees(items, answers)
    assert [None if np.isnan(value) else value for value in agrees.tolist()] == _majority_by_hand(items, answers)


def test_coach_quality_from_arrays_equals_from_lists():
    rng = np.random.default_rng(7)
    n = 6000
    coaches = rng.integers(0, 120, n)
    items = rng.integers(0, 1500, n)
    answers = np.array(["a", "b", "tie", "neither", "1", "5"])[rng.integers(0, 6, n)]
    gold = [None] * n
    for index in rng.choice(n, 300, replace=False).tolist():
        gold[index] = str(rng.choice(["a", "b", "5"]))
    seconds = rng.uniform(1, 60, n)
    seconds[rng.choice(n, 200, replace=False)] = np.nan
    needed = rng.uniform(5, 20, n)
    from_arrays = coach_quality(
        coaches, items, answers, gold_answers=np.array(gold, dtype=object), seconds=seconds, seconds_needed=needed
    )
    from_lists = coach_quality(
        [str(c) for c in coaches.tolist()],
        [str(i) for i in items.tolist()],
        answers.tolist(),
        gold_answers=gold,
        seconds=seconds.tolist(),
        seconds_needed=needed.tolist(),
    )
    assert from_arrays == from_lists
    by_hand = [c for c in coaches.tolist() if c == 7]
    row = next(r for r in from_arrays if r.coach == "7")
    assert row.n_judgements == len(by_hand)
    mine = coaches == 7
    assert row.median_seconds == float(np.median(seconds[mine & ~np.isnan(seconds)]))


def test_pairwise_figures_from_arrays_equal_from_lists():
    rng = np.random.default_rng(8)
    methods = np.array(["bm25", "clip", "fusion", "random"])
    n = 8000
    first, shift = rng.integers(0, 4, n), rng.integers(1, 4, n)
    a, b = methods[first], methods[(first + shift) % 4]
    outcome = rng.integers(0, 4, n)
    winner = np.where(outcome == 0, a, np.where(outcome == 1, b, np.where(outcome == 2, "tie", "neither")))
    queries = rng.integers(0, 300, n)
    assert compare_pairs(a, b, winner) == compare_pairs(a.tolist(), b.tolist(), winner.tolist())
    from_arrays = bradley_terry(a, b, winner, queries=queries, bootstrap=50, seed=1)
    from_lists = bradley_terry(
        a.tolist(), b.tolist(), winner.tolist(), queries=[f"{q}" for q in queries.tolist()], bootstrap=50, seed=1
    )
    assert from_arrays == from_lists
