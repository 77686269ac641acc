"""Cursor pagination: stable under inserts, and as fast on page 10,000 as on page 1."""

from __future__ import annotations

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination

BAD_CURSOR = "is not a cursor this API gave out: follow the `next` or `previous` link of a page, or leave it out."


class IdCursorPagination(CursorPagination):
    """Pages in id order. ``?page_size=`` asks for up to 1,000 rows a page."""

    ordering = "id"
    page_size_query_param = "page_size"
    max_page_size = 1000

    def decode_cursor(self, request):
        """A cursor names an id: an unreadable one, or one crafted to hold anything else, is a 400."""
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            raise ValidationError({"cursor": [BAD_CURSOR]}) from None
        first = self.ordering if isinstance(self.ordering, str) else self.ordering[0]
        if cursor is not None and cursor.position is not None and first.lstrip("-") == "id":
            try:
                int(cursor.position)
            except ValueError:
                raise ValidationError({"cursor": [BAD_CURSOR]}) from None
        return cursor

    def get_page_size(self, request):
        """``page_size`` must be a whole number of at least 1; more than 1,000 gives 1,000 (stated in the schema)."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None or raw == "":
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            message = f"must be a whole number from 1 to {self.max_page_size}, not {raw!r}."
            raise ValidationError({"page_size": [message]})
        return min(size, self.max_page_size)
