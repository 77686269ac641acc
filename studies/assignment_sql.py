"""The assignment engine's hot statements, as SQL built once from the models.

Every coach's click runs a claim or a submit, many of them at once. Built by the
ORM, each of their statements cost about a millisecond of Python, several times
what the database took to run it; these are plain parameterised statements
instead, their table names taken from the models' meta, built once per database
vendor. Every value is a parameter.

On PostgreSQL a claim's three writes (the item's load, the new assignment, the
coach's pointer to it) are one statement, and so are a submit's three (the
item's count, the assignment's status, the coach's progress): data-modifying
CTEs run in one snapshot, and the row locks, check constraints and unique
constraints that keep the engine's promises hold for them as for separate
statements. SQLite has no data-modifying CTEs, so there the same writes are
separate statements in the same (``IMMEDIATE``) transaction.

Rows are read by primary key or unique key only, and the item and study of an
assignment come as scalar subqueries, never as a join: a join leaves PostgreSQL
free to walk the whole item index when its statistics lag behind a busy
assignments table, while a subquery on a primary key has one plan.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

from django.db import connection
from django.utils.dateparse import parse_datetime

from core.database import cursor
from studies.models import Assignment, Item, Participation, Study

# The columns each statement reads, in order, named as the models' attributes.
PARTICIPATION_FIELDS = ("id", "eligible", "done_count", "last_query_id")
RESERVATION_FIELDS = ("id", "token", "status", "reserved", "expires", "item_id")
LOCKED_FIELDS = ("id", "status", "reserved", "expires", "item_id", "study_id")
LOCKED_ITEM_FIELDS = ("kind", "swapped")
LOCKED_STUDY_FIELDS = ("status", "scale_min", "scale_max")


def _tables() -> dict[str, str]:
    q = connection.ops.quote_name
    return {
        "item": q(Item._meta.db_table),
        "assignment": q(Assignment._meta.db_table),
        "participation": q(Participation._meta.db_table),
        "study": q(Study._meta.db_table),
    }


def _postgres() -> bool:
    return connection.vendor == "postgresql"


@cache
def lock_participation(vendor: str) -> str:
    """The coach's participation row, locked, with its current and look-ahead reservations (and the latter's query)."""
    lock = "FOR UPDATE OF p" if vendor == "postgresql" else ""
    columns = ", ".join(
        [f'p."{f}"' for f in PARTICIPATION_FIELDS]
        + [f'c."{f}"' for f in RESERVATION_FIELDS]
        + [f'u."{f}"' for f in RESERVATION_FIELDS]
    )
    return """
        SELECT {columns},
               (SELECT ui."query_id" FROM {item} ui WHERE ui."id" = u."item_id")
        FROM {participation} p
        LEFT JOIN {assignment} c ON c."id" = p."current_id"
        LEFT JOIN {assignment} u ON u."id" = p."upcoming_id"
        WHERE p."study_id" = %s AND p."coach_id" = %s
        {lock}
    """.format(columns=columns, lock=lock, **_tables())


@cache
def _pick(vendor: str, avoid: str = "%s") -> str:
    """The next open item for a coach: least loaded first, then the study's seeded order, not of the query
    ``avoid`` (a parameter, unless given as SQL); params study, [avoid,] coach."""
    lock = "FOR UPDATE SKIP LOCKED" if vendor == "postgresql" else ""
    return """
        SELECT i."id" FROM {item} i
        WHERE i."study_id" = %s
          AND i."load" < i."needed"
          AND i."query_id" <> {avoid}
          AND NOT EXISTS (SELECT 1 FROM {assignment} a WHERE a."item_id" = i."id" AND a."coach_id" = %s)
        ORDER BY i."load", i."order_key"
        LIMIT 1 {lock}
    """.format(avoid=avoid, lock=lock, **_tables())


@cache
def _claim_cte(pointer: str) -> str:
    """PostgreSQL: claim an item, insert its reservation, point the participation at it; one statement."""
    last_query = ', "last_query_id" = (SELECT "query_id" FROM claimed)' if pointer == "current_id" else ""
    return """
        WITH claimed AS (
            UPDATE {item} SET "load" = "load" + 1 WHERE "id" = ({pick}) RETURNING "id", "query_id"
        ), made AS (
            INSERT INTO {assignment} ("item_id", "coach_id", "study_id", "token", "status", "reserved", "expires")
            SELECT "id", %s, %s, %s, %s, %s, %s FROM claimed
            RETURNING "id"
        ), pointed AS (
            UPDATE {participation} SET "{pointer}" = (SELECT "id" FROM made){last_query}
            WHERE "id" = %s AND EXISTS (SELECT 1 FROM made)
        )
        SELECT made."id", claimed."id", claimed."query_id" FROM made, claimed
    """.format(pick=_pick("postgresql"), pointer=pointer, last_query=last_query, **_tables())


@cache
def _quick_next() -> str:
    """PostgreSQL: the two common ways to the next item as one statement, run on its own (autocommit).

    A coach holding no current item, eligible, with quota left, either has a
    look-ahead reserved (the task page takes one while the coach judges), which
    becomes their current item, or has none, and an item of another query than
    their last is claimed. When neither applies (no participation yet, an item
    held, the look-ahead expired or of the same query as the last, nothing of
    another query open) it changes nothing and returns no row, and the caller takes
    the general path. Having waited for the participation row's lock, PostgreSQL
    checks its conditions again on the row as it is then, so a coach's two
    concurrent requests can't both take an item.

    Every step is gated on that locked row (an uncorrelated condition PostgreSQL
    checks once, before reading any item), so a miss costs index lookups, not a
    walk over the study's items.
    """
    return """
        WITH p AS (
            SELECT "id", "last_query_id", "upcoming_id", "done_count" FROM {participation}
            WHERE "study_id" = %s AND "coach_id" = %s AND "eligible"
              AND "current_id" IS NULL AND "done_count" < %s
            FOR UPDATE
        ), promoted AS (
            UPDATE {assignment} a SET "status" = %s, "reserved" = %s, "expires" = %s
            WHERE a."id" = (SELECT "upcoming_id" FROM p)
              AND a."status" = %s AND a."expires" > %s
              AND (SELECT i."query_id" FROM {item} i WHERE i."id" = a."item_id")
                  IS DISTINCT FROM (SELECT "last_query_id" FROM p)
            RETURNING a."id", a."item_id", a."token",
                      (SELECT i."query_id" FROM {item} i WHERE i."id" = a."item_id") AS "query_id"
        ), claimed AS (
            UPDATE {item} SET "load" = "load" + 1
            WHERE EXISTS (SELECT 1 FROM p WHERE "upcoming_id" IS NULL) AND "id" = ({pick})
            RETURNING "id", "query_id"
        ), made AS (
            INSERT INTO {assignment} ("item_id", "coach_id", "study_id", "token", "status", "reserved", "expires")
            SELECT "id", %s, %s, %s, %s, %s, %s FROM claimed
            RETURNING "id", "item_id", "token"
        ), taken AS (
            SELECT "id", "item_id", "token", "query_id" FROM promoted
            UNION ALL
            SELECT made."id", made."item_id", made."token", claimed."query_id" FROM made, claimed
        ), pointed AS (
            UPDATE {participation}
            SET "current_id" = taken."id", "upcoming_id" = NULL, "last_query_id" = taken."query_id"
            FROM taken WHERE {participation}."id" = (SELECT "id" FROM p)
        )
        SELECT "id", "item_id", "token", (SELECT "done_count" FROM p) FROM taken
    """.format(pick=_pick("postgresql", avoid='COALESCE((SELECT "last_query_id" FROM p), -1)'), **_tables())


# No quota: more than any coach can judge.
_NO_QUOTA = 2**31 - 1


def quick_next(
    *, study_id: int, coach_id: int, quota: int | None, token: str, now: datetime, expires: datetime
) -> tuple[int, int, str, int] | None:
    """The next item by one of the two common ways, in one statement (PostgreSQL, outside a transaction):
    the reservation's (id, item id, token) and the coach's judgements done in the study, reserved from
    ``now`` until ``expires``; None when the general path must decide. ``token`` is the new reservation's,
    if one is claimed."""
    reserved, upcoming = Assignment.Status.RESERVED, Assignment.Status.UPCOMING
    when, until = db_datetime(now), db_datetime(expires)
    with cursor() as c:
        c.execute(
            _quick_next(),
            [
                *(study_id, coach_id, _NO_QUOTA if quota is None else quota),
                *(reserved, when, until, upcoming, when),
                *(study_id, coach_id),
                *(coach_id, study_id, token, reserved, when, until),
            ],
        )
        row = c.fetchone()
    return (row[0], row[1], row[2], row[3]) if row else None


@cache
def _claim_steps() -> tuple[str, str, str]:
    """SQLite: the claim's three writes as three statements."""
    t = _tables()
    return (
        'UPDATE {item} SET "load" = "load" + 1 WHERE "id" = ({pick}) RETURNING "id", "query_id"'.format(
            pick=_pick("sqlite"), **t
        ),
        'INSERT INTO {assignment} ("item_id", "coach_id", "study_id", "token", "status", "reserved", "expires") '
        'VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING "id"'.format(**t),
        'UPDATE {participation} SET "{{pointer}}" = %s{{last_query}} WHERE "id" = %s'.format(**t),
    )


