"""Judgements in the admin: read-only, with their revision history."""

from __future__ import annotations

from django.contrib import admin

from annotations.models import Judgement, JudgementRevision
from studies.admin import STUDY_FILTER, ManagedStudyRowsAdmin


class RevisionInline(admin.TabularInline):
    model = JudgementRevision
    extra = 0
    can_delete = False
    readonly_fields = ["revision", "choice", "winner", "score", "rationale", "recorded", "replaced"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Judgement)
class JudgementAdmin(ManagedStudyRowsAdmin):
    """Judgements of the studies the researcher manages (another group's are not found)."""

    list_display = ["id", "study", "kind", "coach", "choice", "winner", "score", "flag", "server_ms", "created"]
    list_filter = [STUDY_FILTER, "kind", "flag"]
    search_fields = ["coach__username", "rationale"]
    list_select_related = ["study", "coach"]
    inlines = [RevisionInline]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# The study admin with the results report and the dataset export (registered there).
from annotations.research import study_admin  # noqa: E402, F401
