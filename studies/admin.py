"""The researcher's side of studies: design, lifecycle actions, progress, and coach invitations.

A study with a research group is seen and changed only by that group's researchers (and
superusers), through ``studies.access``: every list, form, action and page here starts from
the studies the user manages, so another group's study, even by a guessed address, is not found.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from retrieval_backend.models import Sport
from studies import lifecycle
from studies.access import managed_studies, manages
from studies.design_freeze_admin import DesignFreezeAdmin
from studies.invitations import invite_coach
from studies.lifecycle_admin import StudyLifecycleAdmin
from studies.models import DESIGN_PARTS, Assignment, CoachProfile, GoldCheck, Item, Participation, Study
from studies.progress import study_progress
from studies.readiness import deepest_common_depth

# Read-only lines shown within a design part: what the gold rate makes.
DESIGN_PART_EXTRAS = {"Quality and randomness": ("gold_items",)}
# The largest depth a study accepts (Study.depth_k's validator).
DEPTH_LIMIT = 100


class GoldCheckInline(admin.TabularInline):
    """Gold checks, their query and clips found by searching (ids, skills, narrations, mistakes), not typed as ids."""

    model = GoldCheck
    extra = 0
    autocomplete_fields = ["query", "helpful_clip", "unrelated_clip"]


class StudyForm(forms.ModelForm):
    class Meta:
        model = Study
        fields = "__all__"  # noqa: DJ007 - the admin's fieldsets choose what is shown

    def clean(self):
        data = super().clean()
        low, high = data.get("scale_min"), data.get("scale_max")
        if low is not None and high is not None and high <= low:
            self.add_error(
                "scale_max", "The scale needs at least two points: make the maximum larger than the minimum."
            )
        labels = data.get("scale_labels") or {}
        if not isinstance(labels, dict):
            self.add_error(
                "scale_labels", 'Give labels as an object such as {"1": "Not helpful", "5": "Very helpful"}.'
            )
        elif low is not None and high is not None:
            outside = [key for key in labels if not str(key).lstrip("-").isdigit() or not low <= int(key) <= high]
            if outside:
                self.add_error(
                    "scale_labels", f"Labels for points outside the scale {low}..{high}: {', '.join(outside)}."
                )
        kinds, methods = data.get("kinds"), data.get("methods")
        if kinds in {Study.Kinds.PAIRWISE, Study.Kinds.BOTH} and methods is not None and len(methods) < 2:
            self.add_error("methods", "Pairwise comparisons need at least two methods.")
        return data


@admin.register(Study)
class StudyAdmin(StudyLifecycleAdmin, DesignFreezeAdmin):
    form = StudyForm
    change_form_template = "admin/studies/study/change_form.html"
    list_display = ["title", "status", "kinds", "raters_per_item", "group", "progress_bar", "created"]
    list_filter = ["status", "kinds", ("group", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    filter_horizontal = ["methods", "query_sports", "eligible_sports", "eligible_coaches"]
    raw_id_fields = ["queries"]
    inlines = [GoldCheckInline]
    actions = ["build_items", "publish", "pause", "close", "duplicate"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "group", "status", "status_message", "readiness", "instructions"]}),
        *((part, {"fields": [*fields, *DESIGN_PART_EXTRAS.get(part, ())]}) for part, fields in DESIGN_PARTS.items()),
    ]

    def get_queryset(self, request: HttpRequest):
        return managed_studies(request.user, super().get_queryset(request))

    def has_view_permission(self, request: HttpRequest, obj: Study | None = None) -> bool:
        return super().has_view_permission(request, obj) and (obj is None or manages(request.user, obj))

    def has_change_permission(self, request: HttpRequest, obj: Study | None = None) -> bool:
        return super().has_change_permission(request, obj) and (obj is None or manages(request.user, obj))

    def has_delete_permission(self, request: HttpRequest, obj: Study | None = None) -> bool:
        return super().has_delete_permission(request, obj) and (obj is None or manages(request.user, obj))

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "group" and not request.user.is_superuser:
            # A researcher hands a study only to a group they belong to (or to every researcher).
            kwargs["queryset"] = Group.objects.filter(pk__in=request.user.groups.values("pk"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_changeform_initial_data(self, request: HttpRequest):
        initial = super().get_changeform_initial_data(request)
        groups = list(request.user.groups.values_list("pk", flat=True)[:2])
        if len(groups) == 1 and "group" not in initial:
            initial["group"] = groups[0]  # a researcher of one group starts studies for that group
        return initial

    @admin.display(description="readiness")
    def readiness(self, study: Study) -> str:
        if study.pk is None:
            return "Save the draft to see what it still needs."
        if study.status != Study.Status.DRAFT:
            return "—"
        return self.readiness_html(study)

    @admin.display(description="gold items")
    def gold_items(self, study: Study) -> str:
        return self.gold_items_html(study)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        study = self.get_object(request, object_id)
        buttons = self.lifecycle_buttons(request, study) if study is not None else []
        return super().change_view(
            request, object_id, form_url, {**(extra_context or {}), "lifecycle_buttons": buttons}
        )

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if not change and "depth_k" not in form.changed_data:
            self._default_depth(request, form.instance)

    def _default_depth(self, request: HttpRequest, study: Study) -> None:
        """A new study left at the default depth takes the deepest candidate sets all its methods have."""
        from studies.items import selected_queries

        method_ids = list(study.methods.values_list("pk", flat=True))
        deepest = deepest_common_depth(method_ids, selected_queries(study))
        if deepest is None or deepest == study.depth_k:
            return
        depth = min(deepest, DEPTH_LIMIT)
        lifecycle.update_design(study, {"depth_k": depth}, by=request.user)
        study.depth_k = depth
        self.message_user(
            request, f"Depth k set to {depth}: the deepest candidate sets all of the study's methods have."
        )

    @admin.display(description="progress")
    def progress_bar(self, study: Study) -> str:
        url = reverse("admin:studies_study_progress", args=[study.pk])
        return format_html('<a href="{}">progress</a>', url)

    def get_urls(self):
        custom = [
            path(
                "<int:study_id>/progress/",
                self.admin_site.admin_view(self.progress_view),
                name="studies_study_progress",
            ),
            *self.lifecycle_urls(),
        ]
        return custom + super().get_urls()

    def progress_view(self, request: HttpRequest, study_id: int) -> HttpResponse:
        study = get_object_or_404(managed_studies(request.user), pk=study_id)
        if not self.has_view_permission(request, study):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "study": study,
            "progress": study_progress(study),
            "title": f"Progress of {study.title}",
        }
        return TemplateResponse(request, "admin/studies/study/progress.html", context)

    # The list's actions and the study page's buttons both go through run_transition (studies.lifecycle_admin).
    @admin.action(description="Build items (check the design, then generate on a worker)", permissions=["change"])
    def build_items(self, request, queryset):
        for study in queryset:
            self.run_transition(request, study, "build")

    @admin.action(description="Publish (go live)", permissions=["change"])
    def publish(self, request, queryset):
        for study in queryset:
            self.run_transition(request, study, "publish")

    @admin.action(description="Pause", permissions=["change"])
    def pause(self, request, queryset):
        for study in queryset:
            self.run_transition(request, study, "pause")

    @admin.action(description="Close", permissions=["change"])
    def close(self, request, queryset):
        for study in queryset:
            self.run_transition(request, study, "close")

    @admin.action(description="Duplicate as a new draft", permissions=["add"])
    def duplicate(self, request, queryset):
        for study in queryset:
            self.run_duplicate(request, study)


class InviteForm(forms.Form):
    emails = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="One coach a line: email, then optionally a comma and their name.",
    )
    sports = forms.ModelMultipleChoiceField(Sport.objects.all(), required=False)
    years_coaching = forms.IntegerField(min_value=0, required=False)
    credential = forms.CharField(required=False, max_length=255)

    def clean_emails(self) -> list[tuple[str, str]]:
        from django.core.validators import validate_email

        people, errors = [], []
        for n, line in enumerate(self.cleaned_data["emails"].splitlines(), 1):
            if not line.strip():
                continue
            email, _, name = (part.strip() for part in line.partition(","))
            try:
                validate_email(email)
            except forms.ValidationError:
                errors.append(f"line {n}: “{email}” is not an email address")
            else:
                people.append((email, name))
        if errors:
            raise forms.ValidationError("; ".join(errors))
        if not people:
            raise forms.ValidationError("Give at least one email address.")
        return people


@admin.register(CoachProfile)
class CoachProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "email", "years_coaching", "credential", "sport_list"]
    search_fields = ["user__username", "user__email", "credential"]
    list_filter = ["sports"]
    filter_horizontal = ["sports"]
    raw_id_fields = ["user"]
    change_list_template = "admin/studies/coachprofile/change_list.html"

    @admin.display(description="email")
    def email(self, profile: CoachProfile) -> str:
        return profile.user.email

    @admin.display(description="sports")
    def sport_list(self, profile: CoachProfile) -> str:
        return ", ".join(s.name for s in profile.sports.all())

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user").prefetch_related("sports")

    def get_urls(self):
        return [
            path("invite/", self.admin_site.admin_view(self.invite_view), name="studies_coach_invite"),
            *super().get_urls(),
        ]

    def invite_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = InviteForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            base_url = request.build_absolute_uri("/")
            for email, name in form.cleaned_data["emails"]:
                invitation = invite_coach(
                    email,
                    base_url=base_url,
                    name=name,
                    sports=list(form.cleaned_data["sports"]),
                    years_coaching=form.cleaned_data["years_coaching"] or 0,
                    credential=form.cleaned_data["credential"],
                )
                verb = "Invited" if invitation.created else "Sent a new link to"
                self.message_user(request, f"{verb} {invitation.email} (user name {invitation.username}).")
            return HttpResponseRedirect(reverse("admin:studies_coachprofile_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "title": "Invite coaches",
        }
        return TemplateResponse(request, "admin/studies/coachprofile/invite.html", context)


class ManagedStudyRowsAdmin(admin.ModelAdmin):
    """Rows of a study (items, assignments, participations, judgements): only those of studies the user manages."""

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).filter(study__in=managed_studies(request.user))

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return super().has_view_permission(request, obj) and (obj is None or manages(request.user, obj.study))

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return super().has_change_permission(request, obj) and (obj is None or manages(request.user, obj.study))

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return super().has_delete_permission(request, obj) and (obj is None or manages(request.user, obj.study))


# The study filter lists only the studies whose rows the user sees.
STUDY_FILTER = ("study", admin.RelatedOnlyFieldListFilter)


@admin.register(Item)
class ItemAdmin(ManagedStudyRowsAdmin):
    list_display = ["key", "study", "kind", "is_gold", "judgements_done", "needed", "flagged"]
    list_filter = [STUDY_FILTER, "kind", "is_gold"]
    search_fields = ["key"]
    raw_id_fields = ["query", "clip_a", "clip_b"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Assignment)
class AssignmentAdmin(ManagedStudyRowsAdmin):
    list_display = ["item", "coach", "status", "reserved", "expires", "completed"]
    list_filter = ["status", STUDY_FILTER]
    raw_id_fields = ["item", "coach"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Participation)
class ParticipationAdmin(ManagedStudyRowsAdmin):
    list_display = ["coach", "study", "eligible", "done_count", "joined"]
    list_filter = [STUDY_FILTER, "eligible"]
    raw_id_fields = ["coach", "current", "upcoming", "last_query"]
