"""The study admin, extended with what annotations knows: the results report and the dataset export.

Studies know nothing of judgements (data flows one way), so instead of the studies app linking
here, this module re-registers its ``StudyAdmin`` with the report page, figure downloads,
export actions and export downloads added. Every page here is for staff who may view studies;
anyone else signed in gets a 403, and the downloads are never served outside the admin.
A study of another research group (``studies.access``) is a 404 on every one of them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Max
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_POST

from annotations.models import StudyExport, StudyReport
from annotations.research.export.runs import export_file, start_export
from annotations.research.pseudonyms import coach_pseudonym
from annotations.research.report_page import figure_for_page, report_tables
from annotations.research.reports import recompute_now
from studies.access import managed_studies
from studies.admin import StudyAdmin
from studies.models import Study

View = Callable[..., HttpResponse]


class StudyResultsAdmin(StudyAdmin):
    change_form_template = "admin/annotations/study/change_form.html"
    list_display = [*StudyAdmin.list_display, "results"]
    actions = [*StudyAdmin.actions, "recompute_report", "export_dataset", "export_dataset_with_identities"]

    @admin.display(description="results")
    def results(self, study: Study) -> str:
        return format_html(
            '<a href="{}">report and exports</a>', reverse("admin:studies_study_report", args=[study.pk])
        )

    def get_urls(self):
        def staff(view: View) -> View:
            return self._for_researchers(view)

        custom = [
            path("<int:study_id>/report/", staff(self.report_view), name="studies_study_report"),
            path("<int:study_id>/report/recompute/", staff(self.recompute_view), name="studies_study_recompute"),
            path("<int:study_id>/report/export/", staff(self.export_view), name="studies_study_export"),
            path(
                "<int:study_id>/report/figures/<slug:name>.<str:fmt>",
                staff(self.figure_view),
                name="studies_study_figure",
            ),
            path(
                "<int:study_id>/exports/<int:export_id>/download/",
                staff(self.download_view),
                name="studies_study_export_download",
            ),
        ]
        return custom + super().get_urls()

    def _for_researchers(self, view: View) -> View:
        """Sign-in for visitors, 403 for signed-in users who aren't staff allowed to view studies.

        The admin's own wrapper would send a coach to the admin's login form; a clear refusal is better.
        """

        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path(), reverse("admin:login"))
            if not (request.user.is_active and request.user.is_staff and self.has_view_permission(request)):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return csrf_protect(never_cache(wrapped))

    @staticmethod
    def _managed_study(request: HttpRequest, study_id: int) -> Study:
        """The study, if ``request.user`` manages it; another research group's study is a 404, like a missing one."""
        return get_object_or_404(managed_studies(request.user), pk=study_id)

    def report_view(self, request: HttpRequest, study_id: int) -> HttpResponse:
        study = self._managed_study(request, study_id)
        report = StudyReport.objects.filter(study=study).first()
        data = report.data if report and report.computed else {}
        exports = list(study.exports.select_related("job", "requested_by")[:20])
        # Our own matplotlib output, with its inline styles turned into attributes (the CSP forbids style=).
        figures = {
            name: mark_safe(figure_for_page(svg))  # noqa: S308 - our own matplotlib output, not user input
            for name, svg in (report.figures if report else {}).items()
        }
        sections = report_tables(data, self._usernames(study)) if data else {}
        for tables in sections.values():
            for table in tables:
                table.drawn = figures.get(table.figure, "")
        last_judgement = study.judgements.aggregate(last=Max("created"))["last"]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Results of {study.title}",
            "study": study,
            "report": report,
            "results": data,
            "sections": sections,
            "state_line": (report or StudyReport(study=study)).page_message(last_judgement),
            "exports": exports,
            "can_export_identities": self.has_change_permission(request, study),
            # Reload (no JavaScript) while something this page shows is still being computed.
            "refresh": bool(report and report.dirty)
            or any(e.status in {StudyExport.Status.QUEUED, StudyExport.Status.RUNNING} for e in exports),
        }
        return TemplateResponse(request, "admin/annotations/study/report.html", context)

    def _usernames(self, study: Study) -> dict[str, str]:
        coach_ids = study.judgements.values("coach_id").distinct()
        users = get_user_model().objects.filter(pk__in=coach_ids).only("pk", "username")
        return {coach_pseudonym(study.slug, user.pk): user.get_username() for user in users}

    def recompute_view(self, request: HttpRequest, study_id: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:studies_study_report", args=[study_id]))
        study = self._managed_study(request, study_id)
        recompute_now(study.pk)
        self.message_user(request, "Recomputing on a worker: reload this page in a moment.", messages.INFO)
        return HttpResponseRedirect(reverse("admin:studies_study_report", args=[study.pk]))

    def export_view(self, request: HttpRequest, study_id: int) -> HttpResponse:
        return require_POST(self._export)(request, study_id)

    def _export(self, request: HttpRequest, study_id: int) -> HttpResponse:
        study = self._managed_study(request, study_id)
        identities = request.POST.get("identities") == "1"
        if identities and not self.has_change_permission(request, study):
            raise PermissionDenied
        start_export(study, requested_by=request.user, include_identities=identities)
        self.message_user(request, "Export started on a worker: the download appears here when it is complete.")
        return HttpResponseRedirect(reverse("admin:studies_study_report", args=[study.pk]) + "#exports")

    def figure_view(self, request: HttpRequest, study_id: int, name: str, fmt: str) -> HttpResponse:
        from annotations.research.results.figures import FIGURES, FORMATS, render_figure

        study = self._managed_study(request, study_id)
        report = StudyReport.objects.filter(study=study, computed__isnull=False).first()
        if report is None or name not in FIGURES or fmt not in FORMATS:
            raise Http404("No such figure: the report may not be computed yet.")
        try:
            content = render_figure(report.data, name, fmt)
        except ValueError as error:
            raise Http404(str(error)) from None
        response = HttpResponse(content, content_type=FORMATS[fmt])
        response["Content-Disposition"] = f'attachment; filename="{study.slug}-{name}.{fmt}"'
        return response

    def download_view(self, request: HttpRequest, study_id: int, export_id: int) -> HttpResponse:
        export = get_object_or_404(
            StudyExport, pk=export_id, study__in=managed_studies(request.user), study_id=study_id
        )
        if not export.is_offered:
            raise Http404("This export is not complete.")
        if export.include_identities and not self.has_change_permission(request, export.study):
            raise PermissionDenied
        try:
            path = export_file(export)
            handle = path.open("rb")
        except FileNotFoundError:
            raise Http404("The export's file is gone: start a new export.") from None
        return FileResponse(handle, as_attachment=True, filename=path.name, content_type="application/zip")

    @admin.action(description="Recompute the results report")
    def recompute_report(self, request, queryset):
        for study in queryset:
            recompute_now(study.pk)
        self.message_user(request, f"Recomputing {queryset.count()} report(s) on a worker.")

    @admin.action(description="Export dataset (coaches pseudonymous)")
    def export_dataset(self, request, queryset):
        self._start_exports(request, queryset, identities=False)

    @admin.action(description="Export dataset with coach identities (personal data)", permissions=["change"])
    def export_dataset_with_identities(self, request, queryset):
        self._start_exports(request, queryset, identities=True)

    def _start_exports(self, request, queryset, *, identities: bool) -> None:
        for study in queryset:
            start_export(study, requested_by=request.user, include_identities=identities)
            url = reverse("admin:studies_study_report", args=[study.pk]) + "#exports"
            self.message_user(
                request, format_html('{}: export started; <a href="{}">follow it here</a>.', study.title, url)
            )


admin.site.unregister(Study)
admin.site.register(Study, StudyResultsAdmin)
