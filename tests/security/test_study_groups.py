"""Research groups in the admin: a researcher never sees nor changes another group's study, or its rows.

Two labs share one platform. Study A belongs to lab A, study B to lab B, and study C to no
group (every researcher manages it). Rita, a researcher of lab A with every permission on
studies and their rows, tries everything on study B: lists, forms, actions, the report,
exports, figures, and guessed addresses. Each is "not found", and nothing of B changes.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from annotations.models import Judgement, StudyExport
from studies.models import Assignment, Item, Participation, Study
from tests.annotations.judged_study import judge_everything, open_study, prefer
from tests.factories import StudyExportFactory, StudyFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def labs():
    lab_a, lab_b = Group.objects.create(name="lab A"), Group.objects.create(name="lab B")
    a = open_study(slug="lab-a-study", n_queries=1, n_coaches=2, raters=2, sport_slug="tennis")
    b = open_study(slug="lab-b-study", n_queries=1, n_coaches=2, raters=2, sport_slug="padel")
    for judged in (a, b):
        judge_everything(judged, prefer(judged, ["alpha", "beta"]))
    Study.objects.filter(pk=a.study.pk).update(group=lab_a)
    Study.objects.filter(pk=b.study.pk).update(group=lab_b)
    c = StudyFactory(title="Open to all researchers", slug="shared-study")
    return {"lab_a": lab_a, "lab_b": lab_b, "a": a.study, "b": b.study, "c": c}


@pytest.fixture
def rita(client, labs):
    user = UserFactory(username="rita", email="rita@example.org", password="pw", is_staff=True)
    user.groups.add(labs["lab_a"])
    user.user_permissions.set(Permission.objects.filter(content_type__app_label__in=["studies", "annotations"]))
    client.force_login(user)
    return user


def _ids(response) -> set[int]:
    return set(response.context["cl"].queryset.values_list("study_id", flat=True))


def _not_found(response) -> bool:
    """The admin answers a missing object by sending the user home with a message; our pages answer 404."""
    if response.status_code == 404:
        return True
    return response.status_code == 302 and response["Location"] == reverse("admin:index")


def test_another_groups_study_is_neither_listed_nor_found_at_any_address(client, rita, labs):
    response = client.get(reverse("admin:studies_study_changelist"))
    assert response.status_code == 200
    listed = set(response.context["cl"].queryset.values_list("pk", flat=True))
    assert listed == {labs["a"].pk, labs["c"].pk}
    page = response.content.decode()
    assert labs["b"].title not in page
    assert "lab B" not in page  # not even in the group filter
    # Nor at any of its addresses, guessed or remembered.
    b = labs["b"]
    for name in ("change", "delete", "history"):
        assert _not_found(client.get(reverse(f"admin:studies_study_{name}", args=[b.pk]))), name
    for name in ("progress", "report"):
        assert client.get(reverse(f"admin:studies_study_{name}", args=[b.pk])).status_code == 404, name
    assert client.get(reverse("admin:studies_study_figure", args=[b.pk, "leaderboard", "svg"])).status_code == 404
    # The same pages of the group's own study work.
    a = labs["a"]
    assert client.get(reverse("admin:studies_study_change", args=[a.pk])).status_code == 200
    assert client.get(reverse("admin:studies_study_report", args=[a.pk])).status_code == 200
    assert client.get(reverse("admin:studies_study_progress", args=[a.pk])).status_code == 200


def test_another_groups_study_cannot_be_changed_deleted_exported_or_recomputed(client, rita, labs):
    b = labs["b"]
    before = Study.objects.filter(pk=b.pk).values().get()
    client.post(reverse("admin:studies_study_change", args=[b.pk]), {"title": "Taken over", "slug": b.slug})
    client.post(reverse("admin:studies_study_delete", args=[b.pk]), {"post": "yes"})
    for action in ("pause", "close", "duplicate", "export_dataset", "recompute_report", "delete_selected"):
        client.post(
            reverse("admin:studies_study_changelist"),
            {"action": action, "_selected_action": [b.pk], "post": "yes"},
        )
    assert client.post(reverse("admin:studies_study_export", args=[b.pk])).status_code == 404
    assert client.post(reverse("admin:studies_study_recompute", args=[b.pk])).status_code == 404
    assert Study.objects.filter(pk=b.pk).values().get() == before
    assert not StudyExport.objects.filter(study=b).exists()
    assert not Study.objects.filter(title__startswith=f"{b.title} (copy)").exists()


def test_another_groups_export_cannot_be_downloaded_by_a_guessed_address(client, rita, labs, settings):
    exports = {}
    for key in ("a", "b"):
        (settings.EXPORT_ROOT / f"{key}.zip").parent.mkdir(parents=True, exist_ok=True)
        (settings.EXPORT_ROOT / f"{key}.zip").write_bytes(b"PK zip of " + key.encode())
        exports[key] = StudyExportFactory(study=labs[key], status=StudyExport.Status.DONE, path=f"{key}.zip")
    b, own = exports["b"], exports["a"]
    assert client.get(reverse("admin:studies_study_export_download", args=[labs["b"].pk, b.pk])).status_code == 404
    # Nor through the group's own study's address.
    assert client.get(reverse("admin:studies_study_export_download", args=[labs["a"].pk, b.pk])).status_code == 404
    mine = client.get(reverse("admin:studies_study_export_download", args=[labs["a"].pk, own.pk]))
    assert mine.status_code == 200
    assert b"".join(mine.streaming_content) == b"PK zip of a"


def test_a_study_stays_in_the_researchers_groups(client, rita, labs):
    a = labs["a"]
    form = client.get(reverse("admin:studies_study_change", args=[a.pk])).context["adminform"].form
    assert set(form.fields["group"].queryset) == {labs["lab_a"]}
    data = {"title": a.title, "slug": a.slug, "group": labs["lab_b"].pk}
    client.post(reverse("admin:studies_study_change", args=[a.pk]), data)
    a.refresh_from_db()
    assert a.group == labs["lab_a"]
    # A new study starts in the researcher's group.
    form = client.get(reverse("admin:studies_study_add")).context["adminform"].form
    assert form.initial["group"] == labs["lab_a"].pk


ROWS = [
    (Item, "studies_item"),
    (Assignment, "studies_assignment"),
    (Participation, "studies_participation"),
    (Judgement, "annotations_judgement"),
]


def test_rows_of_another_groups_study_are_neither_listed_nor_found(client, rita, labs):
    a, b = labs["a"], labs["b"]
    for model, admin_name in ROWS:
        assert model.objects.filter(study=b).exists()
        response = client.get(reverse(f"admin:{admin_name}_changelist"))
        assert response.status_code == 200
        assert _ids(response) == {a.pk}, admin_name
        assert b.title not in response.content.decode()  # nor in the study filter
        # Asking the list for study B's rows by its filter gives none.
        filtered = client.get(reverse(f"admin:{admin_name}_changelist"), {"study__id__exact": b.pk})
        assert filtered.status_code != 200 or b.pk not in _ids(filtered)
        row = model.objects.filter(study=b).first()
        assert _not_found(client.get(reverse(f"admin:{admin_name}_change", args=[row.pk]))), admin_name
        mine = model.objects.filter(study=a).first()
        assert client.get(reverse(f"admin:{admin_name}_change", args=[mine.pk])).status_code == 200


def test_the_other_group_and_superusers_see_study_b(client, labs):
    bo = UserFactory(username="bo", password="pw", is_staff=True)
    bo.groups.add(labs["lab_b"])
    bo.user_permissions.set(Permission.objects.filter(content_type__app_label="studies"))
    client.force_login(bo)
    listed = client.get(reverse("admin:studies_study_changelist")).context["cl"].queryset
    assert set(listed.values_list("pk", flat=True)) == {labs["b"].pk, labs["c"].pk}
    assert client.get(reverse("admin:studies_study_report", args=[labs["b"].pk])).status_code == 200
    root = UserFactory(username="root", email="root@example.org", password="pw", superuser=True)
    client.force_login(root)
    listed = client.get(reverse("admin:studies_study_changelist")).context["cl"].queryset
    assert set(listed.values_list("pk", flat=True)) == {labs["a"].pk, labs["b"].pk, labs["c"].pk}
