"""Cursor pagination: stable under inserts, and as fast on page 10,000 as on page 1.

A cursor is what ``next`` and ``previous`` links carry: base64 (standard alphabet, padded) of a
query string with at most an offset ``o`` (a whole number above 0), a direction ``r`` (``1`` going
back) and a position ``p`` (an id), each once, and at least a position or an offset. Anything
else, unreadable or crafted, is a 400 in the API's error body, never a silent first page.
"""

from __future__ import annotations

import base64
import binascii
import re
from urllib import parse

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import Cursor, CursorPagination

BAD_CURSOR = (
    "is not a cursor this API gave out: start from the first page without a cursor, "
    "or follow the `next` or `previous` link of a page as given."
)
CURSOR_FIELDS = frozenset({"o", "r", "p"})  # offset, reverse, position: what CursorPagination writes
WHOLE_NUMBER = re.compile(r"0|[1-9][0-9]{0,18}")  # as str(id) writes one, within a 64-bit id
OFFSET = re.compile(r"[1-9][0-9]{0,9}")  # an offset of 0 is left out of a cursor


def _cursor_fields(encoded: str) -> dict[str, str] | None:
    """The fields a cursor spells, or None when it is not base64 of a query string of known, single fields."""
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):  # outside the alphabet, bad padding, not ASCII
        return None
    # Only the one spelling this API writes: no stray trailing bits, no missing or extra padding.
    if base64.b64encode(raw).decode("ascii") != encoded:
        return None
    try:
        pairs = parse.parse_qsl(raw.decode("ascii"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return None
    fields = dict(pairs)
    if len(fields) != len(pairs) or not fields.keys() <= CURSOR_FIELDS:
        return None
    return fields


class IdCursorPagination(CursorPagination):
    """Pages in id order. ``?page_size=`` asks for up to 1,000 rows a page."""

    ordering = "id"
    page_size_query_param = "page_size"
    max_page_size = 1000

    def decode_cursor(self, request) -> Cursor | None:
        """The cursor of ``?cursor=``, read strictly: anything this API would not have written is a 400."""
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None
        fields = _cursor_fields(encoded)
        if fields is None or not self._is_sound(fields):
            raise ValidationError({self.cursor_query_param: [BAD_CURSOR]})
        return Cursor(offset=int(fields.get("o", 0)), reverse="r" in fields, position=fields.get("p"))

    def _is_sound(self, fields: dict[str, str]) -> bool:
        if "p" not in fields and "o" not in fields:
            return False  # the first page has no cursor; every later one names where it starts
        if "o" in fields and not (OFFSET.fullmatch(fields["o"]) and int(fields["o"]) <= self.offset_cutoff):
            return False
        if "r" in fields and fields["r"] != "1":
            return False
        first = self.ordering if isinstance(self.ordering, str) else self.ordering[0]
        return "p" not in fields or first.lstrip("-") != "id" or WHOLE_NUMBER.fullmatch(fields["p"]) is not None

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
