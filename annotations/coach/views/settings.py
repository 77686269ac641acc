"""The coach's settings page: the language of their pages, saved on their profile."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_http_methods

from annotations.coach.language import use_language
from studies.models import CoachProfile


class LanguageForm(forms.Form):
    language = forms.ChoiceField(
        label=gettext_lazy("Language"),
        required=False,
        # Each language named in itself, so a coach who can't read the current one still finds theirs.
        choices=[("", gettext_lazy("Your browser's language")), *settings.LANGUAGES],
    )


@login_required
@require_http_methods(["GET", "POST"])
def coach_settings(request: HttpRequest) -> HttpResponse:
    profile = CoachProfile.objects.filter(user=request.user).first()
    if request.method == "POST":
        form = LanguageForm(request.POST)
        if form.is_valid():
            code = form.cleaned_data["language"]
            # Researchers without a coach profile keep the choice in this browser only.
            if profile is not None and profile.language != code:
                profile.language = code
                profile.save(update_fields=["language"])
            use_language(request, code)
            messages.success(request, gettext("Your language is saved."))
            return redirect("coach:settings")
    else:
        form = LanguageForm(initial={"language": profile.language if profile else ""})
    return render(request, "annotations/settings.html", {"form": form})
