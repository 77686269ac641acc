"""Playing segments: render a video segment on first request, then serve it with range support.

``segment_response`` is the one entry point for every view that plays a clip or
a query recording: the staff routes by id in ``views.py`` today, the coaches'
blind per-assignment URLs later. It never names the video, its source or its
clip in what it sends back to a non-staff user, so a coach learns nothing about
which method produced a clip from an error message either.

A segment that cannot be played is answered with a short plain-text message
and a 4xx/503 status, never a 500 and never a half-written file: rendering
writes to a temporary name and renames into the cache only on success.
"""

from __future__ import annotations

import logging
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase

from retrieval_backend.http_ranges import ranged_file_response
from retrieval_backend.models import Video
from retrieval_backend.video.errors import StorageFull, VideoError
from retrieval_backend.video.render import ensure_rendered

logger = logging.getLogger(__name__)

# A browser's <video> retries on its own; this says when a retry can succeed.
RETRY_AFTER_S = 30


class SegmentUnavailable(Exception):
    """A segment that cannot be served now; ``status`` says whether retrying can help (503) or not (422)."""

    status = 422

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class SegmentNotReady(SegmentUnavailable):
    """The video has not been probed yet, so its checksum (the cache key) is unknown."""

    status = 503


class SegmentStorageFull(SegmentUnavailable):
    """The clip cache's disk is full: nothing was cached, and the same request succeeds once space is freed."""

    status = 503


class SegmentUnplayable(SegmentUnavailable):
    """The video failed probing or rendering: nothing will change until someone fixes the file."""

    status = 422


def render_segment_for(video: Video, start_s: float, end_s: float) -> Path:
    """Return the cached MP4 of ``video`` between ``start_s`` and ``end_s``, rendering it if missing.

    Safe to call from many web processes and workers at once: the video I/O's
    ``ensure_rendered`` renders each segment once and the others wait for it.
    """
    if video.probe_status == Video.ProbeStatus.FAILED:
        raise SegmentUnplayable(f"the video failed probing: {video.probe_error or 'no reason recorded'}")
    if not video.sha256:
        raise SegmentNotReady("the video has not been probed yet; its clips play once probing finishes")
    try:
        return ensure_rendered(video.source_uri, video.sha256, start_s, end_s, Path(settings.CLIP_CACHE_DIR))
    except StorageFull as exc:
        raise SegmentStorageFull(f"the clip cache is full: {exc}") from exc
    except VideoError as exc:
        raise SegmentUnplayable(f"rendering failed: {exc}") from exc
    except ValueError as exc:  # a checksum that is not a SHA-256: the row was edited by hand
        raise SegmentUnplayable(f"the video's checksum is unusable ({exc}); probe it again") from exc


def segment_response(request: HttpRequest, video: Video, start_s: float, end_s: float) -> HttpResponseBase:
    """Answer a request for one segment of ``video`` as ``video/mp4``, with ranges, ETag and 304s.

    Callers check who may see the segment first; this function only plays it.
    """
    try:
        path = render_segment_for(video, start_s, end_s)
        try:
            return ranged_file_response(request, path, content_type="video/mp4")
        except FileNotFoundError:
            # Evicted from the cache between rendering and opening: render it again, once.
            path = render_segment_for(video, start_s, end_s)
            return ranged_file_response(request, path, content_type="video/mp4")
    except SegmentUnavailable as exc:
        logger.warning("segment %.3f-%.3f s of video %s not served: %s", start_s, end_s, video.pk, exc.reason)
        return _unavailable_response(request, exc)


def _unavailable_response(request: HttpRequest, exc: SegmentUnavailable) -> HttpResponse:
    user = getattr(request, "user", None)
    if user is not None and user.is_staff:
        message = f"This segment cannot be played: {exc.reason}.\n"
    elif exc.status == 503:  # not ready yet, or no room to cache it: both pass
        message = "This clip is still being prepared. Try again in a minute.\n"
    else:
        # Coaches rate blind: no file names, ids or sources, only what to do.
        message = "This clip cannot be played. Skip it or tell the study team; they can see what went wrong.\n"
    response = HttpResponse(message, status=exc.status, content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-store"
    if exc.status == 503:
        response["Retry-After"] = str(RETRY_AFTER_S)
    return response
