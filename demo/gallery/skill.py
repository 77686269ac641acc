"""What every demo skill provides, and one repetition of it drawn frame by frame.

A skill (a basketball jump shot, a tennis serve) is its keyframes, with the
faults as edits of them, its scene (hoop, net, goal) and its props (ball,
racket, club). A ``Rep`` is one athlete performing it once, correctly or with
a fault, at the tempo and position the caller chose.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from demo.gallery.canvas import Canvas, Colour
from demo.gallery.figure import NEUTRAL, Joints, Keyframes, Kit, draw_athlete, expand, place, pose_at

GOOD: Colour = (60, 200, 90)
FAULT: Colour = (230, 50, 50)


@dataclass(frozen=True)
class Fault:
    """A way to get the skill wrong, and the joint a coach would point at."""

    key: str
    focus: str
    label: str


@dataclass(frozen=True)
class Overlay:
    """The coach's marking on a frame: a ring on the joint that matters, a tick or a cross."""

    focus: str
    good: bool


class Skill:
    """Subclasses set the class attributes and implement ``keyframes``, ``backdrop`` and ``draw_props``."""

    sport: str = ""
    sport_name: str = ""
    name: str = ""
    # Seconds one repetition takes; every segment of the demo shows one repetition.
    seconds: float = 2.4
    facing_camera: bool = False
    faults: tuple[Fault, ...] = ()
    # Keys of the skill's own (a club's angle), interpolated with the body's.
    extra_pose: Mapping[str, float] = {}

    @property
    def slug(self) -> str:
        return f"{self.sport}-{self.name.replace(' ', '-')}"

    def fault(self, key: str) -> Fault:
        for fault in self.faults:
            if fault.key == key:
                return fault
        raise KeyError(f"{self.slug} has no fault {key!r}; it has {[f.key for f in self.faults]}")

    def keyframes(self, fault: str | None) -> Keyframes:
        raise NotImplementedError

    def backdrop(self, width: int, height: int, ground_y: float) -> np.ndarray:
        raise NotImplementedError

    def adjust(self, joints: Joints, pose: Mapping[str, float]) -> Joints:
        """Move joints the generic limbs can't express (both hands on one club); identity by default."""
        return joints

    def draw_props(self, canvas: Canvas, rep: Rep, phase: float, joints: Joints) -> None:
        raise NotImplementedError


class Rep:
    """One repetition of a skill by one athlete: ``rep.draw(canvas, phase)`` for phase 0 to 1."""

    def __init__(
        self,
        skill: Skill,
        fault: str | None,
        kit: Kit,
        *,
        width: int,
        height: int,
        shift: float = 0.0,
        tempo: float = 1.0,
    ):
        if fault is not None:
            skill.fault(fault)  # an unknown fault fails here, not half-way through a video
        self.skill, self.fault, self.kit = skill, fault, kit
        self.width, self.height = width, height
        self.ground_y = 0.9 * height
        self.scale = 0.58 * height
        self.shift, self.tempo = shift, tempo
        self._keyframes = expand(skill.keyframes(fault), {**NEUTRAL, **skill.extra_pose})
        # The correct execution's keyframes: props like a club keep their size across faults.
        self._reference = expand(skill.keyframes(None), {**NEUTRAL, **skill.extra_pose})
        self.joints = lru_cache(maxsize=64)(self._joints)

    def timed(self, phase: float) -> float:
        """A learner's tempo: ``tempo`` above 1 finishes the motion early and holds the end."""
        return min(1.0, phase * self.tempo)

    def pose(self, phase: float, *, reference: bool = False) -> dict[str, float]:
        pose = dict(pose_at(self._reference if reference else self._keyframes, phase))
        pose["x"] += self.shift
        return pose

    def _joints(self, phase: float, reference: bool = False) -> Joints:
        pose = self.pose(phase, reference=reference)
        joints = place(
            pose, width=self.width, ground_y=self.ground_y, scale=self.scale, facing_camera=self.skill.facing_camera
        )
        return self.skill.adjust(joints, pose)

    def draw(self, canvas: Canvas, phase: float, overlay: Overlay | None = None) -> None:
        phase = self.timed(phase)
        joints = self.joints(phase)
        draw_athlete(canvas, joints, self.kit, facing_camera=self.skill.facing_camera)
        self.skill.draw_props(canvas, self, phase, joints)
        if overlay is not None:
            _mark(canvas, joints, overlay)


def _mark(canvas: Canvas, joints: Joints, overlay: Overlay) -> None:
    colour = GOOD if overlay.good else FAULT
    canvas.ring(joints.point(overlay.focus), joints.scale * 0.1, max(2.0, joints.scale * 0.018), colour)
    # A tick or a cross in the corner, readable even in a thumbnail.
    s = canvas.height * 0.06
    x, y = canvas.width - 2.2 * s, 1.2 * s
    canvas.disc((x + s / 2, y + s / 2), s * 0.95, (250, 250, 250))
    if overlay.good:
        canvas.stroke((x, y + s * 0.55), (x + s * 0.35, y + s * 0.9), s * 0.14, colour)
        canvas.stroke((x + s * 0.35, y + s * 0.9), (x + s, y + s * 0.05), s * 0.14, colour)
    else:
        canvas.stroke((x + s * 0.1, y + s * 0.1), (x + s * 0.9, y + s * 0.9), s * 0.14, colour)
        canvas.stroke((x + s * 0.9, y + s * 0.1), (x + s * 0.1, y + s * 0.9), s * 0.14, colour)


def arc(start: tuple[float, float], end: tuple[float, float], peak_y: float, u: float) -> tuple[float, float]:
    """A ball's flight at ``u`` (0 to 1): a parabola from ``start`` to ``end`` topping out near ``peak_y``."""
    u = min(max(u, 0.0), 1.0)
    top = min(start[1], end[1], peak_y)
    # A quadratic Bezier whose middle control point makes the peak reach ``top``.
    control = ((start[0] + end[0]) / 2, 2 * top - (start[1] + end[1]) / 2)
    x = (1 - u) ** 2 * start[0] + 2 * u * (1 - u) * control[0] + u * u * end[0]
    y = (1 - u) ** 2 * start[1] + 2 * u * (1 - u) * control[1] + u * u * end[1]
    return x, y
