"""``random``: the control arm. Clips of the query's sport drawn at random, reproducibly.

A study needs a floor to compare against: if coaches rate a model's clips no
better than random clips of the same sport, the model is not helping. The draw
depends only on the seed, the query and the pool, so regenerating candidates
gives the same clips.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from retrieval_backend.methods.base import BackendParamsError, QueryItem, RetrievalBackend


class RandomBackend(RetrievalBackend):
    name = "random"
    description = "Seeded random clips of the query's sport: the control arm of a study."
    PARAMS: ClassVar[dict[str, str]] = {"seed": "whole number; the same seed draws the same clips (default 0)"}
    needs_index = False

    @classmethod
    def clean_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        seed = params.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise BackendParamsError(f"seed must be a whole number of 0 or more, not {seed!r}.")
        params["seed"] = seed
        return params

    @classmethod
    def weak_baseline_warning(cls, params: Mapping[str, Any]) -> str:
        return "Random control: clips are drawn at random from the query's sport, by design."

    def rank_without_index(
        self, queries: Sequence[QueryItem], pools: Mapping[int | None, np.ndarray], k: int
    ) -> dict[int, list[tuple[int, float]]]:
        ranked: dict[int, list[tuple[int, float]]] = {}
        for query in queries:
            pool = pools.get(None if self.params["any_sport"] else query.sport_id, np.empty(0, dtype=np.int64))
            size = min(k, len(pool))
            # Seeded by (seed, query) alone: a query's draw does not depend on which other queries run with it.
            rng = np.random.default_rng([self.params["seed"], query.pk])
            drawn = rng.choice(pool, size=size, replace=False) if size else []
            # Scores only order the list: 1.0 for the first clip down to 1/k for the k-th.
            ranked[query.pk] = [(int(clip), (k - rank) / k) for rank, clip in enumerate(drawn)]
        return ranked
