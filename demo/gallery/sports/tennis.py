"""Tennis serve, seen from the side: toss, trophy position, racket drop, contact at full reach."""

from __future__ import annotations

import math

import numpy as np

from demo.gallery.canvas import Canvas, gradient_background
from demo.gallery.figure import Joints, Keyframes, along
from demo.gallery.skill import Fault, Rep, Skill

TOSS, CONTACT = 0.2, 0.6
HANDLE, HEAD = 0.13, 0.065  # racket handle length and head radius, fractions of the figure's scale
BALL = 0.022
YELLOW = (215, 235, 40)
FRAME = (40, 40, 45)


class Serve(Skill):
    sport = "tennis"
    sport_name = "Tennis"
    name = "serve"
    seconds = 2.4
    faults = (
        Fault("low_toss", focus="elbow_near", label="toss too low, cramped bent-arm contact"),
        Fault("no_leg_drive", focus="knee_near", label="no knee bend, no drive up"),
        Fault("toss_behind", focus="head", label="toss behind the head, back arches"),
    )

    def keyframes(self, fault: str | None) -> Keyframes:
        frames: list[tuple[float, dict[str, float]]] = [
            (0.0, {"x": 0.25, "torso": 5, "arm_near": 30, "forearm_near": 80, "arm_far": 30, "forearm_far": 60,
                   "thigh_near": -10, "shin_near": -10, "thigh_far": 14, "shin_far": 6}),
            (TOSS, {"arm_far": 168, "forearm_far": 172, "arm_near": -60, "forearm_near": -50,
                    "thigh_near": 5, "shin_near": -15, "thigh_far": 22, "shin_far": -4}),
            # Trophy position: knees loaded, racket up behind, tossing arm still pointing at the ball.
            (0.38, {"torso": -14, "arm_near": -95, "forearm_near": -178, "arm_far": 172, "forearm_far": 176,
                    "thigh_near": 35, "shin_near": -30, "thigh_far": 42, "shin_far": -20}),
            # Racket drop behind the back, elbow high.
            (0.5, {"torso": -8, "arm_near": -160, "forearm_near": -30, "arm_far": 120, "forearm_far": 110,
                   "thigh_near": 20, "shin_near": -15, "thigh_far": 25, "shin_far": -10, "lift": 0.03}),
            # Contact at full reach, up and in front, legs driven off the ground.
            (CONTACT, {"torso": 10, "arm_near": -186, "forearm_near": -192, "arm_far": 60, "forearm_far": 80,
                       "thigh_near": -2, "shin_near": -12, "thigh_far": 2, "shin_far": -10, "lift": 0.1}),
            (0.76, {"torso": 28, "arm_near": -330, "forearm_near": -345, "arm_far": 30, "forearm_far": 70,
                    "thigh_near": 35, "shin_near": 10, "thigh_far": 5, "shin_far": -5, "lift": 0.0}),
            (1.0, {"x": 0.3, "torso": 10, "arm_near": -335, "forearm_near": -290, "arm_far": 20, "forearm_far": 60,
                   "thigh_near": 10, "shin_near": 0, "thigh_far": -6, "shin_far": -4}),
        ]  # fmt: skip
        if fault == "low_toss":
            # The ball drops on the server: the arm folds to reach it.
            frames[4] = (CONTACT, {**frames[4][1], "arm_near": -118, "forearm_near": -205, "lift": 0.02})
        if fault == "no_leg_drive":
            for _, pose in frames:
                for key in ("thigh_near", "shin_near", "thigh_far", "shin_far"):
                    if key in pose:
                        pose[key] = max(-10.0, min(pose[key], 14.0)) * 0.5
                pose["lift"] = 0.0
        if fault == "toss_behind":
            frames[4] = (CONTACT, {**frames[4][1], "torso": -24, "arm_near": -168, "forearm_near": -158, "head": -25})
            frames[5] = (0.76, {**frames[5][1], "torso": 8})
        return frames

    def backdrop(self, width: int, height: int, ground_y: float) -> np.ndarray:
        canvas = Canvas(
            gradient_background(
                width,
                height,
                top=(110, 160, 215),
                horizon=(200, 220, 235),
                ground=(60, 120, 170),
                ground_y=int(ground_y),
            )
        )
        net_x, net_top = 0.9 * width, ground_y - 0.14 * height
        # The net seen end-on: its post, the mesh hanging from the band, the white tape.
        canvas.rect(net_x - 0.012 * width, net_top, net_x + 0.012 * width, ground_y, (70, 75, 80))
        canvas.stroke((net_x, ground_y), (net_x, net_top), 0.006 * width, (40, 40, 40))
        canvas.rect(net_x - 0.014 * width, net_top - 2, net_x + 0.014 * width, net_top + 2, (245, 245, 245))
        canvas.rect(0, ground_y, width, ground_y + 2, (245, 245, 245))  # the baseline seen edge-on
        return canvas.image()

    def draw_props(self, canvas: Canvas, rep: Rep, phase: float, joints: Joints) -> None:
        head = _racket_head(rep, phase)
        canvas.stroke(joints.hand_near, along(joints.hand_near, _racket_angle(rep, phase), HANDLE * rep.scale),
                      rep.scale * 0.012, FRAME)  # fmt: skip
        canvas.ring(head, HEAD * rep.scale, rep.scale * 0.016, FRAME)
        canvas.disc(_ball(rep, phase), BALL * rep.scale * 1.4, YELLOW)


def _racket_angle(rep: Rep, phase: float) -> float:
    return rep.pose(phase)["forearm_near"]


def _racket_head(rep: Rep, phase: float) -> tuple[float, float]:
    return along(rep.joints(phase).hand_near, _racket_angle(rep, phase), (HANDLE + HEAD) * rep.scale)


def _ball(rep: Rep, phase: float) -> tuple[float, float]:
    """In the tossing hand, up and down the toss so that it meets the racket at contact, then away."""
    if phase <= TOSS:
        return along(rep.joints(phase).hand_far, 180, BALL * rep.scale * 2)
    start = along(rep.joints(TOSS).hand_far, 180, BALL * rep.scale * 2)
    contact = _racket_head(rep, CONTACT)
    if phase <= CONTACT:
        # A vertical parabola in time peaking just before contact, drifting in x toward the contact point.
        peak = TOSS + 0.85 * (CONTACT - TOSS)
        k = (start[1] - contact[1]) / ((TOSS - peak) ** 2 - (CONTACT - peak) ** 2)
        top = contact[1] - k * (CONTACT - peak) ** 2
        u = (phase - TOSS) / (CONTACT - TOSS)
        return start[0] + u * (contact[0] - start[0]), top + k * (phase - peak) ** 2
    # Struck: a flat serve skims the net; the faults find the net or sail long.
    angle = {None: 100.0, "low_toss": 125.0, "no_leg_drive": 118.0, "toss_behind": 75.0}[rep.fault]
    speed = 2.6 * rep.width * (phase - CONTACT)
    x = contact[0] + speed * math.sin(math.radians(angle))
    y = contact[1] + speed * math.cos(math.radians(angle))
    net_x = 0.9 * rep.width
    if x > net_x and rep.fault in ("low_toss", "no_leg_drive"):
        # Into the net: it stops there and drops.
        return net_x - 2, min(rep.ground_y - BALL * rep.scale, y + (x - net_x))
    return x, y
