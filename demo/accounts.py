"""The demo's accounts (``seed_demo``, run by ``make run``): names and the password the README prints.

Kept apart from the demo builder so that the log-in backend can name them without importing it.
"""

from __future__ import annotations

DEMO_PASSWORD = "coachbench-demo"  # noqa: S105 - printed on purpose: demo accounts on a local machine
RESEARCHER = "researcher"
COACHES = ("coach1", "coach2", "coach3")
