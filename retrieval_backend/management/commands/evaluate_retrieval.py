"""``manage.py evaluate_retrieval [--methods NAME[,NAME]] [--json]``: Recall@K, median rank and mAP per method."""

from __future__ import annotations

import json
import math
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from retrieval_backend import command_args
from retrieval_backend.evaluation import CUTOFFS, MethodEvaluation, evaluate_methods
from retrieval_backend.method_lookup import resolve_methods
from retrieval_backend.models import RetrievalMethod

NOTES = [
    "Recall@K: share of queries with at least one known positive in their top K.",
    "Median rank: of the first known positive; a query whose set holds none counts as ranked beyond the set "
    "(infinitely far), so the median reads '>k' when more than half the queries found none.",
    "mAP: mean over queries of average precision over all known positives; positives not in the set count 0.",
    "Queries without known positives are left out, and so are queries the method has no candidate set for.",
]


class Command(BaseCommand):
    help = (
        "Evaluate stored candidate sets against the queries' known positives: Recall@1/5/10/50, median rank "
        "of the first positive and mAP per method, as a table or with --json as JSON. Only what was stored "
        "is seen: with sets of depth k, Recall@K for K > k counts positives within the top k only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--methods",
            type=command_args.text,
            help="comma-separated method names (default: every method with candidate sets)",
        )
        parser.add_argument("--json", dest="as_json", action="store_true", help="print JSON instead of a table")

    def handle(self, *args, methods: str | None, as_json: bool, **options) -> None:
        if methods is None:
            chosen = list(RetrievalMethod.objects.filter(candidate_sets__isnull=False).distinct().order_by("name"))
            if not chosen:
                raise CommandError("no method has candidate sets yet: run generate_candidates or import_candidates.")
        else:
            chosen = resolve_methods(methods)
        with_positives, evaluations = evaluate_methods(chosen)
        if with_positives == 0:
            raise CommandError(
                "no mistake query has known positives, so there is nothing to measure recall against; "
                "add positive clips to queries (admin, or the positives field of the query import)."
            )
        if as_json:
            self.stdout.write(_as_json(with_positives, evaluations))
        else:
            self.stdout.write(_as_table(with_positives, evaluations))


def _number(value: float) -> float | None:
    return None if math.isnan(value) or math.isinf(value) else value


def _as_json(with_positives: int, evaluations: list[MethodEvaluation]) -> str:
    methods: list[dict[str, Any]] = []
    for evaluation in evaluations:
        s = evaluation.scores
        methods.append(
            {
                "method": evaluation.method,
                "queries": s.queries,
                "queries_without_candidates": evaluation.without_candidates,
                "recall": {str(k): _number(v) for k, v in s.recall.items()},
                "median_first_positive_rank": _number(s.median_rank),
                "median_rank_beyond_depth": math.isinf(s.median_rank),
                "map": _number(s.mean_average_precision),
                "queries_with_no_positive_retrieved": s.not_retrieved,
                "depth": s.depth,
                "recall_limited_by_depth": s.limited_by_depth,
            }
        )
    return json.dumps(
        {"queries_with_positives": with_positives, "cutoffs": list(CUTOFFS), "methods": methods, "notes": NOTES},
        indent=2,
    )


def _as_table(with_positives: int, evaluations: list[MethodEvaluation]) -> str:
    header = ["method", "queries", *(f"R@{k}" for k in CUTOFFS), "median rank", "mAP", "none found"]
    rows = [header]
    limited = False
    for evaluation in evaluations:
        s = evaluation.scores
        recalls = []
        for k in CUTOFFS:
            mark = "*" if k in s.limited_by_depth else ""
            limited = limited or bool(mark)
            recalls.append(_fixed(s.recall[k]) + mark)
        if math.isinf(s.median_rank):
            median = f">{s.depth}"
        elif math.isnan(s.median_rank):
            median = "-"
        else:
            median = f"{s.median_rank:g}"
        rows.append(
            [
                evaluation.method,
                str(s.queries),
                *recalls,
                median,
                _fixed(s.mean_average_precision),
                str(s.not_retrieved),
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(_align(row, widths)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    lines.append(f"{with_positives} queries have known positives.")
    for evaluation in evaluations:
        if evaluation.without_candidates:
            lines.append(
                f"{evaluation.method}: {evaluation.without_candidates} of them have no candidate set from it "
                "and are left out; generate or import them."
            )
    if limited:
        lines.append(
            "* lower bound: the candidate sets are shallower than K, so positives below their depth are not "
            "seen. Generate with a larger --k for an exact figure."
        )
    lines.extend(NOTES)
    return "\n".join(lines)


def _fixed(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.3f}"


def _align(row: list[str], widths: list[int]) -> list[str]:
    # Names read left-aligned, numbers right-aligned so their decimals line up.
    return [
        cell.ljust(width) if i == 0 else cell.rjust(width)
        for i, (cell, width) in enumerate(zip(row, widths, strict=True))
    ]
