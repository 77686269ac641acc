"""Receiving a manifest over HTTP: as the request body or as a multipart file, streamed to disk, never held whole.

A gallery manifest can be hundreds of megabytes. The body is copied in 1 MiB
pieces to a file under ``IMPORT_UPLOAD_ROOT`` (a folder the web processes and the
workers share, like ``EXPORT_ROOT``), so that a worker can import it later.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from rest_framework import exceptions, status
from rest_framework.parsers import BaseParser

PIECE_BYTES = 1 << 20
# Far above a full SportSkills gallery manifest (630k clips is a few hundred MB).
MAX_MANIFEST_BYTES = 2 << 30
# The media types a manifest body may be sent as (JSON Lines; the commands read the same bytes).
MANIFEST_MEDIA_TYPES = ("application/x-ndjson", "application/jsonl", "application/json-lines", "text/plain")


class ManifestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = f"The manifest is larger than {MAX_MANIFEST_BYTES >> 30} GiB; split it into several imports."
    default_code = "too_large"


@dataclass
class ReceivedManifest:
    """A manifest on disk: where, how many bytes and lines. ``discard()`` removes it."""

    path: Path
    size: int
    lines: int

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def upload_root() -> Path:
    root = Path(getattr(settings, "IMPORT_UPLOAD_ROOT", settings.VAR_DIR / "imports"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def spool(source: IO[bytes] | Any, *, suffix: str = ".jsonl") -> ReceivedManifest:
    """Copy a byte stream to a new file under the upload root, counting bytes and lines as it goes."""
    root = upload_root()
    path = root / f"{uuid.uuid4().hex}{suffix}"
    size = lines = 0
    last = b"\n"
    try:
        with open(path, "xb") as out:
            while piece := source.read(PIECE_BYTES):
                size += len(piece)
                if size > MAX_MANIFEST_BYTES:
                    raise ManifestTooLarge()
                lines += piece.count(b"\n")
                last = piece[-1:]
                out.write(piece)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if last != b"\n":
        lines += 1
    return ReceivedManifest(path=path, size=size, lines=lines)


class ManifestBodyParser(BaseParser):
    """A JSON Lines request body, copied to disk as it arrives; ``request.data`` is the ``ReceivedManifest``."""

    media_type = "application/x-ndjson"

    def parse(self, stream, media_type=None, parser_context=None) -> ReceivedManifest:
        return spool(stream)


class JsonLinesParser(ManifestBodyParser):
    media_type = "application/jsonl"


class JsonLinesAltParser(ManifestBodyParser):
    media_type = "application/json-lines"


class PlainTextManifestParser(ManifestBodyParser):
    media_type = "text/plain"


BODY_PARSERS = [ManifestBodyParser, JsonLinesParser, JsonLinesAltParser, PlainTextManifestParser]


def received_manifest(request) -> ReceivedManifest:
    """The manifest a request carries, on disk; a 400 saying how to send one when it carries none."""
    data = request.data
    if isinstance(data, ReceivedManifest):
        if data.size == 0:
            data.discard()
            raise exceptions.ValidationError(
                {
                    "manifest": [
                        "the request body is empty: send the manifest's lines, with a Content-Length header "
                        "(chunked uploads without one are not read)."
                    ]
                }
            )
        return data
    if request.content_type.split(";")[0].strip().lower() in MANIFEST_MEDIA_TYPES:
        raise exceptions.ValidationError(
            {
                "manifest": [
                    "the request body is empty: send the manifest's lines, with a Content-Length header "
                    "(chunked uploads without one are not read)."
                ]
            }
        )
    upload = request.FILES.get("file")
    if upload is None:
        raise exceptions.ValidationError(
            {
                "file": [
                    "no manifest: send it as the body with Content-Type application/x-ndjson, "
                    "or as a multipart form file named 'file'."
                ]
            }
        )
    if upload.size > MAX_MANIFEST_BYTES:
        raise ManifestTooLarge()
    # A large upload is already a temporary file: move it rather than copy it when on the same disk.
    temporary = getattr(upload, "temporary_file_path", None)
    if temporary is not None:
        target = upload_root() / f"{uuid.uuid4().hex}.jsonl"
        try:
            os.replace(temporary(), target)
        except OSError:
            pass
        else:
            # Its temporary file is gone (moved): closing it must not try to remove it again.
            with contextlib.suppress(FileNotFoundError):
                upload.file.close()
            return _count_lines(target)
    upload.seek(0)
    received = spool(upload)
    if received.size == 0:
        received.discard()
        raise exceptions.ValidationError({"file": ["the uploaded file is empty."]})
    return received


def _count_lines(path: Path) -> ReceivedManifest:
    size = lines = 0
    last = b"\n"
    with open(path, "rb") as handle:
        while piece := handle.read(PIECE_BYTES):
            size += len(piece)
            lines += piece.count(b"\n")
            last = piece[-1:]
    if size == 0:
        path.unlink(missing_ok=True)
        raise exceptions.ValidationError({"file": ["the uploaded file is empty."]})
    return ReceivedManifest(path=path, size=size, lines=lines + (last != b"\n"))
