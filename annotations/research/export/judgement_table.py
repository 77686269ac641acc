"""The judgements and items tables, streamed together as Arrow batches.

Judgements are read in item order, a batch at a time, with raw cursors (``annotations.research.raw_rows``);
items are read in id order alongside them. What an item contributes to a row (its key, its clips,
the methods and ranks behind each stored side, which side was shown where) is worked out once per
item in Python, and attached to the judgements of a batch with one vectorised lookup
(``index_in`` + ``take``) against the window of item batches the judgement batch spans. Each item
batch is also written to the items table as it is read, so items are read once and memory holds
about two batches of each, whatever the study's size.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from django.db import connections
from django.db.models import BigIntegerField, Func, IntegerField, TextField
from django.db.models.fields.json import KT
from django.db.models.functions import Cast

from annotations.models import Judgement
from annotations.research.export.tables import ITEM_COLUMNS, JUDGEMENT_COLUMNS
from annotations.research.export.writers import ARROW_TYPES
from annotations.research.pseudonyms import coach_pseudonym
from annotations.research.raw_rows import raw_batches
from studies.models import Item, Study

ITEM_SCHEMA = pa.schema(
    [pa.field("item_id", pa.int64())] + [pa.field(c.name, ARROW_TYPES[c.kind]) for c in ITEM_COLUMNS]
)
JUDGEMENT_SCHEMA = pa.schema([pa.field(c.name, ARROW_TYPES[c.kind]) for c in JUDGEMENT_COLUMNS])
_TIME = ARROW_TYPES["time"]
# Item columns repeated on each judgement row: all but the gold answer and the judgements needed.
_ITEM_FIELDS_ON_JUDGEMENTS = [c.name for c in ITEM_COLUMNS if c.name not in {"gold_answer", "needed"}]


def _json(value: object) -> object:
    """A JSON field as the driver returns it: text on SQLite, already decoded on PostgreSQL."""
    return json.loads(value) if isinstance(value, str) else value


class _Credits:
    """(method names, ranks) behind a side, from the credits' JSON text; the same few texts repeat on every item."""

    def __init__(self, names: dict[int, str]):
        self._names = names
        self._seen: dict[str, tuple[list[str], list[int]]] = {}

    def __call__(self, text: str | None) -> tuple[list[str], list[int]]:
        found = self._seen.get(text or "")
        if found is None:
            pairs = sorted(
                (self._names.get(int(c["method"]), f"method-{c['method']}"), int(c.get("rank") or 0))
                for c in _json(text or "[]")
            )
            found = ([name for name, _ in pairs], [rank for _, rank in pairs])
            if len(self._seen) < 100_000:
                self._seen[text or ""] = found
        return found


def _item_batches(study: Study, names: dict[int, str], size: int) -> Iterator[pa.RecordBatch]:
    fields = [
        "id",
        "key",
        "kind",
        "is_gold",
        "query__external_id",
        "clip_a__external_id",
        "clip_b__external_id",
        "swapped",
        "credits_a_text",
        "credits_b_text",
        "gold_answer",
        "needed",
    ]
    # As text, so that identical credits are recognised (and decoded once) whatever the database.
    items = (
        Item.objects.filter(study=study)
        .annotate(credits_a_text=Cast("credits_a", TextField()), credits_b_text=Cast("credits_b", TextField()))
        .order_by("id")
        .values_list(*fields)
    )
    credits = _Credits(names)
    for rows in raw_batches(items, size):
        out = []
        for item_id, key, kind, gold, query, clip_a, clip_b, swapped, cred_a, cred_b, gold_answer, needed in rows:
            swapped = bool(swapped)
            methods_a, ranks_a = credits(cred_a)
            methods_b, ranks_b = credits(cred_b) if clip_b else (None, None)
            a_side, b_side = (clip_a, methods_a, ranks_a), (clip_b, methods_b, ranks_b)
            left, right = (b_side, a_side) if swapped else (a_side, b_side)
            gold_answer = _json(gold_answer)
            out.append(
                (item_id, key, kind, bool(gold), query, clip_a, clip_b, swapped, methods_a, ranks_a, methods_b,
                 ranks_b, left[0], right[0], left[1], left[2], right[1], right[2],
                 json.dumps(gold_answer, sort_keys=True) if gold_answer is not None else None, needed)
            )  # fmt: skip
        columns = list(zip(*out, strict=True))
        yield pa.RecordBatch.from_arrays(
            [pa.array(values, type=field.type) for values, field in zip(columns, ITEM_SCHEMA, strict=True)],
            schema=ITEM_SCHEMA,
        )


