"""What a coach sees of an assignment: screen sides, never clips, methods or ranks.

A coach's page names videos only by their place on the screen: the query on top,
one clip (Likert) or a left and a right clip (pairwise). This module is the one
place that maps those places back to stored rows, through ``Item.swapped``, so
the templates and the clip URLs can stay blind by construction.

Watch times come back from the page by screen side too; they are stored by the
item's own terms (``query``, ``a``, ``b``), as ``annotations.coach.judging`` expects.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import OuterRef, QuerySet, Subquery
from django.urls import reverse

from annotations.coach.kinds import CLIP, LEFT, QUERY, SIDE_LABELS, kind_named
from core.database import CompiledQuery
from retrieval_backend.models import Clip, MistakeQuery, Video
from studies.models import Assignment, Item, Participation


@dataclass(frozen=True)
class Segment:
    """One playable stretch of a video, as the clip URL serves it."""

    video: Video
    start_s: float
    end_s: float
    narration: str = ""

    @property
    def duration_ms(self) -> int:
        return round((self.end_s - self.start_s) * 1000)


def sides_of(item: Item) -> tuple[str, ...]:
    return sides_of_kind(item.kind)


def sides_of_kind(kind: str) -> tuple[str, ...]:
    return kind_named(kind).sides


def stored_key(item: Item, side: str) -> str:
    """The item's own name for a screen side: ``query``, ``a`` or ``b``."""
    if side == QUERY:
        return "query"
    if side == CLIP:
        return "a"
    # clip_a is on the right when the item is swapped.
    return ("b" if item.swapped else "a") if side == LEFT else ("a" if item.swapped else "b")


def segment_for(item: Item, side: str) -> Segment | None:
    """The segment shown at ``side`` of ``item``, or None when the item has no such side."""
    if side not in sides_of(item):
        return None
    if side == QUERY:
        query: MistakeQuery = item.query
        return Segment(query.video, query.start_s, query.end_s)
    clip: Clip | None = item.clip_a if stored_key(item, side) == "a" else item.clip_b
    if clip is None:
        return None
    return Segment(clip.video, clip.start_s, clip.end_s, clip.narration)


def watch_by_stored_key(item: Item, watch_by_side: dict[str, int]) -> dict[str, int]:
    """Map ``{"left": ms, ...}`` reported by the page to ``{"a": ms, ...}`` for the judgement."""
    sides = sides_of(item)
    return {stored_key(item, side): ms for side, ms in watch_by_side.items() if side in sides}


