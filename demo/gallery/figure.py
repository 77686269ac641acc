"""A stick-figure athlete: poses as joint angles, keyframed motion, and drawing.

A pose names the angle of every limb segment, so a fault is a small edit of a
few numbers in a few keyframes (knees that stay straight, an arm that stops at
the chest), and the figure stands on the ground by itself: the hips sit as high
as the longer leg reaches, plus any jump.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from demo.gallery.canvas import Canvas, Colour, Point

# Angles are in degrees. A limb angle is absolute, measured from straight down and
# positive toward image right: 0 hangs, 90 points right, 180 points up, -90 left.
# The torso angle is measured from straight up, positive leaning right. ``head`` tilts
# the head from the torso's line. ``x`` is the hips' position as a fraction of the
# frame's width and ``lift`` the height of a jump as a fraction of the figure's height.
# Facing the camera, ``bow`` bends the trunk toward the lens and ``crouch`` flexes hips
# and knees toward it; both only foreshorten, which is all a face-on camera sees.
NEUTRAL: dict[str, float] = {
    "x": 0.5,
    "lift": 0.0,
    "torso": 0.0,
    "bow": 0.0,
    "crouch": 0.0,
    "head": 0.0,
    "arm_near": 5.0,
    "forearm_near": 10.0,
    "arm_far": -5.0,
    "forearm_far": 0.0,
    "thigh_near": 3.0,
    "shin_near": 0.0,
    "thigh_far": -3.0,
    "shin_far": 0.0,
}

# Segment lengths as fractions of the figure's scale (about its standing height).
THIGH, SHIN, TORSO, UPPER_ARM, FOREARM = 0.245, 0.245, 0.30, 0.17, 0.16
NECK, HEAD_RADIUS = 0.085, 0.065
# Half the distance between the shoulders (and hips) when the figure faces the camera.
FRONT_HALF_WIDTH = 0.07

Keyframes = Sequence[tuple[float, Mapping[str, float]]]


@dataclass(frozen=True)
class Kit:
    """How one athlete looks: the coach in the gallery, the learners in the queries."""

    skin: Colour
    shirt: Colour
    shorts: Colour


@dataclass(frozen=True)
class Joints:
    """Pixel positions of every joint in one frame."""

    head: Point
    neck: Point
    shoulder_near: Point
    shoulder_far: Point
    elbow_near: Point
    elbow_far: Point
    hand_near: Point
    hand_far: Point
    hip_near: Point
    hip_far: Point
    knee_near: Point
    knee_far: Point
    foot_near: Point
    foot_far: Point
    scale: float

    def point(self, name: str) -> Point:
        return getattr(self, name)


def _smoothstep(u: float) -> float:
    return u * u * (3 - 2 * u)


def expand(keyframes: Keyframes, neutral: Mapping[str, float] = NEUTRAL) -> list[tuple[float, dict[str, float]]]:
    """Fill every keyframe in from the one before it, so each lists only what changes.

    ``neutral`` may add keys of a skill's own (a golf club's angle) to the body's.
    """
    full: list[tuple[float, dict[str, float]]] = []
    current = dict(neutral)
    for phase, changes in sorted(keyframes, key=lambda kf: kf[0]):
        unknown = set(changes) - set(neutral)
        if unknown:
            raise ValueError(f"unknown pose keys {sorted(unknown)}; known: {sorted(neutral)}")
        current = {**current, **changes}
        full.append((phase, current))
    return full


def pose_at(expanded: list[tuple[float, dict[str, float]]], phase: float) -> dict[str, float]:
    """The pose at ``phase`` (0 to 1), eased between the two keyframes around it."""
    if phase <= expanded[0][0]:
        return expanded[0][1]
    for (p0, a), (p1, b) in itertools.pairwise(expanded):
        if phase <= p1:
            u = _smoothstep((phase - p0) / (p1 - p0)) if p1 > p0 else 1.0
            return {key: a[key] + (b[key] - a[key]) * u for key in a}
    return expanded[-1][1]


def along(origin: Point, angle_deg: float, length: float) -> Point:
    """The point ``length`` pixels from ``origin`` at a limb angle (0 = straight down)."""
    rad = math.radians(angle_deg)
    return origin[0] + length * math.sin(rad), origin[1] + length * math.cos(rad)


def place(pose: Mapping[str, float], *, width: int, ground_y: float, scale: float, facing_camera: bool) -> Joints:
    """Forward kinematics: joint positions for a pose, feet on the ground unless jumping."""
    half = FRONT_HALF_WIDTH * scale if facing_camera else 0.0
    leg = math.cos(math.radians(pose["crouch"]))
    thigh, shin, trunk = THIGH * leg, SHIN * leg, TORSO * math.cos(math.radians(pose["bow"]))
    lowest_foot = max(
        thigh * math.cos(math.radians(pose["thigh_near"])) + shin * math.cos(math.radians(pose["shin_near"])),
        thigh * math.cos(math.radians(pose["thigh_far"])) + shin * math.cos(math.radians(pose["shin_far"])),
    )
    hip = (pose["x"] * width, ground_y - (lowest_foot + pose["lift"]) * scale)
    torso = math.radians(pose["torso"])
    up = (math.sin(torso), -math.cos(torso))
    across = (-up[1], up[0])  # toward image right when upright
    neck = (hip[0] + up[0] * trunk * scale, hip[1] + up[1] * trunk * scale)
    head_angle = math.radians(pose["torso"] + pose["head"])
    head = (neck[0] + math.sin(head_angle) * NECK * scale, neck[1] - math.cos(head_angle) * NECK * scale)

    def side(point: Point, sign: float) -> Point:
        return point[0] + sign * across[0] * half, point[1] + sign * across[1] * half

    shoulder_near, shoulder_far = side(neck, 1), side(neck, -1)
    hip_near, hip_far = side(hip, 1), side(hip, -1)
    elbow_near = along(shoulder_near, pose["arm_near"], UPPER_ARM * scale)
    elbow_far = along(shoulder_far, pose["arm_far"], UPPER_ARM * scale)
    knee_near = along(hip_near, pose["thigh_near"], thigh * scale)
    knee_far = along(hip_far, pose["thigh_far"], thigh * scale)
    return Joints(
        head=head,
        neck=neck,
        shoulder_near=shoulder_near,
        shoulder_far=shoulder_far,
        elbow_near=elbow_near,
        elbow_far=elbow_far,
        hand_near=along(elbow_near, pose["forearm_near"], FOREARM * scale),
        hand_far=along(elbow_far, pose["forearm_far"], FOREARM * scale),
        hip_near=hip_near,
        hip_far=hip_far,
        knee_near=knee_near,
        knee_far=knee_far,
        foot_near=along(knee_near, pose["shin_near"], shin * scale),
        foot_far=along(knee_far, pose["shin_far"], shin * scale),
        scale=scale,
    )


def _shade(colour: Colour, factor: float) -> Colour:
    return (round(colour[0] * factor), round(colour[1] * factor), round(colour[2] * factor))


def draw_athlete(canvas: Canvas, joints: Joints, kit: Kit, *, facing_camera: bool = False) -> None:
    """Far limbs first and darker, then the body, then the near limbs: a cheap sense of depth.

    Facing the camera, both arms hang in front of the body, so they are drawn last.
    Every limb has a dark outline so that an arm crossing the shirt stays readable.
    """
    limb = max(2.0, joints.scale * 0.028)
    far_shirt, far_shorts, far_skin = _shade(kit.shirt, 0.7), _shade(kit.shorts, 0.7), _shade(kit.skin, 0.75)

    def segment(a: Point, b: Point, radius: float, colour: Colour) -> None:
        canvas.stroke(a, b, radius, colour, outline=_shade(colour, 0.45))

    def far_arm() -> None:
        segment(joints.shoulder_far, joints.elbow_far, limb, far_shirt)
        segment(joints.elbow_far, joints.hand_far, limb * 0.9, far_skin)

    def near_arm() -> None:
        segment(joints.shoulder_near, joints.elbow_near, limb, kit.shirt)
        segment(joints.elbow_near, joints.hand_near, limb * 0.9, kit.skin)

    segment(joints.hip_far, joints.knee_far, limb * 1.2, far_shorts)
    segment(joints.knee_far, joints.foot_far, limb, far_skin)
    if not facing_camera:
        far_arm()
    hip_mid = _mid(joints.hip_near, joints.hip_far)
    shoulder_mid = _mid(joints.shoulder_near, joints.shoulder_far)
    canvas.stroke(joints.hip_near, joints.hip_far, limb * 1.6, kit.shorts)
    canvas.stroke(joints.shoulder_near, joints.shoulder_far, limb * 1.6, kit.shirt)
    canvas.stroke(hip_mid, shoulder_mid, limb * 1.8, kit.shirt)
    canvas.stroke(shoulder_mid, joints.head, limb * 0.8, kit.skin)
    canvas.disc(joints.head, HEAD_RADIUS * joints.scale + 1.0, _shade(kit.skin, 0.45))
    canvas.disc(joints.head, HEAD_RADIUS * joints.scale, kit.skin)
    segment(joints.hip_near, joints.knee_near, limb * 1.2, kit.shorts)
    segment(joints.knee_near, joints.foot_near, limb, kit.skin)
    if facing_camera:
        far_arm()
    near_arm()


def _mid(a: Point, b: Point) -> Point:
    return (a[0] + b[0]) / 2, (a[1] + b[1]) / 2
