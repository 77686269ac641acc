"""Coach quality figures: gold accuracy, leave-one-out majority agreement, time per item."""

from __future__ import annotations

import numpy as np
import pytest

from annotations.research.stats import StatisticError, coach_quality, leave_one_out_majority_agrees


def test_the_majority_leaves_the_judgement_itself_out():
    # Item 1: a, a, b. The b-judgement's others are a, a (majority a: disagrees); each a-judgement's
    # others are a, b (a tie: no majority). Item 2 has one judgement: no others, no majority.
    agrees = leave_one_out_majority_agrees([1, 1, 1, 2], ["a", "a", "b", "a"])
    assert agrees.tolist()[2] == 0.0
    assert np.isnan(agrees[[0, 1, 3]]).all()


def test_coach_quality_per_coach():
    coaches = ["ana", "ana", "ana", "ben", "ben", "cy", "cy"]
    items = [1, 2, 3, 1, 2, 1, 2]
    answers = ["left", "right", "tie", "left", "left", "left", "right"]
    gold = [None, None, "tie", None, None, None, None]
    seconds = [12.0, 30.0, 4.0, 20.0, 22.0, 18.0, np.nan]
    needed = [10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0]
    rows = {
        row.coach: row
        for row in coach_quality(coaches, items, answers, gold_answers=gold, seconds=seconds, seconds_needed=needed)
    }
    ana = rows["ana"]
    assert (ana.n_judgements, ana.n_gold, ana.gold_accuracy) == (3, 1, 1.0)
    # Item 1: others of ana are left, left -> agrees; item 2: others are left, right -> tie, no majority.
    assert (ana.n_with_majority, ana.majority_agreement) == (1, 1.0)
    assert ana.median_seconds == 12.0
    assert ana.n_too_fast == 1
    assert rows["ben"].gold_accuracy is None
    assert rows["cy"].median_seconds == 18.0


def test_no_judgements_is_an_error():
    with pytest.raises(StatisticError, match="no judgements"):
        coach_quality([], [], [])
