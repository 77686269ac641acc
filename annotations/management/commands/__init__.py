"""``manage.py agreement`` and ``manage.py leaderboard``: the statistics on any CSV file."""

from __future__ import annotations
