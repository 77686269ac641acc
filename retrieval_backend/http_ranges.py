"""HTTP range requests for rendered clips: parse ``Range``, evaluate validators, stream a byte slice.

Django's ``FileResponse`` ignores ``Range``. Browsers need ``206 Partial
Content`` answers to seek in a video, and Safari refuses to play a video at all
when its probe request (``Range: bytes=0-1``) gets a ``200``. This module
answers ranges itself, following RFC 9110 sections 13 and 14:

- ``bytes=a-b``, ``bytes=a-`` and ``bytes=-n`` give a 206 with ``Content-Range``;
- a header that does not parse, or names another unit, is ignored (a 200 with
  the whole file), as the RFC asks of servers;
- several ranges that overlap or touch are merged into one; several disjoint
  ranges get the whole file (a multipart answer is allowed but no player asks
  for one, and a 200 is always a correct answer to a range request);
- a well-formed range that starts past the end gives a 416 with
  ``Content-Range: bytes */SIZE``;
- ``If-Range`` with a stale ETag or date turns the answer into a 200, so a
  client never splices bytes of two different renders together;
- ``If-None-Match`` (or, without it, ``If-Modified-Since``) gives a 304.

The parser functions are pure; ``ranged_file_response`` builds the Django
response and, when ``MEDIA_ACCEL_REDIRECT_PREFIX`` is set, leaves the bytes (and
the ranges) to the front server with ``X-Accel-Redirect``.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseNotModified, StreamingHttpResponse
from django.utils.http import http_date, parse_http_date_safe

# Large enough that a 10 MB clip is a few hundred writes, small enough to keep a
# slow client from pinning much memory per connection.
DEFAULT_CHUNK_SIZE = 256 * 1024

_SPEC_RE = re.compile(r"([0-9]*)-([0-9]*)")
# An entity-tag: optional weak marker, then quoted characters other than DQUOTE (RFC 9110 8.8.3).
_ETAG_RE = re.compile(r'\s*(W/)?("[^"]*")\s*(?:,|$)')


@dataclass(frozen=True)
class ByteRange:
    """An inclusive byte range ``start..end`` of a representation, already clamped to its size."""

    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


class RangeNotSatisfiable(Exception):
    """A well-formed ``Range`` none of whose ranges overlaps the representation: answer 416."""

    def __init__(self, size: int):
        super().__init__(f"no requested range overlaps the {size} bytes of the file")
        self.size = size


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """Return the one range to send for a ``Range`` header, or ``None`` to send the whole file.

    ``None`` covers: no header, a header that does not parse (RFC 9110 says to
    ignore it), a unit other than bytes, and several ranges that cannot be
    merged into one. Raises ``RangeNotSatisfiable`` when the header is valid but
    asks only for bytes past the end.
    """
    if not header:
        return None
    unit, sep, range_set = header.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    specs: list[tuple[int | None, int | None]] = []
    for element in range_set.split(","):
        element = element.strip()
        if not element:
            continue  # RFC 9110 5.6.1.2: empty list elements are ignored
        match = _SPEC_RE.fullmatch(element)
        if match is None:
            return None
        first, last = match.groups()
        if not first and not last:
            return None
        first_pos = int(first) if first else None
        last_pos = int(last) if last else None
        if first_pos is not None and last_pos is not None and last_pos < first_pos:
            return None  # RFC 9110 14.1.1: invalid, so the whole header is ignored
        specs.append((first_pos, last_pos))
    if not specs:
        return None
    if size == 0:
        # Nothing can be sliced from an empty file; a suffix range still counts as
        # satisfiable in the RFC, and the whole (empty) file is the honest answer to it.
        if any(first is None for first, _ in specs):
            return None
        raise RangeNotSatisfiable(size)
    satisfiable = [r for r in (_clamp(first, last, size) for first, last in specs) if r is not None]
    if not satisfiable:
        raise RangeNotSatisfiable(size)
    merged = _merge(satisfiable)
    return merged[0] if len(merged) == 1 else None


def _clamp(first: int | None, last: int | None, size: int) -> ByteRange | None:
    if first is None:
        # bytes=-n: the last n bytes, or the whole file when n exceeds it; -0 asks for nothing.
        assert last is not None
        if last == 0:
            return None
        return ByteRange(max(0, size - last), size - 1)
    if first >= size:
        return None
    return ByteRange(first, size - 1 if last is None else min(last, size - 1))


def _merge(ranges: list[ByteRange]) -> list[ByteRange]:
    """Merge ranges that overlap or touch, as RFC 9110 15.3.7.2 allows a server to."""
    merged: list[ByteRange] = []
    for current in sorted(ranges, key=lambda r: r.start):
        if merged and current.start <= merged[-1].end + 1:
            merged[-1] = ByteRange(merged[-1].start, max(merged[-1].end, current.end))
        else:
            merged.append(current)
    return merged


def parse_etags(header: str) -> list[tuple[bool, str]] | None:
    """Parse an ``If-None-Match``-style list into ``(weak, "tag")`` pairs; ``None`` when malformed."""
    tags: list[tuple[bool, str]] = []
    position = 0
    header = header.strip()
    while position < len(header):
        match = _ETAG_RE.match(header, position)
        if match is None:
            return None
        tags.append((bool(match.group(1)), match.group(2)))
        position = match.end()
    return tags


def if_none_match_hits(header: str | None, etag: str) -> bool:
    """True when ``If-None-Match`` names our ETag (weak comparison) or is ``*``: answer 304."""
    if header is None:
        return False
    if header.strip() == "*":
        return True
    tags = parse_etags(header)
    return bool(tags) and any(tag == etag for _, tag in tags)


def if_range_allows_partial(header: str | None, etag: str, last_modified: int) -> bool:
    """Whether a ``Range`` may be honoured given ``If-Range`` (RFC 9110 13.1.5).

    An entity-tag must match ours strongly (a weak tag never does); a date must
    equal our ``Last-Modified`` exactly. Anything else means the client's copy
    is stale, so it gets the whole new file instead of a slice of it.
    """
    if header is None:
        return True
    value = header.strip()
    if value.startswith(('"', "W/")):
        return value == etag
    date = parse_http_date_safe(value)
    return date is not None and date == last_modified


def strong_etag(key: str, size: int, mtime_ns: int) -> str:
    """A strong ETag for one version of a file: it changes whenever the file is rewritten.

    Hashed so that the tag reveals nothing about which clip it is (coaches rate blind).
    """
    digest = hashlib.blake2b(f"{key}\0{size}\0{mtime_ns}".encode(), digest_size=16).hexdigest()
    return f'"{digest}"'


class _FileSlice:
    """Iterate ``length`` bytes of an open file from ``start``, in chunks; closing closes the file.

    Django closes a streaming response's iterator when the server is done with
    it, including when the client disconnects half-way, so the file handle never leaks.
    """

    def __init__(self, handle: BinaryIO, start: int, length: int, chunk_size: int):
        self.handle = handle
        self.start = start
        self.length = length
        self.chunk_size = chunk_size

    def __iter__(self) -> Iterator[bytes]:
        try:
            self.handle.seek(self.start)
            remaining = self.length
            while remaining > 0:
                data = self.handle.read(min(self.chunk_size, remaining))
                if not data:
                    break
                remaining -= len(data)
                yield data
        finally:
            self.close()

    def close(self) -> None:
        self.handle.close()


class _AsyncFileSlice:
    """The same slice for ASGI servers: each chunk is read in a thread as the client takes it.

    Given a plain iterator under ASGI, Django would read the whole file into a
    list before sending the first byte.
    """

    def __init__(self, file_slice: _FileSlice):
        self.file_slice = file_slice

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        chunks = iter(self.file_slice)
        read_next = sync_to_async(next, thread_sensitive=False)
        while (data := await read_next(chunks, None)) is not None:
            yield data

    def close(self) -> None:
        self.file_slice.close()


def ranged_file_response(
    request: HttpRequest,
    path: Path,
    *,
    content_type: str = "video/mp4",
    cache_control: str = "private",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> HttpResponseBase:
    """Answer a GET or HEAD for a file with 200, 206, 304 or 416, streaming only the bytes asked for.

    The file is opened before it is measured, so the size, the ETag and the bytes
    sent all belong to the same version even if a re-render replaces the file
    meanwhile (replacement is a rename; the open handle keeps the old bytes).
    """
    if settings.MEDIA_ACCEL_REDIRECT_PREFIX:
        return _accel_redirect_response(path, content_type=content_type, cache_control=cache_control)
    handle = open(path, "rb")  # noqa: SIM115 - closed by the response's iterator or below
    try:
        stat = os.fstat(handle.fileno())
        size = stat.st_size
        etag = strong_etag(path.name, size, stat.st_mtime_ns)
        last_modified = int(stat.st_mtime)
        validators = {
            "Accept-Ranges": "bytes",
            "ETag": etag,
            "Last-Modified": http_date(last_modified),
            "Cache-Control": cache_control,
        }
        if _not_modified(request, etag, last_modified):
            handle.close()
            response: HttpResponseBase = HttpResponseNotModified()
            _set_headers(response, validators)
            return response

        byte_range: ByteRange | None = None
        header = request.headers.get("Range")
        # Range is defined for GET only (RFC 9110 14.2); a HEAD describes the whole file.
        if (
            header
            and request.method == "GET"
            and if_range_allows_partial(request.headers.get("If-Range"), etag, last_modified)
        ):
            try:
                byte_range = parse_range(header, size)
            except RangeNotSatisfiable:
                handle.close()
                response = HttpResponse(
                    f"The requested range lies outside the file, which is {size} bytes long.\n",
                    status=416,
                    content_type="text/plain; charset=utf-8",
                )
                _set_headers(response, {**validators, "Content-Range": f"bytes */{size}"})
                return response

        span = byte_range or ByteRange(0, size - 1)
        if request.method == "HEAD":
            handle.close()
            response = HttpResponse(content_type=content_type)
        else:
            body = _FileSlice(handle, span.start, span.length, chunk_size)
            streamed = _AsyncFileSlice(body) if isinstance(request, ASGIRequest) else body
            response = StreamingHttpResponse(streamed, content_type=content_type)
        headers = {**validators, "Content-Length": str(span.length)}
        if byte_range is not None:
            response.status_code = 206
            headers["Content-Range"] = byte_range.content_range(size)
        _set_headers(response, headers)
        return response
    except BaseException:
        handle.close()
        raise


def _not_modified(request: HttpRequest, etag: str, last_modified: int) -> bool:
    if request.method not in {"GET", "HEAD"}:
        return False
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        # RFC 9110 13.2.2: when If-None-Match is present, If-Modified-Since is not evaluated.
        return if_none_match_hits(if_none_match, etag)
    since = parse_http_date_safe(request.headers.get("If-Modified-Since") or "")
    return since is not None and last_modified <= since


def _set_headers(response: HttpResponseBase, headers: dict[str, str]) -> None:
    for name, value in headers.items():
        response[name] = value


def _accel_redirect_response(path: Path, *, content_type: str, cache_control: str) -> HttpResponse:
    """Hand the file to nginx: it then serves ranges, ETags and 304s itself."""
    media_root = Path(settings.MEDIA_ROOT).resolve()
    try:
        relative = Path(path).resolve().relative_to(media_root)
    except ValueError:
        raise ImproperlyConfigured(
            f"MEDIA_ACCEL_REDIRECT_PREFIX is set but {path} is not under MEDIA_ROOT ({media_root}): "
            "keep CLIP_CACHE_DIR inside MEDIA_ROOT so the front server can find rendered clips."
        ) from None
    response = HttpResponse(content_type=content_type)
    prefix = settings.MEDIA_ACCEL_REDIRECT_PREFIX.rstrip("/")
    response["X-Accel-Redirect"] = f"{prefix}/{quote(relative.as_posix())}"
    response["Cache-Control"] = cache_control
    return response
