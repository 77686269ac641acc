"""A study's results from real judgements: sides mapped to methods, gold and flags left out, known winners found."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from annotations.coach.judging import Answer
from annotations.models import Judgement
from annotations.research.results.service import jsonable, study_results
from studies.models import Item
from tests.annotations.judged_study import judge_everything, open_study, prefer, screen_side

pytestmark = pytest.mark.django_db
BOOTSTRAP = 200


def test_a_coach_who_always_picks_left_on_swapped_items_favours_the_right_method(db):
    judged = open_study(kinds="pairwise")
    Item.objects.filter(study=judged.study).update(swapped=True)
    # Clip a (alpha's) is on the right everywhere, so "left" is always beta's clip. One "equal" per
    # coach keeps the Bradley-Terry maximum finite.
    ties = itertools.count()

    def left_mostly(coach, item):
        return Answer(choice="equal" if next(ties) % 10 == 0 else "left")

    judge_everything(judged, left_mostly)
    results = study_results(judged.study, bootstrap=BOOTSTRAP)
    (pair,) = results["pairs"]["rows"]
    assert (pair["method_a"], pair["method_b"]) == ("alpha", "beta")
    assert pair["wins"] == 0  # alpha never won
    assert pair["losses"] == Judgement.objects.filter(choice="left").count()
    assert pair["ties"] == Judgement.objects.filter(choice="equal").count()
    board = results["leaderboard"]["methods"]
    assert [row["method"] for row in board] == ["beta", "alpha"]
    assert board[0]["wins"] == pair["losses"]
    assert results["win_matrix"]["win_rate"][0][1] == 1.0  # beta's row, alpha's column


def test_the_method_coaches_prefer_tops_the_leaderboard_whatever_the_sides(db):
    judged = open_study(kinds="pairwise", methods=("alpha", "beta", "gamma"), n_queries=3)
    items = Item.objects.filter(study=judged.study)
    assert items.filter(swapped=True).exists()
    assert items.filter(swapped=False).exists()
    judge_everything(judged, prefer(judged, ["gamma", "alpha", "beta"], tie_every=7))
    results = study_results(judged.study, bootstrap=BOOTSTRAP)
    assert results["leaderboard"]["methods"][0]["method"] == "gamma"
    rows = {(r["method_a"], r["method_b"]): r for r in results["pairs"]["rows"]}
    # Every decisive judgement went to the preferred method: win rates of 0 or 1, significant after Holm.
    assert rows[("alpha", "beta")]["win_rate"] == 1.0
    assert rows[("alpha", "gamma")]["win_rate"] == 0.0
    assert rows[("beta", "gamma")]["win_rate"] == 0.0
    assert all(r["p_holm"] < 0.05 for r in rows.values())
    # Rank 1 was the same clip for every method in this gallery: those comparisons were not shown.
    assert all(r["identical_not_shown"] >= 3 for r in rows.values())
    low, high = rows[("alpha", "beta")]["win_rate_ci95"]
    assert 0.0 < low < 1.0 == high
    matrix = results["win_matrix"]
    gamma, beta = matrix["methods"].index("gamma"), matrix["methods"].index("beta")
    assert matrix["win_rate"][gamma][beta] == 1.0
    assert matrix["win_rate"][beta][gamma] == 0.0
    strengths = [row["log_strength"] for row in results["leaderboard"]["methods"]]
    assert [row["method"] for row in results["leaderboard"]["methods"]] == ["gamma", "alpha", "beta"]
    assert strengths == sorted(strengths, reverse=True)
    assert set(results["agreement"]["pairwise"]["by_pair"]) == {"alpha vs beta", "alpha vs gamma", "beta vs gamma"}


def test_gold_items_and_flags_stay_out_of_method_statistics(db):
    judged = open_study(kinds="pairwise", gold_rate=0.2)
    gold_items = Item.objects.filter(study=judged.study, is_gold=True)
    assert gold_items.exists()
    careless, _careful, flagger = judged.coaches
    flags = itertools.count()

    def answer(coach, item):
        if coach == flagger and next(flags) % 3 == 0:
            return Answer(flag="cant_judge")
        if item.is_gold:
            # The careless coach picks the unrelated clip on gold items.
            return Answer(choice=screen_side(item, "b" if coach == careless else "a"))
        return prefer(judged, ["beta", "alpha"])(coach, item)

    judge_everything(judged, answer)
    judgements = Judgement.objects.filter(study=judged.study)
    counted = judgements.filter(flag="", item__is_gold=False)
    assert judgements.filter(flag="cant_judge").exists()

    results = study_results(judged.study, bootstrap=BOOTSTRAP)
    counts = results["counts"]
    assert counts["flagged"] == judgements.exclude(flag="").count()
    assert counts["on_gold"] == judgements.filter(flag="", item__is_gold=True).count() > 0
    assert counts["counted"] == counts["pairwise"] == counted.count()
    assert results["leaderboard"]["n_comparisons"] == counted.count()
    assert results["agreement"]["pairwise"]["overall"]["n_judgements"] == counted.count()
    (pair,) = results["pairs"]["rows"]
    assert pair["wins"] + pair["losses"] + pair["ties"] + pair["neither"] == counted.count()

    quality = {row["coach"]: row for row in results["quality"]["coaches"]}
    by_name = {row["n_flagged"]: row for row in quality.values()}
    assert max(by_name) == judgements.exclude(flag="").count()  # the flagger's row counts the flags
    accuracies = sorted(row["gold_accuracy"] for row in quality.values() if row["gold_accuracy"] is not None)
    assert accuracies[0] == 0.0
    assert accuracies[-1] == 1.0
    assert any("gold items as expected" in warning for warning in results["quality"]["warnings"])


def test_a_likert_clip_returned_by_two_methods_counts_for_each(db):
    judged = open_study(kinds="likert")

    def score(coach, item):
        methods = {judged.method_of([credit]) for credit in item.credits_a}
        return Answer(score=3 if len(methods) == 2 else (2 if methods == {"alpha"} else 4))

    judge_everything(judged, score)
    results = study_results(judged.study, bootstrap=BOOTSTRAP)
    likert = results["likert"]
    items = list(Item.objects.filter(study=judged.study, kind="likert"))
    both = sum(1 for item in items if len(item.credits_a) == 2) * 3
    alpha_only = sum(1 for item in items if [c["method"] for c in item.credits_a] == [judged.method_ids["alpha"]]) * 3
    beta_only = sum(1 for item in items if [c["method"] for c in item.credits_a] == [judged.method_ids["beta"]]) * 3
    assert both > 0
    assert likert["distribution"]["points"] == [1, 2, 3, 4, 5]
    assert likert["distribution"]["counts"]["alpha"] == [0, alpha_only, both, 0, 0]
    assert likert["distribution"]["counts"]["beta"] == [0, 0, both, beta_only, 0]
    means = {row["method"]: row["mean"] for row in likert["methods"]}
    assert means["alpha"] < means["beta"]
    by_rank = {(row["method"], row["rank"]): row["mean"] for row in likert["by_rank"]["rows"]}
    assert by_rank[("alpha", 1)] == by_rank[("beta", 1)] == 3.0  # the shared rank-1 clip
    (test,) = likert["wilcoxon"]["rows"]
    assert test["n_queries"] == 4
    assert test["median_difference"] < 0
    assert results["agreement"]["likert"]["overall"]["percent"]["value"] == 1.0


def test_results_are_plain_json_with_a_note_on_how_each_figure_was_computed(db):
    judged = open_study()
    judge_everything(judged, prefer(judged, ["alpha", "beta"]))
    results = jsonable(study_results(judged.study, bootstrap=BOOTSTRAP))
    json.dumps(results, allow_nan=False)
    for section in (results["leaderboard"], results["pairs"], results["likert"], results["quality"]):
        assert section["how"]
    assert results["agreement"]["pairwise"]["how"]
    assert results["agreement"]["likert"]["how"]
    assert "half" in results["leaderboard"]["how"]  # the tie rule is stated
    # The same judgements give the same numbers (bootstraps are seeded by the study).
    assert jsonable(study_results(judged.study, bootstrap=BOOTSTRAP)) == results


def test_a_study_without_judgements_reports_what_is_missing(db):
    judged = open_study()
    results = jsonable(study_results(judged.study, bootstrap=BOOTSTRAP))
    assert results["counts"]["judgements"] == 0
    assert "no pairwise judgements" in results["leaderboard"]["unavailable"]
    assert "no Likert judgements" in results["likert"]["unavailable"]
    assert results["agreement"]["pairwise"]["overall"]["alpha_nominal"]["value"] is None


def test_a_leaderboard_early_in_a_study_is_shown_with_the_penalised_fit_rather_than_withheld():
    from annotations.research.results.methods import leaderboard

    # The random control has lost every comparison so far: no maximum-likelihood fit exists.
    a = np.array(["text", "visual", "text", "control", "visual", "control"])
    b = np.array(["control", "control", "visual", "text", "text", "visual"])
    winners = np.array(["text", "visual", "visual", "text", "tie", "visual"])
    queries = np.array([1, 1, 2, 2, 3, 3])
    board = leaderboard(a, b, winners, queries, identical=[], bootstrap=50, seed=0)["leaderboard"]
    assert "unavailable" not in board
    assert board["methods"][-1]["method"] == "control"
    assert board["estimator"].startswith("penalised maximum likelihood")
    assert "control never beat nor tied text, visual" in board["estimator"]
