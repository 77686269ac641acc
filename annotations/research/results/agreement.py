"""Inter-coach agreement of a study, per kind, overall and within subsets (a sport, a method pair).

Units are items and raters are coaches: each item was judged by ``raters_per_item`` coaches (fewer
while the study runs). Pairwise answers are compared as the stored winner (a, b, tie, neither),
which is the same answer whichever side the clip was shown on; Likert scores at the ordinal and
interval levels. Plain numpy over arrays: no Django.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from annotations.research.stats import (
    Agreement,
    StatisticError,
    fleiss_kappa,
    fleiss_kappa_missing,
    krippendorff_alpha,
    percent_agreement,
    rating_table,
)

PAIRWISE_ANSWERS = ("a", "b", "tie", "neither")

HOW_PAIRWISE = (
    "Units are items, raters are coaches; each answer is the stored winner (clip a, clip b, tie, neither), "
    "so the side a clip was shown on does not matter. Flagged judgements and gold items are left out. "
    "Krippendorff's alpha at the nominal level (items with one answer drop out), with a percentile bootstrap "
    "95% interval resampling items; Fleiss' kappa when every item has the same number of answers, otherwise "
    "Fleiss' kappa generalised to missing ratings (Gwet 2014), named as such; percent agreement is the share "
    "of agreeing coach pairs within an item, averaged over items with two or more answers."
)
HOW_LIKERT = (
    "Units are items (a clip for a query), raters are coaches, values are scores on the declared scale. "
    "Flagged judgements and gold items are left out. Krippendorff's alpha at the ordinal and interval levels "
    "with percentile bootstrap 95% intervals resampling items; Fleiss' kappa (or its generalisation to "
    "missing ratings, Gwet 2014) treats the scale points as unordered categories of the declared scale; "
    "percent agreement counts exact matches."
)


def agreement_record(result: Agreement) -> dict[str, Any]:
    return {
        "name": result.name,
        "value": result.value,
        "ci95": list(result.ci95) if result.ci95 else None,
        "n_units": result.n_units,
        "n_ratings": result.n_ratings,
        "n_resamples": result.n_resamples,
    }


def _attempt(name: str, compute) -> dict[str, Any]:
    """The measure, or why it can't be computed on these data (never a NaN)."""
    try:
        return agreement_record(compute())
    except StatisticError as error:
        return {"name": name, "value": None, "unavailable": str(error)}


def _fleiss(units: np.ndarray, values: np.ndarray, scale: Sequence[object]) -> dict[str, Any]:
    def compute() -> Agreement:
        table = rating_table(units, values, scale)
        per_unit = table.raters_per_unit
        if per_unit.min() == per_unit.max() >= 2:
            return fleiss_kappa(table)
        return fleiss_kappa_missing(table)

    return _attempt("Fleiss' kappa", compute)


def _percent(units: np.ndarray, values: np.ndarray, scale: Sequence[object]) -> dict[str, Any]:
    return _attempt("percent agreement", lambda: percent_agreement(rating_table(units, values, scale)))


def pairwise_agreement(units: np.ndarray, winners: np.ndarray, *, bootstrap: int, seed: int) -> dict[str, Any]:
    """Agreement among coaches on pairwise items: ``units`` are item ids, ``winners`` stored answers."""
    return {
        "n_items": int(np.unique(units).size),
        "n_judgements": int(units.size),
        "alpha_nominal": _attempt(
            "Krippendorff's alpha (nominal)",
            lambda: krippendorff_alpha(units, winners, "nominal", bootstrap=bootstrap, seed=seed),
        ),
        "fleiss": _fleiss(units, winners, PAIRWISE_ANSWERS),
        "percent": _percent(units, winners, PAIRWISE_ANSWERS),
    }


def likert_agreement(
    units: np.ndarray, scores: np.ndarray, scale: Sequence[int], *, bootstrap: int, seed: int
) -> dict[str, Any]:
    """Agreement among coaches on Likert items."""
    values = scores.astype(np.int64)
    return {
        "n_items": int(np.unique(units).size),
        "n_judgements": int(units.size),
        "alpha_ordinal": _attempt(
            "Krippendorff's alpha (ordinal)",
            lambda: krippendorff_alpha(units, scores, "ordinal", bootstrap=bootstrap, seed=seed),
        ),
        "alpha_interval": _attempt(
            "Krippendorff's alpha (interval)",
            lambda: krippendorff_alpha(units, scores, "interval", bootstrap=bootstrap, seed=seed),
        ),
        "fleiss": _fleiss(units, values, list(scale)),
        "percent": _percent(units, values, list(scale)),
    }
