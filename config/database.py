"""Database access for the few statements that run on every coach's click.

Built by the ORM, a statement costs about a millisecond of Python before it is
sent, often more than the database takes to run it. The assignment engine
(``studies/assignment_sql.py``) and the recording of a judgement write theirs as
SQL built once, and run them through ``cursor()``; ``insert()`` saves a new row
of any model without the ORM's query compiler.
"""

from __future__ import annotations

from functools import cache

from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import Model


def cursor():
    """Django's cursor; on PostgreSQL, one that binds parameters on the server.

    psycopg prepares a statement sent through it after ``prepare_threshold`` runs on
    the connection (the ``DATABASE_PREPARE_THRESHOLD`` setting), so PostgreSQL parses
    and plans each of these statements once per connection rather than on every
    click. It is wrapped as Django wraps its own, so the statements are counted and
    logged like any other.
    """
    if connection.vendor != "postgresql":
        return connection.cursor()
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    with connection.wrap_database_errors:
        raw = ServerBindingCursor(connection.connection)
    return connection.make_debug_cursor(raw) if connection.queries_logged else connection.make_cursor(raw)


def fetch_one(sql: str, params) -> tuple | None:
    with cursor() as c:
        c.execute(sql, params)
        return c.fetchone()


@cache
def _insert_sql(model: type[Model], vendor: str) -> str:
    q = connection.ops.quote_name
    fields = _insert_fields(model)
    columns = ", ".join(q(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    pk = q(model._meta.pk.column)
    return f"INSERT INTO {q(model._meta.db_table)} ({columns}) VALUES ({marks}) RETURNING {pk}"  # noqa: S608


def _insert_fields(model: type[Model]) -> list:
    return [f for f in model._meta.concrete_fields if not f.primary_key]


def insert(obj: Model) -> Model:
    """Save the new ``obj`` with one INSERT, as ``save()`` would: defaults, ``auto_now_add``, database types.

    Skips what ``save()`` adds on top: signals, and the ORM building the statement anew.
    """
    fields = _insert_fields(type(obj))
    values = [f.get_db_prep_save(f.pre_save(obj, add=True), connection) for f in fields]
    row = fetch_one(_insert_sql(type(obj), connection.vendor), values)
    obj.pk = row[0]
    obj._state.adding, obj._state.db = False, DEFAULT_DB_ALIAS
    return obj


def instance(model: type[Model], values: dict) -> Model:
    """A model instance from columns read here, as the ORM would build it; the fields not read load when touched."""
    names = [f.attname for f in model._meta.concrete_fields if f.attname in values]
    return model.from_db(DEFAULT_DB_ALIAS, names, [values[name] for name in names])
