"""A study's results as one JSON-able dict: agreement, leaderboard, win rates, Likert scores, coach quality.

This is the thin service between the database and ``annotations.research.stats``: it loads arrays
(``loading``), maps stored winners a/b to the methods credited to each clip, leaves out flagged
judgements everywhere and gold items everywhere but coach quality, and calls the pure functions.
Every section carries a ``how`` note saying how its figures were computed, for the report page,
the dataset card and anyone reading the JSON. Bootstraps are seeded with the study's seed, so the
same judgements give the same numbers.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np

from annotations.research.pseudonyms import coach_pseudonym
from annotations.research.results.agreement import HOW_LIKERT, HOW_PAIRWISE, likert_agreement, pairwise_agreement
from annotations.research.results.loading import StudyData, load_study
from annotations.research.results.methods import leaderboard, likert_results
from annotations.research.results.quality import quality_results
from retrieval_backend.models import RetrievalMethod
from studies.models import Study

SCHEMA = 1
DEFAULT_BOOTSTRAP = 1000


def study_results(study: Study, *, bootstrap: int = DEFAULT_BOOTSTRAP) -> dict[str, Any]:
    """Compute every figure of the study report from the judgements as they are now."""
    data = load_study(study)
    names = _method_names(data)
    seed = int(study.seed)
    identical = [(names[first], names[second]) for first, second in data.identical_pairs]
    # The comparisons are the largest arrays after the judgements: computed from, and dropped, first.
    methods = leaderboard(*_comparisons(data, names), identical=identical, bootstrap=bootstrap, seed=seed)
    results: dict[str, Any] = {
        "schema": SCHEMA,
        "study": describe_study(study),
        "counts": _counts(data),
        "agreement": _agreement(data, names, bootstrap, seed),
    }
    results.update(methods)
    results["likert"] = _likert(data, names, bootstrap, seed)
    results["quality"] = _quality(data)
    return results


def describe_study(study: Study) -> dict[str, Any]:
    return {
        "slug": study.slug,
        "title": study.title,
        "kinds": study.kinds,
        "pairwise_question": study.pairwise_question if study.has_pairwise else None,
        "likert_question": study.likert_question if study.has_likert else None,
        "scale": study.scale_points() if study.has_likert else None,
        "scale_labels": {str(k): v for k, v in sorted((study.scale_labels or {}).items(), key=lambda kv: int(kv[0]))},
        "methods": sorted(study.methods.values_list("name", flat=True)),
        "raters_per_item": study.raters_per_item,
        "depth_k": study.depth_k,
        "gold_rate": study.gold_rate,
        "seed": study.seed,
        "status": study.status,
    }


def _method_names(data: StudyData) -> dict[int, str]:
    ids = set(np.unique(data.credits_a.method).tolist()) | set(np.unique(data.credits_b.method).tolist())
    ids |= {method for pair in data.identical_pairs for method in pair}
    names = dict(data.method_names)
    missing = ids - set(names)
    if missing:
        names.update(RetrievalMethod.objects.filter(id__in=missing).values_list("id", "name"))
    return {method: names.get(method, f"method-{method}") for method in ids | set(names)}


def _name_array(ids: np.ndarray, names: dict[int, str]) -> np.ndarray:
    """The names of method ids as an array of strings (looked up once per distinct id)."""
    if not ids.size:
        return np.array([], dtype=object).astype(str)
    distinct, inverse = np.unique(ids, return_inverse=True)
    return np.array([names[i] for i in distinct.tolist()], dtype=str)[inverse.reshape(-1)]


def _comparisons(data: StudyData, names: dict[int, str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(method a, method b, winner, query) per pairwise comparison, from counted non-gold judgements.

    A side credited to several methods yields one comparison per pair of its credits, so the
    winner "a" becomes the name of each method behind clip a.
    """
    rows = np.flatnonzero(data.method_rows & data.of_kind("pairwise"))
    owner_a, credit_a = data.credits_a.expand(data.item[rows])
    owner_b, credit_b = data.credits_b.expand(data.item[rows[owner_a]])
    judgement = rows[owner_a[owner_b]]
    first = data.credits_a.method[credit_a[owner_b]]
    second = data.credits_b.method[credit_b]
    keep = first != second
    judgement, first, second = judgement[keep], first[keep], second[keep]
    a, b = _name_array(first, names), _name_array(second, names)
    winner = data.winners(judgement)
    # The winning method's name where clip a or b won, else the stored answer (tie, neither).
    won_a, won_b = winner == "a", winner == "b"
    outcome = winner.astype(np.result_type(winner.dtype, a.dtype, b.dtype))
    del winner
    outcome[won_a] = a[won_a]
    outcome[won_b] = b[won_b]
    return a, b, outcome, data.item_query[data.item[judgement]]


