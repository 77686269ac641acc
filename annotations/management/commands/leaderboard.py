"""``manage.py leaderboard FILE.csv``: Bradley-Terry strengths of methods from pairwise outcomes in a CSV file."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotations.research.ratings_file import RatingsFileError, read_comparisons
from annotations.research.stats import StatisticError, bradley_terry, compare_pairs
from retrieval_backend import command_args


class Command(BaseCommand):
    help = (
        "Leaderboard of methods from a CSV file with columns a,b,winner (winner is a's name, b's name, tie or "
        "neither; an optional query column makes the bootstrap resample queries instead of comparisons)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=command_args.path, help="CSV file with a header a,b,winner[,query]")
        parser.add_argument(
            "--bootstrap",
            type=command_args.resamples,
            default=1000,
            metavar="N",
            help="resamples for the 95%% intervals (default 1000)",
        )
        parser.add_argument(
            "--seed", type=command_args.seed, default=0, help="random seed of the bootstrap (default 0)"
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["bootstrap"] < 0:
            raise CommandError("--bootstrap takes a number of resamples, 0 or more")
        try:
            comparisons = read_comparisons(options["file"])
            board = bradley_terry(
                comparisons.a,
                comparisons.b,
                comparisons.winner,
                queries=comparisons.queries,
                bootstrap=options["bootstrap"],
                seed=options["seed"],
            )
            pairs = compare_pairs(comparisons.a, comparisons.b, comparisons.winner)
        except (RatingsFileError, StatisticError) as error:
            raise CommandError(str(error)) from None
        report = {
            "methods": [dataclasses.asdict(row) for row in board.methods],
            "pairs": [dataclasses.asdict(pair) for pair in pairs],
            "n_comparisons": board.n_comparisons,
            "ties": board.ties,
            "resampled": board.resampled,
            "n_resamples": board.n_resamples,
            "n_resamples_dropped": board.n_resamples_dropped,
            "estimator": board.estimator,
        }
        self.stdout.write(json.dumps(report) if options["json"] else _as_text(report))


def _as_text(report: dict[str, Any]) -> str:
    lines = [f"{'method':24} {'log-strength':>12}  {'95% interval':>17}  {'wins':>6} {'losses':>6} {'ties':>6}"]
    for row in report["methods"]:
        interval = f"{row['ci95'][0]:7.3f} to {row['ci95'][1]:6.3f}" if row["ci95"] else "-"
        lines.append(
            f"{row['method']:24} {row['log_strength']:12.3f}  {interval:>17}  "
            f"{row['wins']:6d} {row['losses']:6d} {row['ties']:6d}"
        )
    lines.append("")
    lines.append(
        f"Bradley-Terry by {report['estimator']}, over {report['n_comparisons']} comparisons; "
        "log-strengths centred at 0."
    )
    lines.append(f"Ties: {report['ties']}.")
    if report["n_resamples"] or report["n_resamples_dropped"]:
        lines.append(
            f"Intervals: percentile bootstrap over {report['n_resamples']} resamples of {report['resampled']}"
            + (
                f" ({report['n_resamples_dropped']} resamples without a finite maximum left out)"
                if report["n_resamples_dropped"]
                else ""
            )
            + "."
        )
    lines.append("")
    lines.append(
        f"{'pair':40} {'wins':>5} {'losses':>6} {'ties':>5} {'neither':>7} {'win rate':>9}  {'sign test p (Holm)':>18}"
    )
    for pair in report["pairs"]:
        name = f"{pair['method_a']} vs {pair['method_b']}"
        rate = f"{pair['win_rate']:.3f}" if pair["win_rate"] is not None else "-"
        p = f"{pair['p_holm']:.3g}" if pair["p_holm"] is not None else "-"
        lines.append(
            f"{name:40} {pair['wins']:5d} {pair['losses']:6d} {pair['ties']:5d} {pair['neither']:7d} {rate:>9}  {p:>18}"
        )
    lines.append("Win rate: wins / (wins + losses), Wilson interval in --json; sign test two-sided, Holm across pairs.")
    return "\n".join(lines)
