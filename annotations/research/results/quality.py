"""Coach quality for the report: gold accuracy, leave-one-out majority agreement, time per item.

Gold items count here (that is what they are for) and nowhere else. Plain numpy: no Django.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from annotations.research.stats import coach_quality

HOW_QUALITY = (
    "Per coach, over their judgements that are not flagged. Gold accuracy: the share of gold items answered as "
    "expected (pairwise: the stored helpful clip; Likert: a score within the accepted range). Majority agreement: "
    "the share of judgements matching the most frequent answer of the other coaches on the same item (items "
    "with no other answer, or a tie at the top, don't count). Median seconds per item: from the page being "
    "served to the answer, measured by the server. Too fast: judgements submitted in less time than playing "
    "the query and the clip(s) once takes. These point at coaches to look at, not coaches to drop."
)


def expected_answers(gold_answers: Sequence[object], answers: Sequence[str]) -> np.ndarray:
    """Per judgement, the accepted answer on a gold item (None off gold), in the terms of ``answers``.

    A Likert gold check accepts a range of scores: a score inside it is its own accepted answer,
    one outside it is compared against the range written out, so it never matches. Only the
    judgements on gold items are looked at.
    """
    gold_answers = np.asarray(gold_answers, dtype=object)
    expected = np.full(gold_answers.size, None, dtype=object)
    on_gold = np.flatnonzero(np.fromiter((g is not None for g in gold_answers), dtype=bool, count=gold_answers.size))
    for index in on_gold.tolist():
        gold, answer = gold_answers[index], str(answers[index])
        if "choice" in gold:
            expected[index] = str(gold["choice"])
        else:
            low, high = gold.get("min"), gold.get("max")
            inside = answer.lstrip("-").isdigit() and (low is None or int(answer) >= low)
            inside = inside and (high is None or int(answer) <= high)
            expected[index] = answer if inside else f"{low}..{high}"
    return expected


def quality_results(
    coaches: Sequence[object],
    items: np.ndarray,
    answers: Sequence[str],
    gold_answers: Sequence[object] | None,
    seconds: np.ndarray,
    seconds_needed: np.ndarray,
) -> dict[str, Any]:
    """Per-coach records (named as ``coaches`` names them, as text) and warnings worth a look.

    ``gold_answers[i]``: the gold item's answer where judgement i is on one, else None (all None: pass None).
    """
    if len(coaches) == 0:
        return {"how": HOW_QUALITY, "coaches": [], "warnings": []}
    rows = coach_quality(
        coaches,
        items,
        answers,
        gold_answers=expected_answers(gold_answers, answers) if gold_answers is not None else None,
        seconds=seconds,
        seconds_needed=seconds_needed,
    )
    warnings = []
    for row in rows:
        if row.n_too_fast:
            warnings.append(
                f"{row.coach}: {row.n_too_fast} of {row.n_judgements} judgements were submitted faster than the "
                "clips could be watched once."
            )
        if row.gold_accuracy is not None and row.gold_accuracy < 0.5:
            warnings.append(f"{row.coach}: answered {row.gold_accuracy:.0%} of {row.n_gold} gold items as expected.")
    return {"how": HOW_QUALITY, "coaches": [dataclasses.asdict(row) for row in rows], "warnings": warnings}
