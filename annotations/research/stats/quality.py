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

from annotations.research.stats.coding import as_text, encode, encode_text, group_codes
from annotations.research.stats.errors import StatisticError


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


def _share(count: np.integer, total: np.integer) -> float | None:
    """count / total, None without a total (the mean of that many 0/1 values, to the last bit)."""
    return int(count) / int(total) if total else None


def leave_one_out_majority_agrees(items: Sequence[object], answers: Sequence[object]) -> np.ndarray:
    """Per judgement: 1.0 if it matches the other coaches' majority on its item, 0.0 if not, NaN without a majority."""
    answer_codes, answer_names = encode_text(answers)
    agrees = _majority_agrees(group_codes(items), answer_codes, answer_names.size)
    return np.where(agrees < 0, np.nan, agrees.astype(np.float64))


def _majority_agrees(item_codes: np.ndarray, answer_codes: np.ndarray, n_answers: int) -> np.ndarray:
    """Per judgement 1 (agrees), 0 (doesn't) or -1 (no majority), worked out once per (item, answer)."""
    counts = np.bincount(item_codes * n_answers + answer_codes, minlength=(int(item_codes.max()) + 1) * n_answers)
    counts = counts.reshape(-1, n_answers)
    outcome = np.full(counts.shape, -1, dtype=np.int8)
    for answer in range(n_answers):
        given = np.flatnonzero(counts[:, answer])
        others = counts[given]
        others[:, answer] -= 1  # the other coaches' answers on the items where someone gave this one
        top = others.max(axis=1)
        unique_top = (others == top[:, None]).sum(axis=1) == 1
        outcome[given, answer] = np.where((top > 0) & unique_top, others.argmax(axis=1) == answer, -1)
    return outcome[item_codes, answer_codes]


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
    coach_codes, coach_names = encode_text(coaches)
    n = coach_codes.size
    if n == 0:
        raise StatisticError("there are no judgements")
    if len(items) != n or len(answers) != n:
        raise StatisticError("coaches, items and answers must be three sequences of one length")
    answer_text = as_text(answers)
    answer_codes, answer_names = encode(answer_text)
    agrees = _majority_agrees(group_codes(items), answer_codes, answer_names.size)
    is_gold = np.zeros(n, dtype=bool)
    correct = np.zeros(n, dtype=bool)
    if gold_answers is not None:
        gold = np.asarray(gold_answers, dtype=object)
        is_gold = np.fromiter((answer is not None for answer in gold), dtype=bool, count=n)
        on_gold = np.flatnonzero(is_gold)
        correct[on_gold] = [str(g) == a for g, a in zip(gold[on_gold], answer_text[on_gold].tolist(), strict=True)]
    took = np.asarray(seconds, dtype=np.float64) if seconds is not None else np.full(n, np.nan)
    needed = np.asarray(seconds_needed, dtype=np.float64) if seconds_needed is not None else np.full(n, np.nan)
    too_fast = took < needed  # False where either is unknown (NaN)
    n_coaches = coach_names.size

    def per_coach(mask: np.ndarray) -> np.ndarray:
        return np.bincount(coach_codes[mask], minlength=n_coaches)

    judged = np.bincount(coach_codes, minlength=n_coaches)
    gold_judged, gold_correct = per_coach(is_gold), per_coach(is_gold & correct)
    majority_judged, majority_agreed = per_coach(agrees >= 0), per_coach(agrees == 1)
    del agrees
    fast = per_coach(too_fast)
    # Each coach's timed judgements as one slice of a sorted copy: a median per slice, not a scan per coach.
    # A stable sort keeps each coach's judgements in their order.
    if np.isnan(took).any():
        timed = np.flatnonzero(~np.isnan(took))
        by_coach = timed[np.argsort(coach_codes[timed], kind="stable")]
        bounds = np.concatenate([[0], np.cumsum(np.bincount(coach_codes[timed], minlength=n_coaches))])
    else:
        by_coach = np.argsort(coach_codes, kind="stable")
        bounds = np.concatenate([[0], np.cumsum(judged)])
    records = []
    for code, name in enumerate(coach_names.tolist()):
        times = took[by_coach[bounds[code] : bounds[code + 1]]]
        records.append(
            CoachQuality(
                coach=str(name),
                n_judgements=int(judged[code]),
                n_gold=int(gold_judged[code]),
                gold_accuracy=_share(gold_correct[code], gold_judged[code]),
                n_with_majority=int(majority_judged[code]),
                majority_agreement=_share(majority_agreed[code], majority_judged[code]),
                median_seconds=float(np.median(times)) if times.size else None,
                n_too_fast=int(fast[code]),
            )
        )
    return records
