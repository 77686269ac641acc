"""Offline retrieval metrics: hand-computed values, and the evaluate_retrieval command on stored sets."""

from __future__ import annotations

import json
import math

import pytest
from django.core.management import CommandError, call_command

from retrieval_backend.candidates.sets import store_candidate_sets
from retrieval_backend.metrics import (
    average_precision,
    first_positive_rank,
    hit_at,
    median_rank,
    score_method,
)
from retrieval_backend.models import CandidateSet, MistakeQuery
from tests.factories import ClipFactory, MistakeQueryFactory, RetrievalMethodFactory, SportFactory, VideoFactory

# --- pure metrics ------------------------------------------------------------


def test_first_positive_rank_is_one_based_and_infinite_when_missing():
    assert first_positive_rank(["a", "b", "c"], {"c", "z"}) == 3
    assert first_positive_rank(["a", "b"], {"a"}) == 1
    assert first_positive_rank(["a", "b"], {"z"}) == math.inf
    assert first_positive_rank([], {"z"}) == math.inf


def test_hit_at_counts_a_positive_only_within_the_cutoff():
    ranked = ["a", "b", "c", "d"]
    assert hit_at(ranked, {"c"}, 2) == 0.0
    assert hit_at(ranked, {"c"}, 3) == 1.0
    with pytest.raises(ValueError, match="at least 1"):
        hit_at(ranked, {"c"}, 0)


def test_average_precision_matches_a_hand_computation():
    # Positives at ranks 1 and 3 of {a, c, x}: (1/1 + 2/3) / 3 = 0.5555...
    assert average_precision(["a", "b", "c", "d"], {"a", "c", "x"}) == pytest.approx((1 + 2 / 3) / 3)
    # One positive at rank 4: 1/4.
    assert average_precision(["p", "q", "r", "s"], {"s"}) == pytest.approx(0.25)
    assert average_precision(["p", "q"], {"z"}) == 0.0


def test_average_precision_does_not_reward_a_clip_listed_twice():
    assert average_precision(["a", "a", "b"], {"a", "b"}) == pytest.approx((1 / 1 + 2 / 3) / 2)


def test_median_rank_counts_queries_that_found_nothing_as_infinite():
    assert median_rank([1, 3, 10]) == 3
    assert median_rank([1, 3]) == 2
    assert median_rank([2, math.inf, math.inf]) == math.inf
    assert median_rank([1, 5, math.inf]) == 5
    assert math.isnan(median_rank([]))


def test_score_method_averages_over_queries_and_flags_cutoffs_deeper_than_the_sets():
    rankings = [
        (["a", "b", "c"], {"a"}, 3),  # first positive at 1, AP 1
        (["d", "e", "f"], {"f", "g"}, 3),  # at 3, AP (1/3) / 2
        (["h", "i", "j"], {"z"}, 3),  # none, AP 0
        (["k", "l"], {"l"}, 3),  # at 2 (a sport with only 2 clips), AP 1/2
    ]
    scores = score_method(rankings, cutoffs=(1, 2, 5))
    assert scores.queries == 4
    assert scores.recall == {1: 0.25, 2: 0.5, 5: 0.75}
    assert scores.median_rank == 2.5  # ranks 1, 2, 3, inf
    assert scores.mean_average_precision == pytest.approx((1 + 1 / 6 + 0 + 0.5) / 4)
    assert scores.not_retrieved == 1
    assert scores.depth == 3
    assert scores.limited_by_depth == [5]


def test_score_method_with_no_queries_reports_nothing_rather_than_zero():
    scores = score_method([], cutoffs=(1,))
    assert scores.queries == 0
    assert math.isnan(scores.recall[1])
    assert math.isnan(scores.mean_average_precision)


# --- the command on stored candidate sets ---------------------------------------------


@pytest.fixture
def gallery(db):
    sport = SportFactory(slug="tennis", name="Tennis")
    video = VideoFactory(sport=sport, source_uri="/v/g.mp4")
    clips = [
        ClipFactory(video=video, sport=sport, external_id=f"c{i}", start_s=i, end_s=i + 1, narration="n")
        for i in range(6)
    ]
    qvideo = VideoFactory(sport=sport, source_uri="/v/q.mp4", role="query")
    queries = [
        MistakeQueryFactory(video=qvideo, sport=sport, external_id=f"q{i}", start_s=0, end_s=1, mistake="elbow drops")
        for i in range(3)
    ]
    queries[0].positives.set([clips[0]])
    queries[1].positives.set([clips[4], clips[5]])
    # queries[2] has no positives and must not count.
    return clips, queries


def _store(method, query, clips):
    store_candidate_sets(
        method,
        {query.pk: [(c.pk, 1.0 - i / 10) for i, c in enumerate(clips)]},
        source=CandidateSet.Source.IMPORTED,
        k=3,
    )


def test_the_command_prints_json_computed_from_the_stored_sets(gallery):
    clips, queries = gallery
    method = RetrievalMethodFactory(name="text", backend="imported")
    _store(method, queries[0], [clips[1], clips[0], clips[2]])  # positive at rank 2
    _store(method, queries[1], [clips[1], clips[2], clips[3]])  # no positive retrieved
    _store(method, queries[2], [clips[0], clips[1], clips[2]])  # no positives: ignored
    out = _call("--methods", "text", "--json")
    result = json.loads(out)
    assert result["queries_with_positives"] == 2
    (row,) = result["methods"]
    assert row["queries"] == 2
    assert row["recall"] == {"1": 0.0, "5": 0.5, "10": 0.5, "50": 0.5}
    assert row["median_first_positive_rank"] is None  # median of (2, inf) is inf
    assert row["median_rank_beyond_depth"] is True
    assert row["map"] == pytest.approx(0.25)  # (1/2 + 0) / 2
    assert row["depth"] == 3
    assert row["recall_limited_by_depth"] == [5, 10, 50]


def test_the_table_marks_recall_deeper_than_the_sets_and_methods_missing_sets(gallery):
    clips, queries = gallery
    method = RetrievalMethodFactory(name="text", backend="imported")
    _store(method, queries[0], [clips[0], clips[1], clips[2]])
    out = _call("--methods", "text")
    header, _, row = out.splitlines()[:3]
    assert header.split()[:4] == ["method", "queries", "R@1", "R@5"]
    assert row.split()[:4] == ["text", "1", "1.000", "1.000*"]
    assert "lower bound" in out
    assert "text: 1 of them have no candidate set from it" in out


def test_unknown_methods_and_missing_positives_are_clear_errors(gallery):
    RetrievalMethodFactory(name="text", backend="imported")
    with pytest.raises(CommandError, match=r"unknown method.*nope.*Known methods: text"):
        _call("--methods", "nope")
    MistakeQuery.positives.through.objects.all().delete()
    with pytest.raises(CommandError, match="no mistake query has known positives"):
        _call("--methods", "text")


def _call(*args: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command("evaluate_retrieval", *args, stdout=out)
    return out.getvalue()
