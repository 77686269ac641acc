"""A study's judgements as arrays: the only part of the results service that talks to the database.

Rows are read in batches from raw cursors (no model instances, no per-value converters), items
first, then judgements, each joined to its item by position in a sorted id array. Everything downstream is numpy and the
pure functions of ``annotations.research.stats``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
from django.db.models import Max, Min, TextField
from django.db.models.functions import Cast

from annotations.models import Judgement
from annotations.research.raw_rows import raw_batches
from studies.models import Item, PairingOutcome, Study

CHUNK = 20_000
KINDS = ("pairwise", "likert")


@dataclass
class Credits:
    """Per item, the (method, rank) pairs behind one side, flattened: item ``i`` owns rows ``start[i]:start[i+1]``.

    ``code[i]``: which distinct credits the item carries; items with equal codes carry equal credits
    (items with equal credits may still have different codes, past the decoder's cache).
    """

    start: np.ndarray
    method: np.ndarray
    rank: np.ndarray
    code: np.ndarray

    @classmethod
    def from_codes(cls, codes: np.ndarray, distinct: list[list[tuple[int, int]]]) -> Credits:
        """Credits of items that carry ``distinct[codes[i]]``, without a Python list per item."""
        lengths = np.fromiter((len(pairs) for pairs in distinct), dtype=np.int64, count=len(distinct))
        pairs = np.array([pair for credits in distinct for pair in credits], dtype=np.int64).reshape(-1, 2)
        first = np.concatenate([[0], np.cumsum(lengths)])[:-1]
        counts = lengths[codes]
        start = np.concatenate([[0], np.cumsum(counts)])
        owner = np.repeat(np.arange(codes.size), counts)
        rows = first[codes][owner] + np.arange(owner.size) - start[:-1][owner]
        return cls(start=start, method=pairs[rows, 0], rank=pairs[rows, 1], code=codes)

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
    winner_code: np.ndarray  # an index into winner_names
    winner_names: np.ndarray  # the stored winners there are: "a", "b", "tie", "neither", "" (Likert and flagged)
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

    def winners(self, rows: np.ndarray) -> np.ndarray:
        """The stored winners of these judgements (indices or a mask) as text: "a", "b", "tie", "neither" or ""."""
        return self.winner_names[self.winner_code[rows]]

    def of_kind(self, kind: str) -> np.ndarray:
        return self.item_kind[self.item] == KINDS.index(kind)


def _decoded(value: object) -> object:
    """A JSON field as the driver returns it: text on SQLite, already decoded on PostgreSQL."""
    return json.loads(value) if isinstance(value, str) else value


class _CreditCodes:
    """Codes for a credits field's JSON texts, each distinct text decoded once into (method, rank) pairs."""

    def __init__(self) -> None:
        self._codes: dict[str, int] = {}
        self.distinct: list[list[tuple[int, int]]] = []

    def __call__(self, text: str | None) -> int:
        code = self._codes.get(text or "")
        if code is None:
            code = len(self.distinct)
            self.distinct.append([(int(c["method"]), int(c.get("rank") or 0)) for c in _decoded(text or "[]") or []])
            if len(self._codes) < 100_000:
                self._codes[text or ""] = code
        return code


class _Columns:
    """Parallel columns filled batch by batch into arrays allocated once, for ``capacity`` rows or more."""

    def __init__(self, dtypes: tuple, capacity: int):
        self._arrays = [np.empty(capacity, dtype=dtype) for dtype in dtypes]
        self._size = 0

    def append(self, *columns: object) -> None:
        n = len(columns[0])
        if self._size + n > self._arrays[0].size:
            capacity = max(2 * self._arrays[0].size, self._size + n)
            self._arrays = [np.resize(array[: self._size], capacity) for array in self._arrays]
        for array, values in zip(self._arrays, columns, strict=True):
            array[self._size : self._size + n] = values
        self._size += n

    def result(self) -> list[np.ndarray]:
        return [array if array.size == self._size else array[: self._size].copy() for array in self._arrays]


def _floats(values: tuple) -> np.ndarray:
    return np.array(values, dtype=np.float64)  # None becomes NaN


def load_study(study: Study) -> StudyData:
    """Read the study's items and judgements into arrays (two streamed queries, a few small ones)."""
    sport_index: dict[str, int] = {}
    gold_answers: list[object] = []
    codes_a, codes_b = _CreditCodes(), _CreditCodes()
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
    dtypes = (np.int64, np.int8, np.int64, np.int64, bool, np.float64, np.int64, np.int64)
    columns = _Columns(dtypes, Item.objects.filter(study=study).count())
    for rows in raw_batches(items, CHUNK):
        item_id, kind, query_id, sport, is_gold, gold_answer, cred_a, cred_b, qs, qe, as_, ae, bs, be = zip(
            *rows, strict=True
        )
        n = len(rows)
        gold = np.array(is_gold, dtype=bool)
        b_seconds = _floats(be) - _floats(bs)
        # Watching everything once: the query, clip a, and clip b where there is one.
        needed = ((_floats(qe) - _floats(qs)) + (_floats(ae) - _floats(as_))) + np.where(
            np.isnan(b_seconds), 0.0, b_seconds
        )
        columns.append(
            item_id,
            np.fromiter((kind_codes[k] for k in kind), dtype=np.int8, count=n),
            query_id,
            np.fromiter((sport_index.setdefault(s, len(sport_index)) for s in sport), dtype=np.int64, count=n),
            gold,
            needed,
            np.fromiter((codes_a(text) for text in cred_a), dtype=np.int64, count=n),
            np.fromiter((codes_b(text) for text in cred_b), dtype=np.int64, count=n),
        )
        gold_answers += [_decoded(answer) if gold[i] else None for i, answer in enumerate(gold_answer)]
    item_id, item_kind, item_query, item_sport, item_gold, item_needed, item_code_a, item_code_b = columns.result()

    # Judgements: whole columns per batch, no Python work per row but the winner's code, copied into
    # columns allocated once for the count there is (grown if more arrive while reading): the batches
    # come and go in the same few buffers and nothing is concatenated at the end.
    # Item order: the (study, item, id) index serves it without a sort of all the judgements.
    judgements = Judgement.objects.filter(study=study).order_by("item_id", "id")
    fields = judgements.values_list("id", "item_id", "coach_id", "flag", "winner", "score", "server_ms")
    winner_codes: dict[str, int] = {}
    columns = _Columns((np.int64, np.int64, np.int64, bool, np.int16, np.float64, np.float64), judgements.count())
    for rows in raw_batches(fields, CHUNK):
        jid, item, coach, flag, winner, score, ms = zip(*rows, strict=True)
        columns.append(
            jid,
            item,
            coach,
            np.array(flag, dtype=str) != "",
            np.fromiter((winner_codes.setdefault(w, len(winner_codes)) for w in winner), np.int16, len(rows)),
            _floats(score),
            _floats(ms),
        )
    j_ids, j_items, coaches, flags, winners, scores, server = columns.result()
    del columns
    # As text only for the judgements a statistic asks about: a million of them would take 28 MB.
    winner_names = np.array(list(winner_codes), dtype=str) if winner_codes else np.zeros(0, str)
    span = judgements.aggregate(first=Min("created"), last=Max("created"), revised=Max("revised"))
    last = max((t for t in (span["last"], span["revised"]) if t is not None), default=None)
    return StudyData(
        study=study,
        method_names=dict(study.methods.values_list("id", "name")),
        sport_names=list(sport_index),
        item_id=item_id,
        item_kind=item_kind,
        item_query=item_query,
        item_sport=item_sport,
        item_gold=item_gold,
        item_gold_answer=gold_answers,
        item_seconds_needed=item_needed,
        credits_a=Credits.from_codes(item_code_a, codes_a.distinct),
        credits_b=Credits.from_codes(item_code_b, codes_b.distinct),
        judgement_id=j_ids,
        item=np.searchsorted(item_id, j_items),
        coach=coaches,
        flagged=flags,
        winner_code=winners,
        winner_names=winner_names,
        score=scores,
        server_ms=server,
        first_judgement=span["first"],
        last_judgement=last,
        identical_pairs=list(
            PairingOutcome.objects.filter(study=study).order_by("id").values_list("method_a_id", "method_b_id")
        ),
    )
