"""Who calls the study endpoints, for the permission tables of the studies, results and export tests.

Each role is what a script might hold a token for: nobody, a coach, a researcher of the study's
group, a researcher of another group, staff without model permissions.
"""

from __future__ import annotations

from django.contrib.auth.models import Group

from tests.api.conftest import make_researcher
from tests.studies.conftest import make_coach

# role -> expected status on an endpoint of a study in the "lab" group.
DENIED = {"anonymous": 401, "coach": 403, "staff_without_perms": 403, "other_group": 404}


def people() -> dict:
    """Users for each role; the researcher is in the "lab" group, ``other_group`` in another."""
    lab, _ = Group.objects.get_or_create(name="lab")
    elsewhere, _ = Group.objects.get_or_create(name="elsewhere")
    researcher = make_researcher("lab-researcher")
    researcher.groups.add(lab)
    outsider = make_researcher("elsewhere-researcher")
    outsider.groups.add(elsewhere)
    staff = make_researcher("staff-no-perms", perms=False)
    staff.groups.add(lab)
    return {
        "anonymous": None,
        "coach": make_coach("roles-coach"),
        "staff_without_perms": staff,
        "other_group": outsider,
        "researcher": researcher,
        "lab": lab,
    }


def json_keys(value) -> set[str]:
    """Every key anywhere in a JSON document."""
    if isinstance(value, dict):
        return set(value) | {key for item in value.values() for key in json_keys(item)}
    if isinstance(value, list):
        return {key for item in value for key in json_keys(item)}
    return set()
