from __future__ import annotations

from tests.studies.conftest import coaches, gallery, study  # noqa: F401 - shared fixtures
