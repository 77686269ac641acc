"""The skills of the demo gallery, one module per sport."""

from __future__ import annotations

from retrieval_backend.demo.skill import Skill
from retrieval_backend.demo.sports.basketball import JumpShot
from retrieval_backend.demo.sports.football import PenaltyKick
from retrieval_backend.demo.sports.golf import Swing
from retrieval_backend.demo.sports.tennis import Serve

SKILLS: tuple[Skill, ...] = (JumpShot(), Serve(), Swing(), PenaltyKick())
