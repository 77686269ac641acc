"""Management commands of the annotations app."""

from __future__ import annotations