class _ItemWindow:
    """The item batches spanning the current judgement batch; each batch read is handed to ``on_batch`` once."""

    def __init__(self, batches: Iterator[pa.RecordBatch], on_batch: Callable[[pa.RecordBatch], None]):
        self._batches = batches
        self._on_batch = on_batch
        self._window: list[pa.RecordBatch] = []

    def _pull(self) -> bool:
        batch = next(self._batches, None)
        if batch is None:
            return False
        self._on_batch(batch)
        self._window.append(batch)
        return True

    def aligned(self, item_ids: np.ndarray) -> pa.Table:
        """Item columns for each id of ``item_ids`` (ascending), in that order."""
        low, high = int(item_ids[0]), int(item_ids[-1])
        self._window = [b for b in self._window if b.num_rows and b.column(0)[-1].as_py() >= low]
        while not self._window or self._window[-1].column(0)[-1].as_py() < high:
            if not self._pull():
                break
        table = pa.Table.from_batches(self._window, schema=ITEM_SCHEMA)
        positions = pc.index_in(pa.array(item_ids), table.column("item_id"))
        if positions.null_count:
            raise RuntimeError("a judgement refers to an item outside its study")
        return table.take(positions)

    def drain(self) -> None:
        """Read (and so hand over) the items after the last judged one."""
        while self._pull():
            self._window = self._window[-1:]


def _strings_or_null(values: tuple) -> pa.Array:
    array = pa.array(values, pa.string())
    return pc.if_else(pc.equal(array, ""), pa.scalar(None, pa.string()), array)


class _EpochMicroseconds(Func):
    """PostgreSQL: a timestamp as whole microseconds since 1970-01-01 UTC, computed exactly in integers.

    A million judgements' times parsed into datetimes by the driver, one by one, took seconds; integers
    go into Arrow as one column. (Whole seconds and the microseconds within them are both exact in any
    PostgreSQL version, where the epoch as one number might not be.)
    """

    output_field = BigIntegerField()
    template = (
        "(EXTRACT(EPOCH FROM date_trunc('second', %(expressions)s))::bigint * 1000000"
        " + mod(EXTRACT(MICROSECONDS FROM %(expressions)s)::bigint, 1000000))"
    )


def _times(values: tuple) -> pa.Array:
    """Times as the query returns them: microseconds since the epoch on PostgreSQL, naive UTC text on SQLite."""
    first = next((value for value in values if value is not None), None)
    if isinstance(first, str):
        return pa.array(values, pa.string()).cast(pa.timestamp("us")).cast(_TIME)
    if isinstance(first, int):
        return pa.array(values, pa.int64()).cast(_TIME)
    return pa.array(values, _TIME)


def judgement_batches(
    study: Study, names: dict[int, str], size: int, on_items: Callable[[pa.RecordBatch], None]
) -> Iterator[pa.RecordBatch]:
    """Judgement rows in batches of ``size``, ordered by item then id; item batches go to ``on_items``."""
    window = _ItemWindow(_item_batches(study, names, size), on_items)
    pseudonyms: dict[int, str] = {}
    times: dict[str, Func] = {}
    if connections[study._state.db or "default"].vendor == "postgresql":
        times = {"created_us": _EpochMicroseconds("created"), "revised_us": _EpochMicroseconds("revised")}
    judgements = (
        Judgement.objects.filter(study=study)
        .annotate(
            watch_query=Cast(KT("watch_ms__query"), IntegerField()),
            watch_a=Cast(KT("watch_ms__a"), IntegerField()),
            watch_b=Cast(KT("watch_ms__b"), IntegerField()),
            **times,
        )
        .order_by("item_id", "id")
        .values_list(
            "id",
            "item_id",
            "choice",
            "winner",
            "score",
            "rationale",
            "flag",
            "watch_query",
            "watch_a",
            "watch_b",
            "server_ms",
            "coach_id",
            *(times or ("created", "revised")),
            "revision",
        )
    )
    for rows in raw_batches(judgements, size):
        (ids, item_ids, choice, winner, score, rationale, flag, watch_query, watch_a, watch_b, server_ms, coaches,
         created, revised, revision) = zip(*rows, strict=True)  # fmt: skip
        for coach in set(coaches) - pseudonyms.keys():
            pseudonyms[coach] = coach_pseudonym(study.slug, coach)
        items = window.aligned(np.asarray(item_ids, dtype=np.int64))
        columns = {
            "study": pa.array(itertools.repeat(study.slug, len(rows)), pa.string()),
            "judgement_id": pa.array(ids, pa.int64()),
            **{name: items.column(name).combine_chunks() for name in _ITEM_FIELDS_ON_JUDGEMENTS},
            "choice": _strings_or_null(choice),
            "winner": _strings_or_null(winner),
            "score": pa.array(score, pa.int64()),
            "rationale": pa.array(rationale, pa.string()),
            "flag": _strings_or_null(flag),
            "watch_query_ms": pa.array(watch_query, pa.int64()),
            "watch_a_ms": pa.array(watch_a, pa.int64()),
            "watch_b_ms": pa.array(watch_b, pa.int64()),
            "server_ms": pa.array(server_ms, pa.int64()),
            "coach": pa.array([pseudonyms[coach] for coach in coaches], pa.string()),
            "created": _times(created),
            "revised": _times(revised),
            "revision": pa.array(revision, pa.int64()),
        }
        yield pa.RecordBatch.from_arrays([columns[field.name] for field in JUDGEMENT_SCHEMA], schema=JUDGEMENT_SCHEMA)
    window.drain()
