"""Static files as production serves them: this project's CSS and JavaScript minified when collected.

The sources in ``static/`` stay commented and readable, and the development server
serves them as they are. ``collectstatic`` copies them to ``STATIC_ROOT``; this
storage then minifies this project's own ``.css`` and ``.js`` files (third-party
ones, htmx and the admin's, ship as their authors built them) before WhiteNoise
names them by their content hash and compresses them. The task page's weight
(issue 5: under 100 kB without video) is measured on these bytes.
"""

from __future__ import annotations

from pathlib import Path

import rcssmin
import rjsmin
from django.conf import settings
from whitenoise.storage import CompressedManifestStaticFilesStorage

_MINIFIERS = {".css": rcssmin.cssmin, ".js": rjsmin.jsmin}


def own_sources() -> list[Path]:
    """This project's static folders (``STATICFILES_DIRS``), whose CSS and JavaScript are minified."""
    return [Path(entry[1] if isinstance(entry, tuple) else entry).resolve() for entry in settings.STATICFILES_DIRS]


def is_minified_here(source: Path) -> bool:
    """Whether ``source`` is one of this project's CSS or JavaScript files (not a ``.min`` file already)."""
    source = source.resolve()
    return (
        source.suffix in _MINIFIERS
        and not source.name.endswith((".min.js", ".min.css"))
        and any(source.is_relative_to(folder) for folder in own_sources())
    )


def minify(source: Path) -> str:
    """The minified text of one of this project's CSS or JavaScript files."""
    return _MINIFIERS[source.suffix](source.read_text(encoding="utf-8"))


class MinifiedStaticFilesStorage(CompressedManifestStaticFilesStorage):
    """WhiteNoise's hashed, compressed storage, minifying this project's CSS and JavaScript first."""

    def post_process(self, paths, dry_run=False, **options):
        if not dry_run:
            paths = dict(paths)
            for name, (storage, source_name) in paths.items():
                source = Path(storage.path(source_name))
                if is_minified_here(source):
                    Path(self.path(name)).write_text(minify(source), encoding="utf-8")
                    # Hashed and compressed from the minified copy, not from the source.
                    paths[name] = (self, name)
        yield from super().post_process(paths, dry_run, **options)
