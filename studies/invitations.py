"""Inviting coaches: an account with no usable password, and a one-time link to set one."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from retrieval_backend.models import Sport
from studies.models import CoachProfile


@dataclass(frozen=True)
class Invitation:
    username: str
    email: str
    link: str
    created: bool


def password_link(user, base_url: str) -> str:
    """A link to set a password. It stops working once used: the token hashes the current password."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return base_url.rstrip("/") + reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token})


def invite_coach(
    email: str,
    *,
    base_url: str,
    name: str = "",
    sports: list[Sport] | tuple[Sport, ...] = (),
    years_coaching: int = 0,
    credential: str = "",
) -> Invitation:
    """Create (or find) the coach's account and profile, and email them a link to set their password."""
    User = get_user_model()
    email = User.objects.normalize_email(email.strip())
    with transaction.atomic():
        user = User.objects.filter(email__iexact=email).first()
        created = user is None
        if created:
            username = email.split("@", 1)[0][:140]
            base, n = username, 2
            while User.objects.filter(username=username).exists():
                username, n = f"{base}{n}", n + 1
            first, _, last = name.strip().partition(" ")
            user = User(username=username, email=email, first_name=first[:150], last_name=last[:150])
            user.set_unusable_password()
            user.save()
        profile, _ = CoachProfile.objects.get_or_create(user=user)
        if created or years_coaching or credential:
            profile.years_coaching = years_coaching or profile.years_coaching
            profile.credential = credential or profile.credential
            profile.save()
        if sports:
            profile.sports.add(*sports)
    link = password_link(user, base_url)
    send_mail(
        subject="You are invited to rate coaching clips on coachbench",
        message=(
            f"Hello{(' ' + name) if name else ''},\n\n"
            "A researcher has invited you to judge instructional sports clips on coachbench.\n"
            f"Your user name is {user.get_username()}. Set your password here (the link works once):\n\n"
            f"{link}\n\nThen log in and open your studies.\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[email],
    )
    return Invitation(user.get_username(), email, link, created)
