"""Database access for the few statements that run on every coach's click.

Built by the ORM, a statement costs about a millisecond of Python before it is
sent, often more than the database takes to run it. The assignment engine
(``studies/assignment_sql.py``) writes its statements as SQL built once and runs
them through ``cursor()``; ``insert_statement()`` gives a new row's INSERT for it
to send with them (a judgement with its completion); ``CompiledQuery`` runs the
pages' fixed-shape querysets without building them again.
"""

from __future__ import annotations

import threading
from functools import cache

from django.db import DEFAULT_DB_ALIAS, connection
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
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
    return _LoggedCursor(raw, connection) if connection.queries_logged else connection.make_cursor(raw)


class _LoggedCursor(CursorDebugWrapper):
    """Logs each statement as written: psycopg keeps no text of a prepared statement for Django to read back."""

    def execute(self, sql, params=None):
        with self.debug_sql(sql, params):
            return CursorWrapper.execute(self, sql, params)


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


def insert_statement(obj: Model) -> tuple[str, list]:
    """The INSERT of the new ``obj`` (returning its key) and its values, as ``save()`` would write them:
    defaults, ``auto_now_add``, database types. For a caller that sends it within a statement of its own."""
    fields = _insert_fields(type(obj))
    values = [f.get_db_prep_save(f.pre_save(obj, add=True), connection) for f in fields]
    return _insert_sql(type(obj), connection.vendor), values


def inserted(obj: Model, pk) -> Model:
    """Mark ``obj`` saved, with the key its INSERT returned."""
    obj.pk = pk
    obj._state.adding, obj._state.db = False, DEFAULT_DB_ALIAS
    return obj


def instance(model: type[Model], values: dict) -> Model:
    """A model instance from columns read here, as the ORM would build it; the fields not read load when touched."""
    names = [f.attname for f in model._meta.concrete_fields if f.attname in values]
    return model.from_db(DEFAULT_DB_ALIAS, names, [values[name] for name in names])


class CompiledQuery:
    """A queryset of one fixed shape, turned into SQL once per thread and then run with new values.

    For lookups the pages make on every request (an assignment by its token, an
    item by its key) the ORM rebuilt the same SQL each time, at more cost than the
    query. ``build`` makes the queryset from placeholder values, one per keyword
    in ``kinds`` (``int`` or ``str``); ``all(**values)`` runs its SQL with the
    real values and builds the rows as the ORM would: related objects from
    ``select_related``, annotations, deferred fields, database converters.
    """

    def __init__(self, build, **kinds: type):
        self._build, self._kinds = build, kinds
        self._local = threading.local()

    def _compiled(self) -> _Compiled:
        compiled = getattr(self._local, "compiled", None)
        if compiled is None or compiled.vendor != connection.vendor:
            compiled = self._local.compiled = _Compiled(self._build, self._kinds)
        return compiled

    def all(self, **values) -> list[Model]:
        compiled = self._compiled()
        params = list(compiled.params)
        for name, position in compiled.positions.items():
            params[position] = values[name]
        with cursor() as c:
            c.execute(compiled.sql, params)
            rows = c.fetchall()
        return [compiled.instance(row) for row in compiled.compiler.results_iter([rows])]

    def first(self, **values) -> Model | None:
        rows = self.all(**values)
        return rows[0] if rows else None


class _Compiled:
    def __init__(self, build, kinds: dict[str, type]):
        from django.db.models.query import get_related_populators

        self.vendor = connection.vendor
        # Placeholders no real row holds, each found once among the compiled parameters.
        sentinels = {
            name: (2**62 - n if kind is int else f"\x00compiled-query-{name}\x00")
            for n, (name, kind) in enumerate(kinds.items())
        }
        queryset = build(**sentinels)
        if queryset.query.low_mark or queryset.query.high_mark:
            raise ValueError("CompiledQuery takes a queryset without slicing.")
        self.compiler = queryset.query.get_compiler(DEFAULT_DB_ALIAS)
        self.sql, params = self.compiler.as_sql()
        self.params = tuple(params)
        self.positions = {}
        for name, sentinel in sentinels.items():
            found = [i for i, value in enumerate(self.params) if value == sentinel]
            if len(found) != 1:
                raise ValueError(f"CompiledQuery: {name!r} appears {len(found)} times in the SQL, not once.")
            self.positions[name] = found[0]
        select, klass_info = self.compiler.select, self.compiler.klass_info
        self.model = klass_info["model"]
        fields = klass_info["select_fields"]
        self.start, self.end = fields[0], fields[-1] + 1
        self.init_list = [f[0].target.attname for f in select[self.start : self.end]]
        self.populators = get_related_populators(klass_info, select, DEFAULT_DB_ALIAS)
        self.annotations = dict(self.compiler.annotation_col_map or {})

    def instance(self, row) -> Model:
        obj = self.model.from_db(DEFAULT_DB_ALIAS, self.init_list, row[self.start : self.end])
        for populator in self.populators:
            populator.populate(row, obj)
        for name, position in self.annotations.items():
            setattr(obj, name, row[position])
        return obj
