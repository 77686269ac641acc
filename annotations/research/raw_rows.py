"""Rows of a queryset as the database driver returns them, in batches, through a server-side cursor.

For the million-row reads of the export and the results service. ``values_list().iterator()``
runs every value through Django's converters one by one (a datetime parsed, a JSON document
decoded, a boolean made from 0/1 on SQLite), which costs more than everything else a row needs;
callers of this module convert whole columns at once instead. On PostgreSQL the cursor is a named
(server-side) one, so a batch at a time crosses the wire, not the whole result.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db import connections
from django.db.models import QuerySet


def raw_batches(queryset: QuerySet, size: int) -> Iterator[list[tuple]]:
    """Yield lists of up to ``size`` raw row tuples of a ``values_list`` queryset, in its order."""
    sql, params = queryset.query.sql_with_params()
    connection = connections[queryset.db]
    cursor = connection.chunked_cursor()
    try:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(size):
            yield rows
    finally:
        cursor.close()
