"""Only a draft's design changes: a change or deletion racing a build or publish is refused, from the admin too.

The API's side is in tests/api/test_studies_api.py; here the admin's forms, and a real race on PostgreSQL.
"""

from __future__ import annotations

import json
import threading

import pytest
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection, transaction
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import reverse

from studies import lifecycle
from studies.items import build_items
from studies.models import GoldCheck, Study

pytestmark = pytest.mark.django_db

REFUSED = "only a draft can be"
DUPLICATE = "duplicate it in the admin to change the design"


def make_staff_researcher(username: str = "rita"):
    """A researcher as the admin knows one: staff with the studies app's model permissions, no superuser."""
    user = get_user_model().objects.create_user(username, is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="studies"))
    return user


@pytest.fixture
def rita(client):
    user = make_staff_researcher()
    client.force_login(user)
    return user


def change_form(study: Study, **changes) -> dict:
    """The study's change form as the admin renders it for a draft, filled with its current design."""
    data = {}
    for name, value in model_to_dict(study).items():
        if isinstance(value, list):
            value = [row.pk for row in value]
        data[name] = "" if value is None else value
    data["scale_labels"] = json.dumps(study.scale_labels)
    data["queries"] = ",".join(str(pk) for pk in data["queries"])
    data.update({"gold_checks-TOTAL_FORMS": 0, "gold_checks-INITIAL_FORMS": 0}, **changes)
    return data


def with_gold_check(data: dict, gallery) -> dict:
    """The form with one new gold check in its inline."""
    _, clips, queries, _ = gallery
    return {
        **data,
        "gold_checks-TOTAL_FORMS": 1,
        "gold_checks-0-kind": "pairwise",
        "gold_checks-0-query": queries[0].pk,
        "gold_checks-0-helpful_clip": clips[0].pk,
        "gold_checks-0-unrelated_clip": clips[1].pk,
    }


def publish_built(study: Study) -> None:
    """What happens elsewhere meanwhile: the study's items are built and it goes live."""
    build_items(study)
    Study.objects.filter(pk=study.pk).update(status=Study.Status.READY)
    study.refresh_from_db()
    lifecycle.publish(study)


def design(study: Study) -> dict:
    study = Study.objects.get(pk=study.pk)
    return {
        **model_to_dict(study, exclude=["status", "published"]),
        "methods": set(study.methods.values_list("pk", flat=True)),
        "gold_checks": list(study.gold_checks.values()),
    }


def shown_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_a_draft_saves_its_fields_methods_and_gold_checks_in_the_admin(client, rita, study, gallery):
    alpha = gallery[3][0]
    url = reverse("admin:studies_study_change", args=[study.pk])
    assert 'name="title"' in client.get(url).content.decode()
    data = with_gold_check(change_form(study, title="Serve, renamed", kinds="likert", methods=[alpha.pk]), gallery)
    response = client.post(url, data, follow=True)
    assert response.status_code == 200
    assert any("was changed successfully" in message for message in shown_messages(response))
    study.refresh_from_db()
    assert study.title == "Serve, renamed"
    assert list(study.methods.all()) == [alpha]
    assert study.gold_checks.count() == 1
    assert LogEntry.objects.filter(object_id=str(study.pk), action_flag=CHANGE).exists()


def test_a_change_form_posted_after_the_study_was_published_is_refused_and_changes_nothing(
    client, rita, study, gallery
):
    alpha = gallery[3][0]
    url = reverse("admin:studies_study_change", args=[study.pk])
    assert 'name="title"' in client.get(url).content.decode()  # opened while a draft
    data = with_gold_check(change_form(study, title="Too late", kinds="likert", methods=[alpha.pk]), gallery)
    publish_built(study)
    before = design(study)

    response = client.post(url, data, follow=True)
    assert response.status_code == 200
    (message,) = shown_messages(response)
    assert message.startswith("“Serve study” is live: only a draft can be changed.")
    assert DUPLICATE in message
    assert design(study) == before  # fields, methods and gold checks alike
    assert not GoldCheck.objects.exists()
    assert not LogEntry.objects.filter(object_id=str(study.pk), action_flag=CHANGE).exists()


def test_a_frozen_studys_group_still_changes_in_the_admin(client, study, live_study):
    from django.contrib.auth.models import Group

    lab = Group.objects.create(name="lab")
    user = make_staff_researcher()
    user.groups.add(lab)
    client.force_login(user)
    before = design(study)
    url = reverse("admin:studies_study_change", args=[study.pk])
    page = client.get(url).content.decode()
    assert 'name="title"' not in page
    response = client.post(url, {"group": lab.pk}, follow=True)
    assert any("was changed successfully" in message for message in shown_messages(response))
    assert design(study) == {**before, "group": lab.pk}
    assert Study.objects.get(pk=study.pk).status == Study.Status.LIVE


