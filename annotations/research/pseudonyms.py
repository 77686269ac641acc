"""Pseudonymous coach ids: stable within a study, unlinkable across studies without the server's secret.

Exports and reports name coaches by ``HMAC-SHA256(SECRET_KEY, "<study slug>:<user id>")``, truncated.
Keyed by the study, the same coach gets different ids in two studies' bundles, so merging public
bundles does not link a coach's judgements; the researcher who holds the secret can still map an id
back (the report page does, for staff). Changing SECRET_KEY changes every pseudonym.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings

PREFIX = "coach-"
DIGITS = 16  # 64 bits: no collision in practice among a study's coaches


def coach_pseudonym(study_slug: str, user_id: int) -> str:
    message = f"{study_slug}:{user_id}".encode()
    digest = hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()
    return PREFIX + digest[:DIGITS]
