"""The template context shared by the task page and the revise page: players, scale, choices.

Built from screen sides only, so what reaches a template can't name a clip or a method.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from annotations.coach.instructions import render_instructions
from annotations.coach.judging import Answer
from annotations.coach.screen import CLIP, LEFT, QUERY, RIGHT, segment_for, sides_of, watch_tolerance_ms
from annotations.models import Judgement
from studies.models import Assignment, Item, Study

SIDE_LABELS = {QUERY: "Athlete's execution", LEFT: "Left clip", RIGHT: "Right clip", CLIP: "Clip"}
CHOICES = (
    ("left", "1", "Left helps more"),
    ("right", "2", "Right helps more"),
    ("equal", "3", "Equally helpful"),
    ("neither", "4", "Neither helps"),
)


@dataclass(frozen=True)
class Player:
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


@dataclass(frozen=True)
class ScalePoint:
    value: int
    label: str
    key: str  # the digit that picks it, or "" when no single key does


def players_for(assignment: Assignment, *, narrations: bool) -> dict[str, Player]:
    item = assignment.item
    players = {}
    for side in sides_of(item):
        segment = segment_for(item, side)
        if segment is None:
            continue
        players[side] = Player(
            side=side,
            label=SIDE_LABELS[side],
            url=reverse("coach:task_video", kwargs={"token": assignment.token, "side": side}),
            duration_ms=segment.duration_ms,
            tolerance_ms=watch_tolerance_ms(segment.duration_ms),
            narration=segment.narration if narrations and side != QUERY else "",
            aspect=round(segment.video.width / segment.video.height, 4)
            if segment.video.width and segment.video.height
            else round(16 / 9, 4),
            frame_s=1 / segment.video.fps if segment.video.fps and 1 <= segment.video.fps <= 240 else 1 / 25,
        )
    return players


def scale_points(study: Study) -> list[ScalePoint]:
    labels = {str(k): str(v) for k, v in (study.scale_labels or {}).items()}
    points = []
    for value in study.scale_points():
        if 0 <= value <= 9:
            key = str(value)
        elif value == 10 and study.scale_min > 0:
            key = "0"  # 1..10 scales: 0 stands for 10, as on a phone keypad
        else:
            key = ""
        points.append(ScalePoint(value, labels.get(str(value), ""), key))
    return points


def screen_context(assignment: Assignment, answer: Answer | Judgement | None = None) -> dict:
    """Everything the players and the answer form need for ``assignment``."""
    study, item = assignment.study, assignment.item
    query = item.query
    is_pairwise = item.kind == Item.Kind.PAIRWISE
    return {
        "study": study,
        "item_kind": item.kind,
        "is_pairwise": is_pairwise,
        "token": assignment.token,
        "players": players_for(assignment, narrations=study.show_narrations),
        "mistake": query.mistake,
        "sport": query.sport.name,
        "skill": query.skill,
        "question": study.pairwise_question if is_pairwise else study.likert_question,
        "choices": CHOICES,
        "points": [] if is_pairwise else scale_points(study),
        "answer": answer,
        "instructions": render_instructions(study.instructions),
    }