def test_a_delete_confirmed_after_the_study_was_published_is_refused(client, rita, study):
    url = reverse("admin:studies_study_delete", args=[study.pk])
    assert client.get(url).status_code == 200  # the confirmation page, opened while a draft
    publish_built(study)
    response = client.post(url, {"post": "yes"}, follow=True)
    (message,) = shown_messages(response)
    assert message.startswith("“Serve study” is live: only a draft can be deleted.")
    assert Study.objects.filter(pk=study.pk, status=Study.Status.LIVE).exists()
    assert study.items.exists()
    assert not LogEntry.objects.filter(action_flag=DELETION).exists()


def test_a_draft_is_deleted_in_the_admin_and_the_deletion_logged(client, rita, study):
    response = client.post(reverse("admin:studies_study_delete", args=[study.pk]), {"post": "yes"}, follow=True)
    assert any("was deleted successfully" in message for message in shown_messages(response))
    assert not Study.objects.filter(pk=study.pk).exists()
    assert LogEntry.objects.filter(object_id=str(study.pk), action_flag=DELETION).exists()


def test_deleting_a_selection_deletes_drafts_only_all_or_none(client, rita, study):
    spare = Study.objects.create(title="Spare draft", slug="spare")
    changelist = reverse("admin:studies_study_changelist")
    selection = {"action": "delete_selected", "_selected_action": [study.pk, spare.pk], "post": "yes"}
    publish_built(study)
    response = client.post(changelist, selection, follow=True)
    (message,) = shown_messages(response)
    assert message.startswith("Nothing was deleted: “Serve study” is live: only a draft can be deleted.")
    assert Study.objects.filter(pk__in=[study.pk, spare.pk]).count() == 2
    assert not LogEntry.objects.filter(action_flag=DELETION).exists()

    response = client.post(changelist, {**selection, "_selected_action": [spare.pk]}, follow=True)
    assert any("Successfully deleted 1 study" in message for message in shown_messages(response))
    assert not Study.objects.filter(pk=spare.pk).exists()
    assert LogEntry.objects.filter(object_id=str(spare.pk), action_flag=DELETION).exists()


def test_the_lifecycle_refuses_to_change_or_delete_a_study_past_draft(study, gallery):
    alpha = gallery[3][0]
    changed = lifecycle.update_design(study.pk, {"title": "Draft, renamed", "kinds": "likert", "methods": [alpha]})
    assert (changed.title, list(changed.methods.all())) == ("Draft, renamed", [alpha])
    publish_built(study)
    with pytest.raises(lifecycle.DesignFrozen, match=f"is live: {REFUSED} changed"):
        lifecycle.update_design(study, {"methods": []})
    with pytest.raises(lifecycle.DesignFrozen, match=f"is live: {REFUSED} deleted"):
        lifecycle.delete_draft(study)
    assert list(study.methods.all()) == [alpha]
    with pytest.raises(ValueError, match="Not part of a study's design: status"):
        lifecycle.update_design(study, {"status": "draft"})


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("where", ["admin", "api"])
def test_a_change_racing_a_build_waits_for_it_then_is_refused(where, gallery, coaches):
    """One connection moves the study on and holds its row; the change, on another, waits, then is refused."""
    from rest_framework.authtoken.models import Token

    _, _, _, methods = gallery
    study = Study.objects.create(title="Race", slug="race", raters_per_item=3, seed=3)
    study.methods.set(methods)
    user = make_staff_researcher()
    before = design(study)
    client = Client()
    client.force_login(user)
    token = Token.objects.create(user=user).key
    data = change_form(study, title="Racing", methods=[methods[0].pk], kinds="likert")
    moved, release = threading.Event(), threading.Event()
    answers: list = []
    errors: list[BaseException] = []

    def build() -> None:
        # What start_build does in its transaction: the state moves by a conditional update, which holds
        # the row until the transaction commits (here, once the change is seen waiting for it).
        try:
            with transaction.atomic():
                assert Study.objects.filter(pk=study.pk, status="draft").update(status="generating") == 1
                moved.set()
                assert release.wait(30)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    def change() -> None:
        try:
            if where == "admin":
                answers.append(client.post(reverse("admin:studies_study_change", args=[study.pk]), data, follow=True))
            else:
                answers.append(
                    Client().patch(
                        f"/api/v1/studies/{study.pk}/",
                        json.dumps({"title": "Racing", "kinds": "likert", "methods": [methods[0].name]}),
                        content_type="application/json",
                        HTTP_AUTHORIZATION=f"Token {token}",
                    )
                )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    builder = threading.Thread(target=build)
    builder.start()
    assert moved.wait(30)
    changer = threading.Thread(target=change)
    changer.start()
    try:
        _wait_until_a_connection_waits_for_a_lock()
    finally:
        release.set()
        builder.join(30)
        changer.join(30)
    assert not errors, errors
    (answer,) = answers
    if where == "admin":
        (message,) = shown_messages(answer)
    else:
        assert answer.status_code == 409
        message = answer.json()["detail"]
    assert message.startswith(f"“Race” is generating items: {REFUSED} changed.")
    assert design(study) == before
    assert Study.objects.get(pk=study.pk).status == "generating"


def _wait_until_a_connection_waits_for_a_lock() -> None:
    import time

    deadline = time.monotonic() + 30
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("the change never waited for the study's row")
