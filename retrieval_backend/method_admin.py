"""Admin pieces for retrieval methods: the backend as a choice, parameters checked by the backend.

Kept apart from ``admin.py`` so the form can be tested alone and the admin
module stays a list of registrations.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from retrieval_backend.candidates.importing import IMPORTED_BACKEND
from retrieval_backend.methods import BackendParamsError, available_backends
from retrieval_backend.methods.base import COMMON_PARAMS
from retrieval_backend.models import RetrievalMethod


class RetrievalMethodForm(forms.ModelForm):
    backend = forms.ChoiceField(
        help_text="Built-in backends, and those of installed packages (entry point group "
        '"coachbench.retrieval_backends").'
    )

    class Meta:
        model = RetrievalMethod
        fields = ["name", "backend", "params", "version", "description"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.backends = available_backends()
        choices = [
            (name, f"{name}: {cls.description}" if cls.description else name) for name, cls in self.backends.items()
        ]
        current = self.instance.backend if self.instance and self.instance.pk else ""
        if current == IMPORTED_BACKEND:
            choices.append((current, f"{current}: candidates computed elsewhere (import_candidates)"))
        elif current and current not in self.backends:
            choices.append((current, f"{current} (not installed on this server)"))
        self.fields["backend"].choices = choices

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        name = cleaned.get("backend")
        if name == IMPORTED_BACKEND:
            # Its candidates come from import_candidates; there is no backend to check parameters against.
            return cleaned
        backend = self.backends.get(name or "")
        if backend is None:
            if name:
                self.add_error("backend", f"backend {name!r} is not installed here; choose another or install it.")
            return cleaned
        params = cleaned.get("params")
        if params is None:
            params = {}
        try:
            backend.validate_params(params)
        except BackendParamsError as exc:
            self.add_error("params", str(exc))
        cleaned["params"] = params
        return cleaned


class RetrievalMethodAdminMixin:
    """Use on the RetrievalMethod ModelAdmin: backend choice, checked parameters, weak-baseline warning."""

    form = RetrievalMethodForm
    readonly_fields = ["backend_notes"]

    def backend_notes(self, method: RetrievalMethod) -> str:
        backend = available_backends().get(method.backend)
        if backend is None:
            return "Choose a backend and save to see its parameters."
        try:
            warning = backend.weak_baseline_warning(backend.validate_params(method.params or {}))
        except BackendParamsError as exc:
            warning = f"Parameters invalid: {exc}"
        params = {**backend.PARAMS, **COMMON_PARAMS}
        return format_html(
            "{}<p>{}</p><p>Parameters:</p><ul>{}</ul>",
            format_html('<p class="cb-warning">{}</p>', warning) if warning else "",
            backend.description,
            format_html_join("", "<li><code>{}</code>: {}</li>", sorted(params.items())),
        )

    backend_notes.short_description = "backend notes"  # type: ignore[attr-defined]

    def save_model(self, request: HttpRequest, obj: RetrievalMethod, form: forms.ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)  # type: ignore[misc]
        backend = available_backends().get(obj.backend)
        warning = backend.weak_baseline_warning(backend.validate_params(obj.params or {})) if backend else ""
        if warning:
            messages.warning(request, f"Method {obj.name}: {warning}")
