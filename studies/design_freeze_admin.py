"""The admin's side of the design freeze: a study's design changes, and a study is deleted, only as a draft.

The lifecycle decides (``studies.lifecycle.update_design``, ``delete_drafts``): it locks the study's row
and refuses a study that is no longer a draft at that moment, as the API's refusal does. Here a refusal
becomes an error message and nothing the request asked is saved or logged; the admin's own "changed
successfully" is held back. The form of a study past draft shows the design read-only and keeps only
who manages it (its group) editable.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpRequest

from studies import lifecycle
from studies.models import Study

# What the frozen form shows but does not let change: everything but the group.
FROZEN_MANY_TO_MANY = ["methods", "query_sports", "queries", "eligible_sports", "eligible_coaches"]


class DesignFreezeAdmin(admin.ModelAdmin):
    """A ``ModelAdmin`` for ``Study`` whose changes and deletions go through the lifecycle."""

    def _edits_design(self, request: HttpRequest, obj: Study | None) -> bool:
        """Whether this page edits the design: a new study's or a draft's, or a draft's form posted since.

        A form opened on a draft and posted after the study was built or published still carries the
        design. It is taken as the draft's form, so ``save_model`` hands it to the lifecycle, which
        refuses it and says why, instead of cutting it to the frozen form's one field and saving that.
        """
        if obj is None or not obj.is_frozen:
            return True
        return request.method == "POST" and "title" in request.POST

    def get_readonly_fields(self, request: HttpRequest, obj: Study | None = None):
        always = ["status", "status_message", "readiness", "gold_items"]
        if not self._edits_design(request, obj):
            # The design is frozen once items exist: "duplicate" starts a new draft to change it.
            # Who manages the study (its group) may still change.
            return [f.name for f in Study._meta.fields if f.name not in {"id", "group"}] + [
                *FROZEN_MANY_TO_MANY,
                "readiness",
                "gold_items",
            ]
        return always

    def get_prepopulated_fields(self, request, obj=None):
        return self.prepopulated_fields if self._edits_design(request, obj) else {}

    def get_inlines(self, request, obj):
        return self.inlines if self._edits_design(request, obj) else []

    def _refuse(self, request: HttpRequest, refusal: lifecycle.DesignFrozen, prefix: str = "") -> None:
        request.study_design_refused = True
        self.message_user(request, f"{prefix}{refusal}", messages.ERROR)

    def _refused(self, request: HttpRequest) -> bool:
        return getattr(request, "study_design_refused", False)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
            super().save_model(request, obj, form, change)
        elif not self._edits_design(request, obj):
            # A frozen study's form holds only who manages it: write that, not the status read before.
            if form.changed_data:
                obj.save(update_fields=form.changed_data)
        else:
            changes = {name: form.cleaned_data[name] for name in form.changed_data}
            try:
                lifecycle.update_design(obj, changes, by=request.user)
            except lifecycle.DesignFrozen as refusal:
                self._refuse(request, refusal)

    def save_related(self, request, form, formsets, change):
        if self._refused(request):
            return
        if change and self._edits_design(request, form.instance):
            # update_design has set the many-to-many fields. The study's row stays locked until this
            # request's transaction ends, so the gold checks are saved under the same lock.
            for formset in formsets:
                self.save_formset(request, form, formset, change=change)
            return
        super().save_related(request, form, formsets, change)

    def construct_change_message(self, request, form, formsets, add=False):
        # A refused change saved no gold checks, so there are no saved formsets to describe.
        return [] if self._refused(request) else super().construct_change_message(request, form, formsets, add)

    def log_change(self, request, obj, message):
        if not self._refused(request):
            return super().log_change(request, obj, message)
        return None

    def log_deletions(self, request, queryset):
        """Deletions are logged by ``_delete_drafts``, with the deletion, once the lifecycle allows it."""
        return []

    def delete_model(self, request, obj):
        self._delete_drafts(request, [obj])

    def delete_queryset(self, request, queryset):
        self._delete_drafts(request, list(queryset), refused_prefix="Nothing was deleted: ")

    def _delete_drafts(self, request, studies: list[Study], refused_prefix: str = "") -> None:
        try:
            with transaction.atomic():
                # In the deletion's transaction, so a refused deletion leaves no entry in the history.
                super().log_deletions(request, studies)
                lifecycle.delete_drafts(studies, by=request.user)
        except lifecycle.DesignFrozen as refusal:
            self._refuse(request, refusal, refused_prefix)

    def message_user(self, request, message, level=messages.INFO, extra_tags="", fail_silently=False):
        # After a refusal, the admin's own "changed/deleted successfully" would say the opposite of what happened.
        if self._refused(request) and level == messages.SUCCESS:
            return
        super().message_user(request, message, level, extra_tags, fail_silently)
