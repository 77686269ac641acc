"""Coach quality: gold accuracy, agreement with the leave-one-out majority, time spent per item.

These flag coaches to look at, not coaches to drop: a coach who disagrees with the majority may be
the expert in the room. The leave-one-out majority of a judgement is the most frequent answer the
other coaches gave on the same item; an item with no other answer, or a tie at the top, has no
majority and does not count. A judgement is "too fast" when it took less time than watching the
clips it is about (the caller says how long that is, for example the query plus both clips).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from annotations.stats.coding import encode
from annotations.stats.errors import StatisticError


@dataclass(frozen=True)
class CoachQuality:
    """One coach's record."""

    coach: str
    n_judgements: int
    n_gold: int
    gold_accuracy: float | None
    n_with_majority: int
    majority_agreement: float | None
    median_seconds: float | None
    n_too_fast: int


def leave_one_out_majority_agrees(items: Sequence[object], answers: Sequence[object]) -> np.ndarray:
    """Per judgement: 1.0 if it matches the other coaches' majority on its item, 0.0 if not, NaN without a majority."""
    item_codes, _ = encode(np.asarray(items, dtype=object).astype(str))
    answer_codes, answer_names = encode(np.asarray(answers, dtype=object).astype(str))
    n_answers = answer_names.size
    counts = np.bincount(item_codes * n_answers + answer_codes, minlength=(int(item_codes.max()) + 1) * n_answers)
    others = counts.reshape(-1, n_answers)[item_codes].astype(np.int64)
    others[np.arange(others.shape[0]), answer_codes] -= 1
    top = others.max(axis=1)
    unique_top = (others == top[:, None]).sum(axis=1) == 1
    majority = others.argmax(axis=1)
    return np.where((top > 0) & unique_top, (majority == answer_codes).astype(np.float64), np.nan)


def coach_quality(
    coaches: Sequence[object],
    items: Sequence[object],
    answers: Sequence[object],
    *,
    gold_answers: Sequence[object | None] | None = None,
    seconds: Sequence[float] | None = None,
    seconds_needed: Sequence[float] | None = None,
) -> list[CoachQuality]:
    """Quality figures per coach; ``gold_answers[i]`` is None where judgement i is not on a gold item."""
    coach_codes, coach_names = encode(np.asarray(coaches, dtype=object).astype(str))
    n = coach_codes.size
    if n == 0:
        raise StatisticError("there are no judgements")
    if len(items) != n or len(answers) != n:
        raise StatisticError("coaches, items and answers must be three sequences of one length")
    agrees = leave_one_out_majority_agrees(items, answers)
    answer_text = np.asarray(answers, dtype=object).astype(str)
    if gold_answers is not None:
        gold = np.asarray(gold_answers, dtype=object)
        is_gold = np.array([answer is not None for answer in gold])
        correct = np.array([str(g) == a for g, a in zip(gold, answer_text, strict=True)])
    else:
        is_gold = correct = np.zeros(n, dtype=bool)
    took = np.asarray(seconds, dtype=np.float64) if seconds is not None else np.full(n, np.nan)
    needed = np.asarray(seconds_needed, dtype=np.float64) if seconds_needed is not None else np.full(n, np.nan)
    too_fast = took < needed  # False where either is unknown (NaN)
    records = []
    for code, name in enumerate(coach_names.tolist()):
        mine = coach_codes == code
        gold_mine = mine & is_gold
        majority_mine = mine & ~np.isnan(agrees)
        timed = took[mine & ~np.isnan(took)]
        records.append(
            CoachQuality(
                coach=str(name),
                n_judgements=int(mine.sum()),
                n_gold=int(gold_mine.sum()),
                gold_accuracy=float(correct[gold_mine].mean()) if gold_mine.any() else None,
                n_with_majority=int(majority_mine.sum()),
                majority_agreement=float(agrees[majority_mine].mean()) if majority_mine.any() else None,
                median_seconds=float(np.median(timed)) if timed.size else None,
                n_too_fast=int((mine & too_fast).sum()),
            )
        )
    return records
