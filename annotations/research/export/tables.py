"""The tables of a study's dataset bundle: their columns, and the rows of the small ones.

Every table is sorted by a stable key and read with iterators. The two large tables, judgements
and items, are streamed together as Arrow batches by ``annotations.research.export.judgement_table``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from django.contrib.auth import get_user_model
from django.db.models import Count, Q

from annotations.models import Judgement
from annotations.research.export.writers import Column
from annotations.research.pseudonyms import coach_pseudonym
from retrieval_backend.models import Clip, MistakeQuery, RetrievalMethod
from studies.models import CoachProfile, Item, PairingOutcome, Study

CHUNK = 10_000

_SIDES = [
    Column("methods_a", "list_str", "methods that returned clip a (stored side a), by name"),
    Column("ranks_a", "list_int", "the rank at which each of methods_a returned clip a (1 = top)"),
    Column("methods_b", "list_str", "methods that returned clip b (pairwise only)"),
    Column("ranks_b", "list_int", "the rank at which each of methods_b returned clip b"),
]
_SHOWN = [
    Column("clip_left", "str", "the clip shown on the left of the coach's screen"),
    Column("clip_right", "str", "the clip shown on the right (pairwise only)"),
    Column("methods_left", "list_str", "methods behind the clip shown on the left"),
    Column("ranks_left", "list_int", "their ranks"),
    Column("methods_right", "list_str", "methods behind the clip shown on the right"),
    Column("ranks_right", "list_int", "their ranks"),
]
ITEM_COLUMNS = [
    Column("item_key", "str", "the item's stable key within the study"),
    Column("kind", "str", "pairwise (two clips) or likert (one clip, a score)"),
    Column("is_gold", "bool", "a gold check with a known answer (leave out of method comparisons)"),
    Column("query_id", "str", "the mistake query (queries.query_id)"),
    Column("clip_a", "str", "stored clip a (clips.clip_id)"),
    Column("clip_b", "str", "stored clip b (pairwise only)"),
    Column("swapped", "bool", "true when clip a was shown on the right"),
    *_SIDES,
    *_SHOWN,
    Column("gold_answer", "str", 'the accepted answer of a gold item, JSON: {"choice": "a"} or {"min": 4, "max": 5}'),
    Column("needed", "int", "judgements the item was to receive"),
]
JUDGEMENT_COLUMNS = [
    Column("study", "str", "the study's slug"),
    Column("judgement_id", "int", "stable id of the judgement"),
    Column("item_key", "str", "the item judged (items.item_key)"),
    Column("kind", "str", "pairwise or likert"),
    Column("is_gold", "bool", "judged on a gold item (leave out of method comparisons)"),
    Column("query_id", "str", "the mistake query"),
    Column("clip_a", "str", "stored clip a"),
    Column("clip_b", "str", "stored clip b (pairwise only)"),
    Column("swapped", "bool", "true when clip a was shown on the right"),
    *_SIDES,
    *_SHOWN,
    Column("choice", "str", "pairwise answer as seen on screen: left, right, equal or neither"),
    Column("winner", "str", "the same answer mapped to the stored clips: a, b, tie or neither"),
    Column("score", "int", "Likert score on the study's scale"),
    Column("rationale", "str", "the coach's optional rationale"),
    Column("flag", "str", "non-empty when the coach flagged the item instead of answering (not counted)"),
    Column("watch_query_ms", "int", "milliseconds the query video played, as the page counted"),
    Column("watch_a_ms", "int", "milliseconds clip a played"),
    Column("watch_b_ms", "int", "milliseconds clip b played"),
    Column("server_ms", "int", "milliseconds from serving the item to receiving the answer, measured by the server"),
    Column("coach", "str", "pseudonymous coach id (coaches.coach)"),
    Column("created", "time", "when the answer was first recorded (UTC)"),
    Column("revised", "time", "when it was last revised, if ever (UTC)"),
    Column("revision", "int", "how many times it was revised"),
]
QUERY_COLUMNS = [
    Column("query_id", "str", "the query's external id"),
    Column("sport", "str", "sport slug"),
    Column("skill", "str", "the skill performed"),
    Column("mistake", "str", "what is wrong with the execution"),
    Column("video_id", "str", "external id of the recording, when known"),
    Column("video_sha256", "str", "SHA-256 of the recording file"),
    Column("start_s", "float", "segment start in the recording, seconds"),
    Column("end_s", "float", "segment end, seconds"),
]
CLIP_COLUMNS = [
    Column("clip_id", "str", "the clip's external id"),
    Column("sport", "str", "sport slug"),
    Column("skill", "str", "the skill demonstrated"),
    Column("narration", "str", "the instructional narration of the demonstration"),
    Column("video_id", "str", "external id of the source video, when known"),
    Column("video_sha256", "str", "SHA-256 of the source video file"),
    Column("start_s", "float", "segment start in the source video, seconds"),
    Column("end_s", "float", "segment end, seconds"),
]
COACH_COLUMNS = [
    Column("coach", "str", "pseudonymous id, stable within this study only"),
    Column("years_coaching", "int", "years of coaching experience, as stated"),
    Column("sports", "list_str", "sports of expertise (slugs)"),
    Column("n_judgements", "int", "answers given (flags not included)"),
    Column("n_flagged", "int", "items flagged instead of answered"),
]
IDENTITY_COLUMNS = [
    Column("username", "str", "login name (only in bundles exported with identities)"),
    Column("name", "str", "full name (only with identities)"),
    Column("email", "str", "email address (only with identities)"),
    Column("credential", "str", "licence or certification as stated (only with identities)"),
]
METHOD_COLUMNS = [
    Column("method", "str", "the method's name"),
    Column("backend", "str", "the retrieval backend it configures"),
    Column("version", "str", "its version"),
    Column("params", "str", "its parameters, JSON with sorted keys"),
    Column("description", "str", "the researcher's description"),
]
IDENTICAL_COLUMNS = [
    Column("query_id", "str", "the query"),
    Column("clip_id", "str", "the clip both methods returned at this rank"),
    Column("method_a", "str", "first method (by id order)"),
    Column("method_b", "str", "second method"),
    Column("rank", "int", "the rank at which both returned it; this comparison was not shown to coaches"),
]


def method_names() -> dict[int, str]:
    """Every method's name by id: items credit methods by id, and a method may have left the study since."""
    return dict(RetrievalMethod.objects.values_list("id", "name"))