def db_datetime(value: datetime):
    return connection.ops.adapt_datetimefield_value(value)


def aware(value) -> datetime | None:
    """A timestamp as read by raw SQL (SQLite gives naive UTC, or text) as the ORM would give it."""
    if value is None:
        return None
    if isinstance(value, str):
        value = parse_datetime(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def claim(
    *,
    study_id: int,
    coach_id: int,
    participation_id: int,
    avoid_query_id: int | None,
    token: str,
    status: str,
    now: datetime,
    expires: datetime,
    as_current: bool,
) -> tuple[int, int, int] | None:
    """Claim the next item and reserve it for the coach; (assignment id, item id, query id), or None.

    ``as_current`` points the participation's current item (and last query) at the
    reservation; otherwise its look-ahead. The caller holds the participation lock.
    """
    pointer = "current_id" if as_current else "upcoming_id"
    pick = [study_id, avoid_query_id if avoid_query_id is not None else -1, coach_id]
    values = [coach_id, study_id, token, status, db_datetime(now), db_datetime(expires)]
    with cursor() as c:
        if _postgres():
            c.execute(_claim_cte(pointer), [*pick, *values, participation_id])
            row = c.fetchone()
            return (row[0], row[1], row[2]) if row else None
        claim_item, insert, point = _claim_steps()
        c.execute(claim_item, pick)
        claimed = c.fetchone()
        if claimed is None:
            return None
        item_id, query_id = claimed
        c.execute(insert, [item_id, *values])
        (assignment_id,) = c.fetchone()
        if as_current:
            c.execute(
                point.format(pointer=pointer, last_query=', "last_query_id" = %s'),
                [assignment_id, query_id, participation_id],
            )
        else:
            c.execute(point.format(pointer=pointer, last_query=""), [assignment_id, participation_id])
    return assignment_id, item_id, query_id


@cache
def _promote(vendor: str) -> tuple[str, str]:
    t = _tables()
    promote = (
        'UPDATE {assignment} SET "status" = %s, "reserved" = %s, "expires" = %s WHERE "id" = %s AND "status" = %s'
    ).format(**t)
    point = 'UPDATE {participation} SET "current_id" = %s, "upcoming_id" = NULL, "last_query_id" = %s WHERE "id" = %s'
    if vendor == "postgresql":
        combined = (
            'WITH promoted AS ({promote} RETURNING "id") '
            'UPDATE {participation} SET "current_id" = promoted."id", "upcoming_id" = NULL, "last_query_id" = %s '
            'FROM promoted WHERE {participation}."id" = %s'
        ).format(promote=promote, **t)
        return combined, ""
    return promote, point.format(**t)


def promote_upcoming(
    *, assignment_id: int, participation_id: int, query_id: int | None, now: datetime, expires: datetime
) -> bool:
    """Make the look-ahead the coach's current reservation; False when it is no longer a look-ahead."""
    promote = [Assignment.Status.RESERVED, db_datetime(now), db_datetime(expires), assignment_id]
    with cursor() as c:
        combined, point = _promote(connection.vendor)
        if not point:
            c.execute(combined, [*promote, Assignment.Status.UPCOMING, query_id, participation_id])
            return c.rowcount == 1
        c.execute(combined, [*promote, Assignment.Status.UPCOMING])
        if c.rowcount != 1:
            return False
        c.execute(point, [assignment_id, query_id, participation_id])
    return True


@cache
def lock_held(vendor: str) -> str:
    """The coach's assignment by token, locked, with what a submit needs of its item and study."""
    lock = "FOR UPDATE" if vendor == "postgresql" else ""
    t = _tables()
    columns = [f'a."{f}"' for f in LOCKED_FIELDS]
    columns += [f'(SELECT i."{f}" FROM {t["item"]} i WHERE i."id" = a."item_id")' for f in LOCKED_ITEM_FIELDS]
    columns += [f'(SELECT s."{f}" FROM {t["study"]} s WHERE s."id" = a."study_id")' for f in LOCKED_STUDY_FIELDS]
    return 'SELECT {columns} FROM {assignment} a WHERE a."token" = %s AND a."coach_id" = %s {lock}'.format(
        columns=", ".join(columns), lock=lock, **t
    )


@cache
def _finish(vendor: str, item_change: str | None, counts: bool, insert: str) -> tuple[str, ...]:
    """A reservation judged (or flagged): the item's counts, the assignment done, the coach's progress, and
    the row ``insert`` writes (the judgement), if any.

    Params: item id (unless ``item_change`` is None); done status, completed, assignment id; assignment id,
    study id, coach id; the insert's values.
    """
    t = _tables()
    item = 'UPDATE {item} SET {change} WHERE "id" = %s'.format(change=item_change, **t) if item_change else ""
    done = 'UPDATE {assignment} SET "status" = %s, "completed" = %s WHERE "id" = %s'.format(**t)
    progress = ', "done_count" = "done_count" + 1' if counts else ""
    participation = (
        'UPDATE {participation} SET "current_id" = CASE WHEN "current_id" = %s THEN NULL ELSE "current_id" END'
        '{progress} WHERE "study_id" = %s AND "coach_id" = %s'
    ).format(progress=progress, **t)
    if vendor == "postgresql":
        counted = f"counted AS ({item} RETURNING 1), " if item else ""
        steps = f"WITH {counted}marked AS ({done} RETURNING 1), progress AS ({participation} RETURNING 1)"
        if insert:
            return (f"{steps}, written AS ({insert}) SELECT * FROM written",)
        return (f"{steps} SELECT 1",)
    return tuple(sql for sql in (item, done, participation, insert) if sql)


# The item's counts as each way of finishing a reservation changes them.
JUDGED = '"judgements_done" = "judgements_done" + 1'
FLAGGED_RESERVED = '"load" = "load" - 1, "flagged" = "flagged" + 1'
FLAGGED_RELEASED = '"flagged" = "flagged" + 1'


def finish(
    *,
    assignment_id: int,
    item_id: int,
    study_id: int,
    coach_id: int,
    now: datetime,
    item_change: str | None,
    counts: bool,
    insert: tuple[str, list] | None = None,
):
    """Record the reservation done, the item's counts changed by ``item_change`` (None: left as they are),
    and the coach's progress; with ``insert`` (an INSERT ... RETURNING and its values), write that row too,
    in the same statement on PostgreSQL, and return what it returned."""
    params = [
        [Assignment.Status.DONE, db_datetime(now), assignment_id],
        [assignment_id, study_id, coach_id],
    ]
    if item_change:
        params.insert(0, [item_id])
    if insert:
        params.append(insert[1])
    statements = _finish(connection.vendor, item_change, counts, insert[0] if insert else "")
    with cursor() as c:
        if len(statements) == 1:
            c.execute(statements[0], [p for group in params for p in group])
        else:
            for sql, values in zip(statements, params, strict=True):
                c.execute(sql, values)
        return c.fetchone() if insert else None
