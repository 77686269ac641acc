"""Errors a user can cause with a video file, each with a message that says what to fix."""

from __future__ import annotations


class VideoError(Exception):
    """A video that cannot be used: missing, not a video, undecodable or truncated."""


class VideoNotFound(VideoError):
    """The path names no file: fix the path or copy the video there."""


class NotAVideo(VideoError):
    """The file is there but holds no usable video: empty, text, or bytes FFmpeg can't read."""


class TruncatedVideo(VideoError):
    """The file looks like a video but frames are missing: cut short in transfer, or damaged."""


class SlowToDecode(VideoError):
    """The file is a video, but too large or too sparse in keyframes to decode in bounded time: re-encode it."""


class StorageFull(VideoError):
    """The disk (or the file size limit) ran out while writing a rendered clip: free space, then try again.

    Not the video's fault: the same render succeeds once there is room, so callers retry rather than give up.
    """
