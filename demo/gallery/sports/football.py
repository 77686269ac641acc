"""Football (soccer) penalty kick, seen from the side: run-up, plant, strike through the ball, follow through."""

from __future__ import annotations

import math

import numpy as np

from demo.gallery.canvas import Canvas, Point, gradient_background
from demo.gallery.figure import Joints, Keyframes
from demo.gallery.skill import Fault, Rep, Skill, arc

CONTACT = 0.52
BALL = 0.06
GOAL_X = 0.9  # the goal line, as a fraction of the width
CROSSBAR = 0.8  # crossbar height, as a fraction of the figure's scale
WHITE = (245, 245, 245)


class PenaltyKick(Skill):
    sport = "football"
    sport_name = "Football"
    name = "penalty kick"
    seconds = 2.4
    faults = (
        Fault("leaning_back", focus="neck", label="leaning back at contact"),
        Fault("plant_far", focus="foot_far", label="plant foot too far behind the ball"),
        Fault("no_follow_through", focus="knee_near", label="kicking leg stops at the ball"),
    )

    def keyframes(self, fault: str | None) -> Keyframes:
        stride_a = {"torso": 12, "thigh_near": -25, "shin_near": -75, "thigh_far": 35, "shin_far": 8,
                    "arm_near": 40, "forearm_near": 100, "arm_far": -40, "forearm_far": 10}  # fmt: skip
        stride_b = {"thigh_near": 35, "shin_near": 8, "thigh_far": -25, "shin_far": -75,
                    "arm_near": -40, "forearm_near": 10, "arm_far": 40, "forearm_far": 100}  # fmt: skip
        frames: list[tuple[float, dict[str, float]]] = [
            (0.0, {"x": 0.12, **stride_a}),
            (0.13, {"x": 0.21, **stride_b}),
            (0.26, {"x": 0.3, **stride_a}),
            # Plant beside the ball, kicking leg cocked, arms out for balance.
            (0.42, {"x": 0.39, "torso": 14, "thigh_far": 10, "shin_far": -4, "thigh_near": -45, "shin_near": -115,
                    "arm_far": 100, "forearm_far": 95, "arm_near": -60, "forearm_near": -40}),
            # Contact: knee and chest over the ball, ankle locked.
            (CONTACT, {"torso": 12, "thigh_near": 28, "shin_near": 28, "thigh_far": 6, "shin_far": -4}),
            (0.7, {"x": 0.43, "torso": 6, "lift": 0.04, "thigh_near": 85, "shin_near": 75, "thigh_far": -4,
                   "shin_far": -8, "arm_far": 60, "forearm_far": 40, "arm_near": -20, "forearm_near": 0}),
            (1.0, {"x": 0.5, "torso": 8, "lift": 0.0, "thigh_near": 20, "shin_near": 2, "thigh_far": -10,
                   "shin_far": -12, "arm_far": 15, "forearm_far": 30, "arm_near": -10, "forearm_near": 0}),
        ]  # fmt: skip
        if fault == "leaning_back":
            frames[3] = (0.42, {**frames[3][1], "torso": -6})
            frames[4] = (CONTACT, {**frames[4][1], "torso": -22, "thigh_near": 40, "shin_near": 50})
            frames[5] = (0.7, {**frames[5][1], "torso": -26, "thigh_near": 110, "shin_near": 115})
        if fault == "plant_far":
            # The plant foot lands a long stride short, so the kicking leg has to reach.
            frames[3] = (0.42, {**frames[3][1], "x": 0.33, "torso": 2})
            frames[4] = (CONTACT, {**frames[4][1], "x": 0.34, "torso": -4, "thigh_near": 52, "shin_near": 62,
                                   "thigh_far": -8, "shin_far": -12})  # fmt: skip
            frames[5] = (0.7, {**frames[5][1], "x": 0.38})
        if fault == "no_follow_through":
            frames[5] = (0.7, {**frames[5][1], "thigh_near": 20, "shin_near": -10, "lift": 0.0, "torso": 10})
        return frames

    def backdrop(self, width: int, height: int, ground_y: float) -> np.ndarray:
        canvas = Canvas(
            gradient_background(
                width, height, top=(90, 140, 200), horizon=(190, 215, 230), ground=(60, 140, 60), ground_y=int(ground_y)
            )
        )
        scale = 0.58 * height  # the figure's scale, as in Rep
        post_x, bar_y = GOAL_X * width, ground_y - CROSSBAR * scale
        # The goal from the side: the net slopes back from the crossbar to the ground.
        for k in range(6):
            y = bar_y + k * (ground_y - bar_y) / 5
            canvas.stroke((post_x, y), (post_x + (width - post_x) * (0.5 + 0.1 * k), y), 0.6, (225, 225, 225))
        canvas.stroke((post_x, bar_y), (width * 1.02, ground_y), 0.8, (225, 225, 225))
        canvas.stroke((post_x, ground_y), (post_x, bar_y), 0.012 * width, WHITE)
        canvas.disc((post_x, bar_y), 0.014 * width, WHITE)
        canvas.rect(0, ground_y, width, ground_y + 2, WHITE)
        return canvas.image()

    def draw_props(self, canvas: Canvas, rep: Rep, phase: float, joints: Joints) -> None:
        centre = _ball(rep, phase)
        radius = BALL * rep.scale
        canvas.disc(centre, radius + 1, (40, 40, 40))
        canvas.disc(centre, radius, WHITE)
        canvas.disc(centre, radius * 0.35, (40, 40, 40))


def _ball(rep: Rep, phase: float) -> Point:
    radius = BALL * rep.scale
    spot = (rep.joints(CONTACT, True).foot_near[0] + radius * 0.8, rep.ground_y - radius)
    if phase <= CONTACT:
        return spot
    t = (phase - CONTACT) / (1 - CONTACT)
    goal_x = GOAL_X * rep.width
    bar_y = rep.ground_y - CROSSBAR * rep.scale
    if rep.fault is None:
        # Driven low and hard into the side netting.
        end, peak, flight = (goal_x + 0.05 * rep.width, bar_y + 0.45 * (rep.ground_y - bar_y)), bar_y + 20, 0.35
    elif rep.fault == "leaning_back":
        end, peak, flight = (rep.width * 1.05, bar_y - 0.2 * rep.height), -rep.height, 0.4
    elif rep.fault == "plant_far":
        end, peak, flight = (goal_x - 0.02 * rep.width, rep.ground_y - radius), rep.ground_y - 0.25 * rep.height, 1.0
    else:
        end, peak, flight = (goal_x - 0.05 * rep.width, rep.ground_y - radius), rep.ground_y - 0.1 * rep.height, 1.0
    u = t / flight
    if u <= 1:
        return arc(spot, end, peak, u)
    if rep.fault is None:
        # Caught by the net: it drops straight down.
        return end[0], min(rep.ground_y - radius, end[1] + (u - 1) * 0.5 * rep.height * math.sqrt(u - 1))
    return end
