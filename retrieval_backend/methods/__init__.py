"""Retrieval methods: the backend interface, the built-in backends and the registry that finds them."""

from __future__ import annotations

from retrieval_backend.methods.base import (
    BackendNotFound,
    BackendParamsError,
    ClipItem,
    Encoded,
    QueryItem,
    RetrievalBackend,
    l2_normalise,
)
from retrieval_backend.methods.registry import (
    ENTRY_POINT_GROUP,
    available_backends,
    backend_class,
    get_backend,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "BackendNotFound",
    "BackendParamsError",
    "ClipItem",
    "Encoded",
    "QueryItem",
    "RetrievalBackend",
    "available_backends",
    "backend_class",
    "get_backend",
    "l2_normalise",
]
