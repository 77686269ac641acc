"""Read the top-level boxes of an MP4 (ISO base media) file without decoding it.

Two questions need only the box layout. Is the file whole? Every box states its
size, so a file cut short in transfer ends inside a box that claims more bytes
than are there. Does it start playing before it has fully downloaded? Only when
the index (``moov``) comes before the media data (``mdat``): "faststart".
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

_HEADER = struct.Struct(">I4s")
_LARGE_SIZE = struct.Struct(">Q")
# A real MP4 starts with one of these; anything else is not ISO base media.
_FIRST_BOX_TYPES = {"ftyp", "styp", "moov", "mdat", "free", "skip", "wide", "pnot"}


@dataclass(frozen=True)
class Box:
    type: str
    offset: int
    size: int

    @property
    def end(self) -> int:
        return self.offset + self.size


@dataclass(frozen=True)
class BoxLayout:
    boxes: list[Box]
    file_size: int
    # Set when the last box claims more bytes than the file holds.
    cut_short: Box | None

    def types(self) -> list[str]:
        return [box.type for box in self.boxes]

    @property
    def is_faststart(self) -> bool:
        types = self.types()
        return "moov" in types and "mdat" in types and types.index("moov") < types.index("mdat")


def read_box_layout(path: str | Path) -> BoxLayout | None:
    """The top-level boxes of ``path``, or ``None`` when it doesn't look like an MP4/MOV file."""
    path = Path(path)
    file_size = path.stat().st_size
    boxes: list[Box] = []
    with open(path, "rb") as handle:
        offset = 0
        while offset + _HEADER.size <= file_size:
            handle.seek(offset)
            size, raw_type = _HEADER.unpack(handle.read(_HEADER.size))
            box_type = raw_type.decode("latin-1")
            if not boxes and box_type not in _FIRST_BOX_TYPES:
                return None
            header = _HEADER.size
            if size == 1:
                large = handle.read(_LARGE_SIZE.size)
                if len(large) < _LARGE_SIZE.size:
                    return BoxLayout(boxes, file_size, Box(box_type, offset, file_size - offset + 1))
                (size,) = _LARGE_SIZE.unpack(large)
                header += _LARGE_SIZE.size
            elif size == 0:
                size = file_size - offset  # "to the end of the file"
            if size < header:
                # A size smaller than its own header is garbage, not a truncation.
                return None if not boxes else BoxLayout(boxes, file_size, None)
            box = Box(box_type, offset, size)
            boxes.append(box)
            if box.end > file_size:
                return BoxLayout(boxes, file_size, box)
            offset = box.end
    if not boxes:
        return None
    if offset < file_size:
        # A few stray bytes: the file ends inside the header of the next box.
        return BoxLayout(boxes, file_size, Box("", offset, _HEADER.size))
    return BoxLayout(boxes, file_size, None)
