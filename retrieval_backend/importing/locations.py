"""Where a manifest's video lives: a path relative to the manifest, an absolute path, or an http(s) URL.

Local paths are resolved (``..`` and symbolic links followed) before they are
stored or checked against ``VIDEO_ALLOWED_ROOTS``: a manifest must not be able
to point the server at files outside the folders an administrator allowed.
Plain Python, no Django import.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from retrieval_backend.importing.fields import show

MAX_URI_CHARS = 1024
_URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
# "javascript:...", "data:...", "file:/..." : a scheme without slashes. One letter is a Windows drive, not a scheme.
_BARE_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")
# Resolved folders remembered; a gallery keeps its videos in a few folders, so this rarely fills.
_FOLDER_CACHE_SIZE = 4096


@dataclass(frozen=True)
class VideoLocation:
    """Where PyAV opens a video: an absolute local path or an http(s) URL."""

    uri: str
    is_remote: bool


class LocationError(ValueError):
    """A video path or URL that may not be imported; the message says why and what to write instead."""


class VideoLocator:
    """Resolves the ``video`` values of one manifest, relative to its folder, within the allowed roots."""

    def __init__(self, base_dir: Path, allowed_roots: list[Path], allowed_url_prefixes: Sequence[str] = ()) -> None:
        self.base_dir = str(base_dir)
        self.allowed_roots = [str(root) for root in allowed_roots]
        self.allowed_url_prefixes = list(allowed_url_prefixes)
        self._url_prefixes = [_url_prefix(prefix) for prefix in allowed_url_prefixes]
        self._folders: dict[str, str] = {}

    def locate(self, value: str) -> VideoLocation:
        """Turn a manifest's ``video`` value into a location, or raise ``LocationError`` saying what to fix."""
        if len(value) > MAX_URI_CHARS:
            raise LocationError(f"is {len(value)} characters long; the limit is {MAX_URI_CHARS}")
        scheme = _URL_SCHEME.match(value)
        if scheme:
            return self._url(value, scheme.group(1))
        bare = _BARE_SCHEME.match(value)
        if bare:
            raise LocationError(
                f"{bare.group(1)}: URLs are not supported: give a path relative to the manifest, an absolute "
                "path, or an http(s) URL (a file whose name has a colon: start the path with ./)"
            )
        resolved = self._resolve(value if os.path.isabs(value) else os.path.join(self.base_dir, value))
        if self.allowed_roots and not any(_inside(resolved, root) for root in self.allowed_roots):
            raise LocationError(
                f"{show(value)} resolves to {resolved}, outside the folders videos may come from "
                f"(VIDEO_ALLOWED_ROOTS: {', '.join(self.allowed_roots)}); move the video there or ask an "
                "administrator"
            )
        if len(resolved) > MAX_URI_CHARS:
            raise LocationError(f"the full path is {len(resolved)} characters long; the limit is {MAX_URI_CHARS}")
        return VideoLocation(uri=resolved, is_remote=False)

    def _url(self, value: str, scheme: str) -> VideoLocation:
        if scheme.lower() not in {"http", "https"}:
            raise LocationError(
                f"{scheme}:// URLs are not supported: give a path relative to the manifest, "
                "an absolute path, or an http(s) URL"
            )
        try:
            host = urlsplit(value).hostname
        except ValueError as exc:
            raise LocationError(f"{show(value)} is not a valid URL ({exc})") from None
        if not host:
            raise LocationError(f"{show(value)} is not a URL with a host name")
        if self._url_prefixes and not any(_url_matches(value, prefix) for prefix in self._url_prefixes):
            raise LocationError(
                f"{show(value)} is not under the addresses videos may come from "
                f"(VIDEO_ALLOWED_URL_PREFIXES: {', '.join(self.allowed_url_prefixes)}); host the video there "
                "or ask an administrator"
            )
        return VideoLocation(uri=value, is_remote=True)

    def _resolve(self, path: str) -> str:
        """``os.path.realpath``, with each folder resolved once: at 20k videos in one folder it adds up.

        The real path of ``folder/name`` is the real path of ``folder`` joined with
        ``name``, unless ``name`` is itself a symbolic link (or ``.``/``..``).
        """
        try:
            folder, name = os.path.split(path)
            if name in {"", ".", ".."}:
                return os.path.realpath(path)
            real_folder = self._folders.get(folder)
            if real_folder is None:
                if len(self._folders) >= _FOLDER_CACHE_SIZE:
                    self._folders.clear()
                real_folder = self._folders[folder] = os.path.realpath(folder)
            candidate = os.path.join(real_folder, name)
            return os.path.realpath(candidate) if os.path.islink(candidate) else candidate
        except (OSError, ValueError) as exc:
            raise LocationError(f"cannot resolve the path {show(path)}: {exc}") from None


def _url_prefix(prefix: str) -> tuple[str, str, int | None, str]:
    """(scheme, host, port, path) of an allowed prefix; the path always ends with a slash."""
    parts = urlsplit(prefix)
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"VIDEO_ALLOWED_URL_PREFIXES: {prefix!r} is not an http(s) URL with a host")
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return parts.scheme.lower(), parts.hostname.lower(), parts.port, path


def _url_matches(value: str, prefix: tuple[str, str, int | None, str]) -> bool:
    """Whether ``value`` is under ``prefix``: same scheme, host and port, and a path below the prefix's.

    Compared part by part, not as text: ``https://videos.example.org.evil.net/`` and
    ``https://videos.example.org@evil.net/`` are not under ``https://videos.example.org/``.
    """
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return False
    scheme, host, allowed_port, path = prefix
    if parts.scheme.lower() != scheme or (parts.hostname or "").lower() != host or port != allowed_port:
        return False
    # A server resolves dot segments, %-encoded ones too, before it serves the path.
    decoded = unquote(parts.path) + "/"
    if "/../" in decoded or "/./" in decoded or "\\" in decoded:
        return False
    return (parts.path or "/").startswith(path) or (parts.path + "/") == path


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)
