"""A study's judgements as arrays: the only part of the results service that talks to the database.

Rows are read in batches from raw cursors (no model instances, no per-value converters), items
first, then judgements, each joined to its item by position in a sorted id array. Everything downstream is numpy and the
pure functions of ``annotations.stats``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
from django.db.models import Max, Min, TextField
from django.db.models.functions import Cast

from annotations.models import Judgement
from annotations.raw_rows import raw_batches
from studies.models import Item, PairingOutcome, Study

CHUNK = 20_000
KINDS = ("pairwise", "likert")


@dataclass
class Credits:
    """Per item, the (method, rank) pairs behind one side, flattened: item ``i`` owns rows ``start[i]:start[i+1]``."""

    start: np.ndarray
    method: np.ndarray
    rank: np.ndarray

    @classmethod
    def from_lists(cls, lists: list[list[tuple[int, int]]]) -> Credits:
        lengths = np.fromiter((len(credits) for credits in lists), dtype=np.int64, count=len(lists))
        start = np.concatenate([[0], np.cumsum(lengths)])
        flat = [pair for credits in lists for pair in credits]
        pairs = np.array(flat, dtype=np.int64).reshape(-1, 2)
        return cls(start=start, method=pairs[:, 0], rank=pairs[:, 1])

    def count(self, items: np.ndarray) -> np.ndarray:
        return self.start[items + 1] - self.start[items]

    def expand(self, items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For rows that point at ``items``: (which input row, which credit row) for every credit of that item."""
        counts = self.count(items)
        owner = np.repeat(np.arange(items.size), counts)
        offset = np.arange(owner.size) - np.repeat(np.cumsum(counts) - counts, counts)
        return owner, self.start[items[owner]] + offset


@dataclass
class StudyData:
    """Items and judgements of one study, as parallel arrays."""

    study: Study
    method_names: dict[int, str]
    sport_names: list[str]
    # Items, sorted by id.
    item_id: np.ndarray
    item_kind: np.ndarray  # 0 pairwise, 1 likert
    item_query: np.ndarray
    item_sport: np.ndarray  # index into sport_names
    item_gold: np.ndarray
    item_gold_answer: list[object]  # None, {"choice": "a"} or {"min": m, "max": n}
    item_seconds_needed: np.ndarray  # query plus clip(s): how long watching everything once takes
    credits_a: Credits
    credits_b: Credits
    # Judgements, sorted by id; ``item`` is a position in the item arrays.
    judgement_id: np.ndarray
    item: np.ndarray
    coach: np.ndarray
    flagged: np.ndarray
    winner: np.ndarray  # "a", "b", "tie", "neither" or "" (Likert and flagged)
    score: np.ndarray  # float, NaN where there is none
    server_ms: np.ndarray
    first_judgement: object
    last_judgement: object
    identical_pairs: list[tuple[int, int]]  # (method_a, method_b) per comparison not shown

    @property
    def counted(self) -> np.ndarray:
        """Judgements that enter the statistics: not flagged (flags are reported, never counted)."""
        return ~self.flagged

    @property
    def method_rows(self) -> np.ndarray:
        """Counted judgements on regular items: what method comparisons and agreement are computed from."""
        return self.counted & ~self.item_gold[self.item]

    def of_kind(self, kind: str) -> np.ndarray:
        return self.item_kind[self.item] == KINDS.index(kind)


def _decoded(value: object) -> object:
    """A JSON field as the driver returns it: text on SQLite, already decoded on PostgreSQL."""
    return json.loads(value) if isinstance(value, str) else value


class _CreditPairs:
    """(method, rank) pairs from a credits field's JSON text, decoded once per distinct text."""

    def __init__(self) -> None:
        self._seen: dict[str, list[tuple[int, int]]] = {}

    def __call__(self, text: str | None) -> list[tuple[int, int]]:
        pairs = self._seen.get(text or "")
        if pairs is None:
            pairs = [(int(c["method"]), int(c.get("rank") or 0)) for c in _decoded(text or "[]") or []]
            if len(self._seen) < 100_000:
                self._seen[text or ""] = pairs
        return pairs


