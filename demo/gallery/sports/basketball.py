"""Basketball jump shot, seen from the side: dip, rise, release at the top, follow through."""

from __future__ import annotations

import numpy as np

from demo.gallery.canvas import Canvas, gradient_background
from demo.gallery.figure import FOREARM, Joints, Keyframes, along
from demo.gallery.skill import Fault, Rep, Skill, arc

RIM = (0.86, 0.30)  # as fractions of width and height
BALL = 0.06  # radius, as a fraction of the figure's scale
ORANGE = (225, 110, 30)


class JumpShot(Skill):
    sport = "basketball"
    sport_name = "Basketball"
    name = "jump shot"
    seconds = 2.4
    faults = (
        Fault("flat_footed", focus="knee_near", label="no knee bend, no lift"),
        Fault("chest_push", focus="elbow_near", label="ball pushed from the chest"),
        Fault("no_follow_through", focus="hand_near", label="arm pulled down after release"),
    )

    def release_phase(self, fault: str | None) -> float:
        return 0.5 if fault == "chest_push" else 0.56

    def keyframes(self, fault: str | None) -> Keyframes:
        legs_work = fault != "flat_footed"
        frames: list[tuple[float, dict[str, float]]] = [
            (0.0, {"x": 0.3, "torso": 5, "arm_near": 25, "forearm_near": 120, "arm_far": 35, "forearm_far": 125,
                   "thigh_near": 12, "shin_near": -6, "thigh_far": 8, "shin_far": -8}),
            # The dip: load the legs with the ball at the waist.
            (0.22, {"torso": 12, "arm_near": 15, "forearm_near": 95, "arm_far": 20, "forearm_far": 100,
                    "thigh_near": 55, "shin_near": -25, "thigh_far": 50, "shin_far": -28}),
            # Rising into the set point: ball above the forehead, elbow under it.
            (0.42, {"torso": 4, "lift": 0.06, "arm_near": 125, "forearm_near": 178, "arm_far": 110,
                    "forearm_far": 160, "thigh_near": 5, "shin_near": -5, "thigh_far": 2, "shin_far": -8}),
            (0.56, {"torso": 0, "lift": 0.15, "arm_near": 165, "forearm_near": 160, "arm_far": 120,
                    "forearm_far": 150, "thigh_near": 0, "shin_near": -12, "thigh_far": -4, "shin_far": -15}),
            # Hold the follow-through: the wrist snapped down, "hand in the cookie jar".
            (0.72, {"lift": 0.08, "arm_near": 160, "forearm_near": 120, "arm_far": 100, "forearm_far": 120}),
            (0.86, {"lift": 0.0, "torso": 6, "thigh_near": 30, "shin_near": -12, "thigh_far": 26, "shin_far": -14,
                    "arm_near": 150, "forearm_near": 115}),
            (1.0, {"torso": 4, "arm_near": 40, "forearm_near": 100, "arm_far": 30, "forearm_far": 90,
                   "thigh_near": 10, "shin_near": -5, "thigh_far": 6, "shin_far": -6}),
        ]  # fmt: skip
        if not legs_work:
            for _, pose in frames:
                pose.update({"thigh_near": 4, "shin_near": 0, "thigh_far": 0, "shin_far": -2, "lift": 0.0})
                if "torso" in pose:
                    pose["torso"] = min(pose["torso"], 6)
        if fault == "chest_push":
            # The ball never gets above the eyes: a two-handed push from the chest.
            frames[2] = (0.42, {**frames[2][1], "arm_near": 55, "forearm_near": 120, "arm_far": 55,
                                "forearm_far": 115})  # fmt: skip
            frames[3] = (0.5, {**frames[3][1], "arm_near": 90, "forearm_near": 100, "arm_far": 85,
                               "forearm_far": 95, "lift": 0.08})  # fmt: skip
            frames[4] = (0.72, {**frames[4][1], "arm_near": 85, "forearm_near": 85, "arm_far": 80,
                                "forearm_far": 80})  # fmt: skip
        if fault == "no_follow_through":
            frames[4] = (0.66, {**frames[4][1], "arm_near": 50, "forearm_near": 60, "arm_far": 40,
                                "forearm_far": 50})  # fmt: skip
            frames[5] = (0.86, {**frames[5][1], "arm_near": 30, "forearm_near": 45})
        return frames

    def backdrop(self, width: int, height: int, ground_y: float) -> np.ndarray:
        canvas = Canvas(
            gradient_background(
                width, height, top=(70, 80, 110), horizon=(150, 150, 170), ground=(190, 140, 90), ground_y=int(ground_y)
            )
        )
        rim_x, rim_y = RIM[0] * width, RIM[1] * height
        # Pole, backboard, rim, and a few lines of net.
        canvas.stroke((0.97 * width, ground_y), (0.97 * width, rim_y - 0.05 * height), 0.012 * width, (90, 90, 90))
        canvas.stroke((0.97 * width, rim_y - 0.02 * height), (0.92 * width, rim_y - 0.02 * height), 3, (90, 90, 90))
        canvas.rect(0.915 * width, rim_y - 0.17 * height, 0.93 * width, rim_y + 0.04 * height, (240, 240, 240))
        canvas.stroke((rim_x - 0.045 * width, rim_y), (0.915 * width, rim_y), 2, (230, 80, 20))
        for k in range(4):
            top = rim_x - 0.045 * width + k * 0.03 * width
            canvas.stroke((top, rim_y), (rim_x - 0.02 * width + k * 0.014 * width, rim_y + 0.08 * height), 0.8,
                          (235, 235, 235))  # fmt: skip
        canvas.rect(0, ground_y, width, ground_y + 2, (160, 110, 70))
        return canvas.image()

    def draw_props(self, canvas: Canvas, rep: Rep, phase: float, joints: Joints) -> None:
        radius = BALL * rep.scale
        release = self.release_phase(rep.fault)
        if phase <= release:
            canvas.disc(_ball_in_hands(rep, phase, radius), radius, ORANGE)
            return
        start = _ball_in_hands(rep, release, radius)
        rim = (RIM[0] * rep.width, RIM[1] * rep.height)
        # Where each shot ends up: through the net, or short off the front of the rim.
        if rep.fault is None:
            end, peak = (rim[0], rim[1] - radius), 0.1 * rep.height
        elif rep.fault == "chest_push":
            end, peak = (rim[0] - 0.05 * rep.width, rim[1]), 0.3 * rep.height
        else:
            end, peak = (rim[0] - 0.06 * rep.width, rim[1] + 0.01 * rep.height), 0.2 * rep.height
        flight = 0.3
        u = (phase - release) / flight
        if u <= 1:
            centre = arc(start, end, peak, u)
        elif rep.fault is None:
            # Swish: straight down through the net.
            centre = (end[0], min(rep.ground_y - radius, end[1] + (u - 1) * flight * 3 * rep.height))
        else:
            # Off the front rim, back toward the shooter and down.
            t = (u - 1) * flight
            centre = (end[0] - t * 0.6 * rep.width, min(rep.ground_y - radius, end[1] + t * 2.5 * rep.height))
        canvas.disc(centre, radius, ORANGE)


def _ball_in_hands(rep: Rep, phase: float, radius: float) -> tuple[float, float]:
    """The ball rests on the shooting hand, beyond the wrist along the forearm."""
    pose = rep.pose(phase)
    joints = rep.joints(phase)
    return along(joints.hand_near, pose["forearm_near"], radius + FOREARM * 0.1 * rep.scale)
