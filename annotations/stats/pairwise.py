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

from scipy.stats import binomtest

from annotations.stats.errors import StatisticError
from annotations.stats.multiple_testing import holm

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


def validate_outcomes(a: Sequence[str], b: Sequence[str], winner: Sequence[str]) -> None:
    """Raise StatisticError on the first comparison whose winner is neither side, tie nor neither."""
    if not (len(a) == len(b) == len(winner)):
        raise StatisticError("a, b and winner must be three sequences of one length")
    if len(a) == 0:
        raise StatisticError("there are no comparisons")
    for index, (first, second, won) in enumerate(zip(a, b, winner, strict=True)):
        if first == second:
            raise StatisticError(f"comparison {index}: a method is compared with itself ({first})")
        if won not in (first, second, TIE, NEITHER):
            raise StatisticError(
                f"comparison {index}: winner {won!r} is neither {first!r} nor {second!r} nor {TIE!r} nor {NEITHER!r}"
            )


def compare_pairs(a: Sequence[str], b: Sequence[str], winner: Sequence[str]) -> list[PairResult]:
    """Per method pair counts, win rate with Wilson interval, sign test and Holm-adjusted p-values."""
    validate_outcomes(a, b, winner)
    tallies: dict[tuple[str, str], list[int]] = {}
    for first, second, won in zip(a, b, winner, strict=True):
        pair = (first, second) if first < second else (second, first)
        tally = tallies.setdefault(pair, [0, 0, 0, 0])
        if won == pair[0]:
            tally[0] += 1
        elif won == pair[1]:
            tally[1] += 1
        else:
            tally[2 if won == TIE else 3] += 1
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
