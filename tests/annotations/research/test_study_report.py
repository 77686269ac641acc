"""The study report in the admin: recomputed when judgements change, cached, drawn, for researchers only."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from annotations.coach.judging import Answer, revisable, revise
from annotations.models import Judgement, StudyReport
from annotations.research.report_page import report_tables
from annotations.research.reports import refresh_report, report_is_stale
from annotations.tasks import compute_study_report
from tests.annotations.judged_study import judge_everything, open_study, prefer
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
BOOTSTRAP = 100


@pytest.fixture
def judged(db):
    judged = open_study(n_queries=2)
    judge_everything(judged, prefer(judged, ["beta", "alpha"], tie_every=5))
    return judged


@pytest.fixture
def researcher(client):
    user = UserFactory(username="researcher", email="r@example.org", superuser=True)
    client.force_login(user)
    return user


def _report_url(study) -> str:
    return reverse("admin:studies_study_report", args=[study.pk])


def test_an_answer_marks_the_report_stale_and_queues_one_recompute(db, django_capture_on_commit_callbacks):
    judged = open_study(n_queries=1)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        judge_everything(judged, prefer(judged, ["alpha", "beta"]), coaches=judged.coaches[:1])
    assert callbacks  # one per submit, run after each commit
    report = StudyReport.objects.get(study=judged.study)
    assert report.dirty
    assert report.queued is not None
    # Further answers while that recompute is pending queue nothing more: the pending one will read them.
    assert report_is_stale(judged.study.pk) is False
    assert StudyReport.objects.get(study=judged.study).queued == report.queued


def test_the_task_recomputes_only_when_judgements_changed(judged, django_capture_on_commit_callbacks):
    study = judged.study
    report_is_stale(study.pk)
    assert refresh_report(study.pk, bootstrap=BOOTSTRAP) == "computed"
    report = StudyReport.objects.get(study=study)
    assert not report.dirty
    assert report.computed is not None
    assert report.data["counts"]["judgements"] == Judgement.objects.filter(study=study).count()
    assert set(report.figures) >= {"leaderboard", "win_matrix", "likert_distribution", "agreement"}
    assert compute_study_report(study.pk) == "skipped: up to date"

    # A revision changes the results: the report is stale again, and the next run sees the new answer.
    # One its coach may still revise (among their last answers), whatever order the fixture made them in.
    ties = Judgement.objects.filter(study=study, kind="pairwise", choice="equal").order_by("-created", "-pk")
    judgement = next(j for j in ties if revisable(j))
    with django_capture_on_commit_callbacks(execute=True):
        revise(judgement.coach, judgement.pk, Answer(choice="left"))
    assert StudyReport.objects.get(study=study).dirty
    assert refresh_report(study.pk, bootstrap=BOOTSTRAP) == "computed"
    ties = sum(row["ties"] for row in StudyReport.objects.get(study=study).data["pairs"]["rows"])
    assert ties == report.data["pairs"]["rows"][0]["ties"] - 1


def test_the_report_page_shows_tables_figures_and_when_it_was_computed(judged, researcher, client):
    refresh_report(judged.study.pk, force=True, bootstrap=BOOTSTRAP)
    response = client.get(_report_url(judged.study))
    assert response.status_code == 200
    page = response.content.decode()
    for heading in ("Agreement on pairwise items", "Agreement on Likert items", "Leaderboard", "Head to head"):
        assert heading in page
    for text in ("Likert scores per method", "Paired Wilcoxon", "Coach quality", "Krippendorff"):
        assert text in page
    assert "Computed " in page
    assert page.count("<svg") >= 4
    assert reverse("admin:studies_study_figure", args=[judged.study.pk, "leaderboard", "pdf"]) in page
    # Coaches are listed by pseudonym, with their account for the researcher.
    assert judged.coaches[0].username in page
    # The study's change page and list link here.
    change = client.get(reverse("admin:studies_study_change", args=[judged.study.pk])).content.decode()
    assert _report_url(judged.study) in change
    assert _report_url(judged.study) in client.get(reverse("admin:studies_study_changelist")).content.decode()


def test_a_report_not_computed_yet_says_so(researcher, client, db):
    # Issue 14 changed the words: "recomputing..." with how long ago the last judgement came, not "Not computed yet".
    judged = open_study(n_queries=1)
    page = client.get(_report_url(judged.study)).content.decode()
    assert "Recomputing… no judgement has come in yet." in page
    assert "Not computed yet" not in page
    assert "Recompute now" in page


def test_a_report_being_recomputed_says_how_long_ago_the_last_judgement_came(judged, researcher, client):
    last = Judgement.objects.filter(study=judged.study).order_by("-created").first()
    Judgement.objects.filter(pk=last.pk).update(created=timezone.now() - timedelta(minutes=7))
    Judgement.objects.filter(study=judged.study).exclude(pk=last.pk).update(created=timezone.now() - timedelta(hours=1))
    page = client.get(_report_url(judged.study)).content.decode()
    assert "Recomputing… the last judgement came in 7\xa0minutes ago." in page
    refresh_report(judged.study.pk, force=True, bootstrap=BOOTSTRAP)
    StudyReport.objects.filter(study=judged.study).update(dirty=True)
    page = client.get(_report_url(judged.study)).content.decode()
    assert "Computed " in page
    assert "Recomputing… judgements have changed since, a recompute is queued; the last judgement came in" in page


def test_a_figure_without_data_says_so_instead_of_drawing_bare_axes(researcher, client, db):
    study = open_study(n_queries=1).study
    refresh_report(study.pk, force=True, bootstrap=BOOTSTRAP)
    report = StudyReport.objects.get(study=study)
    assert "coach_quality" not in report.figures
    page = client.get(_report_url(study)).content.decode()
    assert "Coach quality" in page
    assert "Figure: not enough data yet." in page


def test_a_reason_for_n_a_is_said_once_per_table_not_in_every_cell():
    unavailable = {"value": None, "unavailable": "no unit has two or more ratings"}
    subset = {
        "n_items": 3,
        "n_judgements": 3,
        "alpha_nominal": unavailable,
        "fleiss": {**unavailable, "name": "Fleiss' kappa"},
        "percent": unavailable,
    }
    section = {"how": "", "overall": subset, "by_sport": {"tennis": subset}, "by_pair": {"alpha vs beta": subset}}
    (table,) = report_tables({"agreement": {"pairwise": section}}, {})["Agreement"]
    assert table.notes == ["no unit has two or more ratings"]
    assert all(row[3:] == ["n/a (1)", "n/a (1)", "n/a (1)"] for row in table.rows)


def test_figures_download_as_valid_svg_and_pdf(judged, researcher, client):
    refresh_report(judged.study.pk, force=True, bootstrap=BOOTSTRAP)
    names = ["agreement", "leaderboard", "win_matrix", "likert_distribution", "score_by_rank", "coach_quality"]
    assert sorted(StudyReport.objects.get(study=judged.study).figures) == sorted(names)
    for name in names:
        svg = client.get(reverse("admin:studies_study_figure", args=[judged.study.pk, name, "svg"]))
        assert svg.status_code == 200
        assert svg["Content-Type"] == "image/svg+xml"
        assert f'filename="serve-{name}.svg"' in svg["Content-Disposition"]
        root = ET.fromstring(svg.content)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        pdf = client.get(reverse("admin:studies_study_figure", args=[judged.study.pk, name, "pdf"]))
        assert pdf.status_code == 200
        assert pdf["Content-Type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF-")
        assert pdf.content.rstrip().endswith(b"%%EOF")
    # Drawn the same way twice: the same bytes (no creation dates inside).
    again = client.get(reverse("admin:studies_study_figure", args=[judged.study.pk, names[-1], "pdf"]))
    assert again.content == pdf.content


def test_unknown_figures_and_figures_without_data_are_404(researcher, client, db):
    study = open_study(n_queries=1).study
    refresh_report(study.pk, force=True, bootstrap=BOOTSTRAP)
    for name, fmt in [("pie", "svg"), ("leaderboard", "png"), ("leaderboard", "svg")]:
        assert client.get(reverse("admin:studies_study_figure", args=[study.pk, name, fmt])).status_code == 404


def test_recompute_now_queues_a_recompute(researcher, client, db):
    study = open_study(n_queries=1).study
    refresh_report(study.pk, force=True, bootstrap=BOOTSTRAP)
    response = client.post(reverse("admin:studies_study_recompute", args=[study.pk]))
    assert response.status_code == 302
    assert StudyReport.objects.get(study=study).dirty
    assert "a recompute is queued" in client.get(_report_url(study)).content.decode()


def test_coaches_get_403_and_visitors_the_login_page(client, db):
    judged = open_study(n_queries=1)
    study = judged.study
    refresh_report(study.pk, force=True, bootstrap=BOOTSTRAP)
    urls = [
        _report_url(study),
        reverse("admin:studies_study_figure", args=[study.pk, "leaderboard", "svg"]),
        reverse("admin:studies_study_recompute", args=[study.pk]),
        reverse("admin:studies_study_export", args=[study.pk]),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302
        assert reverse("admin:login") in response["Location"]
    client.force_login(judged.coaches[0])
    for url in urls:
        assert client.get(url).status_code == 403
        assert client.post(url).status_code == 403
