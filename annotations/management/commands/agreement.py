"""``manage.py agreement FILE.csv --measure ...``: inter-rater agreement of any long-format ratings file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotations.research.ratings_file import (
    LongRatings,
    RatingsFileError,
    numeric_values,
    parse_number,
    read_long_ratings,
)
from annotations.research.stats import (
    ICC_FORMS,
    LEVELS,
    WEIGHTS,
    Agreement,
    StatisticError,
    cohen_kappa,
    fleiss_kappa,
    fleiss_kappa_missing,
    gwet_ac,
    intraclass_correlations,
    kendall_w,
    krippendorff_alpha,
    rating_table,
)
from retrieval_backend import command_args

MEASURES = ("alpha", "fleiss", "cohen", "ac1", "icc", "kendall_w")


class Command(BaseCommand):
    help = (
        "Agreement between raters in a CSV file with columns unit,rater,value (one row per rating; an empty "
        "value is a missing rating; at the nominal level values may be labels such as left or tie)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=command_args.path, help="CSV file with a header unit,rater,value")
        parser.add_argument("--measure", choices=MEASURES, required=True)
        parser.add_argument("--level", choices=LEVELS, help="level of measurement for alpha (default nominal)")
        parser.add_argument("--weights", choices=WEIGHTS, help="weights for cohen and ac1 (default none)")
        parser.add_argument(
            "--scale",
            type=command_args.text,
            help="the declared rating scale, comma-separated in order (1,2,3,4,5); weighted kappa and AC2 "
            "measure distances on it, and AC1 counts its categories",
        )
        parser.add_argument(
            "--bootstrap",
            type=command_args.resamples,
            default=0,
            metavar="N",
            help="resamples of units for a 95%% interval",
        )
        parser.add_argument(
            "--seed", type=command_args.seed, default=0, help="random seed of the bootstrap (default 0)"
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        measure = options["measure"]
        if options["level"] and measure != "alpha":
            raise CommandError("--level applies to --measure alpha only")
        if options["weights"] and measure not in ("cohen", "ac1"):
            raise CommandError("--weights applies to --measure cohen and --measure ac1 only")
        if options["scale"] and measure in ("alpha", "icc", "kendall_w"):
            raise CommandError(
                f"--scale has no effect on --measure {measure}, which works on the values themselves (alpha's "
                "distances come from the values rated and their counts); it applies to cohen, fleiss and ac1"
            )
        if options["bootstrap"] < 0:
            raise CommandError("--bootstrap takes a number of resamples, 0 or more")
        path: Path = options["file"]
        try:
            ratings = read_long_ratings(path)
            report = _measure(path, ratings, options)
        except (RatingsFileError, StatisticError) as error:
            raise CommandError(str(error)) from None
        report["n_missing"] = ratings.n_missing
        if options["json"]:
            self.stdout.write(json.dumps(report))
        else:
            self.stdout.write(_as_text(report))


def _measure(path: Path, ratings: LongRatings, options: dict[str, Any]) -> dict[str, Any]:
    measure, bootstrap, seed = options["measure"], options["bootstrap"], options["seed"]
    scale = _parse_scale(options["scale"])
    if measure in ("icc", "kendall_w"):
        values = numeric_values(path, ratings, "ICC" if measure == "icc" else "Kendall's W")
        if measure == "icc":
            icc = intraclass_correlations(*_named(ratings), values, bootstrap=bootstrap, seed=seed)
            report: dict[str, Any] = {
                "measure": "icc",
                "name": "intraclass correlations (Shrout and Fleiss 1979)",
                "value": icc.forms,
                "n_units": icc.n_units,
                "n_raters": icc.n_raters,
                "n_ratings": icc.n_units * icc.n_raters,
            }
            if bootstrap:
                report["ci95"] = icc.ci95
                report["n_resamples"] = icc.n_resamples
            return report
        result = kendall_w(*_named(ratings), values, bootstrap=bootstrap, seed=seed)
        return _report(measure, {}, result, len(ratings.rater_names), bootstrap)
    if measure == "alpha":
        level = options["level"] or "nominal"
        values = numeric_values(path, ratings, f"the {level} level") if level != "nominal" else _labels(ratings)
        result = krippendorff_alpha(ratings.units, values, level, bootstrap=bootstrap, seed=seed)
        return _report(measure, {"level": level}, result, _raters_of_pairable_units(ratings), bootstrap)
    weights = options["weights"] or "none"
    if weights != "none" and scale is None:
        raise CommandError(f"--weights {weights} needs --scale, the declared rating scale (for example 1,2,3,4,5)")
    values = _labels(ratings, numeric=scale is None or all(isinstance(item, float) for item in scale))
    if measure == "cohen":
        result = cohen_kappa(*_named(ratings), values, weights=weights, scale=scale, bootstrap=bootstrap, seed=seed)
        return _report(measure, {"weights": weights}, result, 2, bootstrap)
    table = rating_table(ratings.units, values, scale)
    extra = {"weights": weights, "categories": [_plain(item) for item in table.categories.tolist()]}
    if measure == "ac1":
        result = gwet_ac(table, weights=weights, bootstrap=bootstrap, seed=seed)
    elif table.raters_per_unit.min() == table.raters_per_unit.max():
        result = fleiss_kappa(table, bootstrap=bootstrap, seed=seed)
    else:
        result = fleiss_kappa_missing(table, bootstrap=bootstrap, seed=seed)
    return _report(measure, extra, result, _raters_of_pairable_units(ratings), bootstrap)


def _parse_scale(text: str | None) -> list[object] | None:
    """``1,2,3`` as numbers; labels when any item is not a number."""
    if text is None:
        return None
    items = [item.strip() for item in text.split(",") if item.strip()]
    if len(items) < 2:
        raise CommandError("--scale needs at least two categories separated by commas, for example 1,2,3,4,5")
    numbers = [parse_number(item) for item in items]
    return items if None in numbers else numbers


def _labels(ratings: LongRatings, numeric: bool = True) -> np.ndarray:
    """Values as numbers when every one is a number (so 1 and 1.0 are one category), else as labels."""
    names = ratings.value_names
    numbers = [parse_number(name) for name in names] if numeric else [None]
    if None in numbers:
        return np.asarray(names, dtype=object)[ratings.value_codes].astype(str)
    return np.asarray(numbers, dtype=np.float64)[ratings.value_codes]


def _named(ratings: LongRatings) -> tuple[np.ndarray, np.ndarray]:
    """Unit and rater names per rating, for statistics whose errors name a unit or a rater."""
    units = np.asarray(ratings.unit_names, dtype=object)[ratings.units].astype(str)
    return units, np.asarray(ratings.rater_names, dtype=object)[ratings.raters].astype(str)


def _raters_of_pairable_units(ratings: LongRatings) -> int:
    per_unit = np.bincount(ratings.units)
    return int(np.unique(ratings.raters[per_unit[ratings.units] >= 2]).size)


def _plain(item: object) -> object:
    return int(item) if isinstance(item, float) and item.is_integer() else item


def _report(measure: str, extra: dict[str, Any], result: Agreement, n_raters: int, bootstrap: int) -> dict[str, Any]:
    report: dict[str, Any] = {"measure": measure, **extra, "name": result.name, "value": result.value}
    report.update(n_units=result.n_units, n_raters=n_raters, n_ratings=result.n_ratings)
    if result.observed is not None:
        report.update(observed_agreement=result.observed, chance_agreement=result.expected)
    if bootstrap:
        report["ci95"] = list(result.ci95) if result.ci95 else None
        report["n_resamples"] = result.n_resamples
    return report


def _as_text(report: dict[str, Any]) -> str:
    lines = []
    if report["measure"] == "icc":
        lines.append(f"{report['name']}, {report['n_units']} units x {report['n_raters']} raters")
        for form in ICC_FORMS:
            interval = report.get("ci95", {}).get(form)
            lines.append(f"  {form:9} {report['value'][form]:7.3f}{_interval_text(interval)}")
    else:
        lines.append(f"{report['name']}: {report['value']:.3f}{_interval_text(report.get('ci95'))}")
        lines.append(f"  units: {report['n_units']}  raters: {report['n_raters']}  ratings: {report['n_ratings']}")
        if "categories" in report:
            lines.append(f"  categories: {', '.join(map(str, report['categories']))}")
    if "n_resamples" in report:
        lines.append(f"  95% interval: percentile bootstrap, {report['n_resamples']} resamples of units")
    if report["n_missing"]:
        lines.append(f"  empty values (missing ratings) skipped: {report['n_missing']}")
    return "\n".join(lines)


def _interval_text(interval: list[float] | tuple[float, float] | None) -> str:
    return f"  (95% interval {interval[0]:.3f} to {interval[1]:.3f})" if interval else ""
