"""Admin for the gallery, methods, indexes and candidates (jobs are in core.admin)."""

from __future__ import annotations

from django.contrib import admin

from retrieval_backend.candidates.admin import generate_candidates_for_all_queries
from retrieval_backend.method_admin import RetrievalMethodAdminMixin
from retrieval_backend.models import (
    Candidate,
    CandidateSet,
    Clip,
    EmbeddingIndex,
    MistakeQuery,
    RetrievalMethod,
    Sport,
    Video,
)


@admin.register(Sport)
class SportAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    list_display = ["__str__", "sport", "role", "duration_s", "width", "height", "codec", "probe_status"]
    list_filter = ["role", "probe_status", "sport", "codec"]
    search_fields = ["title", "external_id", "source_uri", "sha256"]
    list_select_related = ["sport"]
    show_full_result_count = False
    readonly_fields = [*Video.PROBED_FIELDS, "created"]


@admin.register(Clip)
class ClipAdmin(admin.ModelAdmin):
    list_display = ["external_id", "sport", "skill", "start_s", "end_s", "short_narration"]
    list_filter = ["sport"]
    search_fields = ["external_id", "skill", "narration"]
    list_select_related = ["sport"]
    raw_id_fields = ["video"]
    show_full_result_count = False

    @admin.display(description="narration")
    def short_narration(self, clip: Clip) -> str:
        return clip.narration if len(clip.narration) <= 80 else clip.narration[:77] + "..."


@admin.register(MistakeQuery)
class MistakeQueryAdmin(admin.ModelAdmin):
    list_display = ["external_id", "sport", "skill", "mistake", "start_s", "end_s"]
    list_filter = ["sport"]
    search_fields = ["external_id", "skill", "mistake"]
    list_select_related = ["sport"]
    raw_id_fields = ["video", "positives"]
    show_full_result_count = False


@admin.register(RetrievalMethod)
class RetrievalMethodAdmin(RetrievalMethodAdminMixin, admin.ModelAdmin):
    list_display = ["name", "backend", "version", "created"]
    search_fields = ["name", "backend", "description"]
    list_filter = ["backend"]
    actions = [generate_candidates_for_all_queries]


@admin.register(EmbeddingIndex)
class EmbeddingIndexAdmin(admin.ModelAdmin):
    list_display = ["method", "version", "kind", "dim", "n", "status", "created"]
    list_filter = ["status", "kind", "method"]
    readonly_fields = ["sha256", "path", "clips_fingerprint", "created", "updated"]


class CandidateInline(admin.TabularInline):
    model = Candidate
    raw_id_fields = ["clip"]
    extra = 0


@admin.register(CandidateSet)
class CandidateSetAdmin(admin.ModelAdmin):
    list_display = ["query", "method", "k", "source", "created"]
    list_filter = ["method", "source"]
    search_fields = ["query__external_id"]
    raw_id_fields = ["query"]
    list_select_related = ["query", "method"]
    inlines = [CandidateInline]
    show_full_result_count = False
