"""Judgement models arrive with the studies issue."""

from __future__ import annotations
