"""Head-to-head counts between retrieval methods from pairwise judgements.

Coaches see two clips side by side; which side shows which method is randomised, so outcomes are
mapped from screen sides back to methods (``winners_from_sides``) before anything is counted.
For each pair of methods: wins, losses, ties ("both help equally") and "neither helps"; the win rate
is wins / (wins + losses) with a Wilson 95% interval, the sign test is the two-sided binomial test of
wins against losses at 1/2 (ties and "neither" carry no direction and are left out), and its p-values
are Holm-corrected across all pairs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import binomtest

from annotations.research.stats.coding import as_text, encode_together
from annotations.research.stats.errors import StatisticError
from annotations.research.stats.multiple_testing import holm

TIE = "tie"
NEITHER = "neither"
SIDES = ("left", "right", TIE, NEITHER)


@dataclass(frozen=True)
class PairResult:
    """The record of ``method_a`` against ``method_b`` (names in sorted order)."""

    method_a: str
    method_b: str
    wins: int  # method_a judged more helpful
    losses: int  # method_b judged more helpful
    ties: int
    neither: int
    win_rate: float | None  # wins / (wins + losses); None without a decisive judgement
    win_rate_ci95: tuple[float, float] | None  # Wilson score interval
    p_value: float | None  # two-sided sign test
    p_holm: float | None  # Holm-adjusted across pairs


def winners_from_sides(choices: Sequence[str], left_methods: Sequence[str], right_methods: Sequence[str]) -> list[str]:
    """The winning method's name (or ``tie`` / ``neither``) for choices made on screen sides."""
    winners = []
    for index, (choice, left, right) in enumerate(zip(choices, left_methods, right_methods, strict=True)):
        if choice == "left":
            winners.append(left)
        elif choice == "right":
            winners.append(right)
        elif choice in (TIE, NEITHER):
            winners.append(choice)
        else:
            raise StatisticError(f"judgement {index}: unknown choice {choice!r}, expected one of {', '.join(SIDES)}")
    return winners


def _array(values: Sequence[object]) -> np.ndarray:
    """Names as an array compared element by element: strings as they are, anything else as objects."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "U":
        return values
    return np.asarray(values, dtype=object)


def _plain(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value


def validate_outcomes(a: Sequence[str], b: Sequence[str], winner: Sequence[str]) -> None:
    """Raise StatisticError on the first comparison whose winner is neither side, tie nor neither."""
    if not (len(a) == len(b) == len(winner)):
        raise StatisticError("a, b and winner must be three sequences of one length")
    if len(a) == 0:
        raise StatisticError("there are no comparisons")
    first, second, won = _array(a), _array(b), _array(winner)
    itself = first == second
    bad = itself | ~((won == first) | (won == second) | (won == TIE) | (won == NEITHER))
    if not bad.any():
        return
    index = int(np.argmax(bad))
    first, second, won = _plain(first[index]), _plain(second[index]), _plain(won[index])
    if itself[index]:
        raise StatisticError(f"comparison {index}: a method is compared with itself ({first})")
    raise StatisticError(
        f"comparison {index}: winner {won!r} is neither {first!r} nor {second!r} nor {TIE!r} nor {NEITHER!r}"
    )


def compare_pairs(a: Sequence[str], b: Sequence[str], winner: Sequence[str]) -> list[PairResult]:
    """Per method pair counts, win rate with Wilson interval, sign test and Holm-adjusted p-values."""
    validate_outcomes(a, b, winner)
    first, second, won = as_text(a), as_text(b), as_text(winner)
    (code_a, code_b), names = encode_together(first, second)
    # Names are coded in sorted order, so the smaller code of a comparison is its pair's first method.
    a_first = code_a < code_b
    low, high = np.where(a_first, code_a, code_b), np.where(a_first, code_b, code_a)
    won_a, won_b = won == first, won == second
    outcome = np.select([np.where(a_first, won_a, won_b), np.where(a_first, won_b, won_a), won == TIE], [0, 1, 2], 3)
    n_names = names.size
    pair_codes = low * n_names + high
    counts = np.bincount(pair_codes * 4 + outcome, minlength=n_names * n_names * 4).reshape(-1, 4)
    tallies: dict[tuple[str, str], list[int]] = {
        (str(names[code // n_names]), str(names[code % n_names])): [int(n) for n in counts[code]]
        for code in np.unique(pair_codes).tolist()
    }
    pairs = sorted(tallies)
    p_values, rates, intervals = [], [], []
    for pair in pairs:
        wins, losses = tallies[pair][:2]
        if wins + losses == 0:
            p_values.append(None)
            rates.append(None)
            intervals.append(None)
            continue
        test = binomtest(wins, wins + losses, 0.5, alternative="two-sided")
        interval = test.proportion_ci(confidence_level=0.95, method="wilson")
        p_values.append(float(test.pvalue))
        rates.append(wins / (wins + losses))
        intervals.append((float(interval.low), float(interval.high)))
    tested = [index for index, p in enumerate(p_values) if p is not None]
    adjusted = dict(zip(tested, holm([p_values[index] for index in tested]).tolist(), strict=True))
    return [
        PairResult(
            method_a=pair[0],
            method_b=pair[1],
            wins=tallies[pair][0],
            losses=tallies[pair][1],
            ties=tallies[pair][2],
            neither=tallies[pair][3],
            win_rate=rates[index],
            win_rate_ci95=intervals[index],
            p_value=p_values[index],
            p_holm=adjusted.get(index),
        )
        for index, pair in enumerate(pairs)
    ]
