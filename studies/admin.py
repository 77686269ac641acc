"""Admin registrations arrive with the models."""

from __future__ import annotations
