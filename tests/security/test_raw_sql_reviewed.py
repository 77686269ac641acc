"""Every place that hands SQL text to the database is one that was reviewed for values built into the text.

The ORM parameterises every value. The few places that write SQL themselves are listed
here with what was checked; a new one fails this test until someone reviews it the same
way (values only as ``%s`` parameters, names only from model metadata) and adds it.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RAW_SQL = re.compile(r"\.(execute|executemany|raw|extra)\(|\bRawSQL\(|\bcursor\(\)")

REVIEWED = {
    # The assignment engine's statements (claim, quick claim, hand-over, lock, finish): table names from
    # model metadata, column names written in the module, the item-count changes module constants; every
    # id, token, status and time a parameter.
    "studies/assignment_sql.py": 15,
    # The hot-path cursor (server-side binding), INSERT of a model row (names from model metadata, every
    # value a parameter), and CompiledQuery, which runs the ORM's own compiled SQL with its parameters.
    "core/database.py": 8,
    # A values_list queryset's own compiled SQL and parameters, run on a server-side cursor.
    "annotations/research/raw_rows.py": 1,
    # Imports: INSERT/UPDATE/SELECT ... IN with quoted names from model metadata, every value a parameter.
    "retrieval_backend/importing/bulk.py": 6,
    # The export's planner setting: constant SET/RESET cursor_tuple_fraction statements, no value from outside.
    "annotations/research/export/bundle.py": 4,
}


def _raw_sql_sites() -> dict[str, int]:
    sites = {}
    for app in ("annotations", "studies", "retrieval_backend", "config"):
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            count = len(RAW_SQL.findall(path.read_text()))
            if count:
                sites[str(path.relative_to(ROOT))] = count
    return sites


def test_every_hand_written_sql_site_was_reviewed():
    unreviewed = {path: n for path, n in _raw_sql_sites().items() if REVIEWED.get(path) != n}
    assert not unreviewed, (
        f"SQL handed to the database outside the ORM, not yet reviewed: {unreviewed}. Check that every value "
        "is a %s parameter and every name comes from model metadata, then record it in REVIEWED."
    )
