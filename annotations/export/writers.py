"""One table written batch by batch as Parquet, CSV and JSON Lines at once, with fixed bytes for fixed rows.

Memory stays at one batch whatever the table's length: each batch becomes one Parquet row group
and is appended to the CSV and JSONL files. Options are fixed (compression, row-group boundaries
at batch boundaries, no pandas metadata, no timestamps), so the same rows in the same order give
the same bytes. Plain Python and pyarrow: no Django.

Text formats: nulls are empty CSV cells and JSON ``null``; lists are JSON arrays (as text in CSV);
times are ISO 8601 in UTC; booleans are ``true``/``false``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

FORMATS = ("parquet", "csv", "jsonl")
_ARROW = {
    "str": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "time": pa.timestamp("us", tz="UTC"),
    "list_str": pa.list_(pa.string()),
    "list_int": pa.list_(pa.int64()),
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # a key of _ARROW
    description: str


def _time_text(value: datetime | None) -> str | None:
    # Django hands out aware UTC datetimes; "Z" keeps the text short and unambiguous.
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _bool_csv(value: bool | None) -> str:
    return "" if value is None else ("true" if value else "false")


def _plain_csv(value: Any) -> Any:
    return "" if value is None else value


class _ListText:
    """JSON text of short lists, remembered: method lists repeat on every judgement of an item."""

    def __init__(self) -> None:
        self._seen: dict[tuple, str] = {}

    def __call__(self, value: list | None) -> str:
        if value is None:
            return ""
        key = tuple(value)
        text = self._seen.get(key)
        if text is None:
            text = json.dumps(value, ensure_ascii=False)
            if len(self._seen) < 100_000:
                self._seen[key] = text
        return text


class TableWriter:
    """Writes ``columns`` to ``folder/{parquet,csv,jsonl}/{name}.{ext}``; call ``write`` per batch, then ``close``."""

    def __init__(self, folder: Path, name: str, columns: Sequence[Column]):
        self.name = name
        self.columns = list(columns)
        self.rows = 0
        self.schema = pa.schema([pa.field(column.name, _ARROW[column.kind]) for column in self.columns])
        self.paths = {fmt: folder / fmt / f"{name}.{fmt}" for fmt in FORMATS}
        for path in self.paths.values():
            path.parent.mkdir(parents=True, exist_ok=True)
        self._parquet = pq.ParquetWriter(
            self.paths["parquet"],
            self.schema,
            compression="zstd",
            compression_level=3,
            use_dictionary=True,
            write_statistics=True,
            store_schema=True,
        )
        self._csv_file = open(self.paths["csv"], "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed in close()
        self._csv = csv.writer(self._csv_file, lineterminator="\n")
        self._csv.writerow([column.name for column in self.columns])
        self._jsonl = open(self.paths["jsonl"], "w", encoding="utf-8", newline="\n")  # noqa: SIM115
        self._encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
        self._csv_cells: list[Callable[[Any], Any]] = []
        for column in self.columns:
            if column.kind.startswith("list_"):
                self._csv_cells.append(_ListText())
            elif column.kind == "bool":
                self._csv_cells.append(_bool_csv)
            else:
                self._csv_cells.append(_plain_csv)

    def write(self, rows: list[tuple]) -> None:
        """Append rows (tuples in column order; times as aware datetimes)."""
        if not rows:
            return
        columns = [list(values) for values in zip(*rows, strict=True)]
        arrays = [pa.array(values, type=self.schema.field(i).type) for i, values in enumerate(columns)]
        self._parquet.write_batch(pa.RecordBatch.from_arrays(arrays, schema=self.schema))
        for index, column in enumerate(self.columns):
            if column.kind == "time":
                columns[index] = [_time_text(value) for value in columns[index]]
        self._csv.writerows(
            zip(*(map(cell, values) for cell, values in zip(self._csv_cells, columns, strict=True)), strict=True)
        )
        names = [column.name for column in self.columns]
        encode = self._encode
        self._jsonl.writelines(encode(dict(zip(names, row, strict=True))) + "\n" for row in zip(*columns, strict=True))
        self.rows += len(rows)

    def close(self) -> None:
        self._parquet.close()
        self._csv_file.close()
        self._jsonl.close()
