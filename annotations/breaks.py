"""Suggesting a break: after a study's ``break_every`` items judged in a row.

Judgements drift when a rater works too long without a pause. "In a row" means
without a gap of ``STREAK_GAP_S`` between two answers, so a coach who stepped
away is not told to step away again. The streak lives in the session: it is a
courtesy, not a record, and costs no extra query beyond the session write that
a submit makes anyway.
"""

from __future__ import annotations

import time

from django.contrib.sessions.backends.base import SessionBase

from studies.models import Study

STREAK_GAP_S = 10 * 60


def _key(study: Study) -> str:
    return f"coachbench:streak:{study.pk}"


def record_judged(session: SessionBase, study: Study, *, now: float | None = None) -> int:
    """Count one more answer in the coach's current streak; returns the streak's length."""
    now = time.time() if now is None else now
    count, last = session.get(_key(study), (0, 0.0))
    count = count + 1 if now - last <= STREAK_GAP_S else 1
    session[_key(study)] = (count, now)
    return count


def break_due(session: SessionBase, study: Study, *, now: float | None = None) -> int:
    """The streak's length when a break is due now, else 0."""
    if not study.break_every:
        return 0
    now = time.time() if now is None else now
    count, last = session.get(_key(study), (0, 0.0))
    if count and count % study.break_every == 0 and now - last <= STREAK_GAP_S:
        return count
    return 0
