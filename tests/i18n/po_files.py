"""Reading GNU gettext .po files in plain Python, so the catalog tests need no gettext installed."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Entry:
    """One message of a catalog: its id (and plural id), its translations and its flags (``fuzzy``)."""

    msgid: str = ""
    msgid_plural: str = ""
    msgctxt: str | None = None
    # "" for a singular message; "0", "1", ... for the forms of a plural one.
    msgstr: dict[str, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False

    @property
    def key(self) -> str:
        """The id as the compiled .mo file stores it: context and id joined by EOT, plural ids by NUL."""
        msgid = self.msgid if not self.msgid_plural else f"{self.msgid}\x00{self.msgid_plural}"
        return msgid if self.msgctxt is None else f"{self.msgctxt}\x04{msgid}"

    @property
    def translated(self) -> bool:
        return bool(self.msgstr) and all(self.msgstr.values())


def _string(text: str) -> str:
    # A .po string literal uses C escapes, which a Python literal reads the same way for this text.
    return ast.literal_eval(text)


def read_po(path: Path) -> list[Entry]:
    """Every entry of ``path``, the header (msgid "") included, obsolete ones (``#~``) marked."""
    entries: list[Entry] = []
    current: Entry | None = None
    last: tuple[str, str] | None = None  # (keyword, msgstr index) the next continuation line extends

    def start() -> Entry:
        nonlocal current
        if current is None:
            current = Entry()
            entries.append(current)
        return current

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        obsolete = line.startswith("#~")
        if obsolete:
            line = line[2:].strip()
        if not line:
            current, last = None, None
            continue
        if line.startswith("#,"):
            if current is not None and last is not None:
                current, last = None, None
            start().flags.update(flag.strip() for flag in line[2:].split(","))
            continue
        if line.startswith("#"):
            if current is not None and last is not None:
                current, last = None, None
            continue
        entry = start()
        entry.obsolete = entry.obsolete or obsolete
        if line.startswith('"'):
            keyword, index = last  # type: ignore[misc]
            value = _string(line)
        else:
            keyword, _, rest = line.partition(" ")
            index = ""
            if keyword.startswith("msgstr["):
                keyword, index = "msgstr", keyword[len("msgstr[") : -1]
            if keyword in ("msgid", "msgctxt") and last is not None and last[0] == "msgstr":
                # A new entry without a blank line before it.
                current = None
                entry = start()
                entry.obsolete = obsolete
            value = _string(rest)
            last = (keyword, index)
            if keyword == "msgctxt":
                entry.msgctxt = ""
        if keyword == "msgid":
            entry.msgid += value
        elif keyword == "msgid_plural":
            entry.msgid_plural += value
        elif keyword == "msgctxt":
            entry.msgctxt = (entry.msgctxt or "") + value
        else:
            entry.msgstr[index] = entry.msgstr.get(index, "") + value
    return entries


def messages(path: Path) -> list[Entry]:
    """The catalog's live messages: not the header, not obsolete."""
    return [entry for entry in read_po(path) if entry.msgid and not entry.obsolete]
