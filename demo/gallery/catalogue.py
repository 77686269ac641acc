"""The demo's gallery videos, their clips, and the mistake queries, as plain data.

Per skill the gallery holds two lesson videos, each cut into clips: a
"fundamentals" video (a plain demonstration, then one correct repetition per
fault with the key body part ringed in green) and a "mistakes and fixes" video
(per fault, the mistake ringed in red and then the correct version). Each
query is a learner performing one fault, and its known positives are the two
clips that teach that fault's fix.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from demo.gallery.coaching import COACHING
from demo.gallery.figure import Kit
from demo.gallery.skill import Overlay, Skill
from demo.gallery.sports import SKILLS

COACH_KITS = (
    Kit(skin=(232, 190, 160), shirt=(240, 150, 40), shorts=(40, 40, 60)),
    Kit(skin=(150, 100, 70), shirt=(30, 160, 160), shorts=(240, 240, 240)),
)
LEARNER_SKINS = ((240, 205, 180), (200, 150, 110), (120, 80, 55), (225, 180, 140))
LEARNER_SHIRTS = ((200, 40, 60), (60, 90, 200), (120, 60, 160), (240, 220, 60), (90, 170, 70))
LEARNER_SHORTS = ((30, 30, 30), (70, 70, 140), (110, 80, 50))


@dataclass(frozen=True)
class Take:
    """One repetition inside a clip: which execution, and how the coach marks it."""

    fault: str | None
    overlay: Overlay | None = None


@dataclass(frozen=True)
class DemoClip:
    external_id: str
    takes: tuple[Take, ...]
    narration: str


@dataclass(frozen=True)
class DemoVideo:
    path: str  # relative to the demo folder
    external_id: str
    title: str
    skill: Skill
    kit: Kit
    clips: tuple[DemoClip, ...]


@dataclass(frozen=True)
class DemoQuery:
    external_id: str
    path: str
    skill: Skill
    fault: str
    mistake: str
    positives: tuple[str, ...]
    kit: Kit
    shift: float
    tempo: float


def _teach_id(skill: Skill, fault: str) -> str:
    return f"demo-{skill.sport}-basics-{fault.replace('_', '-')}"


def _fix_id(skill: Skill, fault: str) -> str:
    return f"demo-{skill.sport}-fix-{fault.replace('_', '-')}"


def gallery_videos() -> list[DemoVideo]:
    videos = []
    for skill in SKILLS:
        words = COACHING[skill.slug]
        basics = [DemoClip(f"demo-{skill.sport}-basics-overview", (Take(None),), words.overview)]
        fixes = []
        for fault in skill.faults:
            coaching = words.faults[fault.key]
            basics.append(
                DemoClip(_teach_id(skill, fault.key), (Take(None, Overlay(fault.focus, good=True)),), coaching.teach)
            )
            fixes.append(
                DemoClip(
                    _fix_id(skill, fault.key),
                    (Take(fault.key, Overlay(fault.focus, good=False)), Take(None, Overlay(fault.focus, good=True))),
                    coaching.fix,
                )
            )
        videos.append(
            DemoVideo(
                path=f"videos/{skill.slug}-fundamentals.mp4",
                external_id=f"demo:{skill.slug}-fundamentals",
                title=f"{skill.sport_name}: {skill.name} fundamentals",
                skill=skill,
                kit=COACH_KITS[0],
                clips=tuple(basics),
            )
        )
        videos.append(
            DemoVideo(
                path=f"videos/{skill.slug}-mistakes.mp4",
                external_id=f"demo:{skill.slug}-mistakes",
                title=f"{skill.sport_name}: common {skill.name} mistakes and how to fix them",
                skill=skill,
                kit=COACH_KITS[1],
                clips=tuple(fixes),
            )
        )
    return videos


def mistake_queries(seed: int = 7) -> list[DemoQuery]:
    """One learner per fault, each looking and moving a little differently (seeded, so reruns match)."""
    rng = random.Random(seed)
    queries = []
    for skill in SKILLS:
        for fault in skill.faults:
            key = fault.key.replace("_", "-")
            queries.append(
                DemoQuery(
                    external_id=f"demo-q-{skill.sport}-{key}",
                    path=f"queries/{skill.sport}-{key}.mp4",
                    skill=skill,
                    fault=fault.key,
                    mistake=COACHING[skill.slug].faults[fault.key].mistake,
                    positives=(_teach_id(skill, fault.key), _fix_id(skill, fault.key)),
                    kit=Kit(rng.choice(LEARNER_SKINS), rng.choice(LEARNER_SHIRTS), rng.choice(LEARNER_SHORTS)),
                    shift=round(rng.uniform(-0.04, 0.04), 3),
                    tempo=round(rng.uniform(0.96, 1.08), 3),
                )
            )
    return queries
