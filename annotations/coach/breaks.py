"""Suggesting a break: after a study's ``break_every`` items judged in a row.

Judgements drift when a rater works too long without a pause. "In a row" means
without a gap of ``STREAK_GAP_S`` between two answers, so a coach who stepped
away is not told to step away again. The streak is a courtesy, not a record: it
lives in a signed cookie per study, which costs no database write per answer
(a session would).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.core.signing import BadSignature
from django.http import HttpRequest, HttpResponse

from studies.models import Study

STREAK_GAP_S = 10 * 60
COOKIE_MAX_AGE_S = 24 * 3600


@dataclass(frozen=True)
class Streak:
    count: int = 0
    last: float = 0.0

    def due(self, study: Study, *, now: float | None = None) -> int:
        """The streak's length when a break is due now, else 0."""
        now = time.time() if now is None else now
        if not study.break_every or not self.count or now - self.last > STREAK_GAP_S:
            return 0
        return self.count if self.count % study.break_every == 0 else 0


def _cookie(study: Study) -> str:
    return f"cb-streak-{study.pk}"


def current(request: HttpRequest, study: Study) -> Streak:
    try:
        value = request.get_signed_cookie(_cookie(study), default="", max_age=COOKIE_MAX_AGE_S)
        count, last = value.split(":")
        return Streak(int(count), float(last))
    except (BadSignature, ValueError):
        return Streak()


def after_answer(request: HttpRequest, study: Study, *, now: float | None = None) -> Streak:
    """The streak with one more answer: continued, or a new one after a pause."""
    now = time.time() if now is None else now
    streak = current(request, study)
    count = streak.count + 1 if now - streak.last <= STREAK_GAP_S else 1
    return Streak(count, now)


def remember(response: HttpResponse, request: HttpRequest, study: Study, streak: Streak) -> None:
    response.set_signed_cookie(
        _cookie(study),
        f"{streak.count}:{streak.last:.0f}",
        max_age=COOKIE_MAX_AGE_S,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure(),
    )
