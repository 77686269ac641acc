"""Items from candidate sets: Likert per distinct clip, pairwise per rank, balanced, seeded, idempotent."""

from __future__ import annotations

from collections import Counter

import pytest

from retrieval_backend.models import Candidate
from studies.items import build_items, plan_items
from studies.models import GoldCheck, Item, PairingOutcome, Study
from tests.factories import GoldCheckFactory, StudyFactory
from tests.studies.conftest import make_gallery

pytestmark = pytest.mark.django_db


def test_likert_items_are_one_per_distinct_clip_and_credit_every_method(study, gallery):
    _, _, queries, (alpha, beta) = gallery
    study.kinds = Study.Kinds.LIKERT
    build_items(study)
    for query in queries:
        returned = Counter(
            Candidate.objects.filter(candidate_set__query=query, rank__lte=5).values_list("clip_id", flat=True)
        )
        items = Item.objects.filter(study=study, query=query)
        assert sorted(items.values_list("clip_a_id", flat=True)) == sorted(returned)
        shared = next(item for item in items if returned[item.clip_a_id] == 2)
        assert {c["method"] for c in shared.credits_a} == {alpha.pk, beta.pk}
        assert all(c["rank"] == 1 for c in shared.credits_a)


def test_pairwise_items_pair_equal_ranks_and_record_identical_clips(study, gallery):
    _, _, queries, (alpha, beta) = gallery
    study.kinds = Study.Kinds.PAIRWISE
    report = build_items(study)
    # Rank 1 is the same clip for both methods in every query: not shown, recorded.
    assert report.identical_pairs == len(queries)
    assert PairingOutcome.objects.filter(study=study, rank=1).count() == len(queries)
    items = Item.objects.filter(study=study, kind="pairwise")
    assert items.count() == len(queries) * 4
    for item in items:
        rank = item.credits_a[0]["rank"]
        assert item.credits_b[0]["rank"] == rank
        assert item.credits_a[0]["method"] == alpha.pk
        assert item.credits_b[0]["method"] == beta.pk
        assert Candidate.objects.filter(
            candidate_set__method=alpha, candidate_set__query=item.query, rank=rank, clip=item.clip_a
        ).exists()
        assert item.clip_a_id != item.clip_b_id


@pytest.mark.parametrize("n_queries", [5, 6])
def test_each_method_sits_on_each_side_equally_often_give_or_take_one(db, n_queries):
    *_, methods = make_gallery(n_queries=n_queries, methods=("m1", "m2", "m3"), overlap=False)
    study = StudyFactory(title="t", slug="t", kinds="pairwise", depth_k=5, seed=3, methods=methods)
    build_items(study)
    by_pair = Counter()
    for item in Item.objects.filter(study=study):
        left_method = item.credits_b[0]["method"] if item.swapped else item.credits_a[0]["method"]
        pair = (item.credits_a[0]["method"], item.credits_b[0]["method"])
        by_pair[(pair, left_method)] += 1
    pairs = {pair for pair, _ in by_pair}
    assert len(pairs) == 3
    for pair in pairs:
        assert abs(by_pair[(pair, pair[0])] - by_pair[(pair, pair[1])]) <= 1


def test_building_twice_gives_the_same_items(study):
    first = build_items(study)
    snapshot = list(Item.objects.filter(study=study).values_list("key", "clip_a", "clip_b", "swapped", "order_key"))
    second = build_items(study)
    assert first.created == len(snapshot) > 0
    assert second.created == 0
    assert list(Item.objects.filter(study=study).values_list("key", "clip_a", "clip_b", "swapped", "order_key")) == (
        snapshot
    )


def test_the_seed_decides_placement_and_order(study):
    items_a, *_ = plan_items(study)
    study.seed = 12
    items_b, *_ = plan_items(study)
    assert [i.key for i in items_a] == [i.key for i in items_b]
    assert [(i.swapped, i.order_key) for i in items_a] != [(i.swapped, i.order_key) for i in items_b]


def test_gold_items_are_mixed_in_at_the_study_rate(study, gallery):
    _, clips, queries, _ = gallery
    GoldCheckFactory(study=study, kind="pairwise", query=queries[0], helpful_clip=clips[0], unrelated_clip=clips[1])
    GoldCheckFactory(study=study, kind="likert", query=queries[1], helpful_clip=clips[2], min_score=4, max_score=5)
    study.gold_rate = 0.1
    report = build_items(study)
    regular = report.likert + report.pairwise
    assert report.gold == pytest.approx(0.1 * (regular + report.gold), abs=1)
    gold = Item.objects.filter(study=study, is_gold=True)
    assert gold.count() == report.gold
    assert {g.kind for g in gold} == {"pairwise", "likert"}
    assert all(g.needed == study.raters_per_item for g in gold)


def _sequence(study: Study) -> list[tuple]:
    """The items as coaches meet them (by order key), told by content: no study, item or gold check ids."""
    return list(
        Item.objects.filter(study=study)
        .order_by("order_key", "kind", "query_id", "clip_a_id", "clip_b_id")
        .values_list(
            "order_key", "kind", "query_id", "clip_a_id", "clip_b_id", "swapped", "is_gold", "gold_answer", "needed"
        )
    )


def test_a_duplicate_with_the_same_seed_builds_the_same_items_in_the_same_order_gold_included(study, gallery):
    from studies.lifecycle import duplicate

    _, clips, queries, _ = gallery
    study.gold_rate = 0.2
    study.save()
    checks = [
        {"kind": "pairwise", "query": queries[0], "helpful_clip": clips[0], "unrelated_clip": clips[1]},
        {"kind": "likert", "query": queries[1], "helpful_clip": clips[2], "min_score": 4, "max_score": 5},
        {"kind": "pairwise", "query": queries[2], "helpful_clip": clips[3], "unrelated_clip": clips[4]},
        # Two checks alike in every way still make distinct items.
        {"kind": "likert", "query": queries[3], "helpful_clip": clips[5], "min_score": 1, "max_score": 2},
        {"kind": "likert", "query": queries[3], "helpful_clip": clips[5], "min_score": 1, "max_score": 2},
    ]
    for check in checks:
        GoldCheck.objects.create(study=study, **check)
    # Rows of other studies in between, so the copy's gold checks get other ids than the original's.
    other = Study.objects.create(title="Other", slug="other")
    GoldCheck.objects.create(study=other, **checks[0])
    copy = duplicate(study)
    assert copy.seed == study.seed
    assert set(copy.gold_checks.values_list("pk", flat=True)).isdisjoint(study.gold_checks.values_list("pk", flat=True))

    build_items(study)
    build_items(copy)
    original = _sequence(study)
    assert sum(1 for row in original if row[6]) > len(checks)  # some checks make more than one gold item
    assert _sequence(copy) == original
    # Building again adds nothing: the gold items' keys are found again.
    assert build_items(copy).created == 0


def test_building_again_a_study_whose_gold_items_have_keys_of_an_earlier_version_adds_no_gold(study, gallery):
    _, clips, queries, _ = gallery
    check = GoldCheck.objects.create(
        study=study, kind="pairwise", query=queries[0], helpful_clip=clips[0], unrelated_clip=clips[1]
    )
    study.gold_rate = 0.1
    first = build_items(study)
    # Gold items as studies built before gold keys followed the check's content have them.
    for n, item in enumerate(Item.objects.filter(study=study, is_gold=True).order_by("id")):
        Item.objects.filter(pk=item.pk).update(key=f"gold:{check.pk}:{n}")
    assert build_items(study).created == 0
    assert Item.objects.filter(study=study, is_gold=True).count() == first.gold