def batched(rows: Iterator[tuple], size: int) -> Iterator[list[tuple]]:
    batch: list[tuple] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def query_rows(study: Study) -> Iterator[tuple]:
    used = Item.objects.filter(study=study).values("query_id")
    rows = MistakeQuery.objects.filter(id__in=used).order_by("external_id")
    yield from rows.values_list(
        "external_id", "sport__slug", "skill", "mistake", "video__external_id", "video__sha256", "start_s", "end_s"
    ).iterator(chunk_size=CHUNK)


def clip_rows(study: Study) -> Iterator[tuple]:
    items = Item.objects.filter(study=study)
    used = Q(id__in=items.values("clip_a_id")) | Q(id__in=items.filter(clip_b__isnull=False).values("clip_b_id"))
    rows = Clip.objects.filter(used).order_by("external_id")
    yield from rows.values_list(
        "external_id", "sport__slug", "skill", "narration", "video__external_id", "video__sha256", "start_s", "end_s"
    ).iterator(chunk_size=CHUNK)


def coach_rows(study: Study, *, include_identities: bool) -> list[tuple]:
    """Coaches who answered or flagged anything in the study, by pseudonym (hundreds of rows, not millions)."""
    counts = (
        Judgement.objects.filter(study=study)
        .values("coach_id")
        .annotate(answered=Count("id", filter=Q(flag="")), flagged=Count("id", filter=~Q(flag="")))
        .order_by("coach_id")
    )
    by_coach = {row["coach_id"]: (row["answered"], row["flagged"]) for row in counts}
    profiles = {p.user_id: p for p in CoachProfile.objects.filter(user_id__in=by_coach).prefetch_related("sports")}
    users = get_user_model().objects.in_bulk(list(by_coach)) if include_identities else {}
    rows = []
    for coach, (answered, flagged) in by_coach.items():
        profile = profiles.get(coach)
        row: tuple = (
            coach_pseudonym(study.slug, coach),
            profile.years_coaching if profile else None,
            sorted(sport.slug for sport in profile.sports.all()) if profile else [],
            answered,
            flagged,
        )
        if include_identities:
            user = users[coach]
            row += (user.get_username(), user.get_full_name(), user.email, profile.credential if profile else "")
        rows.append(row)
    return sorted(rows)


def method_rows(study: Study) -> list[tuple]:
    return [
        (name, backend, version, json.dumps(params, sort_keys=True), description)
        for name, backend, version, params, description in study.methods.order_by("name").values_list(
            "name", "backend", "version", "params", "description"
        )
    ]


def identical_rows(study: Study) -> Iterator[tuple]:
    rows = PairingOutcome.objects.filter(study=study)
    yield from (
        rows.order_by("query__external_id", "method_a__name", "method_b__name", "rank")
        .values_list("query__external_id", "clip__external_id", "method_a__name", "method_b__name", "rank")
        .iterator(chunk_size=CHUNK)
    )
