"""Agreement and ranking statistics: pure functions over arrays, no Django import.

Each coefficient is reported under its own published name, raises ``StatisticError`` (a ValueError
saying what the data lack) rather than returning NaN, and takes ``bootstrap=N`` for a percentile 95%
interval from resampling units (agreement) or queries (method comparisons).
"""

from __future__ import annotations

from annotations.research.stats.alpha import LEVELS, krippendorff_alpha
from annotations.research.stats.bradley_terry import Leaderboard, MethodStrength, bradley_terry
from annotations.research.stats.concordance import kendall_w, kendall_w_from_matrix
from annotations.research.stats.errors import StatisticError
from annotations.research.stats.icc import FORMS as ICC_FORMS
from annotations.research.stats.icc import IntraclassCorrelations, icc_from_matrix, intraclass_correlations
from annotations.research.stats.kappa import cohen_kappa, fleiss_kappa, fleiss_kappa_missing, gwet_ac, percent_agreement
from annotations.research.stats.likert import likert_summary, paired_wilcoxon, score_by_rank
from annotations.research.stats.multiple_testing import holm
from annotations.research.stats.pairwise import PairResult, compare_pairs, winners_from_sides
from annotations.research.stats.quality import CoachQuality, coach_quality, leave_one_out_majority_agrees
from annotations.research.stats.result import Agreement
from annotations.research.stats.table import WEIGHTS, RatingTable, rating_table

__all__ = [
    "ICC_FORMS",
    "LEVELS",
    "WEIGHTS",
    "Agreement",
    "CoachQuality",
    "IntraclassCorrelations",
    "Leaderboard",
    "MethodStrength",
    "PairResult",
    "RatingTable",
    "StatisticError",
    "bradley_terry",
    "coach_quality",
    "cohen_kappa",
    "compare_pairs",
    "fleiss_kappa",
    "fleiss_kappa_missing",
    "gwet_ac",
    "holm",
    "icc_from_matrix",
    "intraclass_correlations",
    "kendall_w",
    "kendall_w_from_matrix",
    "krippendorff_alpha",
    "leave_one_out_majority_agrees",
    "likert_summary",
    "paired_wilcoxon",
    "percent_agreement",
    "rating_table",
    "score_by_rank",
    "winners_from_sides",
]
