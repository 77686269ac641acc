"""The skills of the demo gallery, one module per sport."""

from __future__ import annotations

from demo.gallery.skill import Skill
from demo.gallery.sports.basketball import JumpShot
from demo.gallery.sports.football import PenaltyKick
from demo.gallery.sports.golf import Swing
from demo.gallery.sports.tennis import Serve

SKILLS: tuple[Skill, ...] = (JumpShot(), Serve(), Swing(), PenaltyKick())
