"""``mistake-conditioned``: late fusion of "looks like my execution" and "talks about my mistake".

Each clip is stored as one vector, its visual embedding and its narration
embedding side by side (each half scaled by 1/sqrt(2), so the whole has unit
length). A query searches twice, once with only its visual half (similar
executions) and once with only its mistake-text half (narrations about that
mistake); the union of both top-``pool`` lists is re-ranked by
``weight * visual + (1 - weight) * text`` cosine similarity, computed exactly
from the stored vectors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from retrieval_backend.methods.base import (
    BackendParamsError,
    ClipItem,
    Encoded,
    QueryItem,
    RetrievalBackend,
    positive_int,
    unit_float,
)
from retrieval_backend.methods.text import NarrationTextBackend
from retrieval_backend.methods.visual import VisualBackend

if TYPE_CHECKING:
    from retrieval_backend.search import ClipIndex

_HALF = np.float32(1 / np.sqrt(2))


class MistakeConditionedBackend(RetrievalBackend):
    name = "mistake-conditioned"
    description = "Late fusion: visual similarity to the execution and text similarity to the mistake."
    PARAMS: ClassVar[dict[str, str]] = {
        "weight": "weight of the visual side, 0 to 1 (default 0.5); the text side gets 1 - weight",
        "pool": "candidates taken from each side before re-ranking (default 100)",
        "visual": "parameters of the visual side (as for the visual backend)",
        "text": "parameters of the text side (as for the narration-text backend)",
    }
    QUERY_TIME_PARAMS = frozenset({"weight", "pool"})
    chunk_size = VisualBackend.chunk_size

    @classmethod
    def clean_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        params["weight"] = unit_float(params, "weight", 0.5)
        params["pool"] = positive_int(params, "pool", 100, maximum=10000)
        for side, backend in (("visual", VisualBackend), ("text", NarrationTextBackend)):
            value = params.get(side, {})
            if not isinstance(value, dict):
                raise BackendParamsError(f"{side} must be an object of {backend.name} parameters, not {value!r}.")
            try:
                cleaned = backend.validate_params(value)
            except BackendParamsError as exc:
                raise BackendParamsError(f"in {side}: {exc}") from None
            params[side] = {k: v for k, v in cleaned.items() if k in backend.PARAMS}
        return params

    @classmethod
    def weak_baseline_warning(cls, params: dict[str, Any]) -> str:
        visual = VisualBackend.weak_baseline_warning(params.get("visual") or {})
        return f"Visual side: {visual}" if visual else ""

    def __init__(self, params: dict[str, Any] | None = None) -> None:
        super().__init__(params)
        self.visual = VisualBackend(self.params["visual"])
        self.text = NarrationTextBackend(self.params["text"])

    def embedding_params(self) -> dict[str, Any]:
        return {"visual": self.visual.embedding_params(), "text": self.text.embedding_params()}

    @property
    def dim(self) -> int:
        return self.visual.dim + self.text.dim

    def _join(self, visual: Encoded, text: np.ndarray) -> Encoded:
        vectors = np.concatenate([visual.vectors * _HALF, text * _HALF], axis=1).astype(np.float32)
        if visual.failed:
            vectors[list(visual.failed)] = 0.0
        return Encoded(vectors, dict(visual.failed))

    def encode_clips(self, clips: Sequence[ClipItem]) -> Encoded:
        return self._join(self.visual.encode_clips(clips), self.text.encode_clips(clips))

    def encode_queries(self, queries: Sequence[QueryItem]) -> Encoded:
        return self._join(self.visual.encode_queries(queries), self.text.encode_queries(queries))

    def search(
        self, index: ClipIndex, vectors: np.ndarray, k: int, sports: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        split = self.visual.dim
        pool = max(k, self.params["pool"])
        weight = self.params["weight"]
        visual_only, text_only = vectors.copy(), vectors.copy()
        visual_only[:, split:] = 0.0
        text_only[:, :split] = 0.0
        _, by_visual = index.search(visual_only, pool, sports=sports, ef_search=self.params["ef_search"])
        _, by_text = index.search(text_only, pool, sports=sports, ef_search=self.params["ef_search"])
        scores = np.full((len(vectors), k), -np.inf, dtype=np.float32)
        found = np.full((len(vectors), k), -1, dtype=np.int64)
        stored = index.vectors
        for i, query in enumerate(vectors):
            union = np.union1d(by_visual[i], by_text[i])
            union = union[union >= 0]
            if len(union) == 0:
                continue
            rows = stored[index.rows_for_ids(union)]
            # Each half was scaled by 1/sqrt(2) on both sides, so 2 * <half, half> is the cosine similarity.
            visual = 2.0 * rows[:, :split] @ query[:split]
            text = 2.0 * rows[:, split:] @ query[split:]
            fused = weight * visual + (1.0 - weight) * text
            order = np.lexsort((union, -fused))[:k]
            scores[i, : len(order)] = fused[order]
            found[i, : len(order)] = union[order]
        return scores, found