def _pair_labels(data: StudyData, names: dict[int, str]) -> tuple[list[str], np.ndarray]:
    """Per item, "x vs y" for the methods on its two sides (sorted), or "" for items without both.

    Returned as the distinct labels and, per item, the position of its label among them: worked
    out once per distinct pair of credits, not once per item.
    """
    pairwise = np.flatnonzero(data.item_kind == 0)
    combined = data.credits_a.code[pairwise] * (int(data.credits_b.code.max(initial=0)) + 1)
    combined = combined + data.credits_b.code[pairwise]
    distinct, first, inverse = np.unique(combined, return_index=True, return_inverse=True)
    labels: list[str] = [""]
    position = {"": 0}
    distinct_codes = np.empty(distinct.size, dtype=np.int64)
    for slot, index in enumerate(pairwise[first].tolist()):
        sides = [
            data.credits_a.method[data.credits_a.start[index] : data.credits_a.start[index + 1]],
            data.credits_b.method[data.credits_b.start[index] : data.credits_b.start[index + 1]],
        ]
        label = ""
        if all(side.size for side in sides):
            label = " vs ".join(sorted({names[m] for side in sides for m in side.tolist()}))
        distinct_codes[slot] = position.setdefault(label, len(position))
        if distinct_codes[slot] == len(labels):
            labels.append(label)
    codes = np.zeros(data.item_id.size, dtype=np.int64)
    codes[pairwise] = distinct_codes[inverse.reshape(-1)]
    return labels, codes


def _agreement(data: StudyData, names: dict[int, str], bootstrap: int, seed: int) -> dict[str, Any]:
    result: dict[str, Any] = {}
    study = data.study
    sports = data.item_sport[data.item]
    if study.has_pairwise:
        rows = data.method_rows & data.of_kind("pairwise")
        units = data.item_id[data.item]

        def pairwise(mask: np.ndarray) -> dict[str, Any]:
            return pairwise_agreement(units[mask], data.winners(mask), bootstrap=bootstrap, seed=seed)

        labels, label_of_item = _pair_labels(data, names)
        pairs = label_of_item[data.item]
        used = np.unique(pairs[rows]).tolist()
        result["pairwise"] = {
            "how": HOW_PAIRWISE,
            "overall": pairwise(rows),
            "by_sport": {
                name: pairwise(rows & (sports == index))
                for index, name in sorted(enumerate(data.sport_names), key=lambda x: x[1])
                if (rows & (sports == index)).any()
            },
            "by_pair": {
                labels[code]: pairwise(rows & (pairs == code)) for code in sorted(used, key=labels.__getitem__)
            },
        }
    if study.has_likert:
        rows = data.method_rows & data.of_kind("likert")
        units, scale = data.item_id[data.item], study.scale_points()

        def likert(mask: np.ndarray) -> dict[str, Any]:
            return likert_agreement(units[mask], data.score[mask], scale, bootstrap=bootstrap, seed=seed)

        result["likert"] = {
            "how": HOW_LIKERT,
            "overall": likert(rows),
            "by_sport": {
                name: likert(rows & (sports == index))
                for index, name in sorted(enumerate(data.sport_names), key=lambda x: x[1])
                if (rows & (sports == index)).any()
            },
        }
    return result


def _likert(data: StudyData, names: dict[int, str], bootstrap: int, seed: int) -> dict[str, Any]:
    rows = np.flatnonzero(data.method_rows & data.of_kind("likert"))
    owner, credit = data.credits_a.expand(data.item[rows])
    judgement = rows[owner]
    return likert_results(
        _name_array(data.credits_a.method[credit], names),
        data.item_query[data.item[judgement]],
        data.credits_a.rank[credit],
        data.score[judgement],
        scale=data.study.scale_points(),
        bootstrap=bootstrap,
        seed=seed,
    )


