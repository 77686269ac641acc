"""Password-reset throttling: reset e-mails can't be used to flood a mailbox or probe for addresses.

Two counts per window (``PASSWORD_RESET_WINDOW_S``, default an hour), in the same
shared cache as the log-in counts (core.login_throttle):

- per e-mail address entered (``PASSWORD_RESETS_PER_EMAIL``, default 3): past it,
  the form answers as usual but no further mail goes out; saying so would tell a
  stranger which addresses have accounts, and the owner already has a fresh link;
- per client address (``PASSWORD_RESETS_PER_ADDRESS``, default 20): past it, the
  form says to wait, and for how long.
"""

from __future__ import annotations

import hashlib
import math
import time

from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.views import PasswordResetView
from django.core.cache import cache

from core.login_throttle import client_address

_PREFIX = "password-resets"


def _key(kind: str, value: str) -> str:
    return f"{_PREFIX}:{kind}:{hashlib.sha256(value.encode()).hexdigest()}"


def _count(key: str) -> dict:
    record = cache.get(key)
    if record is None or record["t0"] + settings.PASSWORD_RESET_WINDOW_S <= time.time():
        return {"n": 0, "t0": time.time()}
    return record


def _add_one(key: str) -> None:
    record = _count(key)
    record["n"] += 1
    remaining = record["t0"] + settings.PASSWORD_RESET_WINDOW_S - time.time()
    cache.set(key, record, timeout=max(1, math.ceil(remaining)))


def address_wait_s(request) -> int:
    """Seconds until this client may ask for another reset; 0 when it may now."""
    address = client_address(request)
    if not address:
        return 0
    record = _count(_key("addr", address))
    if record["n"] < settings.PASSWORD_RESETS_PER_ADDRESS:
        return 0
    return max(1, math.ceil(record["t0"] + settings.PASSWORD_RESET_WINDOW_S - time.time()))


class ThrottledPasswordResetForm(PasswordResetForm):
    """Sends at most ``PASSWORD_RESETS_PER_EMAIL`` reset mails to one address per window."""

    def save(self, *args, request=None, **kwargs):
        email = self.cleaned_data["email"].strip().casefold()
        key = _key("email", email)
        if _count(key)["n"] >= settings.PASSWORD_RESETS_PER_EMAIL:
            return None  # answered like any other request: see the module docstring
        _add_one(key)
        return super().save(*args, request=request, **kwargs)


class ThrottledPasswordResetView(PasswordResetView):
    form_class = ThrottledPasswordResetForm

    def form_valid(self, form):
        wait_s = address_wait_s(self.request)
        if wait_s:
            minutes = max(1, math.ceil(wait_s / 60))
            form.add_error(
                None,
                f"Too many password-reset requests from your network address. Wait {minutes} more "
                f"minute{'s' if minutes != 1 else ''}, then try again; a link already sent stays valid.",
            )
            return self.form_invalid(form)
        address = client_address(self.request)
        if address:
            _add_one(_key("addr", address))
        return super().form_valid(form)
