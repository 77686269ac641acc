"""Golf full swing, face-on: address, backswing to the top, impact, finish; the target is to the right."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from demo.gallery.canvas import Canvas, Point, gradient_background
from demo.gallery.figure import FOREARM, UPPER_ARM, Joints, Keyframes, along
from demo.gallery.skill import Fault, Rep, Skill

IMPACT = 0.58
BALL = 0.022
WHITE = (250, 250, 250)
SHAFT = (70, 70, 75)


class Swing(Skill):
    sport = "golf"
    sport_name = "Golf"
    name = "full swing"
    seconds = 2.8
    facing_camera = True
    # ``swing`` aims the hands from the lead shoulder; ``club`` is the shaft's angle;
    # ``lead_bend`` (0 to 1) folds the lead elbow.
    extra_pose = {"swing": 0.0, "club": 0.0, "lead_bend": 0.0}
    faults = (
        Fault("early_extension", focus="head", label="standing up through impact"),
        Fault("bent_lead_arm", focus="elbow_near", label="lead arm folds at the top"),
        Fault("sway", focus="hip_near", label="hips slide away from the target"),
    )

    def keyframes(self, fault: str | None) -> Keyframes:
        frames: list[tuple[float, dict[str, float]]] = [
            (0.0, {"x": 0.42, "bow": 38, "crouch": 28, "thigh_near": 14, "shin_near": 5, "thigh_far": -14,
                   "shin_far": -5, "swing": -6, "club": -3}),
            (0.08, {}),
            (0.2, {"swing": -60, "club": -110}),
            # The top: lead arm straight, club across the shoulders pointing at the target.
            (0.36, {"swing": -150, "club": -262, "torso": -3, "thigh_near": 10, "shin_near": -4}),
            (0.5, {"swing": -55, "club": -125, "torso": 2, "thigh_near": 16, "shin_near": 6}),
            (IMPACT, {"swing": 4, "club": 2, "torso": 4}),
            (0.72, {"swing": 85, "club": 160, "bow": 25, "crouch": 15, "torso": 8}),
            # The finish: chest to the target, weight on the lead foot, trail heel up.
            (0.88, {"x": 0.45, "swing": 150, "club": 268, "bow": 5, "crouch": 6, "torso": 14, "thigh_near": 4,
                    "shin_near": 2, "thigh_far": -2, "shin_far": 28}),
            (1.0, {}),
        ]  # fmt: skip
        if fault == "early_extension":
            # The hips thrust toward the ball and the chest lifts: the head rises and the club catches the ball thin.
            frames[4] = (0.5, {**frames[4][1], "bow": 20, "crouch": 8})
            frames[5] = (IMPACT, {**frames[5][1], "bow": 4, "crouch": 0, "swing": 10, "club": 14})
        if fault == "bent_lead_arm":
            frames[3] = (0.36, {**frames[3][1], "lead_bend": 0.85, "swing": -135, "club": -240})
            frames[4] = (0.5, {**frames[4][1], "lead_bend": 0.6})
            frames[5] = (IMPACT, {**frames[5][1], "lead_bend": 0.15})
            frames[6] = (0.72, {**frames[6][1], "lead_bend": 0.7})
        if fault == "sway":
            frames[3] = (0.36, {**frames[3][1], "x": 0.35, "torso": -12, "thigh_near": 24, "thigh_far": -4})
            frames[4] = (0.5, {**frames[4][1], "x": 0.38, "torso": -6})
        return frames

    def adjust(self, joints: Joints, pose: Mapping[str, float]) -> Joints:
        """Both hands on the grip: the lead arm reaches it (straight unless folded), the trail arm bends to it."""
        reach = (UPPER_ARM + FOREARM) * joints.scale
        lead_reach = reach * (1 - 0.35 * pose["lead_bend"])
        grip = along(joints.shoulder_near, pose["swing"], lead_reach * 0.99)
        head_side = joints.head
        return replace(
            joints,
            hand_near=grip,
            hand_far=grip,
            elbow_near=_elbow(joints.shoulder_near, grip, joints.scale, away_from=head_side),
            elbow_far=_elbow(joints.shoulder_far, grip, joints.scale, away_from=None),
        )

    def backdrop(self, width: int, height: int, ground_y: float) -> np.ndarray:
        canvas = Canvas(
            gradient_background(
                width,
                height,
                top=(120, 170, 225),
                horizon=(215, 230, 240),
                ground=(80, 150, 70),
                ground_y=int(ground_y),
            )
        )
        # Distant trees and the flag on the green.
        for k, x in enumerate(np.linspace(0.05, 0.95, 7)):
            canvas.disc((x * width, ground_y - 0.05 * height), 0.05 * height + (k % 3) * 3, (60, 110, 60))
        canvas.rect(0, ground_y - 0.02 * height, width, ground_y, (95, 160, 80))
        canvas.stroke((0.92 * width, ground_y), (0.92 * width, ground_y - 0.25 * height), 1.2, (230, 230, 230))
        canvas.rect(0.92 * width, ground_y - 0.25 * height, 0.96 * width, ground_y - 0.21 * height, (220, 40, 40))
        return canvas.image()

    def club_length(self, rep: Rep) -> float:
        """Long enough that the clubhead rests on the ground at the correct address."""
        grip = rep.joints(0.0, True).hand_near
        return rep.ground_y - BALL * rep.scale - grip[1]

    def draw_props(self, canvas: Canvas, rep: Rep, phase: float, joints: Joints) -> None:
        length = self.club_length(rep)
        pose = rep.pose(phase)
        head = along(joints.hand_near, pose["club"], length)
        canvas.stroke(joints.hand_near, head, rep.scale * 0.01, SHAFT)
        canvas.stroke(head, along(head, pose["club"] + 90, rep.scale * 0.035), rep.scale * 0.018, (40, 40, 40))
        canvas.disc(joints.hand_near, rep.scale * 0.022, (30, 30, 30))  # the glove on the grip
        canvas.disc(_ball(rep, phase, length), BALL * rep.scale, WHITE)


def _elbow(shoulder: Point, hand: Point, scale: float, *, away_from: Point | None) -> Point:
    """Two-link reach: where the elbow sits when the hand is at ``hand``, bent outward or downward."""
    dx, dy = hand[0] - shoulder[0], hand[1] - shoulder[1]
    d = math.hypot(dx, dy) or 1.0
    a, b = UPPER_ARM * scale, FOREARM * scale
    along_d = min(a, (a * a - b * b + d * d) / (2 * d))
    out = math.sqrt(max(0.0, a * a - along_d * along_d))
    base = (shoulder[0] + dx / d * along_d, shoulder[1] + dy / d * along_d)
    normal = (-dy / d, dx / d)
    if away_from is not None:
        # Bend away from the head: a folded lead arm pokes its elbow out, the "chicken wing".
        if (base[0] - away_from[0]) * normal[0] + (base[1] - away_from[1]) * normal[1] < 0:
            normal = (-normal[0], -normal[1])
    elif normal[1] < 0:
        normal = (-normal[0], -normal[1])
    return base[0] + normal[0] * out, base[1] + normal[1] * out


def _ball(rep: Rep, phase: float, length: float) -> Point:
    address = rep.joints(0.0, True).hand_near
    tee = (address[0], rep.ground_y - BALL * rep.scale)
    if phase <= IMPACT:
        return tee
    t = phase - IMPACT
    if rep.fault == "early_extension":
        # Topped: it scuttles along the ground.
        return tee[0] + 0.9 * rep.width * t, tee[1]
    launch, speed = {None: (62.0, 3.2), "bent_lead_arm": (40.0, 1.8), "sway": (75.0, 1.4)}[rep.fault]
    v = speed * rep.height
    x = tee[0] + v * math.cos(math.radians(launch)) * t
    y = tee[1] - v * math.sin(math.radians(launch)) * t + 2.5 * rep.height * t * t
    return x, min(y, tee[1])
