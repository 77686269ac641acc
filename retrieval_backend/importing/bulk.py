"""Many rows into one table with one prepared statement (``executemany``), for imports at gallery scale.

``bulk_create`` and ``bulk_update`` spend most of their time in Django's per-value
preparation, not in the database: at 100k clips that alone is most of a minute.
An import knows its column types (text, numbers, one timestamp), so it hands the
driver ready values and lets it batch the statement. Database constraints still
apply; only Python-side model logic (``save()``, signals) is skipped, and none is
defined on these models.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from django.db import connection, models


def db_datetime(value: datetime) -> Any:
    """A timestamp in the form the database driver takes (SQLite: text, PostgreSQL: as is)."""
    return connection.ops.adapt_datetimefield_value(value)


class RowWriter:
    """Inserts or updates rows of one model by column (attribute) names, in one statement per batch."""

    def __init__(self, model: type[models.Model], fields: Sequence[str]) -> None:
        self.model = model
        self.fields = list(fields)

    def _names(self) -> tuple[str, list[str], str]:
        # Quoted when used, not when defined: the connection's backend is only known then.
        meta = self.model._meta
        quote = connection.ops.quote_name
        columns = [quote(meta.get_field(name).column) for name in self.fields]
        return quote(meta.db_table), columns, quote(meta.pk.column)

    def insert(self, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        table, columns, _ = self._names()
        placeholders = ", ".join(["%s"] * len(columns))
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"  # noqa: S608 - names from model meta
        with connection.cursor() as cursor:
            cursor.executemany(sql, rows)

    def update(self, rows: Sequence[Sequence[Any]]) -> None:
        """Each row is the new values in column order, then the primary key."""
        if not rows:
            return
        table, columns, pk = self._names()
        assignments = ", ".join(f"{column} = %s" for column in columns)
        sql = f"UPDATE {table} SET {assignments} WHERE {pk} = %s"  # noqa: S608 - names from model meta
        with connection.cursor() as cursor:
            cursor.executemany(sql, rows)


# Values per IN (...) list: under SQLite's 32766 bound-parameter limit, and short enough to plan quickly.
IN_CHUNK = 5000


def select_in(model: type[models.Model], fields: Sequence[str], key: str, values: Iterable[Any]) -> Iterator[tuple]:
    """``SELECT fields FROM model WHERE key IN values``, as tuples of raw column values.

    ``filter(key__in=...)`` prepares every value through the field, which costs
    more than the query itself for thousands of ids a batch.
    """
    wanted = list(dict.fromkeys(values))
    if not wanted:
        return
    meta = model._meta
    quote = connection.ops.quote_name
    columns = ", ".join(quote(meta.get_field(name).column) for name in fields)
    table, key_column = quote(meta.db_table), quote(meta.get_field(key).column)
    with connection.cursor() as cursor:
        for start in range(0, len(wanted), IN_CHUNK):
            chunk = wanted[start : start + IN_CHUNK]
            placeholders = ", ".join(["%s"] * len(chunk))
            cursor.execute(f"SELECT {columns} FROM {table} WHERE {key_column} IN ({placeholders})", chunk)  # noqa: S608 - names from model meta
            yield from cursor.fetchall()
