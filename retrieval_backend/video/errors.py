"""Errors a user can cause with a video file, each with a message that says what to fix."""

from __future__ import annotations


class VideoError(Exception):
    """A video that cannot be used: missing, not a video, undecodable or truncated."""


class VideoNotFound(VideoError):
    pass


class NotAVideo(VideoError):
    pass


class TruncatedVideo(VideoError):
    pass