def watch_tolerance_ms(duration_ms: int) -> int:
    """How far short of a clip's length a reported watch may fall and still count as watched in full.

    The page counts media time between ``timeupdate`` events, and a rendered clip
    can be a frame shorter than its nominal length; a tenth of the clip, between
    150 and 500 ms, absorbs both without letting a coach skip a real part of it.
    """
    return max(150, min(500, duration_ms // 10))


def unwatched_sides(item: Item, watch_by_side: dict[str, int]) -> list[str]:
    """The screen sides whose reported watch time falls short of the segment's length."""
    short = []
    for side in sides_of(item):
        segment = segment_for(item, side)
        if segment is None:
            continue
        needed = segment.duration_ms - watch_tolerance_ms(segment.duration_ms)
        if watch_by_side.get(side, 0) < needed:
            short.append(side)
    return short


# What a screen reads of each row. Loading only these keeps the queries cheap to build and to read.
_VIDEO = ("source_uri", "sha256", "probe_status", "probe_error", "width", "height", "fps")
_ASSIGNMENT_FIELDS = ("token", "status", "coach", "item", "reserved", "expires", "completed", "study")
_ITEM_FIELDS = (
    "kind",
    "swapped",
    "clip_a",
    "clip_b",
    "query__mistake",
    "query__skill",
    "query__start_s",
    "query__end_s",
    "query__sport__name",
    *(f"query__video__{name}" for name in _VIDEO),
)
_CLIP_FIELDS = ("start_s", "end_s", "narration", *(f"video__{name}" for name in _VIDEO))


def assignment_screen_rows() -> QuerySet[Assignment]:
    """Assignments with their study (every field: its design drives the whole page).

    ``load_screen`` adds the item, its query and its clips, each fetched by primary
    key. A single query joining the assignment to its item lets PostgreSQL pick a
    merge join that walks the whole item index when its statistics lag behind a
    busy assignments table; lookups by key have one plan whatever the statistics.
    """
    return Assignment.objects.select_related("study").only(*_ASSIGNMENT_FIELDS).order_by()


class ScreenRows:
    """Assignments of ``queryset`` as a screen loads them: by token and coach, or by key.

    Each lookup's SQL is built once (``CompiledQuery``): these run on every page,
    submit and clip request, where building them cost more than running them.
    """

    def __init__(self, queryset: QuerySet[Assignment]):
        self._by_token = CompiledQuery(
            lambda token, coach_id: queryset.filter(token=token, coach_id=coach_id), token=str, coach_id=int
        )
        self._by_pk = CompiledQuery(lambda pk: queryset.filter(pk=pk), pk=int)

    def find(self, *, token: str | None = None, coach=None, pk: int | None = None) -> Assignment | None:
        if pk is not None:
            return self._by_pk.first(pk=pk)
        return self._by_token.first(token=token, coach_id=coach.pk)


SCREEN_ROWS = ScreenRows(assignment_screen_rows())
# A task screen: the same, with the coach's progress in the study (``done_count``) in the same query.
TASK_ROWS = ScreenRows(
    assignment_screen_rows().annotate(
        done_count=Subquery(
            Participation.objects.filter(study=OuterRef("study"), coach=OuterRef("coach")).values("done_count")[:1]
        )
    )
)

_ITEM = CompiledQuery(
    lambda pk: Item.objects.select_related("query__video", "query__sport").only(*_ITEM_FIELDS).filter(pk=pk), pk=int
)
# An item's clips, A and B (B = A for a Likert item).
_CLIPS = CompiledQuery(
    lambda a, b: Clip.objects.select_related("video").only(*_CLIP_FIELDS).filter(pk__in=(a, b)), a=int, b=int
)


def attach_item(assignment: Assignment) -> Assignment:
    """Fetch the assignment's item with its query, the query's video and sport, in one query."""
    item = _ITEM.first(pk=assignment.item_id)
    if item is None:
        raise Item.DoesNotExist(f"Item {assignment.item_id} of assignment {assignment.pk} is gone.")
    assignment.item = item
    return assignment


def attach_clips(assignment: Assignment) -> Assignment:
    """Fetch the item's clips with their videos in one query (once; later calls do nothing).

    A submit that needs no clip durations skips this query.
    """
    item = assignment.item
    if Item.clip_a.is_cached(item):
        return assignment
    clips = {clip.pk: clip for clip in _CLIPS.all(a=item.clip_a_id, b=item.clip_b_id or item.clip_a_id)}
    item.clip_a = clips[item.clip_a_id]
    if item.clip_b_id is not None:
        item.clip_b = clips[item.clip_b_id]
    return assignment


def load_screen(rows: ScreenRows, *, clips: bool = True, **lookup) -> Assignment | None:
    """The one assignment matching ``lookup`` (``token`` and ``coach``, or ``pk``) with what its screen shows,
    or None.

    Three queries at most, each by a unique key, whatever the study's size.
    """
    assignment = rows.find(**lookup)
    if assignment is None:
        return None
    attach_item(assignment)
    return attach_clips(assignment) if clips else assignment


@dataclass(frozen=True)
class Player:
    """One video on a coach's screen, named by its side and played from a per-assignment URL."""

    side: str
    label: str
    url: str
    duration_ms: int
    tolerance_ms: int
    narration: str
    # Width over height from the probe, so the page lays out before the video loads.
    aspect: float
    # One frame of the source (rendered clips keep its rate), for the frame-step buttons.
    frame_s: float = 1 / 25


def players_for(assignment: Assignment, *, narrations: bool) -> dict[str, Player]:
    """The players of ``assignment``'s screen, by side; the page and the API show the same ones."""
    item = assignment.item
    players = {}
    for side in sides_of(item):
        segment = segment_for(item, side)
        if segment is None:
            continue
        video = segment.video
        players[side] = Player(
            side=side,
            label=SIDE_LABELS[side],
            url=reverse("coach:task_video", kwargs={"token": assignment.token, "side": side}),
            duration_ms=segment.duration_ms,
            tolerance_ms=watch_tolerance_ms(segment.duration_ms),
            narration=segment.narration if narrations and side != QUERY else "",
            aspect=round(video.width / video.height, 4) if video.width and video.height else round(16 / 9, 4),
            frame_s=1 / video.fps if video.fps and 1 <= video.fps <= 240 else 1 / 25,
        )
    return players
