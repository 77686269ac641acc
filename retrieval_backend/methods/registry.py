"""Which backends exist: the built-ins, and those other packages register through an entry point.

A research team ships its model as a package that declares, in its pyproject::

    [project.entry-points."coachbench.retrieval_backends"]
    my-model = "my_package.backend:MyBackend"

After ``pip install``, ``my-model`` is a choice in the admin; coachbench itself
is not touched. Entry points are read on every call (it takes milliseconds), so
a package installed into a running web server shows up without a restart.
"""

from __future__ import annotations

import logging
from importlib import import_module
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from retrieval_backend.methods.base import BackendNotFound, RetrievalBackend

if TYPE_CHECKING:
    from retrieval_backend.models import RetrievalMethod

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "coachbench.retrieval_backends"

# Imported lazily so that a web process listing backends does not load torch.
_BUILT_INS = {
    "random": "retrieval_backend.methods.random_control:RandomBackend",
    "narration-text": "retrieval_backend.methods.text:NarrationTextBackend",
    "visual": "retrieval_backend.methods.visual:VisualBackend",
    "mistake-conditioned": "retrieval_backend.methods.fusion:MistakeConditionedBackend",
}


def _import(target: str) -> type[RetrievalBackend]:
    module, _, attribute = target.partition(":")
    return getattr(import_module(module), attribute)


def available_backends() -> dict[str, type[RetrievalBackend]]:
    """Backend name -> class, built-ins first. A broken third-party package is logged and left out."""
    backends = {name: _import(target) for name, target in _BUILT_INS.items()}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name in backends:
            logger.warning("ignoring entry point %s: the name %r is already taken", entry.value, entry.name)
            continue
        try:
            backend = entry.load()
        except Exception:
            logger.exception("could not load retrieval backend %r from %s", entry.name, entry.value)
            continue
        if not (isinstance(backend, type) and issubclass(backend, RetrievalBackend)):
            logger.warning("ignoring entry point %s: it is not a RetrievalBackend subclass", entry.value)
            continue
        backends[entry.name] = backend
    return backends


def backend_class(name: str) -> type[RetrievalBackend]:
    backends = available_backends()
    try:
        return backends[name]
    except KeyError:
        raise BackendNotFound(
            f"no retrieval backend is called {name!r}; available: {', '.join(backends)}. "
            f"A third-party backend appears once its package is installed (entry point group {ENTRY_POINT_GROUP!r})."
        ) from None


def get_backend(method: RetrievalMethod) -> RetrievalBackend:
    """An instance of the method's backend with its validated parameters (``BackendParamsError`` if invalid)."""
    return backend_class(method.backend)(method.params or {})
