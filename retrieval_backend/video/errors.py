"""Errors a user can cause with a video file, each with a message that says what to fix."""

from __future__ import annotations


class VideoError(Exception):
    """A video that cannot be used: missing, not a video, undecodable or truncated."""


class VideoNotFound(VideoError):
    """The path names no file: fix the path or copy the video there."""


class NotAVideo(VideoError):
    """The file is there but is not a video FFmpeg can decode, whatever FFmpeg made of its bytes.

    FFmpeg reads a file of junk differently from one run of bytes to the next: "invalid
    data", a subtitle track and no video stream, a video stream with no frame size or
    no frame rate, a one-frame image. The user's fix is the same for all of them, so
    they share this class and one message, ``PATH is not a decodable video (DETAIL):
    FIX``, where the detail says what was found.
    """

    default_fix = "re-encode it as an H.264 MP4, or check that the path names the video you meant"

    def __init__(self, uri: str, detail: str, fix: str = "") -> None:
        # All three go to Exception.args, so the error survives pickling (Celery results, subprocesses).
        super().__init__(uri, detail, fix)
        self.uri = uri
        self.detail = detail
        self.fix = fix or self.default_fix

    def __str__(self) -> str:
        return f"{self.uri} is not a decodable video ({self.detail}): {self.fix}"


class TruncatedVideo(NotAVideo):
    """The file looks like a video but frames are missing: cut short in transfer, or damaged.

    One of the ways a file is not a decodable video, with its own fix: the copy, not the encoding, is at fault.
    """

    default_fix = "copy the file again from its source (an interrupted download or copy), or re-encode it"


class SlowToDecode(VideoError):
    """The file is a video, but too large or too sparse in keyframes to decode in bounded time: re-encode it."""


class StorageFull(VideoError):
    """The disk (or the file size limit) ran out while writing a rendered clip: free space, then try again.

    Not the video's fault: the same render succeeds once there is room, so callers retry rather than give up.
    """
