"""The interface every retrieval backend implements, and the plain inputs it works on.

Backends see dataclasses, never Django rows, so a research team can test its
backend alone and coachbench can run it on any worker. A backend turns clips
and queries into L2-normalised float32 vectors; search over those vectors
(exact inner product by default) is shared, so a backend only overrides
``search`` when it ranks differently (late fusion, say).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    from retrieval_backend.search import ClipIndex


class BackendParamsError(ValueError):
    """The parameters given to a backend are unusable; the message says which and how to fix them."""


class BackendNotFound(LookupError):
    """No backend is registered under the name a method asks for."""


@dataclass(frozen=True)
class ClipItem:
    """One gallery clip as a backend sees it."""

    pk: int
    sport_id: int
    video_uri: str
    start_s: float
    end_s: float
    narration: str = ""
    skill: str = ""


@dataclass(frozen=True)
class QueryItem:
    """One mistake query: the user's execution (a video segment) and what is wrong with it."""

    pk: int
    sport_id: int
    video_uri: str
    start_s: float
    end_s: float
    mistake: str = ""
    skill: str = ""


@dataclass
class Encoded:
    """Vectors for a batch, row ``i`` for item ``i``; items that could not be encoded are in ``failed``.

    A failed item keeps its row (zeros) so rows stay aligned with the batch;
    callers drop the failed positions. One bad video must not cost a whole batch.
    """

    vectors: np.ndarray
    failed: dict[int, str] = field(default_factory=dict)

    @classmethod
    def of(cls, value: Encoded | np.ndarray, n: int) -> Encoded:
        """Accept what a third-party backend returns (an array or an ``Encoded``) and check its shape."""
        encoded = value if isinstance(value, Encoded) else cls(np.asarray(value))
        vectors = np.ascontiguousarray(encoded.vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != n:
            raise ValueError(f"the backend returned vectors of shape {vectors.shape} for a batch of {n}")
        encoded.vectors = vectors
        return encoded

    @property
    def ok_positions(self) -> np.ndarray:
        mask = np.ones(len(self.vectors), dtype=bool)
        if self.failed:
            mask[list(self.failed)] = False
        return np.flatnonzero(mask)


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), so inner product is cosine similarity."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


# Parameters every backend understands. They change how results are searched, not the embeddings.
COMMON_PARAMS: dict[str, str] = {
    "any_sport": "true to search the whole gallery instead of the query's sport",
    "index": '"flat" (exact, default) or "hnsw" (approximate, for interactive use)',
    "hnsw_m": "HNSW graph degree (default 32)",
    "ef_search": "HNSW search breadth (default 128)",
    "chunk_size": "clips per embedding task (default: the backend's own)",
}
_INDEX_KINDS = ("flat", "hnsw")


class RetrievalBackend:
    """Base class of retrieval backends. Subclasses set ``name`` and implement the encoders.

    Subclasses declare their own parameters in ``PARAMS`` (name -> help text) and
    check them in ``clean_params``; unknown names are rejected here with the list
    of known ones, so a typo in the admin never silently falls back to a default.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    PARAMS: ClassVar[dict[str, str]] = {}
    # Parameters that only change how an index is searched; they do not start a new embedding run.
    QUERY_TIME_PARAMS: ClassVar[frozenset[str]] = frozenset()
    needs_index: ClassVar[bool] = True
    similarity: ClassVar[str] = "ip"
    # Clips per embedding chunk: a few minutes of work on a CPU worker, so a killed worker loses little.
    chunk_size: ClassVar[int] = 256

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        self.params = self.validate_params(params or {})

    # --- parameters --------------------------------------------------------

    @classmethod
    def validate_params(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        """Return cleaned parameters, or raise ``BackendParamsError`` saying what to change."""
        if not isinstance(params, Mapping):
            raise BackendParamsError("parameters must be a JSON object, for example {}.")
        known = {**COMMON_PARAMS, **cls.PARAMS}
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise BackendParamsError(
                f"unknown parameter(s) {', '.join(map(repr, unknown))} for backend {cls.name!r}; "
                f"it accepts: {', '.join(sorted(known))}."
            )
        cleaned = dict(params)
        cleaned["any_sport"] = _boolean(params.get("any_sport", False), "any_sport")
        kind = params.get("index", "flat")
        if kind not in _INDEX_KINDS:
            raise BackendParamsError(f'index must be "flat" or "hnsw", not {kind!r}.')
        cleaned["index"] = kind
        cleaned["hnsw_m"] = positive_int(params, "hnsw_m", 32, maximum=256)
        cleaned["ef_search"] = positive_int(params, "ef_search", 128, maximum=65536)
        cleaned["chunk_size"] = positive_int(params, "chunk_size", cls.chunk_size, maximum=100_000)
        return cls.clean_params(cleaned)

    @classmethod
    def clean_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        """Check and complete this backend's own parameters (``params`` already holds the common ones)."""
        return params

    @classmethod
    def weak_baseline_warning(cls, params: Mapping[str, Any]) -> str:
        """A sentence the admin shows when these settings make a weak baseline rather than a real model."""
        return ""

    def embedding_key(self) -> str:
        """Identifies the embeddings these parameters produce: same key, same vectors, reusable index."""
        blob = json.dumps({"backend": self.name, "params": self.embedding_params()}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    def embedding_params(self) -> dict[str, Any]:
        """The parameters that change the vectors (not the search-time ones); overridden to resolve defaults."""
        return {k: v for k, v in self.params.items() if k not in COMMON_PARAMS and k not in self.QUERY_TIME_PARAMS}

    # --- encoding ----------------------------------------------------------

    @property
    def dim(self) -> int:
        raise NotImplementedError

    def encode_clips(self, clips: Sequence[ClipItem]) -> Encoded | np.ndarray:
        """float32 (len(clips), dim), L2-normalised rows."""
        raise NotImplementedError

    def encode_queries(self, queries: Sequence[QueryItem]) -> Encoded | np.ndarray:
        """float32 (len(queries), dim), L2-normalised rows, comparable with the clip vectors."""
        raise NotImplementedError

    # --- ranking -----------------------------------------------------------

    def search(
        self, index: ClipIndex, vectors: np.ndarray, k: int, sports: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Scores and clip ids (``-1`` pads), best first, of each query vector in ``index``.

        ``sports`` restricts query ``i`` to clips of ``sports[i]``; ``None`` searches everything.
        """
        return index.search(vectors, k, sports=sports, ef_search=self.params["ef_search"])

    def rank_without_index(
        self, queries: Sequence[QueryItem], pools: Mapping[int | None, np.ndarray], k: int
    ) -> dict[int, list[tuple[int, float]]]:
        """For backends that need no index: rank from ``pools`` (sport id, or None for all -> sorted clip ids)."""
        raise NotImplementedError(f"backend {self.name!r} needs an index")


def positive_int(params: Mapping[str, Any], key: str, default: int, *, maximum: int) -> int:
    value = params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise BackendParamsError(f"{key} must be a whole number from 1 to {maximum}, not {value!r}.")
    return value


def unit_float(params: Mapping[str, Any], key: str, default: float) -> float:
    value = params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= float(value) <= 1.0:
        raise BackendParamsError(f"{key} must be a number from 0 to 1, not {value!r}.")
    return float(value)


def _boolean(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    raise BackendParamsError(f"{key} must be true or false, not {value!r}.")