def load_study(study: Study) -> StudyData:
    """Read the study's items and judgements into arrays (two streamed queries, a few small ones)."""
    sport_index: dict[str, int] = {}
    ids, kinds, queries, sports, gold, gold_answers, needed = [], [], [], [], [], [], []
    credits_a: list[list[tuple[int, int]]] = []
    credits_b: list[list[tuple[int, int]]] = []
    pairs = _CreditPairs()
    items = (
        Item.objects.filter(study=study)
        .annotate(credits_a_text=Cast("credits_a", TextField()), credits_b_text=Cast("credits_b", TextField()))
        .order_by("id")
        .values_list(
            "id",
            "kind",
            "query_id",
            "query__sport__slug",
            "is_gold",
            "gold_answer",
            "credits_a_text",
            "credits_b_text",
            "query__start_s",
            "query__end_s",
            "clip_a__start_s",
            "clip_a__end_s",
            "clip_b__start_s",
            "clip_b__end_s",
        )
    )
    kind_codes = {kind: code for code, kind in enumerate(KINDS)}
    for rows in raw_batches(items, CHUNK):
        for item_id, kind, query_id, sport, is_gold, gold_answer, cred_a, cred_b, qs, qe, as_, ae, bs, be in rows:
            ids.append(item_id)
            kinds.append(kind_codes[kind])
            queries.append(query_id)
            sports.append(sport_index.setdefault(sport, len(sport_index)))
            gold.append(bool(is_gold))
            gold_answers.append(_decoded(gold_answer) if is_gold else None)
            needed.append((qe - qs) + (ae - as_) + ((be - bs) if bs is not None else 0.0))
            credits_a.append(pairs(cred_a))
            credits_b.append(pairs(cred_b))
    item_id = np.array(ids, dtype=np.int64)

    # Judgements: whole columns per batch, no Python work per row.
    parts: list[list[np.ndarray]] = [[] for _ in range(7)]
    # Item order: the (study, item, id) index serves it without a sort of all the judgements.
    judgements = Judgement.objects.filter(study=study).order_by("item_id", "id")
    fields = judgements.values_list("id", "item_id", "coach_id", "flag", "winner", "score", "server_ms")
    for rows in raw_batches(fields, CHUNK):
        jid, item, coach, flag, winner, score, ms = zip(*rows, strict=True)
        for part, values in zip(
            parts,
            (
                np.array(jid, dtype=np.int64),
                np.array(item, dtype=np.int64),
                np.array(coach, dtype=np.int64),
                np.array(flag, dtype=str) != "",
                np.array(winner, dtype=str),
                np.array(score, dtype=np.float64),  # None becomes NaN
                np.array(ms, dtype=np.float64),
            ),
            strict=True,
        ):
            part.append(values)
    empty = [np.zeros(0, np.int64)] * 3 + [np.zeros(0, bool), np.zeros(0, str)] + [np.zeros(0, np.float64)] * 2
    j_ids, j_items, coaches, flags, winners, scores, server = (
        np.concatenate(part) if part else blank for part, blank in zip(parts, empty, strict=True)
    )
    span = judgements.aggregate(first=Min("created"), last=Max("created"), revised=Max("revised"))
    last = max((t for t in (span["last"], span["revised"]) if t is not None), default=None)
    return StudyData(
        study=study,
        method_names=dict(study.methods.values_list("id", "name")),
        sport_names=list(sport_index),
        item_id=item_id,
        item_kind=np.array(kinds, dtype=np.int8),
        item_query=np.array(queries, dtype=np.int64),
        item_sport=np.array(sports, dtype=np.int64),
        item_gold=np.array(gold, dtype=bool),
        item_gold_answer=gold_answers,
        item_seconds_needed=np.array(needed, dtype=np.float64),
        credits_a=Credits.from_lists(credits_a),
        credits_b=Credits.from_lists(credits_b),
        judgement_id=j_ids,
        item=np.searchsorted(item_id, j_items),
        coach=coaches,
        flagged=flags,
        winner=winners,
        score=scores,
        server_ms=server,
        first_judgement=span["first"],
        last_judgement=last,
        identical_pairs=list(
            PairingOutcome.objects.filter(study=study).order_by("id").values_list("method_a_id", "method_b_id")
        ),
    )
