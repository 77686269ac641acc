"""The tests of ``test_look_ahead_page`` again, outside the test's transaction, on PostgreSQL.

Requests then run as they do in production, each statement committing on its own, so
the assignment engine serves the next item by its one-statement path
(``studies.assignment_sql.quick_next``) and the submit renders it from what that
statement returned. Inside a test's transaction the general path runs instead.
"""

from __future__ import annotations

import pytest

from tests.annotations.coach import test_look_ahead_page as _behaviour
from tests.annotations.coach.test_look_ahead_page import coach, gallery  # noqa: F401 - fixtures

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# The same behaviour tests, collected again in this module so they run with its marks.
globals().update({name: value for name, value in vars(_behaviour).items() if name.startswith("test_")})
