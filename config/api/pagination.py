"""Cursor pagination: stable under inserts, and as fast on page 10,000 as on page 1."""

from __future__ import annotations

from rest_framework.pagination import CursorPagination


class IdCursorPagination(CursorPagination):
    """Pages in id order. ``?page_size=`` asks for up to 1,000 rows a page."""

    ordering = "id"
    page_size_query_param = "page_size"
    max_page_size = 1000