def _pseudonyms(data: StudyData) -> dict[int, str]:
    return {coach: coach_pseudonym(data.study.slug, coach) for coach in np.unique(data.coach).tolist()}


def _quality(data: StudyData) -> dict[str, Any]:
    pseudonym = _pseudonyms(data)
    rows = np.flatnonzero(data.counted)
    items = data.item[rows]
    # Each answer as text: the stored winner, or the score written as an integer ("4").
    answers = data.winners(rows)
    scored = answers == ""
    distinct, inverse = np.unique(data.score[rows[scored]], return_inverse=True)
    score_text = np.array([str(int(score)) for score in distinct.tolist()], dtype=str)
    if score_text.dtype.itemsize > answers.dtype.itemsize:
        answers = answers.astype(score_text.dtype)
    answers[scored] = score_text[inverse.reshape(-1)]
    del scored, inverse
    # The accepted answer per judgement: None off gold items, so only gold items' answers are looked up
    # (and none at all without gold items).
    on_gold = np.flatnonzero(data.item_gold[items])
    gold_answers = None
    if on_gold.size:
        gold_answers = np.full(rows.size, None, dtype=object)
        gold_answers[on_gold] = [data.item_gold_answer[index] for index in items[on_gold].tolist()]
    flagged = Counter(pseudonym[coach] for coach in data.coach[data.flagged].tolist())
    # Coaches and items go in as small integer codes: the statistics turn them into text, and a
    # million 22-character pseudonyms would cost far more memory than a million 3-digit codes.
    coach_ids, coach_codes = np.unique(data.coach[rows], return_inverse=True)
    result = quality_results(
        coach_codes.reshape(-1),
        items,
        answers,
        gold_answers,
        data.server_ms[rows] / 1000.0,
        data.item_seconds_needed[items],
    )
    names = [pseudonym[int(coach)] for coach in coach_ids]
    by_code = {str(code): name for code, name in enumerate(names)}
    return _named_quality(result, by_code, dict(flagged))


def _named_quality(result: dict[str, Any], names: dict[str, str], flagged: dict[str, int]) -> dict[str, Any]:
    """Quality rows and warnings with coach codes replaced by pseudonyms, and coaches who only flagged added."""
    records = []
    for record in result["coaches"]:
        name = names[record["coach"]]
        records.append({**record, "coach": name, "n_flagged": flagged.get(name, 0)})
    answered = {record["coach"] for record in records}
    for name, count in flagged.items():
        if name not in answered:
            # Only flags: no figure to compute, but the researcher should see the coach.
            empty = dict.fromkeys(("gold_accuracy", "n_with_majority", "majority_agreement", "median_seconds"))
            records.append(
                {**empty, "coach": name, "n_judgements": 0, "n_gold": 0, "n_too_fast": 0, "n_flagged": count}
            )
    records.sort(key=lambda record: record["coach"])
    warnings = []
    for warning in result["warnings"]:
        code, _, rest = warning.partition(":")
        warnings.append(f"{names.get(code, code)}:{rest}")
    return {**result, "coaches": records, "warnings": warnings}


def _counts(data: StudyData) -> dict[str, Any]:
    counted = data.counted
    gold = data.item_gold[data.item]
    return {
        "items": int(data.item_id.size),
        "gold_items": int(data.item_gold.sum()),
        "judgements": int(data.judgement_id.size),
        "flagged": int(data.flagged.sum()),
        "counted": int((counted & ~gold).sum()),
        "on_gold": int((counted & gold).sum()),
        "pairwise": int((counted & ~gold & data.of_kind("pairwise")).sum()),
        "likert": int((counted & ~gold & data.of_kind("likert")).sum()),
        "coaches": int(np.unique(data.coach).size),
        "queries": int(np.unique(data.item_query[data.item]).size) if data.item.size else 0,
        "identical_not_shown": len(data.identical_pairs),
        "first_judgement": data.first_judgement.isoformat() if data.first_judgement else None,
        "last_change": data.last_judgement.isoformat() if data.last_judgement else None,
    }


def jsonable(value: Any) -> Any:
    """The results with NaN and infinities as None and numpy scalars as Python ones: JSON as PostgreSQL takes it."""
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
